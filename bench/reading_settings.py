"""How the pipeline reads a description, setting by setting: people's descriptions at each negation strength,
with sentences that describe no face left out or kept, and at each code sampling.

    python -m bench.reading_settings --weights weights                  # strengths 0, 0.5, 1 x left out, kept
    python -m bench.reading_settings --weights weights --strengths 0 1 --off-topic keep
    python -m bench.reading_settings --weights weights --strengths 1 --off-topic leave --code-sampling 0 0.5 1

For each ``negation_strength`` of the pipeline (``t2f.pipeline.TextToFace``; 0 draws from the plain text code)
and each ``leave_out_off_topic`` ("leave": sentences the read-out's face gate reads as describing no face are
left out, ``TextToFace.face_text``; "keep": every sentence is encoded) and each ``code_sampling`` (the share of
conditioning augmentation's spread each face's text code is drawn with; default: the pipeline's), the evaluation's people's-descriptions
measurement (``train.eval.people``: 239 hand-written descriptions x 4 faces, the negation probes and the
dilution probes, the same noise seeds for every setting) and the adherence on the 336 authors' descriptions
(public-domain novels, 4 faces each) are run and read by the project's attribute classifier. The first table gives the overall numbers (adherence on all claims, on the negated claims alone,
the worst negation excess: drawn when negated minus drawn when unsaid, the dilution cost: drawn alone minus
drawn with 1-3 neutral sentences around); the second, per negation probe, how often the attribute is drawn when
said / negated / unsaid; the third, per dilution probe, how often it is drawn with 0, 1, 2 and 3 neutral
sentences around. Steering should lower the negated column toward (or below) the unsaid one without moving the
said column; leaving out what describes no face should flatten the dilution rows.
"""

from __future__ import annotations

import argparse
import time

from t2f import TextToFace
from t2f.files import DEFAULT_WEIGHTS_DIR
from t2f.pipeline import CODE_SAMPLING, check_code_sampling, check_negation_strength
from train.eval.adherence import weak_attributes
from train.eval.classifier import DEFAULT_PATH, load_classifier
from train.eval.people import PUBLIC_DOMAIN_FILE, load_people, people_adherence, people_report

OFF_TOPIC = {"leave": True, "keep": False}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default=str(DEFAULT_WEIGHTS_DIR))
    parser.add_argument("--strengths", type=float, nargs="+", default=[0.0, 0.5, 1.0])
    parser.add_argument("--off-topic", nargs="+", choices=list(OFF_TOPIC), default=list(OFF_TOPIC))
    parser.add_argument("--code-sampling", type=float, nargs="+", default=[CODE_SAMPLING])
    parser.add_argument("--classifier", default=str(DEFAULT_PATH))
    args = parser.parse_args()
    try:  # every setting is checked before the first one runs
        for value in args.strengths:
            check_negation_strength(value)
        for value in args.code_sampling:
            check_code_sampling(value)
    except ValueError as e:
        parser.error(str(e))

    classifier, meta = load_classifier(args.classifier, "cpu")
    excluded = weak_attributes(meta.get("held_out_accuracy"))
    people, authors = load_people(), load_people(PUBLIC_DOMAIN_FILE)[0]
    reports, authors_reports = {}, {}
    for off_topic in args.off_topic:
        for strength in args.strengths:
            for sampling in args.code_sampling:
                pipe = TextToFace.from_pretrained(
                    args.weights, device="cpu", negation_strength=strength, leave_out_off_topic=OFF_TOPIC[off_topic],
                    code_sampling=sampling,
                )  # fmt: skip
                if (strength and not pipe.steers) or (OFF_TOPIC[off_topic] and not pipe.leaves_out):
                    raise SystemExit(f"{args.weights} has no read-out to steer or leave out by: {pipe.edit_problem}")
                start = time.perf_counter()
                setting = f"{strength:g}, {off_topic}, {sampling:g}"
                reports[setting] = people_report(pipe.draw, classifier, people, excluded)
                authors_reports[setting] = people_adherence(pipe.draw, classifier, authors, excluded)
                print(f"setting {setting}: {time.perf_counter() - start:.0f} s", flush=True)

    print(f"\nPeople's descriptions, {args.weights}, by negation strength, off-topic sentences and code sampling\n")
    print(
        "| strength, off-topic sentences, code sampling | adherence | negated claims | worst negation excess "
        "| dilution cost (points) | authors' descriptions: adherence | their negated claims |"
    )  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for setting, r in reports.items():
        a = authors_reports[setting]
        print(
            f"| {setting} | {r['adherence']:.3f} | {r['negated_claims']['mean']:.3f} | "
            f"{r['negation_excess']:+.2f} | {r['dilution_cost_points']:.1f} | {a['adherence']:.3f} | {a['negated_claims']['mean']:.3f} |"
        )
    _per_probe(reports, "negation", "Drawn when said / negated / unsaid, per negation probe", "{said:.2f} / **{negated:.2f}** / {unsaid:.2f}")
    _per_probe(reports, "dilution", "Drawn with 0 / 1 / 2 / 3 neutral sentences around, per dilution probe", None)


def _per_probe(reports: dict[str, dict], part: str, title: str, cell: str | None) -> None:
    """A table with a row per probe of ``part`` and a column per setting; ``cell`` formats a negation probe's
    rates (None: a dilution probe's drawn rates, joined by " / ")."""
    probes = list(next(iter(reports.values()))[part])
    print(f"\n{title}\n")
    print("| probe | " + " | ".join(reports) + " |")
    print("|---|" + "---|" * len(reports))
    for probe in probes:
        cells = [
            cell.format(**r[part][probe]) if cell else " / ".join(f"{x:.2f}" for x in r[part][probe]["drawn"].values())
            for r in reports.values()
        ]
        print(f"| {probe} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
