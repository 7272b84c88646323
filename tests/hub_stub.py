"""A local HTTP server playing the Hugging Face Hub, for tests that must not touch the network.

It answers the routes huggingface_hub uses to upload regular (non-LFS) files and to download them:

- POST /api/repos/create, POST /api/validate-yaml, GET /api/models/{repo}[/revision/{rev}]
- POST /api/models/{repo}/preupload/{rev} (every file "regular"), POST /api/models/{repo}/branch/{branch}
- POST /api/models/{repo}/commit/{rev} (ndjson; file contents base64)
- HEAD and GET /{repo}/resolve/{rev}/{path} (X-Repo-Commit, ETag, Content-Length)

Every request is recorded (method, path, headers, body), and ``fail`` makes chosen routes answer
with an HTTP error, as the real Hub does for a bad token or an outage.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

import torch
from torch import Tensor

from t2f.text import MINILM_NAME, TextEncoder

REPO = r"(?P<repo>[^/]+/[^/]+)"
ROUTES = (  # (name, method, pattern)
    ("create", "POST", re.compile(r"/api/repos/create")),
    ("validate", "POST", re.compile(r"/api/validate-yaml")),
    ("preupload", "POST", re.compile(rf"/api/models/{REPO}/preupload/(?P<rev>[^/]+)")),
    ("commit", "POST", re.compile(rf"/api/models/{REPO}/commit/(?P<rev>[^/]+)")),
    ("branch", "POST", re.compile(rf"/api/models/{REPO}/branch/(?P<rev>[^/]+)")),
    ("info", "GET", re.compile(rf"/api/models/{REPO}(?:/revision/(?P<rev>[^/]+))?")),
    ("resolve", "HEAD", re.compile(rf"/{REPO}/resolve/(?P<rev>[^/]+)/(?P<path>.+)")),
    ("resolve", "GET", re.compile(rf"/{REPO}/resolve/(?P<rev>[^/]+)/(?P<path>.+)")),
)
FAILURE_MESSAGES = {
    401: "Invalid credentials in Authorization header",
    403: "You don't have the rights to create a model under the namespace",
    500: "Internal Error - We're working hard to fix this as soon as possible!",
}


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes


@dataclass
class Repo:
    private: bool
    branches: dict[str, str] = field(default_factory=dict)  # branch -> commit sha
    commits: dict[str, dict[str, bytes]] = field(default_factory=dict)  # sha -> {path: content}
    messages: dict[str, str] = field(default_factory=dict)  # sha -> commit summary

    def files(self, revision: str) -> dict[str, bytes] | None:
        sha = self.branches.get(revision, revision)
        return self.commits.get(sha)


class HubStub:
    """The fake Hub: ``with HubStub() as hub: ... hub.url ...``; state is plain attributes to assert on."""

    def __init__(self) -> None:
        self.repos: dict[str, Repo] = {}
        self.requests: list[Recorded] = []
        self.fail: dict[str, int] = {}  # route name (or "*") -> HTTP status to answer with
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> HubStub:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def files(self, repo_id: str, revision: str = "main") -> dict[str, bytes]:
        """What a repo holds at a revision (empty when it does not exist)."""
        repo = self.repos.get(repo_id)
        return (repo.files(revision) if repo else None) or {}

    def handle(self, method: str, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        """Answer one request: (status, headers, body)."""
        for name, route_method, pattern in ROUTES:
            match = pattern.fullmatch(path)
            if route_method == method and match:
                status = self.fail.get(name) or self.fail.get("*")
                if status:
                    return _json(status, {"error": FAILURE_MESSAGES.get(status, "error")})
                return getattr(self, f"_{name}")(method, body, **{k: unquote(v) for k, v in match.groupdict().items() if v})
        return _json(404, {"error": f"no route for {method} {path}"})

    def _create(self, method, body) -> tuple[int, dict[str, str], bytes]:
        payload = json.loads(body)
        repo_id = f"{payload['organization']}/{payload['name']}"
        if repo_id in self.repos:
            return _json(409, {"error": "You already created this model repo", "url": f"{self.url}/{repo_id}"})
        repo = self.repos[repo_id] = Repo(private=payload.get("visibility") == "private")
        self._add_commit(repo, "main", {}, "initial commit")
        return _json(200, {"url": f"{self.url}/{repo_id}"})

    def _validate(self, method, body):
        content = json.loads(body)["content"]
        ok = content.startswith("---\n") and "\n---\n" in content[4:]
        return _json(200, {"errors": [], "warnings": []}) if ok else _json(400, {"errors": [{"message": "no metadata"}]})

    def _preupload(self, method, body, repo, rev):
        if repo not in self.repos:
            return _not_found("RepoNotFound")
        files = [
            {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False, "oid": None}
            for f in json.loads(body)["files"]
        ]
        return _json(200, {"files": files, "commitOid": self.repos[repo].branches.get(rev)})

    def _commit(self, method, body, repo, rev):
        if repo not in self.repos:
            return _not_found("RepoNotFound")
        target = self.repos[repo]
        if rev not in target.branches:
            return _not_found("RevisionNotFound")
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        header = next(item["value"] for item in lines if item["key"] == "header")
        files = dict(target.files(rev))
        for item in lines:
            if item["key"] == "file":
                assert item["value"]["encoding"] == "base64", item["value"]
                files[item["value"]["path"]] = base64.b64decode(item["value"]["content"])
        sha = self._add_commit(target, rev, files, header["summary"])
        return _json(200, {"commitUrl": f"{self.url}/{repo}/commit/{sha}", "commitOid": sha, "pullRequestUrl": None})

    def _branch(self, method, body, repo, rev):
        if repo not in self.repos:
            return _not_found("RepoNotFound")
        branches = self.repos[repo].branches
        if rev in branches:
            return _json(409, {"error": "Reference already exists"})
        branches[rev] = branches[json.loads(body or b"{}").get("startingPoint") or "main"]
        return _json(200, {})

    def _info(self, method, body, repo, rev="main"):
        if repo not in self.repos:
            return _not_found("RepoNotFound")
        target = self.repos[repo]
        sha = target.branches.get(rev, rev)
        files = target.commits.get(sha)
        if files is None:
            return _not_found("RevisionNotFound")
        return _json(200, {"id": repo, "sha": sha, "private": target.private, "siblings": [{"rfilename": f} for f in files]})

    def _resolve(self, method, body, repo, rev, path):
        if repo not in self.repos:
            return _not_found("RepoNotFound")
        target = self.repos[repo]
        files = target.files(rev)
        if files is None:
            return _not_found("RevisionNotFound")
        if path not in files:  # the Hub names the commit it looked in, so clients cache the file's absence
            status, headers, body = _not_found("EntryNotFound")
            return status, {**headers, "X-Repo-Commit": target.branches.get(rev, rev)}, body
        content = files[path]
        headers = {
            "X-Repo-Commit": target.branches.get(rev, rev),
            "ETag": f'"{_git_blob_sha(content)}"',
            "Content-Type": "application/octet-stream",
            "Content-Length": str(len(content)),
        }
        return 200, headers, b"" if method == "HEAD" else content

    @staticmethod
    def _add_commit(repo: Repo, branch: str, files: dict[str, bytes], message: str) -> str:
        digest = hashlib.sha1(f"{branch}{len(repo.commits)}{message}".encode())
        for name in sorted(files):
            digest.update(name.encode() + files[name])
        sha = digest.hexdigest()
        repo.commits[sha], repo.messages[sha], repo.branches[branch] = files, message, sha
        return sha


def _handler(hub: HubStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as httpx expects; every answer has a Content-Length

        def _serve(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            path = urlsplit(self.path).path
            hub.requests.append(Recorded(self.command, path, {k.lower(): v for k, v in self.headers.items()}, body))
            status, headers, payload = hub.handle(self.command, path, body)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if "Content-Length" not in headers:
                self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_HEAD = do_POST = _serve

        def log_message(self, *args) -> None:  # keep test output clean
            pass

    return Handler


def _json(status: int, data: dict) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(data).encode()


def _not_found(code: str) -> tuple[int, dict[str, str], bytes]:
    status, headers, body = _json(404, {"error": f"{code}"})
    return status, {**headers, "X-Error-Code": code}, body


def _git_blob_sha(content: bytes) -> str:
    """The git object id of a file's content, which the Hub sends as the ETag of regular files."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


class HashEncoder(TextEncoder):
    """A stand-in for all-MiniLM-L6-v2 (same name and size) that needs no model: text -> seeded unit vector.

    Pixel comparisons only need the same embedding for the same text in every process, in milliseconds.
    """

    name = MINILM_NAME
    dim = 384

    def _encode(self, texts: list[str]) -> Tensor:
        rows = [torch.randn(self.dim, generator=torch.Generator().manual_seed(zlib.crc32(t.encode()))) for t in texts]
        return torch.nn.functional.normalize(torch.stack(rows), dim=1)
