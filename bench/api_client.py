"""One gradio_client user in a process of its own, for ``bench.app_latency``: a user's script never shares the
server's Python process (its interpreter lock), as clients in threads of the benchmark's process would.

    python -m bench.api_client URL CALLS [--first-seed N] [--warmup 3] [--wait]

Connects with gradio_client's defaults, makes ``warmup`` untimed /generate calls, then (with --wait) reads one
line from stdin, so that several clients start together, then calls /generate CALLS times with seeds first-seed,
first-seed + 1, ... Prints one JSON line: {"start": s, "end": s, "ms": [per-call milliseconds]}, with start and
end in time.time() seconds (one clock for every process on the machine).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

from gradio_client import Client  # noqa: E402

TEXT = "a smiling young woman with wavy blond hair"  # what every /generate of bench.app_latency draws


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("calls", type=int)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--wait", action="store_true", help="read a line from stdin before the timed calls")
    args = parser.parse_args()

    client = Client(args.url, verbose=False)
    for i in range(args.warmup):
        client.predict(TEXT, args.first_seed + args.calls + i, 1.0, api_name="/generate")
    if args.wait:
        print("ready", flush=True)
        sys.stdin.readline()
    ms, start = [], time.time()
    for i in range(args.calls):
        began = time.perf_counter()
        client.predict(TEXT, args.first_seed + i, 1.0, api_name="/generate")
        ms.append((time.perf_counter() - began) * 1000)
    print(json.dumps({"start": start, "end": time.time(), "ms": ms}), flush=True)


if __name__ == "__main__":
    main()
