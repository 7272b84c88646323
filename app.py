"""T2F-MSGGAN demo: describe a face, get it at every scale from 4x4 to 128x128.

    python app.py        # http://127.0.0.1:7860; the same file is the Hugging Face Space's entry point

Environment: T2F_WEIGHTS (a weights folder or a Hub repo id; default the bundled weights/ folder),
GRADIO_SERVER_NAME (default 127.0.0.1), GRADIO_SERVER_PORT (default 7860), GRADIO_SHARE=True for a
public share link (off unless asked). Gradio reads the last three itself.

This file is UI wiring only: every face comes from :class:`t2f.TextToFace`. Importing it loads no
weights and starts nothing; :func:`main` does.
"""

from __future__ import annotations

try:  # Hugging Face ZeroGPU: imported first, before CUDA starts; absent locally and on other hardware
    import spaces
except ImportError:
    spaces = None

import contextlib
import functools
import inspect
import json
import logging
import os
import re
import secrets
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import gradio as gr
import torch
from gradio.processing_utils import save_file_to_cache
from gradio.utils import get_upload_folder
from PIL import Image
from starlette.middleware import Middleware

from t2f import ModelConfig, TextToFace
from t2f.attributes import EDIT_NAMES, TWO_SIDED, claim_key, negated_edits
from t2f.files import DEFAULT_WEIGHTS_DIR
from t2f.pipeline import MAX_SEED, check_position, check_seed, scales_strip
from t2f.text import MAX_TEXT_CHARS, check_text

log = logging.getLogger("t2f.app")

DEFAULT_VARIATIONS = 8
MAX_VARIATIONS = 16
DEFAULT_GIF_STEPS = 24
MAX_GIF_STEPS = 60
GIF_FPS = 12
GIF_MAX_AGE_S = 3600  # the app's copies of served GIFs; Gradio keeps its own cached copy
# Seeds in the page stay within 2**53, the largest integer a browser's number box holds exactly, so the seed
# shown is the seed used; the API takes seeds up to 2**63 - 1 exactly.
BROWSER_SAFE_SEEDS = 2**53
EDIT_STEP = 0.05  # slider resolution of edit strengths
EDIT_TAB = "Edit"
EDIT_LABELS = {"age": "age (- younger, + older)", "male": "male (- female, + male)"}
CONCURRENCY = 2  # requests served at once; more only splits the CPU's cores between them
# The handlers that run the model: on ZeroGPU each call borrows the GPU through spaces.GPU.
GPU_HANDLERS = ("generate", "variations", "seed_frame", "seed_gif", "text_frame", "text_gif", "attributes", "edit")
QUEUE_SIZE = 64  # requests waiting beyond this are turned away instead of piling up
# GIFs waiting beyond this are turned away: Gradio's queue size counts every event, so GIFs (seconds each, one
# at a time) must not fill the queue that /generate waits in.
MAX_WAITING_GIFS = 8
# Gradio recomputes its monitoring summary (pandas, over up to 10,000 past events) after every event, with
# monitoring on or off; the demo serves no monitoring page, so once per this many events is plenty.
MONITORING_SUMMARY_EVERY = 10_000
MAX_REQUEST_BYTES = 1_000_000  # a request body; the longest description (MAX_TEXT_CHARS) fits many times over
MAX_MESSAGE_CHARS = 500
# The page's seed boxes: each event that reads one sends its text as typed (_as_typed).
SEED_BOX = "t2f-seed-box"

EXAMPLES = [
    "a smiling young woman with wavy blond hair",
    "an old man with gray hair, glasses and a mustache",
    "a young man with black hair, a goatee and a hat",
    "a woman with straight brown hair, bangs and red lipstick",
    "a bald man with a beard and bushy eyebrows",
    "a chubby man with a double chin, smiling",
]

# Every scale is shown at one size; nearest-neighbour upscaling keeps 4x4 readable as 16 pixels.
CSS = """
.t2f-pixelated img { image-rendering: pixelated; width: 100%; height: 100%; object-fit: contain; }
#t2f-banner { border: 2px solid #d97706; border-radius: 8px; padding: 0 12px; background: #fffbeb; color: #78350f; }
/* The six scales in one image fill the page's width (Gradio would show it at its natural width), below the label
and the buttons instead of under them. */
#t2f-scales .image-frame, #t2f-edit-scales .image-frame { width: 100%; }
#t2f-scales .image-container, #t2f-edit-scales .image-container { padding-top: 32px; }
#t2f-scales img, #t2f-edit-scales img { height: auto; }
/* Gradio gives a gallery without a fixed height a min-height of 320-450 px: the variations fit their rows. */
#t2f-variations .fixed-height { min-height: 0; }
/* A lone variation would otherwise fill the gallery's whole width (a 128 px face at ~1200 px). */
#t2f-variations button.thumbnail-item { max-width: 192px; max-height: 192px; }
/* Each edit slider's name on a line of its own, above its number box: beside it, names wrapped unevenly. */
#t2f-edit-sliders .head > label { flex-basis: 100%; white-space: nowrap; }
/* A refused request leaves the last face (or frame, or GIF), dimmed, instead of a red "Error" badge over it (the
message says why): Gradio's status overlay on the image is hidden while it shows an error. */
.t2f-pixelated [data-testid="status-tracker"]:has(> .error) { display: none; }
.t2f-pixelated:has([data-testid="status-tracker"] > .error) .image-container { opacity: 0.3; }
/* Messages at the bottom right: at the top right they covered the seed and its Random seed button. */
.toast-wrap { top: auto !important; bottom: var(--size-4); }
"""

