"""The Gradio app, served in-process on a free port and driven through gradio_client like any API user.

The app launches once for the file (tiny random weights: these tests check the wiring, not the faces).
"""

import json
import logging
import re
import shutil
import socket
import sys
import threading
from pathlib import Path

import gradio as gr
import httpx
import numpy as np
import pytest
from gradio.utils import get_upload_folder
from gradio_client import Client
from gradio_client.exceptions import AppError
from PIL import Image

import app
from conftest import REPO
from t2f import TextToFace
from t2f.attributes import EDIT_NAMES
from t2f.text import MAX_TEXT_CHARS, check_text

TEXT = "a smiling young woman with wavy blond hair"
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
_lookups: list[str] = []  # every host name resolved or connected to by this process since the hook went in


def _audit(event: str, args: tuple) -> None:
    if event == "socket.getaddrinfo":
        _lookups.append(str(args[0]))
    elif event == "socket.connect" and isinstance(args[1], tuple):  # skip Unix sockets
        _lookups.append(str(args[1][0]))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch_in_process(pipe: TextToFace | str, gif_dir) -> tuple:
    """Build the demo around ``pipe`` (or a no-weights message) and serve it on a free local port: (demo, url)."""
    demo = app.build_demo(pipe, gif_dir=gif_dir)
    _, url, _ = app.launch(
        demo, prevent_thread_lock=True, server_name="127.0.0.1", server_port=_free_port(), quiet=True
    )
    return demo, url


@pytest.fixture(scope="module")
def pipe(tiny_edit_weights) -> TextToFace:
    return TextToFace.from_pretrained(tiny_edit_weights)


@pytest.fixture(scope="module")
def url(pipe, tmp_path_factory):
    sys.addaudithook(_audit)  # before launching, so the server's own start-up is audited too
    demo, url = launch_in_process(pipe, tmp_path_factory.mktemp("gifs"))
    yield url
    demo.close()


@pytest.fixture(scope="module")
def client(url, tmp_path_factory) -> Client:
    return Client(url, verbose=False, download_files=str(tmp_path_factory.mktemp("downloads")))


def pixels(image: str | Image.Image) -> np.ndarray:
    return np.asarray(Image.open(image) if isinstance(image, str) else image)


SCALES, GAP = (4, 8, 16, 32, 64, 128), 4  # the tiny model's scales; the white gap between tiles in a strip


def tiles(strip: str | Image.Image) -> list[np.ndarray]:
    """Every scale in an image of /generate or /edit at its native size again, as README tells API users."""
    image = Image.open(strip) if isinstance(strip, str) else strip
    step = 128 + GAP  # README's 132
    assert image.size == (len(SCALES) * step - GAP, 128)
    crops = [image.crop((i * step, 0, i * step + 128, 128)) for i in range(len(SCALES))]
    return [pixels(crop.resize((r, r), Image.NEAREST)) for crop, r in zip(crops, SCALES)]


def test_every_feature_has_an_api_name(client):
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert names == {
        "/generate", "/variations", "/seed_frame", "/seed_gif", "/text_frame", "/text_gif", "/attributes",
        "/random_seed", "/edit",
    }  # fmt: skip


