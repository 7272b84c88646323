"""An evaluation report's headline numbers (by stable keys) and its markdown.
"""

from __future__ import annotations

from train.eval.asked import judge_recall
from train.eval.classifier import accuracy_table


# Display names of the summary's fixed keys; the per-scale keys are named by summary_label.
LABELS = {
    "n": "Held-out images (N)",
    "adherence": "Text adherence",
    "adherence_normalized": "Text adherence, normalized (floor 0, ceiling 1)",
    "adherence_ceiling": "Text adherence, real faces (ceiling)",
    "adherence_floor": "Text adherence, shuffled captions (floor)",
    "precision": "Text precision",
    "precision_normalized": "Text precision, normalized (floor 0, ceiling 1)",
    "precision_ceiling": "Text precision, real faces (ceiling)",
    "precision_floor": "Text precision, shuffled captions (floor)",
    "excluded_attributes": "Attributes left out of adherence",
    "diversity_ratio": "Diversity, same description (generated / real)",
    "people_adherence": "Adherence on people's descriptions",
    "people_vs_template": "People's descriptions / caption writer's (adherence ratio)",
    "negation_excess": "Negated drawn minus unsaid drawn, worst attribute (points)",
    "dilution_cost_points": "Dilution cost, mean over attributes (points)",
    "authors_adherence": "Adherence on authors' descriptions (public-domain novels)",
    "authors_vs_template": "Authors' descriptions / caption writer's (adherence ratio)",
    "drawn_when_asked": "Drawn when asked, plain one-attribute descriptions (mean)",
    "drawn_when_asked_min": "Drawn when asked, plain one-attribute descriptions (lowest attribute)",
    "classifier_f1_salient": "Classifier F1, salient attributes (held-out mean)",
    "classifier_accuracy": "Classifier accuracy (held-out mean)",
    "classifier_balanced_accuracy": "Classifier balanced accuracy (held-out mean)",
    "classifier_majority_baseline": "Classifier majority baseline (held-out mean)",
    "fid_network": "FID network",
    "seconds": "Evaluation seconds",
}
SCALE_LABELS = {  # key pattern (with the scale) -> display name
    "fid_{}": "FID {}px",
    "fid_{}_floor": "FID {}px, real vs real (floor)",
    "kid_{}_x1000": "KID {}px (x1000)",
    "scale_gap_{}": "Scale gap {}px (real faces 0)",
}


def summary_label(key: str) -> str:
    """How a summary key is shown in README and the model card (the key itself when it has no name)."""
    if key in LABELS:
        return LABELS[key]
    for pattern, label in SCALE_LABELS.items():
        head, _, tail = pattern.partition("{}")
        middle = key[len(head) : len(key) - len(tail)] if key.startswith(head) and key.endswith(tail) else ""
        if middle.isdigit():
            return label.format(middle)
    return key


