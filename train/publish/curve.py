"""The learning curve of weights trained a session at a time.

Every session that continues the shipped weights adds a row to ``training_record.json`` and, once
``train evaluate`` has run on its weights, that row carries the evaluation's headline numbers. This
module turns those rows into a plot (images seen against FID and text adherence), a markdown table,
and the verdict of the stopping rule: training goes on while a whole session still improves FID at
128 px by at least ``MIN_GAIN``, for at most ``MAX_MINUTES`` training minutes in all.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from t2f.files import CURVE_NAME
from train.publish.readme import update_readme_block

# The campaign's rule (issue "Model v2"): stop when a run of about two hours improves FID at 128 px by less
# than 3%, or after four such runs. A session here trains for less than two hours (the rest of it evaluates),
# so the four runs are counted in training minutes.
MIN_GAIN = 0.03
MAX_MINUTES = 4 * 120.0
# The evaluation summary's keys the curve reads (train.eval.report.summarize).
FID128, FID128_FLOOR, FID64, FID64_FLOOR = "fid_128", "fid_128_floor", "fid_64", "fid_64_floor"
ADHERENCE, PRECISION, DIVERSITY = "adherence_normalized", "precision_normalized", "diversity_ratio"
JUDGE_F1 = "classifier_f1_salient"  # only reports read by the calibrated judge (train.eval.classifier) have it
FIRST_JUDGE_NOTE = (
    "\\* Read by the project's first attribute classifier, which called rare attributes present up to four times as "
    "often as they are (`train/eval/classifier.py`): not comparable with the rows read by the calibrated one."
)


@dataclass(frozen=True)
class CurvePoint:
    """The evaluation of the weights one training session left."""

    session: int  # 1-based position in the record
    run: str
    images: int  # seen in total, all sessions so far
    minutes: float  # training minutes in total
    fid128: float
    fid128_floor: float
    fid64: float
    fid64_floor: float
    adherence: float  # normalized: 0 ignores the text, 1 matches real faces
    precision: float  # normalized the same way
    diversity: float  # same-description diversity, generated / real
    changes: tuple[str, ...] = ()  # what this session trained differently from the one before
    first_judge: bool = False  # adherence and precision read by the first, lenient classifier (before 2026-12-06)


def curve_points(sessions: list[dict]) -> list[CurvePoint]:
    """The evaluated sessions of a record's ``sessions`` rows, in training order."""
    points, minutes = [], 0.0
    for i, row in enumerate(sessions, start=1):
        minutes += row["train_minutes"]
        e = row.get("evaluation")
        if not e:
            continue
        try:
            values = [e[k] for k in (FID128, FID128_FLOOR, FID64, FID64_FLOOR, ADHERENCE, PRECISION, DIVERSITY)]
        except KeyError as missing:
            raise ValueError(f"session {i} ({row['run']}): its evaluation lacks {missing}; re-run train evaluate") from None
        point = CurvePoint(
            i, row["run"], row["images_seen_total"], round(minutes, 2), *map(float, values), tuple(row.get("changes", ())),
            first_judge=JUDGE_F1 not in e,
        )  # fmt: skip
        points.append(point)
    return points


def stop_rule(
    points: list[CurvePoint], sessions: list[dict], *, min_gain: float = MIN_GAIN, max_minutes: float = MAX_MINUTES
) -> tuple[bool, str]:
    """Whether to stop training: (verdict, the reason in words). ``sessions``: every session trained (the
    record's rows, evaluated or not)."""
    minutes = sum(row["train_minutes"] for row in sessions)
    if minutes >= max_minutes:
        return True, f"{minutes:.0f} training minutes in {len(sessions)} sessions (the budget is {max_minutes:.0f})"
    if len(points) < 2 or points[-1].session != len(sessions):
        return False, "the last session has no evaluation to compare with the one before" if points else "nothing evaluated yet"
    before, last = points[-2].fid128, points[-1].fid128
    gain = (before - last) / before
    verdict = gain < min_gain
    return verdict, (
        f"session {points[-1].session} took FID at 128 px from {before:.2f} to {last:.2f} ({gain:+.1%} better), "
        f"{'under' if verdict else 'at least'} the {min_gain:.0%} that keeps training going"
    )


