"""Latency of the demo as a user of its API sees it: the app served in-process, called through gradio_client.

    python -m bench.app_latency [--weights FOLDER_OR_REPO] [--runs 40] [--clients 8] [--calls-per-client 8]

Measures, each call a full round trip (queue, model, PNG encoding, fetching every output file): the
model alone (no Gradio, for reference); /generate through gradio_client (as the goal is stated), also
without downloading its six files, with ssl_verify=False, and with a new description each call (no
cached embedding); the same call over plain HTTP on one kept-alive connection, as the page makes it;
one seed-interpolation slider redraw (/seed_frame) both ways; and /generate from N concurrent
gradio_client clients (throughput and latency). Prints a markdown table.

Weights: --weights, else T2F_WEIGHTS, else the bundled weights/. Where none load, it times the shipped
architecture (ModelConfig's defaults) with random weights: the same computation as trained weights, and
the table says so. (The tests' tiny weights would make every number meaninglessly small.)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import httpx  # noqa: E402
import torch  # noqa: E402
from gradio_client import Client  # noqa: E402

import app  # noqa: E402
from t2f import Generator, ModelConfig, TextToFace, get_text_encoder  # noqa: E402

TEXT = "a smiling young woman with wavy blond hair"


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


def over_http(http: httpx.Client, url: str, api_name: str, data: list) -> None:
    """One call the way the page makes it: post the inputs, read the result event, fetch every output file,
    all over one kept-alive connection (no gradio_client: it opens new connections and polls every 50 ms)."""
    event = http.post(f"{url}gradio_api/call/{api_name}", json={"data": data}).raise_for_status().json()["event_id"]
    stream = http.get(f"{url}gradio_api/call/{api_name}/{event}").raise_for_status().text
    event_type, result = stream.strip().splitlines()[-2:]
    if event_type != "event: complete":
        raise RuntimeError(f"/{api_name} failed: {result}")
    for file in json.loads(result.removeprefix("data:")):
        http.get(file["url"]).raise_for_status()


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def concurrent(url: str, clients: int, calls: int) -> tuple[list[float], float]:
    """Every client in its own thread calls /generate ``calls`` times: (latencies in ms, total wall seconds)."""
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
    demo = app.build_demo(pipe, gif_dir=Path(tempfile.mkdtemp(prefix="t2f-bench-")))
    _, url, _ = app.launch(demo, prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    try:
        client = Client(url, verbose=False)
        bare = Client(url, verbose=False, download_files=False)  # shows what downloading six files costs
        # gradio_client opens a new connection for every file and loads the CA certificates for it even on
        # plain http; on a local server that needs no TLS, ssl_verify=False skips the loading.
        unverified = Client(url, verbose=False, ssl_verify=False)
        http = httpx.Client()
        rows = [
            ("model alone (pipe(text, seed), no Gradio)", timed(lambda i: pipe(TEXT, i), args.runs)),
            (
                "/generate, gradio_client",
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
                "/generate, plain HTTP like the page",
                timed(lambda i: over_http(http, url, "generate", [TEXT, i, 1.0]), args.runs),
            ),
            (
                "/seed_frame (one slider redraw), gradio_client",
                timed(lambda i: client.predict(TEXT, 1, 2, (i % 100) / 100, 1.0, api_name="/seed_frame"), args.runs),
            ),
            (
                "/seed_frame (one slider redraw), plain HTTP like the page",
                timed(lambda i: over_http(http, url, "seed_frame", [TEXT, 1, 2, (i % 100) / 100, 1.0]), args.runs),
            ),
        ]
        latencies, wall = concurrent(url, args.clients, args.calls_per_client)
    finally:
        demo.close()

    print(f"\n{what}")
    print(
        f"device: {pipe.device}, torch threads: {torch.get_num_threads()}, CPUs: {os.cpu_count()}, "
        f"load average before: {load_before:.1f}; Gradio concurrency limit {app.CONCURRENCY}\n"
    )
    print("| measurement | calls | median ms | p95 ms | throughput |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, times in rows:
        print(f"| {name} | {len(times)} | {statistics.median(times):.0f} | {p95(times):.0f} | |")
    print(
        f"| /generate, {args.clients} concurrent clients | {len(latencies)} | {statistics.median(latencies):.0f} | "
        f"{p95(latencies):.0f} | {len(latencies) / wall:.1f} faces/s |"
    )


if __name__ == "__main__":
    main()
