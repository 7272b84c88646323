"""The model card (README.md) of an exported or published model: Hub metadata plus what a user must know.

Everything in it comes from the run's training record (``training_record.json``) and, when the model
has been evaluated, ``evaluation.json``; nothing is typed in by hand, so the card cannot drift from
the weights it describes.
"""

from __future__ import annotations

import json
import numbers
from pathlib import Path

from huggingface_hub import ModelCard, ModelCardData

from t2f.captions import ATTRIBUTE_PHRASES, EXCLUDED
from t2f.files import CARD_NAME, CURVE_NAME, GRID_NAME
from t2f.model import ModelConfig
from train.eval.report import summary_label
from train.publish.curve import curve_markdown, curve_points

LIBRARY_NAME = "t2f-msggan"
CELEBA_URL = "https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html"
REQUIRED_KEYS = (
    "run", "command", "device", "gpu_minutes", "images_seen", "epochs", "images_per_second", "steps",
    "final_losses", "config", "data", "torch", "date",
)  # fmt: skip


def card_data() -> ModelCardData:
    """The Hub metadata (YAML header) every T2F-MSGGAN card carries."""
    return ModelCardData(
        library_name=LIBRARY_NAME,
        license="other",
        # CelebA may be used for non-commercial research only; weights trained on it inherit that.
        license_name="celeba-non-commercial-research",
        license_link=CELEBA_URL,
        tags=["text-to-image", "gan", "face-generation", "msg-gan", "pytorch"],
        datasets=["celeba"],
        language=["en"],
        pipeline_tag="text-to-image",
    )


def render_model_card(
    record: dict,
    evaluation: dict | None = None,
    grid_file: str | None = None,
    *,
    repo_id: str | None = None,
    curve_file: str | None = None,
) -> str:
    """The README.md text for a model trained as ``record`` describes.

    ``evaluation`` is the content of ``evaluation.json`` (None: "not evaluated yet"); ``grid_file`` the
    name of the sample grid image beside the card; ``repo_id`` the Hub repo the card is published to
    (used in the loading example); ``curve_file`` the name of the learning curve plot beside the card.
    """
    missing = [key for key in REQUIRED_KEYS if key not in record]
    if missing:
        raise ValueError(f"the training record lacks {missing} (python -m train fit writes it at every checkpoint)")
    config, data = record["config"], record["data"]
    model = ModelConfig.from_dict(config["model"])
    resolution = model.resolution
    scales = ", ".join(map(str, model.resolutions))
    source = repo_id or "path/to/this/folder"
    sections = [
        f"# T2F-MSGGAN: {record['run']}",
        "Text-to-face generation: a written description of a face (\"a smiling young woman with wavy blond hair\") "
        f"becomes a {resolution}x{resolution} face image. The description is embedded by the sentence encoder "
        f"`{model.text_encoder}` ({model.text_dim}-d), concatenated with "
        f"{model.z_dim}-d Gaussian noise (the seed), and drives a conditional MSG-GAN generator "
        f"(Karnewar & Wang, CVPR 2020) that emits an RGB image at every scale ({scales}). Same description, "
        "seed and weights give the same pixels.",
        "## Use\n\n"
        "With the T2F-MSGGAN code installed (the `t2f` package; `pip install -r requirements.txt`):\n\n"
        "```python\n"
        "from t2f import TextToFace\n\n"
        f'pipe = TextToFace.from_pretrained("{source}")  # downloads into the Hugging Face cache once\n'
        'out = pipe("a smiling young woman with wavy blond hair", seed=42)\n'
        f"out.images[{resolution}].save(\"face.png\")  # out.images holds every scale\n"
        "```\n\n"
        f"The demo app loads it with `T2F_WEIGHTS={source} python app.py`.",
        _samples_section(grid_file),
        _training_section(record, config, model, data),
        _evaluation_section(evaluation),
        *_sessions_section(record, curve_file),
        _intended_use_section(),
        _limits_section(resolution),
        "## Licence\n\n"
        f"These weights were trained on [CelebA]({CELEBA_URL}), which its authors make available for "
        "**non-commercial research purposes only**. The weights carry the same restriction: use them for "
        "non-commercial research only, and do not use generated images to identify or impersonate people.",
        "## Citation\n\n"
        "- Karnewar & Wang, *MSG-GAN: Multi-Scale Gradients for Generative Adversarial Networks*, CVPR 2020.\n"
        "- Liu, Luo, Wang & Tang, *Deep Learning Face Attributes in the Wild*, ICCV 2015 (CelebA).",
    ]
    content = f"---\n{card_data().to_yaml()}\n---\n\n" + "\n\n".join(sections) + "\n"
    return str(ModelCard(content))  # parses the YAML header: a broken card fails here, not on the Hub


def linked_images(folder: Path) -> tuple[str | None, str | None]:
    """The names of the sample grid and the learning curve beside a card in ``folder``, None where absent:
    what the card links and what a push uploads with it."""
    grid, curve = (name if (Path(folder) / name).is_file() else None for name in (GRID_NAME, CURVE_NAME))
    return grid, curve


def write_model_card(folder: Path, record: dict, evaluation: dict | None = None, *, repo_id: str | None = None) -> Path:
    """Write ``folder/README.md`` (see :func:`render_model_card`), linking the pictures found beside it,
    and return its path."""
    path = Path(folder) / CARD_NAME
    grid, curve = linked_images(folder)
    card = render_model_card(record, evaluation, grid, repo_id=repo_id, curve_file=curve)
    path.write_text(card, encoding="utf-8")
    return path


