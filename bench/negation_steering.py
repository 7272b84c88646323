"""Does steering away from what a description negates help? People's descriptions at negation strengths 0 .. 1.

    python -m bench.negation_steering --weights weights               # strengths 0, 0.5, 1: Markdown tables
    python -m bench.negation_steering --weights weights --strengths 0 0.75

For each ``negation_strength`` of the pipeline (``t2f.pipeline.TextToFace``; 0 draws from the plain text code),
the evaluation's people's-descriptions measurement (``train.eval.people``: 239 hand-written descriptions x 4
faces, the negation probes and the dilution probes, the same noise seeds for every strength) is run and read by
the project's attribute classifier. The first table gives the overall numbers (adherence on all claims, on the
negated claims alone, the worst negation excess: drawn when negated minus drawn when unsaid); the second, per
negation probe, how often the attribute is drawn when said / negated / unsaid. Steering should lower the
negated column toward (or below) the unsaid one without moving the said column.
"""

from __future__ import annotations

import argparse
import time

from t2f import TextToFace
from t2f.files import DEFAULT_WEIGHTS_DIR
from train.eval.adherence import weak_attributes
from train.eval.classifier import DEFAULT_PATH, load_classifier
from train.eval.people import load_people, people_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default=str(DEFAULT_WEIGHTS_DIR))
    parser.add_argument("--strengths", type=float, nargs="+", default=[0.0, 0.5, 1.0])
    parser.add_argument("--classifier", default=str(DEFAULT_PATH))
    args = parser.parse_args()

    classifier, meta = load_classifier(args.classifier, "cpu")
    excluded = weak_attributes(meta.get("held_out_accuracy"))
    people = load_people()
    reports = {}
    for strength in args.strengths:
        pipe = TextToFace.from_pretrained(args.weights, device="cpu", negation_strength=strength)
        if strength and not pipe.steers:
            raise SystemExit(f"{args.weights} cannot steer: {pipe.edit_problem}")

        def generate(texts, seeds, pipe=pipe):
            return pipe.synthesize(pipe.noise(seeds), pipe.codes(texts))

        start = time.perf_counter()
        reports[strength] = people_report(generate, classifier, people, excluded)
        print(f"strength {strength:g}: {time.perf_counter() - start:.0f} s", flush=True)

    print(f"\nPeople's descriptions, {args.weights}, by negation strength\n")
    print("| strength | adherence | negated claims | worst negation excess | dilution cost (points) |")
    print("|---|---|---|---|---|")
    for strength, r in reports.items():
        print(
            f"| {strength:g} | {r['adherence']:.3f} | {r['negated_claims']['mean']:.3f} | "
            f"{r['negation_excess']:+.2f} | {r['dilution_cost_points']:.1f} |"
        )
    probes = list(next(iter(reports.values()))["negation"])
    print("\nDrawn when said / negated / unsaid, per negation probe\n")
    print("| probe | " + " | ".join(f"strength {s:g}" for s in reports) + " |")
    print("|---|" + "---|" * len(reports))
    for probe in probes:
        cells = [
            "{said:.2f} / **{negated:.2f}** / {unsaid:.2f}".format(**r["negation"][probe]) for r in reports.values()
        ]
        print(f"| {probe} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
