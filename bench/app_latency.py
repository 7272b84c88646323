"""Latency of the demo as its users see it, and where the time goes: the app served in-process.

    python -m bench.app_latency [--weights FOLDER_OR_REPO] [--runs 40] [--clients 8] [--calls-per-client 8]

Breakdown of one /generate, each row adding a layer, all measured in one run: the model alone (no Gradio);
the handler (input checks + the six scales side by side in one PNG file, in Gradio's cache); Gradio's processing
in-process (the handler, then the file handed on); a new session's state (Gradio builds it on a
session's first call: the page pays it once, a raw /call/ request every time); the round trip over HTTP the
way the page makes it (join the queue with the page's session, read its event stream, fetch the file, one
kept-alive connection); the same through /call/ (a new session each call); the file fetch alone. Then the
page's calls as Gradio's own profiler (GRADIO_PROFILING, on for this benchmark) splits them: waiting in the
queue, preprocessing the inputs (off for the app's events), the handler, postprocessing (the file's URL),
and what is left of the round trip (joining the queue, the event stream, the file fetch, HTTP).

Then as API users see it: /generate through gradio_client with its defaults (as the goal is stated) from a
process of its own (``bench.api_client``), as a user's script calls it; the same with only SSL_CERT_DIR set, to
the system's certificate folder (read lazily, where httpx otherwise loads every CA certificate into each of the
three HTTP clients gradio_client opens per call: the time of one such client is printed); then from a client in
the benchmark's (and so the server's) process, with its file, without downloading it, with ssl_verify=False, and
with a new description each call (no cached embedding); one seed-interpolation slider redraw (/seed_frame);
and /generate from N concurrent gradio_client clients, each in a process of its own, with the server's CPU time
per face meanwhile, then as N threads of the server's process. Clients in the server's process share its interpreter lock,
so they slow it down as no user's client does: the goals are judged by the clients in their own processes. Last,
the goals, as ratios taken in this one run so that a busy machine does not decide them alone. Prints markdown.

Weights: --weights, else T2F_WEIGHTS, else the bundled weights/. Where none load, it times the shipped
architecture (ModelConfig's defaults) with random weights: the same computation as trained weights, and
the table says so. (The tests' tiny weights would make every number meaninglessly small.)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("GRADIO_PROFILING", "1")  # read when gradio is imported: per-phase traces of every event

import httpx  # noqa: E402
import torch  # noqa: E402
from gradio.profiling import collector  # noqa: E402
from gradio.state_holder import SessionState  # noqa: E402
from gradio_client import Client  # noqa: E402

import app  # noqa: E402
from bench.api_client import TEXT  # noqa: E402  (the clients' description, also timed here)
from t2f import Generator, ModelConfig, TextToFace, get_text_encoder  # noqa: E402

# The goals (issue 21): the page's round trip at most 3x the model alone, gradio_client with its
# defaults at most 150 ms p50, 8 concurrent clients at least 8 faces/s.
GOAL_PAGE_RATIO, GOAL_CLIENT_MS, GOAL_FACES_PER_S = 3.0, 150.0, 8.0


def load(weights: str | None) -> tuple[TextToFace, str]:
    """The pipeline to time and a line saying what it is."""
    pipe = app.load_pipeline(weights)
    if isinstance(pipe, TextToFace):
        return pipe, f"weights: {weights or 'bundled weights/'}"
    torch.manual_seed(0)
    config = ModelConfig()
    generator = Generator(config)
    pipe = TextToFace(generator, get_text_encoder(config.text_encoder, config.text_encoder_options))
    params = sum(p.numel() for p in generator.parameters()) / 1e6
    return pipe, (
        f"weights: none found, so the shipped architecture (ModelConfig defaults, {params:.1f} M parameters) "
        "with RANDOM weights"
    )


def timed(call: Callable[[int], object], runs: int, warmup: int = 3) -> list[float]:
    """Milliseconds of ``call(i)`` for i in range(runs), after ``warmup`` untimed calls (i = runs, runs + 1, ...)."""
    for i in range(warmup):
        call(runs + i)
    times = []
    for i in range(runs):
        start = time.perf_counter()
        call(i)
        times.append((time.perf_counter() - start) * 1000)
    return times


def fetch_files(http: httpx.Client, output: list) -> None:
    for file in output:
        http.get(file["url"]).raise_for_status()


def over_call_route(http: httpx.Client, url: str, api_name: str, data: list) -> list:
    """One call through Gradio's /call/ route (post the inputs, read the result event; a new session each
    call), fetching every output file, over one kept-alive connection. Returns the output."""
    event = http.post(f"{url}gradio_api/call/{api_name}", json={"data": data}).raise_for_status().json()["event_id"]
    stream = http.get(f"{url}gradio_api/call/{api_name}/{event}").raise_for_status().text
    event_type, result = stream.strip().splitlines()[-2:]
    if event_type != "event: complete":
        raise RuntimeError(f"/{api_name} failed: {result}")
    output = json.loads(result.removeprefix("data:"))
    fetch_files(http, output)
    return output


def like_the_page(http: httpx.Client, url: str, fn_index: int, session: str, data: list) -> None:
    """One call the way the page makes it: join the queue under the page's session, read the session's event
    stream to the result, fetch every output file, over one kept-alive connection."""
    body = {"data": data, "fn_index": fn_index, "session_hash": session, "event_data": None, "trigger_id": None}
    event = http.post(f"{url}gradio_api/queue/join", json=body).raise_for_status().json()["event_id"]
    with http.stream("GET", f"{url}gradio_api/queue/data", params={"session_hash": session}) as stream:
        for line in stream.iter_lines():
            message = json.loads(line.removeprefix("data:")) if line.startswith("data:") else {}
            if message.get("msg") == "process_completed" and message.get("event_id") == event:
                if not message["success"]:
                    raise RuntimeError(f"call {fn_index} failed: {message['output']}")
                break
    fetch_files(http, message["output"]["data"])


def gradio_phases(api_name: str, round_trips: list[float]) -> list[tuple[str, float]]:
    """Median milliseconds of each phase Gradio's profiler traced for the last ``len(round_trips)`` calls of
    ``api_name``, then what process_api did outside them, and what of the median round trip (``round_trips``,
    ms, the same calls) lies outside the queue and process_api."""
    traces = [t for t in collector.get_all() if t["fn_name"] == api_name][-len(round_trips) :]  # not the warm-up
    if not traces:
        raise RuntimeError(f"Gradio traced no /{api_name} call: is GRADIO_PROFILING set before gradio is imported?")
    phases = ("queue_wait", "preprocess", "fn_call", "postprocess")
    rows = [(name, statistics.median(t[f"{name}_ms"] for t in traces)) for name in phases]
    own = statistics.median(t["total_ms"] - sum(t[f"{name}_ms"] for name in phases[1:]) for t in traces)
    served = statistics.median(t["queue_wait_ms"] + t["total_ms"] for t in traces)
    rest = statistics.median(round_trips) - served
    return [*rows, ("process_api outside those phases", own), ("the rest of the round trip", rest)]


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def client_processes(
    url: str, clients: int, calls: int, env: dict[str, str] | None = None
) -> tuple[list[float], float, float]:
    """``clients`` gradio_client users, each a process of its own (``bench.api_client``, with environment ``env``,
    default this one's), call /generate ``calls`` times each, all starting once every one has warmed up:
    (latencies in ms, wall seconds from the first call to the last answer, this process's CPU seconds meanwhile:
    the server's work, with the app served in-process)."""
    root = Path(__file__).resolve().parent.parent
    command = [sys.executable, "-m", "bench.api_client", url, str(calls), "--wait"]
    procs = [
        subprocess.Popen([*command, "--first-seed", str(1000 * k)], cwd=root, env=env, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for k in range(clients)
    ]  # fmt: skip
    try:
        for proc in procs:
            if proc.stdout.readline().strip() != "ready":
                raise RuntimeError(f"a client failed before its first timed call: {proc.communicate()[1][-2000:]}")
        cpu = time.process_time()
        for proc in procs:
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = []
        for proc in procs:
            out, err = proc.communicate()
            if proc.returncode:
                raise RuntimeError(f"a client failed: {err[-2000:]}")
            results.append(json.loads(out))
        cpu = time.process_time() - cpu
    finally:
        for proc in procs:
            proc.kill()
    wall = max(r["end"] for r in results) - min(r["start"] for r in results)
    return [ms for r in results for ms in r["ms"]], wall, cpu


def concurrent(url: str, clients: int, calls: int) -> tuple[list[float], float]:
    """Every client in its own thread of this process calls /generate ``calls`` times: (latencies in ms, total wall
    seconds)."""
    latencies: list[float] = []
    lock = threading.Lock()
    ready = threading.Barrier(clients + 1)
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            client = Client(url, verbose=False)
            ready.wait()
            for i in range(calls):
                start = time.perf_counter()
                client.predict(TEXT, 1000 * k + i, 1.0, api_name="/generate")
                with lock:
                    latencies.append((time.perf_counter() - start) * 1000)
        except BaseException as e:  # reported after the join
            errors.append(e)
            ready.abort()  # so nobody waits for a client that never starts

    threads = [threading.Thread(target=work, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    try:
        ready.wait()
    except threading.BrokenBarrierError:
        pass  # a client failed: its error is raised below
    start = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    if errors:
        raise errors[0]
    return latencies, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", default=os.environ.get("T2F_WEIGHTS"), help="weights folder or Hub repo id")
    parser.add_argument("--runs", type=int, default=40, help="timed calls per sequential measurement")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--calls-per-client", type=int, default=8)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]  # the machine may be shared: say how busy it was

    app.share_cores()  # as app.main does
    pipe, what = load(args.weights)
    handlers = app.Handlers(pipe, Path(tempfile.mkdtemp(prefix="t2f-bench-")))
    demo = app.build_demo(pipe, gif_dir=Path(tempfile.mkdtemp(prefix="t2f-bench-")))
    _, url, _ = app.launch(demo, prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    generate = next(fn for fn in demo.fns.values() if fn.api_name == "generate")
    try:
        client = Client(url, verbose=False)
        bare = Client(url, verbose=False, download_files=False)  # shows what downloading the file costs
        # gradio_client opens a new HTTP client for every request of a call (join, event stream, file) and each
        # loads the CA certificates, even on plain http; on a local server that needs no TLS, ssl_verify=False
        # skips the loading.
        unverified = Client(url, verbose=False, ssl_verify=False)
        http = httpx.Client(timeout=60)  # the first call also loads the text encoder
        session = secrets.token_hex(8)
        files = over_call_route(http, url, "generate", [TEXT, 0, 1.0])
        breakdown = [
            ("model alone (pipe(text, seed), no Gradio)", timed(lambda i: pipe(TEXT, i), args.runs)),
            ("handler (input checks + the six scales in one PNG)", timed(lambda i: handlers.generate(TEXT, i, 1.0), args.runs)),
            (
                "Gradio's processing in-process (+ the PNG's file handed on)",
                timed(lambda i: asyncio.run(demo.process_api(generate, [TEXT, i, 1.0], SessionState(demo))), args.runs),
            ),
            ("a new session's state (once per page; every /call/ request)", timed(lambda i: SessionState(demo), args.runs)),
        ]
        collector.clear()
        page = timed(lambda i: like_the_page(http, url, generate._id, session, [TEXT, i, 1.0]), args.runs)
        phases = gradio_phases("generate", page)  # the same calls, as Gradio's profiler traced them
        breakdown += [
            ("/generate over HTTP like the page (its session; the file fetched)", page),
            (
                "/generate over HTTP through /call/ (a new session each call; the file)",
                timed(lambda i: over_call_route(http, url, "generate", [TEXT, i, 1.0]), args.runs),
            ),
            ("the file fetch alone", timed(lambda i: fetch_files(http, files), args.runs)),
        ]
        alone, _, _ = client_processes(url, 1, args.runs)
        api = [("/generate, gradio_client in a process of its own (a user's script)", alone)]
        capath = ssl.get_default_verify_paths().openssl_capath  # the system's hashed certificate folder
        if Path(capath).is_dir():  # certificates read one by one when a TLS server needs them, not all per client
            lazy = {k: v for k, v in os.environ.items() if k != "SSL_CERT_FILE"} | {"SSL_CERT_DIR": capath}
            lazy_alone, _, _ = client_processes(url, 1, args.runs, lazy)
            api.append((f"/generate, the same with only SSL_CERT_DIR={capath}", lazy_alone))
        client_setup = timed(lambda i: httpx.Client(), args.runs)  # what gradio_client does three times a call
        api += [
            (
                "/generate, gradio_client in the server's process",
                timed(lambda i: client.predict(TEXT, i, 1.0, api_name="/generate"), args.runs),
            ),
            (
                "/generate, gradio_client, output files not downloaded",
                timed(lambda i: bare.predict(TEXT, i, 1.0, api_name="/generate"), args.runs),
            ),
            (
                "/generate, gradio_client(ssl_verify=False)",
                timed(lambda i: unverified.predict(TEXT, i, 1.0, api_name="/generate"), args.runs),
            ),
            (
                "/generate, gradio_client, new description each call",
                timed(lambda i: client.predict(f"{TEXT} {i}", 7, 1.0, api_name="/generate"), args.runs),
            ),
            (
                "/seed_frame (one slider redraw), gradio_client",
                timed(lambda i: client.predict(TEXT, 1, 2, (i % 100) / 100, 1.0, api_name="/seed_frame"), args.runs),
            ),
            (
                "/seed_frame (one slider redraw), HTTP through /call/",
                timed(lambda i: over_call_route(http, url, "seed_frame", [TEXT, 1, 2, (i % 100) / 100, 1.0]), args.runs),
            ),
        ]
        together, together_wall, server_cpu = client_processes(url, args.clients, args.calls_per_client)
        latencies, wall = concurrent(url, args.clients, args.calls_per_client)
    finally:
        demo.close()

    print(f"\n{what}")
    print(
        f"device: {pipe.device}, torch threads: {torch.get_num_threads()}, CPUs: {os.cpu_count()}, "
        f"load average before: {load_before:.1f}; Gradio concurrency limit {app.CONCURRENCY}\n"
    )
    model = statistics.median(breakdown[0][1])
    print("| one /generate, layer by layer | calls | median ms | p95 ms | x model |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, times in breakdown:
        print(f"| {name} | {len(times)} | {statistics.median(times):.1f} | {p95(times):.1f} | "
              f"{statistics.median(times) / model:.1f} |")  # fmt: skip
    print("\n| the page's /generate as Gradio's profiler splits it | median ms | x model |")
    print("| --- | ---: | ---: |")
    for name, ms in phases:
        print(f"| {name} | {ms:.1f} | {ms / model:.2f} |")
    print("\n| as API users call it | calls | median ms | p95 ms | throughput |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, times in api:
        print(f"| {name} | {len(times)} | {statistics.median(times):.0f} | {p95(times):.0f} | |")
    faces_per_s = len(together) / together_wall
    print(
        f"| /generate, {args.clients} concurrent clients, each a process of its own | {len(together)} | "
        f"{statistics.median(together):.0f} | {p95(together):.0f} | {faces_per_s:.1f} faces/s |"
    )
    print(
        f"| /generate, {args.clients} concurrent clients, threads of the server's process | {len(latencies)} | "
        f"{statistics.median(latencies):.0f} | {p95(latencies):.0f} | {len(latencies) / wall:.1f} faces/s |"
    )
    per_face = server_cpu / len(together) * 1000
    cores = app.usable_cores()
    print(
        f"\nThe server's CPU time while the {args.clients} client processes ran: {per_face:.0f} ms per face, so "
        f"{cores} cores serve at most {cores * 1000 / per_face:.0f} faces/s with the clients on other machines."
    )
    setup = statistics.median(client_setup)
    print(
        f"gradio_client opens a new HTTP client for each of a call's three requests (join the queue, read the event "
        f"stream, fetch the file), and httpx loads the CA certificates into each, even for http:// "
        f"(encode/httpx#3627): {setup:.0f} ms per client here, {3 * setup:.0f} ms of every call."
    )
    page = statistics.median(breakdown[4][1]) / model
    client_ms = statistics.median(api[0][1])
    print("\n| goal | measured | met |\n| --- | ---: | --- |")
    print(f"| the page's /generate at most {GOAL_PAGE_RATIO:g}x the model | {page:.1f}x | {page <= GOAL_PAGE_RATIO} |")
    print(f"| gradio_client defaults at most {GOAL_CLIENT_MS:g} ms p50 | {client_ms:.0f} ms | {client_ms <= GOAL_CLIENT_MS} |")
    print(
        f"| {args.clients} clients at least {GOAL_FACES_PER_S:g} faces/s | {faces_per_s:.1f} | "
        f"{faces_per_s >= GOAL_FACES_PER_S} |"
    )


if __name__ == "__main__":
    main()
