"""``python -m train push``: publish a run's exported model to the Hugging Face Hub in one commit.

The commit holds model.safetensors, config.json, the model card (README.md, rendered for the repo),
the final sample grid, the training record, evaluation.json when the run has one, and the attribute
read-out and edit directions (attributes.safetensors + .json, ``python -m train attributes``) when built. The token comes
from HF_TOKEN or the stored login (``hf auth login``); it only ever travels in the Authorization
header of requests to the Hub: it is never printed, logged, written to a file or put in an error.
Pushing writes nothing into the run except, when the export is missing or older than the run's last
checkpoint, a fresh ``export/``; a failed upload leaves the run as it was and says what to retry.
"""

from __future__ import annotations

import importlib
import shlex
from pathlib import Path

from huggingface_hub import CommitOperationAdd, HfApi, constants, get_token
from huggingface_hub.errors import HfHubHTTPError, HFValidationError
from huggingface_hub.utils import validate_repo_id

from t2f.files import CARD_NAME, CONFIG_NAME, EVALUATION_NAME, OPTIONAL_FILES, RECORD_NAME, WEIGHTS_NAME, read_json_object
from t2f.model import Generator
from train.publish.export import export_run
from train.publish.model_card import linked_images, render_model_card

EXPORT_DIR = "export"
LOGIN_HINT = (
    "no Hugging Face token found: log in with `hf auth login` (a token with write access, from "
    "https://huggingface.co/settings/tokens), or set the HF_TOKEN environment variable"
)


def push_run(
    run: str | Path,
    repo_id: str,
    *,
    private: bool = False,
    revision: str | None = None,
    token: str | None = None,
) -> str:
    """Upload the export of ``run`` to the Hub model repo ``repo_id`` (created when missing); returns the commit URL.

    ``run`` is a run folder (its ``export/`` is made or refreshed from the newest checkpoint when needed)
    or an exported weights folder. ``private`` applies when the repo is created; ``revision`` is the
    branch to commit to (created from main when missing). ``token`` defaults to HF_TOKEN or the stored login.
    """
    run = Path(run)
    retry = retry_command(run, repo_id, private=private, revision=revision)
    token = check_can_push(repo_id, token, retry=retry)
    if not run.is_dir():
        raise FileNotFoundError(f"run folder {run} does not exist")

    folder = _fresh_export(run)
    Generator.from_folder(folder)  # never publish weights that do not load
    record = read_json_object(folder / RECORD_NAME)
    # The newest evaluation, whether it was written into the run or beside the exported weights.
    found = [f for f in (folder / EVALUATION_NAME, run / EVALUATION_NAME) if f.is_file()]
    evaluation_file = max(found, key=lambda f: f.stat().st_mtime) if found else None
    evaluation = read_json_object(evaluation_file) if evaluation_file else None
    grid, curve = linked_images(folder)
    card = render_model_card(record, evaluation, grid, repo_id=repo_id, curve_file=curve)

    files = [folder / WEIGHTS_NAME, folder / CONFIG_NAME, folder / RECORD_NAME]
    files += [folder / name for name in (grid, curve) if name]
    # The read-out and edit directions; the evaluation is the newest one found above.
    files += [folder / name for name in OPTIONAL_FILES if name != EVALUATION_NAME and (folder / name).is_file()]
    operations = [CommitOperationAdd(path_in_repo=f.name, path_or_fileobj=str(f)) for f in files]
    operations.append(CommitOperationAdd(path_in_repo=CARD_NAME, path_or_fileobj=card.encode("utf-8")))
    if evaluation_file:
        operations.append(CommitOperationAdd(path_in_repo=EVALUATION_NAME, path_or_fileobj=str(evaluation_file)))
    message = f"Upload T2F-MSGGAN run {record.get('run', run.name)} at step {record.get('steps', '?')}"

    api = HfApi()
    try:
        api.create_repo(repo_id, token=token, private=private, exist_ok=True)
        if revision not in (None, constants.DEFAULT_REVISION):
            api.create_branch(repo_id, branch=revision, token=token, exist_ok=True)
        commit = api.create_commit(repo_id, operations, commit_message=message, revision=revision, token=token)
    except HfHubHTTPError as e:
        raise _upload_error(e, repo_id, token, retry) from None
    except _network_errors() as e:
        detail = _scrub(str(e), token)
        raise ConnectionError(
            f"could not reach the Hub at {api.endpoint} ({type(e).__name__}: {detail}); nothing was uploaded "
            f"and the local files are kept. Check the connection, then run: {retry}"
        ) from None
    return commit.commit_url