ABOUT = """
**What it is.** T2F-MSGGAN turns a written description into a face. A sentence encoder
(all-MiniLM-L6-v2) turns the description into a 384-number embedding; that embedding and random noise
(picked by the seed) drive a conditional MSG-GAN generator, which draws the face at every scale from
4×4 to 128×128 at once. The same description, seed and weights always give the same face.

**What it was trained on.** The bundled weights: 24,000 photos of CelebA's training partition
(celebrities, at their original 178×218 pixels), cropped to the face at 128×128, each with descriptions
written from CelebA's 40 yes/no attributes in the words people use (negations, ages, everyday words,
extra sentences). How long it trained, and on which machine, is in the model card (README).

**Limits and biases.** The model only knows what those attributes describe: hair colour and style,
beards, glasses, hats, makeup, smiling, "young" or not, "male" or not. Everything else in a description
(eye colour, skin tone, emotions other than a smile, the background) is ignored or guessed; "What the
model read" shows what it picked up. CelebA is mostly young, light-skinned celebrities photographed
smiling, and labels gender as a binary: the faces follow that skew. Faces are small and often
distorted; they are not photos of real people, but may look like someone. Do not use them to deceive.

**Licence.** CelebA may be used for non-commercial research only; so may these weights and the faces
they make.
"""


# --- loading ------------------------------------------------------------------------------------


def load_pipeline(weights: str | None = None) -> TextToFace | str:
    """The pipeline for ``weights`` (a folder or Hub repo id; None = the bundled weights/), or a message
    saying why none could be loaded and how to fix it (the page shows it instead of failing to start)."""
    try:
        # The bundled folder by its path: then the error says what is missing, and the fix below is said once.
        return TextToFace.from_pretrained(weights or DEFAULT_WEIGHTS_DIR)
    except (OSError, ValueError) as e:  # missing/corrupt files, bad repo id, offline Hub, no permission
        return (
            f"No model is loaded, so the demo cannot make faces: {e}. To fix it, train and export a model "
            "into weights/ (see README), or set the T2F_WEIGHTS environment variable to a weights folder "
            "or a Hugging Face Hub repo id, then restart the app."
        )


# --- input checks -------------------------------------------------------------------------------


def refusal(message: str) -> gr.Error:
    """The error a user's bad input gets: shown in the page (or to the API caller) and logged as one line,
    with no traceback (tracebacks are for errors of ours), cut at MAX_MESSAGE_CHARS (a message quotes the bad
    value, which may be a megabyte)."""
    if len(message) > MAX_MESSAGE_CHARS:
        message = f"{message[:MAX_MESSAGE_CHARS]}... (cut at {MAX_MESSAGE_CHARS} characters)"
    log.info("refused: %s", message)
    return gr.Error(message, print_exception=False)


def _user_errors(handler: Callable) -> Callable:
    """Show the pipeline's ValueErrors (bad seed, description, truncation, ...) in the page instead of a bare
    'Error'. The handlers' own gr.Errors pass as they are: gr.Error is a ValueError too, and its str() quotes it."""

    @functools.wraps(handler)
    def wrapper(*args, **kwargs):
        try:
            return handler(*args, **kwargs)
        except gr.Error:
            raise
        except ValueError as e:
            raise refusal(str(e)) from None

    return wrapper


def _seed(value: object, span: int = 1) -> int:
    """A seed: from the API an integer in [0, 2**63 - 1] (42.0 is 42, 4.2 is an error); from the page the seed
    box's text as typed (:func:`_as_typed`), a whole number whose ``span`` consecutive seeds stay within
    2**53, where the browser's number box holds every integer exactly (the box would show 2**53 + 1 as 2**53)."""
    if isinstance(value, str):
        if not re.fullmatch(r"[0-9]+", value.strip()):
            raise refusal(f"a seed here is a whole number from 0 to 2^53 ({BROWSER_SAFE_SEEDS}), got {value!r}")
        value = int(value)
        if value + span - 1 > BROWSER_SAFE_SEEDS:
            last = "" if span == 1 else f" (and the {span} seeds from it, up to {value + span - 1})"
            raise refusal(
                f"a browser holds seeds exactly only up to 2^53 ({BROWSER_SAFE_SEEDS}), got {value}{last}: type a "
                "smaller seed, or use the API or the CLI, which take seeds up to 2**63 - 1 exactly"
            )
        return value
    if isinstance(value, float) and value.is_integer() and value <= BROWSER_SAFE_SEEDS:
        value = int(value)
    seed = check_seed(value)
    if seed + span - 1 > MAX_SEED:
        raise refusal(f"the last of the {span} seeds from {seed} would be over 2**63 - 1 ({MAX_SEED})")
    return seed