def summarize(report: dict) -> dict:
    """The headline numbers, flat {stable key: value}: what the learning curve reads and README and the
    model card show (under :func:`summary_label`)."""
    r = report["resolution"]
    scales = report["realism"]["scales"]
    a, div = report["adherence"], report["diversity"]["same_description"]
    summary: dict[str, object] = {"n": report["n"]}
    for res in (str(r), str(r // 2)):
        s = scales[res]
        summary[f"fid_{res}"] = s["fid"]
        summary[f"fid_{res}_floor"] = s["fid_floor"]
        summary[f"kid_{res}_x1000"] = 1000 * s["kid"]
    for key, name in (("mean", "adherence"), ("precision", "precision")):
        summary[name] = a["generated"][key]
        summary[f"{name}_normalized"] = a["normalized"][key]
        summary[f"{name}_ceiling"] = a["real"][key]
        summary[f"{name}_floor"] = a["shuffled"][key]
    summary["excluded_attributes"] = _excluded(a)
    summary["diversity_ratio"] = div["ratio"]
    people = report.get("people")  # reports before it was measured lack it
    if people:
        summary["people_adherence"] = people["adherence"]
        summary["people_vs_template"] = people["adherence"] / a["generated"]["mean"]
        summary["negation_excess"] = 100 * people["negation_excess"] if people["negation_excess"] is not None else None
        summary["dilution_cost_points"] = people["dilution_cost_points"]
    authors = report.get("people_public_domain")  # reports before it was measured lack it
    if authors:
        summary["authors_adherence"] = authors["adherence"]
        summary["authors_vs_template"] = authors["adherence"] / a["generated"]["mean"]
    asked = report.get("drawn_when_asked")
    if asked:
        summary["drawn_when_asked"] = asked["mean"]
        summary["drawn_when_asked_min"] = asked["min"]
    for px, gap in (report["realism"].get("scale_gap") or {}).items():  # reports before it was measured lack it
        summary[f"scale_gap_{px}"] = gap
    salient = report["classifier"].get("held_out_salient") or {}
    if salient.get("mean_f1") is not None:
        summary["classifier_f1_salient"] = salient["mean_f1"]
    means = report["classifier"].get("held_out_mean") or {}
    for key in ("accuracy", "balanced_accuracy", "majority_baseline"):
        if means.get(key) is not None:
            summary[f"classifier_{key}"] = means[key]
    summary["fid_network"] = report["realism"]["network"].get("package", report["realism"]["network"]["network"])
    summary["seconds"] = report["seconds"]["total"]
    return summary


def _f(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _excluded(a: dict) -> str:
    """The attributes left out of adherence, with their balanced accuracy, or "none"."""
    return ", ".join(f"{k} ({v:.3f})" for k, v in a["excluded"].items()) or "none"


def results_markdown(report: dict) -> str:
    """The report as markdown: realism, text adherence and diversity tables, the settings, and (folded)
    adherence per claim and the classifier's held-out accuracy per attribute."""
    r = report["resolution"]
    realism_, scales, net = report["realism"], report["realism"]["scales"], report["realism"]["network"]
    strength = report.get("negation_strength")
    steering = "" if strength is None else f" Negation steering (the pipeline's `negation_strength`): {strength:g}{'' if strength else ' (off)'}."
    if "leave_out_off_topic" in report:
        steering += f" Sentences that describe no face (`leave_out_off_topic`): {'left out' if report['leave_out_off_topic'] else 'kept'}."
    if "code_sampling" in report:
        steering += f" Text codes sampled with `code_sampling` {report['code_sampling']:g}{'' if report['code_sampling'] else ' (the mean code)'}."
    lines = [
        (
            f"Held-out CelebA faces, N = {report['n']}, seed {report['seed']} (split: {report['split']}); each "
            "generated face comes from the caption of one held-out image."
            + (f" Weights: `{report['weights']}` after {report['images_seen']:,} training images." if "images_seen" in report else "")
            + steering
        ),
        "",
        "| Scale | FID | FID real vs real (floor) | KID x1000 | KID x1000 floor |",
        "|---|---|---|---|---|",
    ]
    for res in (str(r), str(r // 2)):
        s = scales[res]
        lines.append(
            f"| {res} px | {_f(s['fid'], 2)} | {_f(s['fid_floor'], 2)} | {_f(1000 * s['kid'], 2)} ± {_f(1000 * s['kid_std'], 2)} "
            f"| {_f(1000 * s['kid_floor'], 2)} ± {_f(1000 * s['kid_floor_std'], 2)} |"
        )
    gap = realism_.get("scale_gap")
    if gap:
        lines += [
            "",
            f"Scale gap: how far each smaller output is from the {r} px face average-pooled to its size (mean absolute "
            "difference, pixels in [-1, 1]; 0 for real faces, whose smaller scales are made that way): "
            + ", ".join(f"{res} px **{_f(v)}**" for res, v in gap.items())
            + ".",
        ]
    a, div = report["adherence"], report["diversity"]
    same, every = div["same_description"], div["all_faces"]
    lines += [
        "",
        "| Text adherence (mean over faces) | Generated | Real faces (ceiling) | Shuffled captions (floor) | Normalized |",
        "|---|---|---|---|---|",
        f"| share of the caption's attributes found | **{_f(a['generated']['mean'])}** | {_f(a['real']['mean'])} "
        f"| {_f(a['shuffled']['mean'])} | {_f(a['normalized']['mean'])} |",
        f"| precision: share of the attributes shown that the caption asks for | **{_f(a['generated']['precision'])}** "
        f"| {_f(a['real']['precision'])} | {_f(a['shuffled']['precision'])} | {_f(a['normalized']['precision'])} |",
        f"| attributes shown unasked, per face | {_f(a['generated']['unasked_per_face'], 2)} | {_f(a['real']['unasked_per_face'], 2)} "
        f"| {_f(a['shuffled']['unasked_per_face'], 2)} | |",
        "",
        f"Normalized: (generated - floor) / (ceiling - floor). Left out (the classifier's held-out balanced accuracy "
        f"below {a['min_balanced_accuracy']}): {_excluded(a)}.",
        *people_markdown(report),
        *asked_markdown(report),
        "",
        "| Diversity: mean pairwise distance of classifier features | Generated | Real |",
        "|---|---|---|",
        f"| same description ({div['descriptions']} descriptions x {div['seeds']} faces) | **{_f(same['generated'])}** | {_f(same['real'])} |",
        f"| all faces | {_f(every['generated'])} | {_f(every['real'])} |",
        "",
        f"FID/KID: {net['network']} ({net.get('package', 'stand-in')}), input: {net.get('input', '-')}. "
        f"Images: {realism_['images']['generated']} generated, {realism_['images']['real']} held-out, "
        f"{realism_['images']['floor']} training (floor). Crop: {realism_['crop']}. {realism_['resize']}. "
        f"Floor: {realism_['floor']}. KID: {realism_['kid']}. Seconds: "
        + ", ".join(f"{k} {v}" for k, v in report["seconds"].items())
        + f", on {report.get('device', '?')}.",
        "",
        "<details><summary>Text adherence per claim (claims in brackets)</summary>",
        "",
        "| Claim | Generated | Real faces (ceiling) | Shuffled captions (floor) |",
        "|---|---|---|---|",
    ]
    for label, g in a["generated"]["per_claim"].items():
        cells = [_f(x["found"]) if x else "-" for x in (g, a["real"]["per_claim"].get(label), a["shuffled"]["per_claim"].get(label))]
        lines.append(f"| {label} ({g['claims']}) | " + " | ".join(cells) + " |")
    lines += ["", "</details>"]
    accuracy = report["classifier"].get("held_out_accuracy")
    if accuracy:
        lines += [
            "",
            "<details><summary>Attribute classifier: accuracy on the held-out split (balanced accuracy: mean of the "
            "true positive and true negative rates, 0.5 = chance)</summary>",
            "",
            accuracy_table(accuracy),
            "",
            "</details>",
        ]
    return "\n".join(lines)


def asked_markdown(report: dict) -> list[str]:
    """Lines on plain one-attribute descriptions (``train.eval.asked``); none for a report made before."""
    asked = report.get("drawn_when_asked")
    if not asked:
        return []
    per = asked["per_attribute"]
    accuracy = report["classifier"].get("held_out_accuracy") or {}
    return [
        "",
        f"**Drawn when asked**: of {asked['seeds']} faces from plain one-attribute descriptions (\"A bald man.\"), the share "
        f"that shows the attribute: mean **{_f(asked['mean'])}**, lowest {_f(asked['min'])}; beside it the judge's recall "
        "of that attribute on real held-out faces (what it can find when the face shows it).",
        "",
        "| | " + " | ".join(per) + " |",
        "|---|" + "---|" * len(per),
        "| shown | " + " | ".join(_f(v["shown"], 2) for v in per.values()) + " |",
        "| judge's recall | " + " | ".join(_f(judge_recall(accuracy, v["attribute"], v["value"]), 2) for v in per.values()) + " |",
    ]


def _coverage(part: dict) -> str:
    share = part.get("caption_coverage")
    return "" if share is None else f" The caption writer writes {_f(share, 2)} of this set's attribute phrases."


def _authors(a: dict | None, template: float) -> list[str]:
    """The line on authors' descriptions (the second people's set), if measured."""
    if not a:
        return []
    negated = f"; negated claims alone {_f(a['negated_claims']['mean'])} ({a['negated_claims']['claims']} claims)" if a["negated_claims"] else ""
    return [
        "",
        f"**Authors' descriptions** ({a['descriptions']} quoted from public-domain novels, {a['seeds_per_description']} faces "
        f"each): adherence **{_f(a['adherence'])}**, {_f(a['adherence'] / template)} of the caption writer's{negated}."
        + _coverage(a),
    ]


def people_markdown(report: dict) -> list[str]:
    """Lines on people's descriptions, negation and dilution (``train.eval.people``); none for a report
    made before they were measured."""
    p = report.get("people")
    if not p:
        return []
    template = report["adherence"]["generated"]["mean"]
    lines = [
        "",
        f"**People's descriptions** ({p['descriptions']} hand-written, {p['seeds_per_description']} faces each): adherence "
        f"**{_f(p['adherence'])}**, {_f(p['adherence'] / template)} of the caption writer's {_f(template)}"
        + (f"; negated claims alone {_f(p['negated_claims']['mean'])} ({p['negated_claims']['claims']} claims)" if p["negated_claims"] else "")
        + ". Per style: "
        + ", ".join(f"{k} {_f(v['mean'])} ({v['descriptions']})" for k, v in p["per_style"].items())
        + "."
        + _coverage(p),
        *_authors(report.get("people_public_domain"), template),
        "",
        f"| Negation probes ({p['probe_seeds']} faces per subject): drawn when | said | negated | unsaid |",
        "|---|---|---|---|",
    ]
    lines += [f"| {k} | {_f(v['said'], 2)} | {_f(v['negated'], 2)} | {_f(v['unsaid'], 2)} |" for k, v in p["negation"].items()]
    lines += [
        "",
        f"| Dilution probes ({p['probe_seeds']} faces): drawn with neutral sentences around | 0 | 1 | 2 | 3 | cost (points) |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {k} | " + " | ".join(_f(x, 2) for x in v["drawn"].values()) + f" | {v['cost_points']:+.1f} |" for k, v in p["dilution"].items()
    ]
    return lines