def _samples_section(grid_file: str | None) -> str:
    if grid_file is None:
        return "## Samples\n\nNo sample grid was exported with this model."
    return (
        "## Samples\n\n"
        "Training progress on fixed descriptions and seeds: for each description, one row per scale and one "
        "column per moment of training, the last column being the end of training.\n\n"
        f"![Samples at every scale during training]({grid_file})"
    )


def _training_section(record: dict, config: dict, model: ModelConfig, data: dict) -> str:
    losses = record["final_losses"]
    held_out = data.get("held_out_images")
    compute = (
        f"{_fmt(record['gpu_minutes'])} GPU-minutes on {record['device']}"
        if record["gpu_minutes"]
        else f"{_fmt(record.get('train_minutes', 0))} minutes on {record['device']}"  # a CPU run
    )
    rows = [
        ("Data", f"{data.get('name') or 'CelebA'}: {_fmt(data.get('train_images'))} training images"
                 + (f", {_fmt(held_out)} held out" if held_out is not None else "")),
        ("Captions", f"{_fmt(config.get('captions_per_image'))} generated descriptions per image, from "
                     f"{len(ATTRIBUTE_PHRASES)} attribute labels"),
        ("Images seen", f"{_fmt(record['images_seen'])} ({_fmt(record['epochs'])} epochs, {_fmt(record['steps'])} steps)"),
        ("Compute", f"{compute} ({_fmt(record['images_per_second'])} images/s)"),
        ("Batch size", _fmt(config.get("batch_size"))),
        ("Learning rates (G / D)", f"{_fmt(config.get('lr_g'))} / {_fmt(config.get('lr_d'))}"),
        ("Augmentation", ", ".join(config.get("augment", ())) or "none"),
        ("Generator widths", ", ".join(f"{r}: {c}" for r, c in model.channels.items())),
        ("Final losses", ", ".join(f"{name} {_fmt(value)}" for name, value in losses.items()) or "none recorded"),
        ("Software", f"torch {record['torch']}"),
        ("Date", str(record["date"])),
    ]  # fmt: skip
    table = "| | |\n|---|---|\n" + "\n".join(f"| {name} | {_cell(value)} |" for name, value in rows)
    return (
        "## Training\n\n"
        f"{table}\n\n"
        f"Command:\n\n```\n{record['command']}\n```\n\n"
        "<details><summary>Full training configuration</summary>\n\n"
        f"```json\n{json.dumps(config, indent=2, sort_keys=True)}\n```\n\n</details>"
    )


def _evaluation_section(evaluation: dict | None) -> str:
    if not evaluation:
        return "## Evaluation\n\nNot evaluated yet: no `evaluation.json` of these weights (`python -m train evaluate`)."
    summary = evaluation.get("summary")
    headline = summary if isinstance(summary, dict) else evaluation
    metrics = {k: v for k, v in headline.items() if isinstance(v, (numbers.Number, str)) and not isinstance(v, bool)}
    if not metrics:
        return "## Evaluation\n\nThe evaluation holds no headline numbers; see `evaluation.json`."
    table = "| Metric | Value |\n|---|---|\n" + "\n".join(f"| {_cell(summary_label(k))} | {_cell(_fmt(v))} |" for k, v in metrics.items())
    split = f", split {evaluation['split']}" if evaluation.get("split") else ""
    return f"## Evaluation\n\nOn the held-out CelebA images{split}; details in `evaluation.json`:\n\n{table}"


def _sessions_section(record: dict, curve_file: str | None) -> list[str]:
    """Weights trained a session at a time: the evaluation after each session (none for a single run)."""
    sessions = record.get("sessions", [])
    points = curve_points(sessions)
    if len(sessions) < 2 or not points:
        return []
    return [
        "## Training sessions\n\n"
        "These weights were trained a session at a time, each continuing from the last; the evaluation of the "
        f"weights each session left:\n\n{curve_markdown(points, sessions, curve_file)}"
    ]


def _intended_use_section() -> str:
    return (
        "## Intended use\n\n"
        "Research on and teaching of text-conditioned image generation, and demos of it: exploring how "
        "faces change with the description and the seed. Not intended for: depicting or identifying real "
        "people, creating deceptive images, decisions about people, or any commercial use."
    )


def _limits_section(resolution: int) -> str:
    phrases = ", ".join(sorted(ATTRIBUTE_PHRASES.values()))
    return (
        "## Limits and biases\n\n"
        "- **Who is in the data.** CelebA holds about 200,000 photos of about 10,000 celebrities, mostly young "
        "and light-skinned, often made up and professionally photographed. The model reproduces that: older "
        "people, darker skin tones and everyday looks come out less varied and less faithful.\n"
        "- **What it understands.** It was trained on descriptions generated from CelebA's binary attribute "
        f"labels, not on free text. It follows these attributes: {phrases}. Anything else (clothes, eye "
        "colour, ethnicity, an exact age, named people) is at best mapped by the sentence encoder to the "
        "nearest of those, usually ignored.\n"
        "- **Labels.** The attribute labels are noisy and partly subjective; "
        f"{', '.join(sorted(EXCLUDED))} are left out of the descriptions (`t2f/captions.py` says why). "
        "Gender is CelebA's binary `Male` label.\n"
        f"- **Quality.** {resolution}x{resolution} pixels, with the artefacts of a small GAN; faces can resemble "
        "people in the training data."
    )


def _fmt(value: object) -> str:
    """Numbers for people: thousands separators for integers, four significant digits for floats."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, numbers.Integral):
        return f"{value:,}"
    if isinstance(value, numbers.Real):
        return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    return str(value)


def _cell(text: object) -> str:
    """A markdown table cell: pipes would split it, newlines would end the row."""
    return str(text).replace("|", "\\|").replace("\n", " ")