def _literal(text: str) -> str:
    """``text`` shown as typed in Markdown: every ASCII punctuation mark backslash-escaped (CommonMark)."""
    return re.sub(r"([!-/:-@\[-`{-~])", r"\\\1", text)


def _whole(value: object, name: str, low: int, high: int) -> int:
    """A whole number in [low, high] from a number box, or a gr.Error naming the limits."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise refusal(f"{name} must be a whole number from {low} to {high}, got {value!r}.")
    return value


# --- handlers -----------------------------------------------------------------------------------


class Handlers:
    """The page's event handlers: check the inputs, call the pipeline, shape its outputs for Gradio.

    ``pipe`` is the loaded pipeline, or the message saying why none is loaded; then every model
    handler raises that message as a gr.Error.
    """

    def __init__(self, pipe: TextToFace | str, gif_dir: Path):
        self._pipe = pipe if isinstance(pipe, TextToFace) else None
        self.problem = pipe if isinstance(pipe, str) else None
        self.scales = self._pipe.scales if self._pipe else ModelConfig().resolutions
        self._gif_dir = gif_dir
        self._cache_dir = get_upload_folder()  # Gradio's: it serves the faces' PNGs from there and deletes them
        # Why the Edit tab and the read-out cannot work (no model, or no attribute file for it), or None.
        self.edit_problem = self.problem or self._pipe.edit_problem
        if self._pipe:  # loads the text encoder now rather than on the first request (no GPU work: ZeroGPU)
            self._pipe.text_encoder.check_length(EXAMPLES[0])
        # spaces.GPU lends a GPU per call on ZeroGPU hardware and returns the function unchanged elsewhere.
        # Bound methods: the handler's state stays in the process, only the request's values travel.
        if spaces is not None:
            for name in GPU_HANDLERS:
                setattr(self, name, spaces.GPU(getattr(self, name)))

    @property
    def pipe(self) -> TextToFace:
        if self._pipe is None:
            raise refusal(self.problem)
        return self._pipe

    def _box(self, label: str, text: object) -> str:
        """The text of the box labelled ``label`` by the library's rule (:func:`t2f.text.check_text`, then the
        text encoder's length limit), any error naming the box: the pipeline's would not say which of two."""
        encoder = self.pipe.text_encoder  # outside the try: gr.Error (no model) is a ValueError too
        try:
            text = check_text(text)
            encoder.check_length(text)
        except ValueError as e:
            raise refusal(f"{label}: {e}") from None
        return text

    # Descriptions go to the pipeline as typed: it checks them (t2f.text), and _user_errors shows why not.

    @_user_errors
    def generate(self, description: str, seed: float, truncation: float) -> str:
        """The face at every scale in one PNG (:func:`t2f.pipeline.scales_strip`)."""
        # Checked here: the pipeline also takes a list of descriptions (a batch), which no box sends.
        face = self.pipe(check_text(description), _seed(seed), truncation=truncation)
        return self._png(scales_strip(face.images))

    @_user_errors
    def variations(
        self, description: str, seed: float, count: float, truncation: float
    ) -> tuple[list[tuple[str, str]], list[int]]:
        """``count`` faces with seeds seed, seed + 1, ...: a gallery of (128 px face's PNG, caption), and the seeds."""
        count = _whole(count, "The number of variations", 1, MAX_VARIATIONS)
        first = _seed(seed, span=count)
        faces = self.pipe([description] * count, [first + i for i in range(count)], truncation=truncation)
        gallery = [(self._png(face.images[self.scales[-1]]), f"seed {face.seed}") for face in faces]
        return gallery, [face.seed for face in faces]

    @staticmethod
    def adopt_seed(seeds: list[int], event: gr.SelectData) -> int:
        """The seed of the variation clicked."""
        return seeds[event.index]

    @staticmethod
    def random_seed() -> int:
        """A fresh random seed below 2**53 (shown exactly in the browser)."""
        return secrets.randbelow(BROWSER_SAFE_SEEDS)

    @_user_errors
    def seed_frame(self, description: str, seed_a: float, seed_b: float, t: float, truncation: float) -> str:
        """The largest-scale face (PNG) at position t in [0, 1] on the way from seed A's noise to seed B's."""
        (frame,) = self.pipe.interpolate_seeds(
            description, _seed(seed_a), _seed(seed_b), at=[check_position(t)], truncation=truncation
        )
        return self._png(frame.images[self.scales[-1]])

    @_user_errors
    def seed_gif(self, description: str, seed_a: float, seed_b: float, steps: float, truncation: float) -> str:
        """An animated GIF (path) of ``steps`` frames from seed A to seed B."""
        steps = _whole(steps, "The number of GIF frames", 2, MAX_GIF_STEPS)
        frames = self.pipe.interpolate_seeds(
            description, _seed(seed_a), _seed(seed_b), steps, truncation=truncation
        )
        return self._write_gif([frame.images[self.scales[-1]] for frame in frames])

    @_user_errors
    def text_frame(
        self, description_a: str, description_b: str, seed: float, t: float, truncation: float
    ) -> str:
        """The largest-scale face (PNG) at position t in [0, 1] between two descriptions, same seed."""
        (frame,) = self.pipe.interpolate_texts(
            self._box("Description A", description_a),
            self._box("Description B", description_b),
            _seed(seed),
            at=[check_position(t)],
            truncation=truncation,
        )
        return self._png(frame.images[self.scales[-1]])

    @_user_errors
    def text_gif(self, description_a: str, description_b: str, seed: float, steps: float, truncation: float) -> str:
        """An animated GIF (path) of ``steps`` frames from description A to description B, same seed."""
        steps = _whole(steps, "The number of GIF frames", 2, MAX_GIF_STEPS)
        frames = self.pipe.interpolate_texts(
            self._box("Description A", description_a),
            self._box("Description B", description_b),
            _seed(seed),
            steps,
            truncation=truncation,
        )
        return self._write_gif([frame.images[self.scales[-1]] for frame in frames])

    @_user_errors
    def attributes(self, description: str) -> tuple[list[list], str]:
        """What the model reads in the description, and how often it draws that: rows of [as said, read,
        probability, drawn when asked, CelebA attribute] for what it reads as present or absent, and for
        man/woman and young/older also as not said; and a note."""
        pipe = self.pipe
        if pipe.attributes is None:
            return [], f"The read-out is not available: {self.edit_problem}."
        readings = pipe.read(description)
        left_out = pipe.face_text(description).left_out
        rows = [
            [r.said, r.status, round(r.probability, 3), self._drawn(r), r.attribute]
            for r in readings
            if r.status != "not said" or r.attribute in TWO_SIDED
        ]
        # The side read for man/woman and young/older, and one-sided attributes stated or negated ("no beard").
        said = [
            r.said if r.status == "present" else f"no {r.said}"
            for r in readings
            if r.status == "present" or (r.status == "absent" and r.attribute not in TWO_SIDED)
        ]
        open_ = sorted({r.attribute for r in readings if r.status == "not said" and r.attribute in TWO_SIDED})
        if not said:
            note = (
                "**Nothing in this description is something the model knows how to draw**, so the face comes from "
                "the seed. It knows English descriptions of one face's look: hair colour and style, age, man or "
                "woman, beards, glasses, hats, makeup, smiling."
            )
        else:
            note = f"Read: **{', '.join(said)}**."
            steered = sorted(negated_edits(readings)) if pipe.steers else []
            if steered:
                note += f" The face is steered away from what it negates: {', '.join(steered)}."
            if open_:
                note += f" Not said: {' and '.join(' or '.join(TWO_SIDED[a]) for a in open_)}, so the seed decides."
            note += (
                " *Drawn when asked*: of the faces these weights drew for descriptions people wrote that asked "
                "for it, the share that shows it (the weights' evaluation)."
                if pipe.drawn
                else " How often the faces show it was not measured for these weights."
            )
        if left_out:
            quoted = " ".join(f"“{_literal(sentence)}”" for sentence in left_out)
            note += f" Left out, as describing no face (the face is drawn from the rest): {quoted}"
        return rows, note

    def _drawn(self, reading) -> str:
        """How often the faces show a reading when asked, as "63% of 180 faces", or "" when not measured."""
        if reading.status == "not said":
            return ""
        drawn = self.pipe.drawn.get(claim_key(reading))
        return f"{drawn.share:.0%} of {drawn.faces} faces" if drawn else "not measured"

    @_user_errors
    def edit(self, description: str, seed: float, truncation: float, *strengths: float) -> str:
        """The face at every scale in one PNG, with the attributes moved by the sliders (EDIT_NAMES order)."""
        if self.edit_problem:
            raise refusal(self.edit_problem)
        if len(strengths) != len(EDIT_NAMES):
            raise refusal(f"give one strength for each of {', '.join(EDIT_NAMES)}")
        strengths = dict(zip(EDIT_NAMES, strengths))
        face = self.pipe.edit(description, _seed(seed), strengths, truncation=truncation)
        return self._png(scales_strip(face.images))

    def edit_if_open(
        self, editing: bool, description: str, seed: float, truncation: float, *strengths: float
    ) -> str | None:
        """A new face above, in the Edit tab: drawn there (as :meth:`edit`) when the tab is open; otherwise the
        tab's image is cleared, so no stale face shows, and opening the tab draws it. Spares every Generate
        in the other tabs a second drawing."""
        if not editing:
            return None
        return self.edit(description, seed, truncation, *strengths)

    @staticmethod
    def tab_opened(event: gr.SelectData) -> bool:
        """Whether the tab just opened is the Edit tab."""
        return event.value == EDIT_TAB

    def _png(self, image: Image.Image) -> str:
        """``image`` as a PNG file in Gradio's cache, which serves it from there as it is.

        Lossless like Gradio's own PNGs, but written at zlib level 1 with run-length matching (Z_RLE): a
        six-scale strip encodes about 3x faster than at Pillow's default level, and is no larger. Gradio's
        save_file_to_cache names the copy by its content and puts it in place whole (a rename), so the same
        face asked for twice at once is never served half-written.
        """
        with tempfile.TemporaryDirectory(prefix="t2f-png-") as folder:
            path = Path(folder, "face.png")
            image.save(path, format="PNG", compress_level=1, compress_type=zlib.Z_RLE)
            return save_file_to_cache(path, self._cache_dir)

    def _write_gif(self, frames: list[Image.Image]) -> str:
        """Save an endlessly looping GIF in the app's temporary folder and return its path.

        Identical consecutive frames (seed A = seed B) are merged by Pillow into one longer frame.
        """
        cutoff = time.time() - GIF_MAX_AGE_S
        for old in self._gif_dir.glob("*.gif"):  # Gradio has served its own copy of these long ago
            with contextlib.suppress(FileNotFoundError):  # another request may have pruned it first
                if old.stat().st_mtime < cutoff:
                    old.unlink()
        fd, path = tempfile.mkstemp(suffix=".gif", dir=self._gif_dir)
        with os.fdopen(fd, "wb") as file:
            frames[0].save(
                file, format="GIF", save_all=True, append_images=frames[1:], duration=1000 // GIF_FPS, loop=0
            )
        return path


# --- layout: the top part, then one function per tab, each building its components and binding its events


# PNGs; the CSS class shows them large with nearest-neighbour pixels.
# No "share" button: it uploads to the Hub, and the demo stays offline.
SHOWN = dict(interactive=False, buttons=["download", "fullscreen"], elem_classes="t2f-pixelated")
# The handlers check every value themselves (the library's checks name each limit), so Gradio's preprocessing of
# the inputs is skipped: for text boxes, number boxes and sliders it passes the value on unchanged after a bounds
# check, at the cost of one worker-thread hop per input (15 for /edit).
RAW = dict(preprocess=False)
# Every event that runs the model (GIFs aside) joins one concurrency group: Gradio gives each listener without an
# id a group of its own, so CONCURRENCY alone would limit each endpoint, not the requests served at once.
MODEL_QUEUE = "model"
DRAWS = dict(concurrency_id=MODEL_QUEUE, concurrency_limit=CONCURRENCY, **RAW)
# Live redraws hide the progress overlay and drop stale requests (always_last): dragging should feel like
# dragging. GIFs take seconds, so they run one at a time and never hold up more than one worker.
LIVE = dict(show_progress="hidden", trigger_mode="always_last", **DRAWS)
GIF_QUEUE = "gif"
ONE_GIF_AT_A_TIME = dict(concurrency_limit=1, concurrency_id=GIF_QUEUE, **RAW)


def _gif_room(demo: gr.Blocks) -> Callable[..., dict]:
    """The GIF events' validator: a GIF asked for while MAX_WAITING_GIFS wait already is turned away with a
    message (HTTP 422 to an API caller) before it takes a place in the queue that /generate shares."""

    def validator(*inputs) -> list[dict]:
        waiting = demo._queue.event_queue_per_concurrency_id.get(GIF_QUEUE)  # Gradio counts per id only here
        count = len(waiting.queue) if waiting else 0
        message = f"{count} GIFs are waiting to be made already: try again in a few seconds"
        # One verdict per input; the message goes on the first (the description) only.
        return [gr.validate(count < MAX_WAITING_GIFS, message)] + [gr.validate(True, "")] * (len(inputs) - 1)

    return validator


def _named(handler: Callable, names: list[str]) -> Callable:
    """``handler`` taking one positional parameter per name: Gradio names API parameters after the
    handler's signature, and a ``*values`` parameter would give them numbers (param_3, param_4, ...)."""

    @functools.wraps(handler)
    def wrapper(*args):
        return handler(*args)

    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    wrapper.__signature__ = inspect.Signature([inspect.Parameter(n, kind) for n in names])
    return wrapper


def _face(label: str, **kwargs) -> gr.Image:
    return gr.Image(label=label, type="filepath", **SHOWN, **kwargs)  # the handlers' PNGs (Handlers._png)


def _every_scale(scales: list[int], elem_id: str) -> gr.Image:
    """The face at every scale, smallest first, side by side in one image (:func:`t2f.pipeline.scales_strip`):
    one file per face, where one image per scale cost Gradio six (six times its per-file work, and six
    downloads for an API client; bench/app_latency.py)."""
    top = scales[-1]
    sizes = ", ".join(f"{r}x{r}" for r in scales)
    return _face(f"Every scale, left to right: {sizes} (each shown at {top}x{top})", elem_id=elem_id)


def _seed_box(label: str, elem_id: str, **kwargs) -> gr.Number:
    """A seed's number box, which the events that read it read as typed (:func:`_as_typed`)."""
    return gr.Number(label=label, elem_id=elem_id, elem_classes=SEED_BOX, **kwargs)


def _as_typed(inputs: list) -> dict:
    """An event's ``js`` that sends each seed box among ``inputs`` as the text typed in it, the rest as they are.

    A browser's number box holds integers exactly only up to 2**53 and sends 2**53 + 1 as 2**53; from the text,
    :func:`_seed` reads every seed exactly and says when it is over the page's limit. Not for events that follow
    one setting a seed (Random seed, a variation clicked): their box may not show the new seed yet.
    """
    boxes = [f"#{c.elem_id} input" if SEED_BOX in (getattr(c, "elem_classes", None) or []) else None for c in inputs]
    js = f"(...values) => {{ const boxes = {json.dumps(boxes)}; "
    js += "return values.map((v, i) => boxes[i] ? (document.querySelector(boxes[i])?.value ?? v) : v); }"
    return dict(js=js)


def _gif() -> gr.Image:
    return gr.Image(label="GIF", type="filepath", height=256, **SHOWN)


def _gif_frames() -> gr.Number:
    return gr.Number(label=f"GIF frames (2-{MAX_GIF_STEPS})", value=DEFAULT_GIF_STEPS)


def _position(**kwargs) -> gr.Slider:
    return gr.Slider(0.0, 1.0, value=0.0, step=0.01, label="From A to B", **kwargs)


class Face(NamedTuple):
    """The top of the page, which the tabs start from: its inputs, the face at every scale, and the event
    that generates it (the read-out follows it)."""

    description: gr.Textbox
    seed: gr.Number
    truncation: gr.Slider
    scales: gr.Image
    generated: gr.events.Dependency

    @property
    def inputs(self) -> list:
        return [self.description, self.seed, self.truncation]


def _generate_tab(demo: gr.Blocks, handlers: Handlers) -> Face:
    """Description, seed (typed or random), truncation and the Generate button; the face at every scale,
    drawn when the page opens too."""
    with gr.Row():
        with gr.Column(scale=3):
            # One line grows to six: Enter generates (Shift+Enter would be needed in a multi-line box).
            description = gr.Textbox(
                label="Description (Enter to generate)", value=EXAMPLES[0], lines=1, max_lines=6, placeholder=EXAMPLES[1]
            )
            gr.Examples(EXAMPLES, inputs=[description], label="Examples")
        with gr.Column(scale=2):
            with gr.Row():
                seed = _seed_box("Seed (0 to 2^53 here; the API takes up to 2^63 - 1)", "t2f-seed", value=42, scale=3)
                dice = gr.Button("Random seed", scale=1, min_width=80)
            truncation = gr.Slider(0.0, 1.0, value=1.0, step=0.05, label="Truncation (lower: more typical)")
            generate = gr.Button("Generate", variant="primary")
    scales = _every_scale(handlers.scales, "t2f-scales")

    inputs = [description, seed, truncation]
    generated = gr.on(
        [generate.click, description.submit, demo.load], handlers.generate, inputs, scales, api_name="generate",
        **DRAWS, **_as_typed(inputs),
    )
    dice.click(handlers.random_seed, None, seed, api_name="random_seed").then(
        handlers.generate, inputs, scales, api_visibility="private", **DRAWS
    )
    return Face(description, seed, truncation, scales, generated)


def _variations_tab(handlers: Handlers, face: Face) -> None:
    """Faces for consecutive seeds; clicking one makes its seed the face above."""
    with gr.Tab("Variations"):
        with gr.Row():
            count = gr.Number(label=f"Faces (1-{MAX_VARIATIONS})", value=DEFAULT_VARIATIONS)
            show_variations = gr.Button("Show variations")
        gallery = gr.Gallery(
            label="Consecutive seeds: click a face to use its seed",
            columns=8, height="auto", allow_preview=False, elem_id="t2f-variations",
        )  # fmt: skip
        variation_seeds = gr.State([])

    inputs = [face.description, face.seed, count, face.truncation]
    show_variations.click(
        handlers.variations, inputs, [gallery, variation_seeds], api_name="variations", **DRAWS, **_as_typed(inputs)
    )
    gallery.select(handlers.adopt_seed, [variation_seeds], face.seed, api_visibility="private").then(
        handlers.generate, face.inputs, face.scales, api_visibility="private", **DRAWS
    )


def _seed_interpolation_tab(handlers: Handlers, face: Face, gif_room: Callable[..., dict]) -> None:
    """The description above from seed A's noise to seed B's: a frame at a slider's position, or a GIF."""
    top = handlers.scales[-1]
    with gr.Tab("Seed interpolation"):
        gr.Markdown("The description and truncation above, from seed A's noise to seed B's.")
        with gr.Row():
            with gr.Column():
                seed_a = _seed_box("Seed A", "t2f-seed-a", value=42)
                seed_b = _seed_box("Seed B", "t2f-seed-b", value=7)
                t = _position(elem_id="t2f-seed-t")
                steps = _gif_frames()
                make_gif = gr.Button("Make GIF")
            frame = _face(f"{top}x{top}", height=256, elem_id="t2f-seed-frame")
            gif = _gif()

    frame_inputs = [face.description, seed_a, seed_b, t, face.truncation]
    gif_inputs = [face.description, seed_a, seed_b, steps, face.truncation]
    gr.on(
        [t.input, seed_a.submit, seed_b.submit], handlers.seed_frame, frame_inputs, frame, api_name="seed_frame",
        **LIVE, **_as_typed(frame_inputs),
    )
    make_gif.click(
        handlers.seed_gif, gif_inputs, gif, api_name="seed_gif", validator=gif_room, **ONE_GIF_AT_A_TIME,
        **_as_typed(gif_inputs),
    )


def _text_interpolation_tab(handlers: Handlers, face: Face, gif_room: Callable[..., dict]) -> None:
    """One seed from description A to description B: a frame at a slider's position, or a GIF."""
    top = handlers.scales[-1]
    with gr.Tab("Description interpolation"):
        gr.Markdown("One seed, from description A to description B (truncation from above).")
        with gr.Row():
            with gr.Column():
                text_a = gr.Textbox(label="Description A", value=EXAMPLES[0])
                text_b = gr.Textbox(label="Description B", value=EXAMPLES[1])
                seed = _seed_box("Seed", "t2f-text-seed", value=42)
                t = _position()
                steps = _gif_frames()
                make_gif = gr.Button("Make GIF")
            frame = _face(f"{top}x{top}", height=256)
            gif = _gif()

    frame_inputs = [text_a, text_b, seed, t, face.truncation]
    gif_inputs = [text_a, text_b, seed, steps, face.truncation]
    gr.on(
        [t.input, text_a.submit, text_b.submit, seed.submit], handlers.text_frame, frame_inputs, frame,
        api_name="text_frame", **LIVE, **_as_typed(frame_inputs),
    )
    make_gif.click(
        handlers.text_gif, gif_inputs, gif, api_name="text_gif", validator=gif_room, **ONE_GIF_AT_A_TIME,
        **_as_typed(gif_inputs),
    )


def _edit_tab(handlers: Handlers, face: Face, tabs: gr.Tabs) -> None:
    """The face above with attributes moved by sliders (off, saying why, without an attribute file)."""
    with gr.Tab(EDIT_TAB) as tab:
        gr.Markdown(
            "The face above (description, seed, truncation), with attributes moved: each slider moves the "
            "model's reading of the description toward (+) or away from (-) one attribute, same noise."
            + (f"\n\n**Editing is off: {handlers.edit_problem}**" if handlers.edit_problem else "")
        )
        scales = _every_scale(handlers.scales, "t2f-edit-scales")
        with gr.Row(elem_id="t2f-edit-sliders"):
            sliders = [
                gr.Slider(-1.0, 1.0, value=0.0, step=EDIT_STEP, label=EDIT_LABELS.get(name, name.replace("_", " ")),
                          interactive=not handlers.edit_problem, min_width=160)
                for name in EDIT_NAMES
            ]  # fmt: skip
        reset = gr.Button("Reset", interactive=not handlers.edit_problem)
        # Whether this tab is open. Made inside the tab: a State made between two tabs, directly in gr.Tabs,
        # corrupts Gradio's tab bar (after a few clicks About is shown twice or renamed; Gradio 6.31).
        editing = gr.State(False)

    inputs = [*face.inputs, *sliders]
    edit = _named(handlers.edit, ["description", "seed", "truncation", *EDIT_NAMES])  # API parameter names
    typed = _as_typed(inputs)
    gr.on([s.input for s in sliders], edit, inputs, scales, api_name="edit", **LIVE, **typed)
    reset.click(lambda: [0.0] * len(sliders), None, sliders, api_visibility="private").then(
        handlers.edit, inputs, scales, api_visibility="private", **DRAWS, **typed
    )
    if not handlers.edit_problem:  # opening the tab, or a new face above while it is open, draws the face to edit
        tabs.select(handlers.tab_opened, None, editing, api_visibility="private")
        tab.select(handlers.edit, inputs, scales, api_visibility="private", **DRAWS, **typed)
        face.generated.success(
            handlers.edit_if_open, [editing, *inputs], scales, api_visibility="private", **DRAWS,
            **_as_typed([editing, *inputs]),
        )


NOT_DRAWN = "No face was drawn for this description: the error message says why."


def _read_tab(handlers: Handlers, face: Face) -> None:
    """Which CelebA attributes the model reads in the description, after each Generate."""
    with gr.Tab("What the model read"):
        note = gr.Markdown(
            "Generate a face to see which CelebA attributes the model reads in its description.",
            label="note", elem_id="t2f-read-note",
        )  # fmt: skip
        table = gr.Dataframe(
            headers=["as said", "read", "probability", "drawn when asked", "CelebA attribute"], label="readings"
        )

    face.generated.success(handlers.attributes, [face.description], [table, note], api_name="attributes", **DRAWS)
    # A refused description (the error says why) leaves no read-out of the previous one behind.
    face.generated.failure(lambda: ([], NOT_DRAWN), None, [table, note], api_visibility="private")


def _about_tab() -> None:
    with gr.Tab("About"):
        gr.Markdown(ABOUT)


def build_demo(pipe: TextToFace | str, gif_dir: Path | None = None) -> gr.Blocks:
    """The demo page around ``pipe``, or around the message saying why no pipeline is loaded.

    GIFs go to ``gif_dir`` (default: a new temporary folder). Launch with :func:`launch`, which adds the CSS.
    """
    handlers = Handlers(pipe, gif_dir or Path(tempfile.mkdtemp(prefix="t2f-gifs-")))
    with gr.Blocks(title="T2F-MSGGAN: text to face", delete_cache=(1800, 3600)) as demo:
        gr.Markdown("# T2F-MSGGAN: text to face\nDescribe a face; the model draws it at every scale at once.")
        if handlers.problem:
            gr.Markdown(f"**⚠ {handlers.problem}**", elem_id="t2f-banner")
        face = _generate_tab(demo, handlers)
        gif_room = _gif_room(demo)
        with gr.Tabs() as tabs:
            _variations_tab(handlers, face)
            _seed_interpolation_tab(handlers, face, gif_room)
            _text_interpolation_tab(handlers, face, gif_room)
            _edit_tab(handlers, face, tabs)
            _read_tab(handlers, face)
            _about_tab()
    os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", str(MONITORING_SUMMARY_EVERY))  # read by queue()
    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_SIZE)
    return demo