def test_api_parameters_and_outputs_have_names(client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    edit = [p["parameter_name"] for p in endpoints["/edit"]["parameters"]]
    assert edit == ["description", "seed", "truncation", *EDIT_NAMES]
    assert [r["label"] for r in endpoints["/attributes"]["returns"]] == ["readings", "note"]
    by_name = client.predict(TEXT, 5, 1.0, age=0.5, smiling=-0.3, api_name="/edit")  # the rest default to 0
    in_order = client.predict(TEXT, 5, 1.0, *edit_args(age=0.5, smiling=-0.3), api_name="/edit")
    np.testing.assert_array_equal(pixels(by_name), pixels(in_order))


def test_generate_returns_every_scale_side_by_side_pixel_for_pixel(client, pipe):
    strip = client.predict(TEXT, 5, 1.0, api_name="/generate")
    expected = pipe(TEXT, 5).images
    assert sorted(expected) == list(SCALES)
    for tile, r in zip(tiles(strip), SCALES):
        np.testing.assert_array_equal(tile, pixels(expected[r]))
    gaps = [pixels(strip)[:, i * (128 + GAP) - GAP : i * (128 + GAP)] for i in range(1, len(SCALES))]
    assert all((gap == 255).all() for gap in gaps)


def test_truncation_reaches_the_model(client, pipe):
    top = tiles(client.predict(TEXT, 5, 0.5, api_name="/generate"))[-1]
    np.testing.assert_array_equal(top, pixels(pipe(TEXT, 5, truncation=0.5).images[128]))
    assert not np.array_equal(top, pixels(pipe(TEXT, 5).images[128]))


def test_variations_are_consecutive_seeds(client, pipe):
    gallery = client.predict(TEXT, 10, 4, 1.0, api_name="/variations")
    assert [item["caption"] for item in gallery] == ["seed 10", "seed 11", "seed 12", "seed 13"]
    # One batch, like the app: a batch of four may round a pixel differently from four batches of one.
    for item, face in zip(gallery, pipe([TEXT] * 4, 10)):
        np.testing.assert_array_equal(pixels(item["image"]), pixels(face.images[128]))


def test_seed_interpolation_frames_end_at_the_plain_outputs(client, pipe):
    start, end, middle = (client.predict(TEXT, 3, 8, t, 1.0, api_name="/seed_frame") for t in (0, 1, 0.5))
    np.testing.assert_array_equal(pixels(start), pixels(pipe(TEXT, 3).images[128]))
    np.testing.assert_array_equal(pixels(end), pixels(pipe(TEXT, 8).images[128]))
    assert not np.array_equal(pixels(middle), pixels(start)) and not np.array_equal(pixels(middle), pixels(end))


def test_description_interpolation_frames_end_at_the_plain_outputs(client, pipe):
    other = "an old man with gray hair and glasses"
    start, end = (client.predict(TEXT, other, 4, t, 1.0, api_name="/text_frame") for t in (0.0, 1.0))
    np.testing.assert_array_equal(pixels(start), pixels(pipe(TEXT, 4).images[128]))
    np.testing.assert_array_equal(pixels(end), pixels(pipe(other, 4).images[128]))


@pytest.mark.parametrize(
    ("api_name", "args", "frames"),
    [("/seed_gif", (TEXT, 1, 2, 5, 1.0), 5), ("/text_gif", (TEXT, "a bald man", 1, 3, 1.0), 3)],
)
def test_gifs_have_one_frame_per_step(client, api_name, args, frames):
    gif = Image.open(client.predict(*args, api_name=api_name))
    assert (gif.format, gif.n_frames, gif.size) == ("GIF", frames, (128, 128))
    assert gif.info["loop"] == 0


def test_attributes_read_what_the_description_says(client):
    table, note = client.predict("an old man with a beard", api_name="/attributes")
    assert table["headers"] == ["as said", "read", "probability", "drawn when asked", "CelebA attribute"]
    read = {row[0]: (row[1], row[3], row[4]) for row in table["data"]}
    assert read["older"] == ("present", "not measured", "Young") and read["young"] == ("absent", "not measured", "Young")
    assert read["beard"] == ("present", "not measured", "No_Beard") and read["man"][::2] == ("present", "Male")
    assert note.startswith("Read: **") and "older" in note and "was not measured for these weights" in note
    assert "no young" not in note and "no woman" not in note  # the side read is said once


def test_attributes_say_how_often_the_faces_show_what_is_read(tiny_edit_weights, tmp_path):
    weights = tmp_path / "weights"
    shutil.copytree(tiny_edit_weights, weights)
    per_claim = {"not No_Beard": {"found": 0.77, "claims": 104}, "Male": {"found": 0.9, "claims": 520}}
    (weights / "evaluation.json").write_text(json.dumps({"people": {"per_claim": per_claim}}))
    handlers = app.Handlers(TextToFace.from_pretrained(weights), tmp_path)
    rows, note = handlers.attributes("an old man with a beard")
    drawn = {row[0]: row[3] for row in rows}
    assert drawn["beard"] == "77% of 104 faces" and drawn["man"] == "90% of 520 faces"
    assert drawn["older"] == "not measured" and "*Drawn when asked*" in note
    (weights / "evaluation.json").write_text('{"people": {"per_claim": {"Male": 3}}}')
    with pytest.warns(UserWarning, match="evaluation.json: people.per_claim must map claims"):
        assert TextToFace.from_pretrained(weights).drawn == {}  # the model still loads


@pytest.mark.parametrize("text", ["😀😀😀", "a photo of a red sports car", "asdfgh qwerty"])
def test_attributes_say_when_nothing_read_is_drawable(shipped, text):
    rows, note = shipped.attributes(text)
    assert note.startswith("**Nothing in this description is something the model knows how to draw**")
    assert {row[1] for row in rows} == {"not said"}


@pytest.fixture(scope="module")
def shipped(tmp_path_factory) -> app.Handlers:
    """The page's handlers around the shipped weights, whose read-out was trained on the full training set."""
    return app.Handlers(TextToFace.from_pretrained(), tmp_path_factory.mktemp("shipped-gifs"))


def test_attributes_say_what_the_face_is_steered_away_from(shipped):
    rows, note = shipped.attributes("a clean-shaven man without glasses, no mustache")
    read = {row[0]: row[1] for row in rows}
    assert read["beard"] == read["glasses"] == read["mustache"] == "absent"
    assert "The face is steered away from what it negates: beard, eyeglasses, mustache." in note
    rows, note = shipped.attributes("a clean-shaven man in a suit")  # what the words negate, nothing else
    assert [row[0] for row in rows if row[1] == "absent" and row[0] not in ("man", "woman", "young", "older")] == ["beard"]
    assert "steered away from what it negates: beard." in note
    _, note = shipped.attributes("a smiling woman with glasses")
    assert "steered" not in note


def test_attributes_say_when_gender_is_left_open(shipped):
    rows, note = shipped.attributes("a face with glasses")
    read = {row[0]: row[1] for row in rows}
    assert read["glasses"] == "present" and read["man"] == read["woman"] == "not said"
    assert "Not said: man or woman" in note


def edit_args(**strengths):
    return [strengths.get(name, 0.0) for name in EDIT_NAMES]


def test_edit_returns_every_scale_of_the_edited_face(client, pipe):
    strip = client.predict(TEXT, 5, 1.0, *edit_args(smiling=-0.6, age=0.5), api_name="/edit")
    expected = pipe.edit(TEXT, 5, {"smiling": -0.6, "age": 0.5}).images
    for tile, r in zip(tiles(strip), SCALES):
        np.testing.assert_array_equal(tile, pixels(expected[r]))
    unedited = client.predict(TEXT, 5, 1.0, *edit_args(), api_name="/edit")
    np.testing.assert_array_equal(tiles(unedited)[-1], pixels(pipe(TEXT, 5).images[128]))


def test_without_an_attribute_file_editing_is_off_and_says_why(tiny_weights, tmp_path):
    handlers = app.Handlers(TextToFace.from_pretrained(tiny_weights), tmp_path)
    assert "python -m train attributes" in handlers.edit_problem
    with pytest.raises(gr.Error, match="python -m train attributes"):
        handlers.edit(TEXT, 1, 1.0, *edit_args(smiling=0.5))
    rows, note = handlers.attributes(TEXT)
    assert rows == [] and "python -m train attributes" in note


def test_random_seed_is_a_browser_safe_integer(client):
    seeds = {client.predict(api_name="/random_seed") for _ in range(3)}
    assert all(isinstance(s, int) and 0 <= s < 2**53 for s in seeds) and len(seeds) > 1


@pytest.mark.parametrize(
    ("api_name", "args", "message"),
    [
        ("/generate", ("", 1, 1.0), "description is empty"),
        ("/generate", (" \n\t", 1, 1.0), "description is empty"),
        ("/generate", (TEXT, -1, 1.0), r"seed must be an integer in \[0, 9223372036854775807\]"),
        ("/generate", (TEXT, 2**63, 1.0), r"seed must be an integer in \[0, 9223372036854775807\]"),
        ("/generate", (TEXT, 1.5, 1.0), "seed must be an integer"),
        ("/variations", (TEXT, 1, 17, 1.0), "number of variations must be a whole number from 1 to 16, got 17"),
        ("/variations", (TEXT, 1, 0, 1.0), "number of variations must be a whole number from 1 to 16"),
        ("/seed_gif", (TEXT, 1, 2, 61, 1.0), "number of GIF frames must be a whole number from 2 to 60, got 61"),
        ("/text_gif", (TEXT, "x", 1, 61, 1.0), "number of GIF frames must be a whole number from 2 to 60"),
        ("/generate", ("a" * (MAX_TEXT_CHARS + 1), 1, 1.0), f"at most {MAX_TEXT_CHARS} characters, got 10001"),
        ("/text_frame", (TEXT, "", 1, 0.5, 1.0), "^Description B: the description is empty"),
        ("/text_gif", (" \n", TEXT, 1, 3, 1.0), "^Description A: the description is empty"),
        ("/seed_frame", (TEXT, 1, 2**63, 0.5, 1.0), "seed must be an integer"),
        ("/edit", ("", 1, 1.0, *edit_args()), "description is empty"),
        ("/edit", (TEXT, 1, 1.0, *edit_args(smiling=1.5)), r"strength of 'smiling' must be a number in \[-1, 1\], got 1.5"),
        ("/generate", (TEXT, 1, 1.5), r"truncation must be a number in \[0, 1\], got 1.5"),
        ("/seed_frame", (TEXT, 1, 2, -0.5, 1.0), r"^t \(the position from A to B\) must be a number in \[0, 1\], got -0.5"),
        ("/text_frame", (TEXT, TEXT, 1, [0.5], 1.0), r"^t \(the position from A to B\) must be a number in \[0, 1\]"),
        ("/generate", (["a man", "a woman"], 1, 1.0), "^a description must be a string, got list"),  # a batch to the pipeline
        ("/attributes", ([TEXT],), "^a description must be a string, got list"),
        ("/variations", (TEXT, 2**63 - 1, 2, 1.0), r"the last of the 2 seeds from 9223372036854775807 would be over"),
        ("/generate", (TEXT, "x" * 5000, 1.0), r"\.\.\. \(cut at 500 characters\)$"),
        ("/generate", (TEXT, 1, "x"), r"truncation must be a number in \[0, 1\], got 'x'"),
        ("/edit", (TEXT, 1, 1.0, "x", *edit_args()[1:]), rf"strength of '{EDIT_NAMES[0]}' must be a number in \[-1, 1\], got 'x'"),
    ],
)
def test_bad_inputs_get_clear_messages(client, api_name, args, message):
    with pytest.raises(AppError, match=message):
        client.predict(*args, api_name=api_name)


def test_app_keeps_serving_after_errors(client, pipe):
    with pytest.raises(AppError):
        client.predict("", 1, 1.0, api_name="/generate")
    files = client.predict(TEXT, 2**63 - 1, 1.0, api_name="/generate")  # the largest seed is fine
    np.testing.assert_array_equal(tiles(files)[-1], pixels(pipe(TEXT, 2**63 - 1).images[128]))


# Under MAX_TEXT_CHARS (the library's bound on work), over the 254 word pieces all-MiniLM-L6-v2 reads.
LONG = "a bald man with round glasses, a bushy beard and a big nose, " * 30


def too_long(pipe: TextToFace, text: str) -> str:
    """The start of the encoder's error for ``text``, as a regular expression: its length and the limit."""
    n = pipe.text_encoder.count_tokens(" ".join(text.split()))
    assert n > 254 and len(text) < MAX_TEXT_CHARS, (n, len(text))
    return rf"the description is {n} word pieces long, but the text encoder \(.+\) reads only the first 254 "


def test_a_description_longer_than_the_encoder_reads_is_refused_not_cut(client, pipe, tmp_path):
    handlers, limit = app.Handlers(pipe, tmp_path), too_long(pipe, LONG)
    with pytest.raises(gr.Error) as error:  # str(gr.Error) is repr(message): the message itself is checked
        handlers.generate(LONG, 6, 1.0)
    assert re.match(limit, error.value.message), error.value.message
    with pytest.raises(gr.Error) as error:
        handlers.text_frame(TEXT, LONG, 6, 0.5, 1.0)
    assert re.match("Description B: " + limit, error.value.message), error.value.message  # of two, the long one
    calls = [
        ("/generate", (LONG, 6, 1.0), limit),
        ("/variations", (LONG, 6, 2, 1.0), limit),
        ("/seed_gif", (LONG, 1, 2, 3, 1.0), limit),
        ("/attributes", (LONG,), limit),
        ("/edit", (LONG, 6, 1.0, *edit_args()), limit),
        ("/text_frame", (LONG, TEXT, 6, 0.5, 1.0), "^Description A: " + limit),
    ]
    for api_name, args, message in calls:
        with pytest.raises(AppError, match=message):
            client.predict(*args, api_name=api_name)
    # At the limit it is served: the rule refuses only what the encoder would not read.
    words = LONG.split()
    while pipe.text_encoder.count_tokens(" ".join(words)) > 254:
        words.pop()
    files = client.predict(" ".join(words), 6, 1.0, api_name="/generate")
    np.testing.assert_array_equal(tiles(files)[-1], pixels(pipe(" ".join(words), 6).images[128]))


def test_whitespace_is_collapsed_as_the_library_does(client, pipe, tmp_path):
    messy, other = "  a bald man\n\twith   glasses ", " an old  woman\n"
    assert check_text(messy) == "a bald man with glasses"
    face = pixels(pipe(check_text(messy), 6).images[128])
    np.testing.assert_array_equal(tiles(client.predict(messy, 6, 1.0, api_name="/generate"))[-1], face)
    np.testing.assert_array_equal(tiles(app.Handlers(pipe, tmp_path).generate(messy, 6, 1.0))[-1], face)
    start, end = (client.predict(messy, other, 6, t, 1.0, api_name="/text_frame") for t in (0.0, 1.0))
    np.testing.assert_array_equal(pixels(start), face)
    np.testing.assert_array_equal(pixels(end), pixels(pipe(check_text(other), 6).images[128]))
    table, _ = client.predict(messy, api_name="/attributes")
    assert table["data"] == client.predict(check_text(messy), api_name="/attributes")[0]["data"]


def test_sixteen_concurrent_clients_each_get_their_own_face(url, pipe):
    seeds = list(range(100, 116))
    expected = {s: pixels(pipe(TEXT, s).images[128]) for s in seeds}
    start = threading.Barrier(len(seeds))
    results: dict[int, np.ndarray | BaseException] = {}

    def ask(seed: int) -> None:
        try:
            own = Client(url, verbose=False, download_files=False)  # the server is in-process: read its files
            start.wait(timeout=30)
            results[seed] = tiles(own.predict(TEXT, seed, 1.0, api_name="/generate")["path"])[-1]
        except BaseException as e:  # reported below, with the seed
            results[seed] = e

    threads = [threading.Thread(target=ask, args=(s,)) for s in seeds]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for seed in seeds:
        assert not isinstance(results.get(seed), BaseException), (seed, results.get(seed))
        np.testing.assert_array_equal(results[seed], expected[seed], err_msg=f"seed {seed}")


def test_the_same_face_asked_for_at_once_is_served_whole_to_everyone(url, pipe, tmp_path):
    """Identical requests share one cached file (named by its content): none may get it half-written."""
    expected, clients = pixels(pipe(TEXT, 7).images[128]), 12
    start = threading.Barrier(clients)
    results: list[np.ndarray | BaseException] = []

    def ask(k: int) -> None:
        try:
            own = Client(url, verbose=False, download_files=str(tmp_path / str(k)))  # over HTTP, as users get it
            start.wait(timeout=30)
            results.append(tiles(own.predict(TEXT, 7, 1.0, api_name="/generate"))[-1])
        except BaseException as e:  # reported below
            results.append(e)

    threads = [threading.Thread(target=ask, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(results) == clients
    for result in results:
        assert not isinstance(result, BaseException), result
        np.testing.assert_array_equal(result, expected)


def test_page_seeds_are_read_as_typed_and_kept_within_what_a_browser_holds(pipe, tmp_path):
    handlers = app.Handlers(pipe, tmp_path)
    exact = str(2**53)
    np.testing.assert_array_equal(tiles(handlers.generate(TEXT, exact, 1.0))[-1], pixels(pipe(TEXT, 2**53).images[128]))
    for typed in ("9007199254740993", "9223372036854775807"):  # a browser's number would send 2**53 and 2**63
        with pytest.raises(gr.Error, match=rf"only up to 2\^53 \(9007199254740992\), got {typed}: type a smaller"):
            handlers.generate(TEXT, typed, 1.0)
    with pytest.raises(gr.Error, match=r"and the 16 seeds from it, up to 9007199254741007"):
        handlers.variations(TEXT, exact, 16, 1.0)
    for typed in ("4.5", "-3", "", "1e+22"):
        with pytest.raises(gr.Error, match=r"a seed here is a whole number from 0 to 2\^53"):
            handlers.generate(TEXT, typed, 1.0)
    # Every event that reads a seed box sends its text, except those right after the page sets a seed itself.
    demo = app.build_demo(pipe, gif_dir=tmp_path)
    reading = [fn for fn in demo.fns.values() if any(app.SEED_BOX in (c.elem_classes or []) for c in fn.inputs)]
    typed = [fn.name for fn in reading if fn.js and " input" in fn.js]  # the seed boxes' <input> elements
    assert sorted(typed) == sorted([
        "generate", "variations", "seed_frame", "seed_gif", "text_frame", "text_gif", "edit", "edit", "edit", "edit_if_open",
    ])  # fmt: skip
    assert sorted(fn.name for fn in reading if not fn.js) == ["generate", "generate"]  # after Random seed, a variation


def test_no_outside_network_lookups(url):
    Client(url, verbose=False).predict(TEXT, 1, 1.0, api_name="/generate")
    assert _lookups, "the audit hook saw no lookups at all: it is not working"
    assert set(_lookups) <= LOCAL_HOSTS, sorted(set(_lookups) - LOCAL_HOSTS)


def test_without_weights_the_page_explains_and_every_handler_refuses(tmp_path):
    problem = app.load_pipeline(str(tmp_path))  # an empty folder, like the bundled weights/ before training
    assert isinstance(problem, str)
    assert "config.json is missing" in problem and "T2F_WEIGHTS" in problem and "train and export" in problem
    demo, url = launch_in_process(problem, tmp_path)
    try:
        page = httpx.get(url + "config", timeout=10).json()
        banners = [c["props"]["value"] for c in page["components"] if c["props"].get("elem_id") == "t2f-banner"]
        assert len(banners) == 1 and problem in banners[0]
        client = Client(url, verbose=False)
        calls = [("/generate", (TEXT, 1, 1.0)), ("/attributes", (TEXT,)), ("/seed_gif", (TEXT, 1, 2, 5, 1.0))]
        for api_name, args in calls:
            with pytest.raises(AppError, match="No model is loaded"):
                client.predict(*args, api_name=api_name)
        assert isinstance(client.predict(api_name="/random_seed"), int)  # needs no model
    finally:
        demo.close()


def test_without_bundled_weights_the_fix_is_said_once(monkeypatch, tmp_path):
    monkeypatch.setattr(app, "DEFAULT_WEIGHTS_DIR", tmp_path)  # an empty bundled weights/ folder
    problem = app.load_pipeline(None)
    assert isinstance(problem, str) and "config.json is missing" in problem
    assert problem.count("train and export") == 1 and problem.count("README") == 1, problem


def test_a_missing_weights_folder_or_repo_is_explained():
    problem = app.load_pipeline("no/such/folder/here")
    assert isinstance(problem, str) and "does not exist" in problem and "T2F_WEIGHTS" in problem


def test_about_does_not_claim_gpu_time_for_cpu_trained_weights():
    record = json.loads((REPO / "weights" / "training_record.json").read_text())
    assert record["gpu_minutes"] == 0 and "CPU" in record["device"]
    assert "GPU" not in app.ABOUT


def test_about_names_the_bundled_weights_training_data():
    record = json.loads((REPO / "weights" / "training_record.json").read_text())
    assert f"{record['data']['train_images']:,} photos of CelebA's training partition" in app.ABOUT


def test_raw_http_with_a_lone_surrogate_gets_a_message(url):
    """JSON may escape half a UTF-16 pair ("\\ud800"), which no tokenizer takes (gradio_client cannot send it)."""
    body = json.dumps({"data": ["a smiling woman \ud800", 1, 1.0]})  # ASCII, the half pair escaped
    headers = {"content-type": "application/json"}
    event = httpx.post(f"{url}gradio_api/call/generate", content=body, headers=headers, timeout=10).json()["event_id"]
    stream = httpx.get(f"{url}gradio_api/call/generate/{event}", timeout=30).text
    assert "event: error" in stream and "character 17 is a lone surrogate" in stream, stream


def test_raw_http_with_too_few_values_gets_a_message_not_null(url):
    """Gradio's own HTTP API (POST, then read the event stream), as curl users call it."""
    event = httpx.post(f"{url}gradio_api/call/generate", json={"data": [TEXT]}, timeout=10).json()["event_id"]
    stream = httpx.get(f"{url}gradio_api/call/generate/{event}", timeout=30).text
    assert "event: error" in stream and "data: null" not in stream, stream
    assert "didn't receive enough input values (needed: 3, got: 1)" in stream, stream


def test_on_zero_gpu_every_model_handler_borrows_the_gpu(pipe, tmp_path, monkeypatch):
    """spaces.GPU's contract (a function in, the function to call out), recorded by a stand-in: ZeroGPU
    hardware cannot be had in a test."""
    lent, calls = [], []

    def gpu(handler):
        lent.append(handler.__name__)

        def on_gpu(*args):
            calls.append(handler.__name__)
            return handler(*args)

        return on_gpu

    monkeypatch.setattr(app, "spaces", type("ZeroGPU", (), {"GPU": staticmethod(gpu)}))
    handlers = app.Handlers(pipe, tmp_path)
    assert sorted(lent) == sorted(app.GPU_HANDLERS)
    assert tiles(handlers.generate(TEXT, 3, 1.0)) and calls == ["generate"]
    app.build_demo(pipe, gif_dir=tmp_path)  # the page wires the borrowed handlers


def test_with_the_spaces_package_off_zero_gpu_the_handlers_run_as_they_are(pipe, tmp_path):
    spaces = pytest.importorskip("spaces")
    assert app.spaces is spaces
    handlers = app.Handlers(pipe, tmp_path)
    assert all(getattr(handlers, name).__func__ is getattr(app.Handlers, name) for name in app.GPU_HANDLERS)
    np.testing.assert_array_equal(tiles(handlers.generate(TEXT, 3, 1.0))[-1], pixels(pipe(TEXT, 3).images[128]))


def test_events_that_draw_skip_gradios_preprocessing(pipe, tmp_path):
    """The handlers check every value themselves, so no event that draws pays Gradio's preprocessing (a
    worker-thread hop per input, 15 for /edit); what it checked is refused by the library's checks above."""
    demo = app.build_demo(pipe, gif_dir=tmp_path)
    drawing = [fn for fn in demo.fns.values() if fn.name in {*app.GPU_HANDLERS, "edit_if_open"}]
    assert {fn.name for fn in drawing} == {*app.GPU_HANDLERS, "edit_if_open"}
    assert [fn.name for fn in drawing if fn.preprocess] == []


def test_faces_are_lossless_pngs_written_into_gradios_cache(pipe, tmp_path):
    """Gradio serves the handler's file as it is (no copy, no second encoding)."""
    path = Path(app.Handlers(pipe, tmp_path).generate(TEXT, 3, 1.0))
    assert path.is_relative_to(get_upload_folder()) and path.suffix == ".png"
    with Image.open(path) as image:
        assert image.format == "PNG"
        np.testing.assert_array_equal(tiles(image)[-1], pixels(pipe(TEXT, 3).images[128]))


def test_a_user_error_is_logged_as_one_line_without_a_traceback(client, capfd, caplog):
    caplog.set_level(logging.INFO, logger="t2f.app")
    capfd.readouterr()
    with pytest.raises(AppError, match="description is empty"):
        client.predict(" ", 1, 1.0, api_name="/generate")
    assert "Traceback" not in capfd.readouterr().err
    logged = [r.getMessage() for r in caplog.records if r.name == "t2f.app"]
    assert len(logged) == 1 and logged[0].startswith("refused: the description is empty"), logged


def test_an_oversized_request_is_refused_before_it_is_read(url):
    too_big = json.dumps({"data": ["a" * app.MAX_REQUEST_BYTES, 1, 1.0]}).encode()
    declared = httpx.post(f"{url}gradio_api/call/generate", content=too_big, timeout=30)
    chunked = httpx.post(
        f"{url}gradio_api/call/generate", content=(too_big[i : i + 65536] for i in range(0, len(too_big), 65536)), timeout=30
    )
    for response in (declared, chunked):
        assert response.status_code == 413
        assert response.json()["error"].startswith(f"the request is over {app.MAX_REQUEST_BYTES:,} bytes")
    small = httpx.post(f"{url}gradio_api/call/generate", json={"data": [TEXT, 1, 1.0]}, timeout=10)
    assert small.status_code == 200 and "event_id" in small.json()


def test_waiting_gifs_are_capped_so_they_never_fill_the_queue_generate_waits_in(tiny_weights, tmp_path, monkeypatch):
    pipe = TextToFace.from_pretrained(tiny_weights)
    started, release = threading.Event(), threading.Event()
    interpolate = pipe.interpolate_seeds

    def held(*args, **kwargs):  # the GIF being made holds its worker until released
        started.set()
        release.wait(60)
        return interpolate(*args, **kwargs)

    monkeypatch.setattr(pipe, "interpolate_seeds", held)
    demo, url = launch_in_process(pipe, tmp_path)
    try:
        with httpx.Client(timeout=30) as http:

            def ask_for_gif() -> httpx.Response:
                return http.post(f"{url}gradio_api/call/seed_gif", json={"data": [TEXT, 1, 2, 2, 1.0]})

            events = [ask_for_gif().raise_for_status().json()["event_id"]]
            assert started.wait(30)
            events += [ask_for_gif().raise_for_status().json()["event_id"] for _ in range(app.MAX_WAITING_GIFS)]
            turned_away = ask_for_gif()
            assert turned_away.status_code == 422, turned_away.text
            assert f"{app.MAX_WAITING_GIFS} GIFs are waiting to be made already" in turned_away.text
            # /generate still gets a place in the queue and its face while the GIFs wait.
            np.testing.assert_array_equal(
                tiles(Client(url, verbose=False).predict(TEXT, 3, 1.0, api_name="/generate"))[-1],
                pixels(pipe(TEXT, 3).images[128]),
            )
            release.set()
            for event in events:  # every GIF let in is made
                stream = http.get(f"{url}gradio_api/call/seed_gif/{event}").text
                assert "event: complete" in stream, stream
    finally:
        release.set()
        demo.close()


def test_gradio_monitoring_is_off_and_its_summary_not_recomputed_after_every_event(url, pipe, tmp_path):
    """Gradio's summary (pandas over up to 10,000 past events) feeds only its monitoring page, on by default
    and open to anyone who asks; by default it is recomputed after every event."""
    assert httpx.get(f"{url}monitoring/summary", timeout=10).status_code == 403  # 200 by default
    demo = app.build_demo(pipe, gif_dir=tmp_path)
    assert demo._queue.ANAYLTICS_CACHE_FREQUENCY == app.MONITORING_SUMMARY_EVERY  # Gradio's spelling


def test_attributes_name_the_sentences_left_out(shipped):
    rows, note = shipped.attributes("They work as an accountant in Leeds. A man with gray hair. *Their* [site](x).")
    read = {row[0]: row[1] for row in rows}
    assert read["gray hair"] == read["man"] == "present"
    assert note.endswith(
        "Left out, as describing no face (the face is drawn from the rest): “They work as an accountant in Leeds\\.” "
        "“\\*Their\\* \\[site\\]\\(x\\)\\.”"
    )
    _, note = shipped.attributes("A man with gray hair.")
    assert "Left out" not in note


def test_at_most_concurrency_passes_of_the_model_run_at_once_across_endpoints(tiny_edit_weights, tmp_path):
    """README's promise: requests are served CONCURRENCY at a time, whichever endpoint they call. Gradio gives
    every listener without a concurrency_id its own group, so without one shared group ten mixed requests ran
    up to eight generator passes at once."""
    pipe = TextToFace.from_pretrained(tiny_edit_weights)
    synthesize, lock, running, most = pipe.synthesize, threading.Lock(), [0], [0]

    def counted(*args, **kwargs):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        try:
            threading.Event().wait(0.2)  # long enough for the requests to overlap if the queue lets them
            return synthesize(*args, **kwargs)
        finally:
            with lock:
                running[0] -= 1

    pipe.synthesize = counted
    demo, url = launch_in_process(pipe, tmp_path)
    calls = [
        ((TEXT, 1, 1.0), "/generate"), ((TEXT, 2, 2, 1.0), "/variations"), ((TEXT, 3, 1.0, *edit_args(smiling=0.5)), "/edit"),
        ((TEXT, 4, 5, 0.5, 1.0), "/seed_frame"), ((TEXT, 6, 1.0), "/generate"),
    ] * 2  # fmt: skip
    start, errors = threading.Barrier(len(calls)), []

    def ask(args, api_name) -> None:
        try:
            own = Client(url, verbose=False, download_files=False)
            start.wait(timeout=30)
            own.predict(*args, api_name=api_name)
        except BaseException as e:  # reported below
            errors.append((api_name, e))

    try:
        threads = [threading.Thread(target=ask, args=call) for call in calls]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    finally:
        demo.close()
    assert not errors, errors
    assert most[0] == app.CONCURRENCY, most[0]