def curve_markdown(points: list[CurvePoint], sessions: list[dict], image: str | None = None) -> str:
    """A table of the points, the sessions that changed the recipe, the stopping rule's verdict (over every
    session in ``sessions``) and, when given, the plot ``image`` (a relative link)."""
    header = (
        "| Session | Run | Images seen | Training minutes | FID 128 (floor) | FID 64 (floor) | Adherence, normalized "
        "| Precision, normalized | Diversity (gen / real) |\n|---:|---|---:|---:|---:|---:|---:|---:|---:|"
    )
    mixed = any(p.first_judge for p in points) and not all(p.first_judge for p in points)
    mark = {True: " \\*" if mixed else "", False: ""}  # marked only where the column mixes two judges
    rows = [
        f"| {p.session} | {p.run} | {p.images:,} | {p.minutes:.1f} | {p.fid128:.1f} ({p.fid128_floor:.1f}) "
        f"| {p.fid64:.1f} ({p.fid64_floor:.1f}) | {p.adherence:.3f}{mark[p.first_judge]} | {p.precision:.3f}{mark[p.first_judge]} "
        f"| {p.diversity:.3f}{mark[p.first_judge]} |"
        for p in points
    ]
    judges = [FIRST_JUDGE_NOTE] if mixed else []
    changed = [f"Session {p.session} changed the recipe: {'; '.join(f'`{c}`' for c in p.changes)}." for p in points if p.changes]
    stop, why = stop_rule(points, sessions)
    verdict = f"**Stopping rule:** {'met' if stop else 'not met'}: {why}."
    paragraphs = ["\n".join([header, *rows]), *judges, *changed, verdict]
    if image:
        paragraphs.append(f"![Learning curve: FID and text adherence against images seen]({image})")
    return "\n\n".join(paragraphs)


def plot_curve(points: list[CurvePoint], path: Path) -> Path:
    """Two panels against images seen: FID at 128 and 64 px with their real-vs-real floors, and
    normalized adherence and precision (0 = ignores the text, 1 = real faces)."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on a server
    import matplotlib.pyplot as plt

    if not points:
        raise ValueError("no evaluated session to plot: run `python -m train evaluate` on the weights first")
    kimg = [p.images / 1000 for p in points]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for values, floors, label, colour in (
        ([p.fid128 for p in points], [p.fid128_floor for p in points], "128 px", "tab:blue"),
        ([p.fid64 for p in points], [p.fid64_floor for p in points], "64 px", "tab:orange"),
    ):
        left.plot(kimg, values, "o-", color=colour, label=f"FID {label}")
        left.plot(kimg, floors, "--", color=colour, alpha=0.6, label=f"real vs real, {label}")
    left.set(xlabel="thousand images seen", ylabel="FID (lower is better)", ylim=(0, None), title="Realism")
    left.legend(fontsize=8)
    right.plot(kimg, [p.adherence for p in points], "o-", color="tab:green", label="adherence")
    right.plot(kimg, [p.precision for p in points], "s-", color="tab:purple", label="precision")
    right.axhline(1.0, color="grey", linestyle="--", linewidth=1, label="real faces")
    right.axhline(0.0, color="grey", linestyle=":", linewidth=1, label="shuffled captions")
    right.set(xlabel="thousand images seen", ylabel="normalized (1 = real faces)", ylim=(-0.1, 1.1), title="Following the text")
    right.legend(fontsize=8)
    for ax in (left, right):
        ax.set_xlim(0, max(kimg) * 1.1)
        ax.grid(alpha=0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def refresh_curve(folder: Path, sessions: list[dict], readme: Path | None = None) -> str:
    """Draw ``folder/learning_curve.png`` from the evaluated ``sessions`` and, with ``readme``, rewrite
    its curve block (linking the plot relative to it); returns the markdown linking the plot by name."""
    points = curve_points(sessions)
    image = plot_curve(points, folder / CURVE_NAME)
    if readme is not None:
        link = os.path.relpath(image.resolve(), readme.resolve().parent)
        update_readme_block(readme, "curve", curve_markdown(points, sessions, link))
    return curve_markdown(points, sessions, image.name)