class RequestSizeLimit:
    """ASGI middleware: a request body over ``max_bytes`` is answered 413 with a message naming the limit,
    before the server reads it into memory (Gradio bounds uploaded files, not request bodies)."""

    def __init__(self, app, max_bytes: int = MAX_REQUEST_BYTES):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.isdigit() or int(declared) > self.max_bytes:
                return await self._refuse(send)
            return await self.app(scope, receive, send)
        # No declared length (chunked): read up to the limit here, then hand the body on.
        messages, size = [], 0
        while True:
            message = await receive()
            messages.append(message)
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                return await self._refuse(send)
            if message["type"] != "http.request" or not message.get("more_body", False):
                break

        async def replay():
            return messages.pop(0) if messages else await receive()

        return await self.app(scope, replay, send)

    async def _refuse(self, send) -> None:
        message = f"the request is over {self.max_bytes:,} bytes: descriptions may hold at most {MAX_TEXT_CHARS:,} characters"
        log.info("refused: %s", message)
        body = json.dumps({"error": message}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def launch(demo: gr.Blocks, **kwargs) -> tuple:
    """``demo.launch`` with the page's CSS (Gradio 6 takes CSS at launch, not in gr.Blocks), Gradio's own
    input errors (a word where a number belongs, too few values) shown to the caller, not hidden as null,
    request bodies bounded (:class:`RequestSizeLimit`), and Gradio's traffic monitoring page (on by default,
    open to anyone) off."""
    app_kwargs = {"middleware": [Middleware(RequestSizeLimit)]}
    return demo.launch(css=CSS, show_error=True, enable_monitoring=False, app_kwargs=app_kwargs, **kwargs)


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity where the OS tells it, else all of them)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def share_cores() -> None:
    """Give each of the CONCURRENCY requests served at once its own share of the CPU cores.

    By default every request's PyTorch ops use every core, so concurrent requests (or other busy
    processes) oversubscribe them, and OpenMP threads spin waiting for preempted siblings: on a busy
    2-core machine a 128 px face took 0.9 s with 2 threads against 25 ms with 1.
    """
    torch.set_num_threads(max(1, usable_cores() // CONCURRENCY))


def main() -> None:
    """Load the model once, build the page and serve it (host, port and share link from GRADIO_* variables)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s: %(message)s")
    share_cores()
    pipe = load_pipeline(os.environ.get("T2F_WEIGHTS"))
    if isinstance(pipe, str):
        print(f"warning: {pipe}", file=sys.stderr)
    launch(build_demo(pipe))


if __name__ == "__main__":
    main()
