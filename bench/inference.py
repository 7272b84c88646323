"""Inference speed of TextToFace: milliseconds per face and the generator's FLOP/s against the device's peak.

    python -m bench.inference [--weights FOLDER_OR_REPO] [--runs 20] [--threads N]

For batch 1 and batch 16, on the CPU (and on the GPU when CUDA is present), the median of ``--runs``
timed runs of:
- ``pipe(texts, seeds)``, the whole call: text encoding, all six scales, PIL images. Every run has new
  descriptions, so the embedding cache never hides the encoder;
- ``pipe.generate(z, text)``, the generator alone (as the pipeline runs it: one face at a time, equalized-lr
  scales folded into the weights, channels_last);
- ``Generator.forward`` on the whole batch as loaded (NCHW, scales applied every call), for reference.
For the generator rows: its FLOPs per face (counted by torch.utils.flop_counter on one forward pass, a
multiply-add = 2 FLOPs), the FLOP/s achieved, and its share of the device's measured float32 peak (a large
matmul, timed in the same run). A vendor matmul need not reach the hardware's peak: on the project's AMD
CPU, MKL's sgemm (MKL runs AVX2 code on non-Intel CPUs) reaches about half the rate of oneDNN's AVX-512
3x3 convolution, so the share of one large convolution's rate is printed too. Prints a markdown table.

Weights: --weights, else T2F_WEIGHTS, else the bundled weights/. Where none load, it times the shipped
architecture (ModelConfig's defaults) with random weights: the same computation as trained weights, and
the output says so.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from t2f import Generator, ModelConfig, TextToFace, get_text_encoder  # noqa: E402
from t2f.hub import resolve_weights  # noqa: E402

BATCHES = (1, 16)
GOAL_MS_PER_FACE = 60.0  # batch 1, text encoding included, on the 2-core CPU of the project's machine
GOAL_PEAK_SHARE = 0.5  # batched generator FLOP/s over the measured matmul peak
MATMUL_SIZE = 4096


def load_generator_or_random(weights: str | None) -> tuple[Generator, str]:
    """The generator to time and a line saying where its weights come from."""
    try:
        folder = resolve_weights(weights)
        return Generator.from_folder(folder), f"weights: {folder}"
    except (ValueError, OSError) as e:
        if weights is not None:  # asked for by name: a failure is an error, not a reason to time something else
            raise
        torch.manual_seed(0)
        reason = str(e).split(":")[0]
        return Generator(ModelConfig()), f"weights: none ({reason}); RANDOM weights of the shipped architecture, ModelConfig()"


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[int], object], runs: int, device: torch.device) -> list[float]:
    """Seconds of ``fn(run)`` for each run, after two untimed warm-up runs."""
    for run in range(-2, 0):
        fn(run)
    times = []
    for run in range(runs):
        sync(device)
        start = time.perf_counter()
        fn(run)
        sync(device)
        times.append(time.perf_counter() - start)
    return times


def matmul_peak(device: torch.device, runs: int) -> float:
    """FLOP/s of a float32 matmul of MATMUL_SIZE x MATMUL_SIZE matrices: the device's measured peak."""
    a = torch.randn(MATMUL_SIZE, MATMUL_SIZE, device=device)
    b = torch.randn(MATMUL_SIZE, MATMUL_SIZE, device=device)
    seconds = statistics.median(timed(lambda _: a @ b, max(5, runs // 2), device))
    return 2 * MATMUL_SIZE**3 / seconds


def conv_rate(device: torch.device, runs: int) -> float:
    """FLOP/s of one large 3x3 convolution (512 -> 512 channels, 32x32, channels_last): what the
    convolution library reaches on this device, for comparison with the matmul peak."""
    x = torch.randn(1, 512, 32, 32, device=device).contiguous(memory_format=torch.channels_last)
    w = torch.randn(512, 512, 3, 3, device=device).contiguous(memory_format=torch.channels_last)
    seconds = statistics.median(timed(lambda _: torch.nn.functional.conv2d(x, w, padding=1), max(5, runs // 2), device))
    return 2 * 32 * 32 * 512 * 512 * 9 / seconds


def flops_per_face(generator: Generator) -> int:
    config = generator.config
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        generator.cpu()(torch.zeros(1, config.z_dim), torch.zeros(1, config.text_dim))
    return counter.get_total_flops()


def descriptions(run: int, batch: int) -> list[str]:
    """New descriptions for every run and face, so each call encodes its texts."""
    return [f"a smiling young woman with wavy blond hair and earrings, number {run}-{k}" for k in range(batch)]


def cases(pipe: TextToFace, batch: int) -> dict[str, Callable[[int], object]]:
    """What is timed for a batch: each a function of the run number."""
    seeds = list(range(batch))
    z, text = pipe.noise(seeds), pipe.encode(descriptions(-9, batch))

    @torch.inference_mode()
    def forward(run: int) -> list[torch.Tensor]:
        return pipe.generator(z, text)

    return {
        "pipe(): encode + 6 scales + PIL": lambda run: pipe(descriptions(run, batch), seeds),
        "generator, as the pipeline runs it": lambda run: pipe.generate(z, text),
        "generator, Generator.forward batched (reference)": forward,
    }


def bench_device(generator: Generator, device: torch.device, runs: int, flops: int) -> list[dict]:
    pipe = TextToFace(generator, get_text_encoder(generator.config.text_encoder, generator.config.text_encoder_options), device)
    peak = matmul_peak(device, runs)
    conv = conv_rate(device, runs)
    rows = []
    for batch in BATCHES:
        for what, fn in cases(pipe, batch).items():
            seconds = timed(fn, runs, device)
            per_face = statistics.median(seconds) / batch
            generator_row = what.startswith("generator")
            rows.append(
                {
                    "device": device.type,
                    "batch": batch,
                    "what": what,
                    "ms": 1000 * per_face,
                    "best": 1000 * min(seconds) / batch,
                    "faces/s": 1 / per_face,
                    "gflops": flops / per_face / 1e9 if generator_row else None,
                    "share": flops / per_face / peak if generator_row else None,
                    "conv_share": flops / per_face / conv if generator_row else None,
                }
            )
    rows.append({"device": device.type, "peak": peak, "conv": conv})
    return rows


def cpu_name() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", default=os.environ.get("T2F_WEIGHTS") or None, help="weights folder or Hub repo id")
    parser.add_argument("--runs", type=int, default=20, help="timed runs per row (median reported)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    generator, source = load_generator_or_random(args.weights)
    flops = flops_per_face(generator)
    params = sum(p.numel() for p in generator.parameters())
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    print(f"T2F-MSGGAN inference, median of {args.runs} runs. {source}")
    print(
        f"torch {torch.__version__}, CPU: {cpu_name()}, {os.cpu_count()} logical cores, {torch.get_num_threads()} torch threads"
        + (f"; GPU: {torch.cuda.get_device_name()}" if torch.cuda.is_available() else "")
    )
    print(f"generator: {params / 1e6:.2f}M parameters, {flops / 1e9:.3f} GFLOP per face (all six scales)\n")

    rows = [row for device in devices for row in bench_device(generator, device, args.runs, flops)]
    print("| device | batch | what | ms/face (median) | ms/face (best) | faces/s | GFLOP/s | of matmul peak | of conv rate |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        if "peak" in row:
            continue
        gflops = f"{row['gflops']:.1f}" if row["gflops"] is not None else ""
        share = f"{100 * row['share']:.0f}%" if row["share"] is not None else ""
        conv_share = f"{100 * row['conv_share']:.0f}%" if row["conv_share"] is not None else ""
        print(
            f"| {row['device']} | {row['batch']} | {row['what']} | {row['ms']:.1f} | {row['best']:.1f} | "
            f"{row['faces/s']:.1f} | {gflops} | {share} | {conv_share} |"
        )
    print()
    for row in rows:
        if "peak" in row:
            print(
                f"{row['device']} float32 peak: {MATMUL_SIZE}^3 matmul {row['peak'] / 1e9:.1f} GFLOP/s; "
                f"for comparison, a 512-channel 3x3 convolution reaches {row['conv'] / 1e9:.1f} GFLOP/s"
            )
    cpu = {(r["batch"], r["what"]): r for r in rows if r.get("device") == "cpu" and "what" in r}
    single = cpu[(1, "pipe(): encode + 6 scales + PIL")]["ms"]
    batched = cpu[(16, "generator, as the pipeline runs it")]["share"]
    print(
        f"\ngoals (CPU): one face, text included, {single:.1f} ms median (goal < {GOAL_MS_PER_FACE:.0f}): "
        f"{'met' if single < GOAL_MS_PER_FACE else 'NOT met'}; batch 16 generator at {100 * batched:.0f}% of the "
        f"matmul peak (goal >= {100 * GOAL_PEAK_SHARE:.0f}%): {'met' if batched >= GOAL_PEAK_SHARE else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