def check_can_push(repo_id: str, token: str | None = None, *, retry: str | None = None) -> str:
    """Check, without any request, that a push to ``repo_id`` can start; returns the token to use.

    Raises ValueError for a malformed repo id, PermissionError when there is no token (saying how to log
    in), ConnectionError in offline mode. ``fit --push-to-hub`` calls it before training, so a missing
    login shows up at once rather than after the run. ``retry``, when given, ends each message.
    """
    then = f"; then run: {retry}" if retry else ""
    try:
        validate_repo_id(repo_id)
        valid = repo_id.count("/") == 1
    except HFValidationError:
        valid = False
    if not valid:
        raise ValueError("the Hub repo must be given as USER/NAME (or ORG/NAME), e.g. alice/t2f-msggan-celeba")
    token = token or get_token()
    if not token:
        raise PermissionError(LOGIN_HINT + then)
    if constants.HF_HUB_OFFLINE:
        raise ConnectionError("offline mode is on (HF_HUB_OFFLINE): unset it to push" + then)
    return token


def retry_command(run: Path, repo_id: str, *, private: bool = False, revision: str | None = None) -> str:
    """The ``python -m train push`` command line that repeats a push."""
    words = ["python", "-m", "train", "push", "--run", str(run), "--repo", repo_id]
    words += ["--private"] if private else []
    words += ["--revision", revision] if revision else []
    return shlex.join(words)


def _fresh_export(run: Path) -> Path:
    """The folder to upload: ``run`` itself when it is an export, else ``run/export``, (re)made when stale."""
    if (run / WEIGHTS_NAME).is_file():
        return run
    folder = run / EXPORT_DIR
    run_record = run / RECORD_NAME
    stale = run_record.is_file() and (folder / RECORD_NAME).is_file() and (
        read_json_object(run_record).get("steps") != read_json_object(folder / RECORD_NAME).get("steps")
    )
    if not (folder / WEIGHTS_NAME).is_file() or stale:
        print(f"exporting {run} to {folder}")
        export_run(run, folder)
    for name in (WEIGHTS_NAME, CONFIG_NAME, RECORD_NAME):
        if not (folder / name).is_file():
            raise FileNotFoundError(
                f"{folder / name} is missing: re-export with `python -m train export --run {run} --out {folder}`"
            )
    return folder


def _upload_error(error: HfHubHTTPError, repo_id: str, token: str, retry: str) -> Exception:
    """A user-facing error for an HTTP failure: what went wrong, what to do, the command to rerun; no token."""
    status = error.response.status_code if error.response is not None else None
    said = _scrub(getattr(error, "server_message", None) or "", token)
    reason = f"HTTP {status}" + (f": {said}" if said else "")
    if status == 401:
        return PermissionError(
            f"the Hub rejected the token ({reason}). Log in again with `hf auth login` or set HF_TOKEN to a valid "
            f"token with write access, then run: {retry}"
        )
    if status == 403:
        return PermissionError(
            f"the token may not write to {repo_id} ({reason}). Use a token with write access to "
            f"{repo_id.split('/')[0]} (`hf auth login`, or HF_TOKEN), then run: {retry}"
        )
    if status is not None and (status >= 500 or status == 429):
        return ConnectionError(
            f"the Hub did not take the upload ({reason}); the local files are kept. Try again later: {retry}"
        )
    return ValueError(
        f"the Hub refused the upload to {repo_id} ({reason}); the local files are kept. Once fixed, run: {retry}"
    )


def _network_errors() -> tuple[type[Exception], ...]:
    """Transport failures of huggingface_hub's HTTP client (httpx in 1.x, httpx2 in 2.x)."""
    errors: list[type[Exception]] = []
    for name in ("httpx", "httpx2"):
        try:
            errors.append(importlib.import_module(name).TransportError)
        except (ImportError, AttributeError):
            continue
    return tuple(errors)


def _scrub(text: str, token: str) -> str:
    """``text`` with the token blanked out, should a server or library ever echo it."""
    return text.replace(token, "<token>") if token else text
