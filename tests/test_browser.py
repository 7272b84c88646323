"""A real browser on the demo: Chromium (the Debian package) driven by Playwright, against the app in-process."""

from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright
from test_app import TEXT, launch_in_process

import app
from t2f import TextToFace
from t2f.attributes import EDIT_NAMES

CHROMIUM = Path("/usr/bin/chromium")
TABS = ["Variations", "Seed interpolation", "Description interpolation", "Edit", "What the model read", "About"]
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"
]  # fmt: skip

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM}: install it with `apt-get install -y chromium`"
)


@pytest.fixture(scope="module")
def url(tiny_edit_weights, tmp_path_factory):
    demo, url = launch_in_process(TextToFace.from_pretrained(tiny_edit_weights), tmp_path_factory.mktemp("gifs"))
    yield url
    demo.close()


def test_generate_pick_a_variation_and_drag_the_interpolation_slider(url, tmp_path):
    outside, page_errors = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("request", lambda r: None if r.url.startswith(url) else outside.append(r.url))
            page.on("pageerror", lambda error: page_errors.append(error))
            page.goto(url)

            # The page opens with a face: no click needed.
            loaded = "[...document.querySelectorAll('#t2f-scales img')].filter(i => i.complete && i.naturalWidth)"
            page.wait_for_function(f"{loaded}.length === 1", timeout=30_000)
            opened = page.locator("#t2f-scales img").get_attribute("src")

            # Enter in the description generates (and inserts no newline).
            box = page.get_by_label("Description (Enter to generate)")
            assert box.input_value() == TEXT  # the page opened on this description: another one must redraw
            box.fill("an old man with gray hair")
            box.press("Enter")
            page.wait_for_function(
                "src => document.querySelector('#t2f-scales img').src !== src", arg=opened, timeout=30_000
            )
            assert box.input_value() == "an old man with gray hair"
            page.wait_for_function(f"{loaded}.length === 1", timeout=30_000)
            natural, shown, rendering = page.eval_on_selector(
                "#t2f-scales img",
                "i => [[i.naturalWidth, i.naturalHeight], i.clientWidth, getComputedStyle(i).imageRendering]",
            )
            assert natural == [6 * 128 + 5 * 4, 128]  # six 128 px tiles, 4 px apart
            assert shown > natural[0] and rendering == "pixelated"  # shown larger, with nearest-neighbour pixels

            seed = int(page.locator("#t2f-seed input").input_value())
            page.get_by_role("button", name="Show variations").click()
            thumbnails = page.locator("#t2f-variations button.thumbnail-item")
            thumbnails.nth(app.DEFAULT_VARIATIONS - 1).wait_for(timeout=30_000)
            # The gallery fits its one row of faces: no empty area below them.
            wrap = page.locator("#t2f-variations .grid-wrap").bounding_box()
            last = thumbnails.nth(app.DEFAULT_VARIATIONS - 1).bounding_box()
            assert wrap["y"] + wrap["height"] <= last["y"] + last["height"] + 40, (wrap, last)
            thumbnails.nth(3).click()  # the fourth face has the fourth consecutive seed
            page.wait_for_function(
                "seed => document.querySelector('#t2f-seed input').value === seed", arg=str(seed + 3), timeout=30_000
            )

            # One variation is shown at a thumbnail's size, not stretched across the page.
            width = thumbnails.nth(0).bounding_box()["width"]
            page.get_by_label(f"Faces (1-{app.MAX_VARIATIONS})").fill("1")
            page.get_by_role("button", name="Show variations").click()
            page.wait_for_function("() => document.querySelectorAll('#t2f-variations button.thumbnail-item').length === 1")
            page.screenshot(path=tmp_path / "one-variation.png", full_page=True)
            single = thumbnails.nth(0).bounding_box()
            assert single["width"] <= width * 1.5 and single["height"] <= width * 1.5, (single, width)

            page.get_by_role("tab", name="Seed interpolation").click()
            slider = page.locator("#t2f-seed-t input[type=range]")
            frame = page.locator("#t2f-seed-frame img")
            slider.focus()
            page.keyboard.press("ArrowRight")
            frame.wait_for(timeout=30_000)
            first = frame.get_attribute("src")
            for _ in range(40):
                page.keyboard.press("ArrowRight")
            # Gradio names served images by their content's hash: a new src is a different picture.
            page.wait_for_function(
                "src => document.querySelector('#t2f-seed-frame img').src !== src", arg=first, timeout=30_000
            )
            assert float(slider.input_value()) > 0.3

            # The Edit tab follows the face above: a new description redraws it with no slider moved.
            page.get_by_role("tab", name="Edit").click()
            edited = "document.querySelectorAll('#t2f-edit-scales img')"
            page.wait_for_function(f"{edited}.length === 1", timeout=30_000)
            before = page.locator("#t2f-edit-scales img").get_attribute("src")
            box.fill("a bald man with a beard")
            box.press("Enter")
            page.wait_for_function(f"src => {edited}[0].src !== src", arg=before, timeout=30_000)
            bald = page.locator("#t2f-edit-scales img").get_attribute("src")
            # Every slider's name is one line, above its number box.
            heads = page.eval_on_selector_all(
                "#t2f-edit-sliders .head",
                """heads => heads.map(h => [h.querySelector('label').getBoundingClientRect().height,
                    h.querySelector('label').getBoundingClientRect().bottom, h.querySelector('input').getBoundingClientRect().top])""",
            )
            assert len(heads) == len(EDIT_NAMES) and len({round(height) for height, _, _ in heads}) == 1, heads
            assert all(bottom <= top for _, bottom, top in heads), heads
            # A refused edit (a seed of 4.5) leaves the edited face dimmed, as the face above, not as if drawn.
            page.locator("#t2f-seed input").fill("4.5")
            page.locator("#t2f-edit-sliders input[type=range]").first.focus()
            page.keyboard.press("ArrowRight")
            page.get_by_text("got '4.5'").first.wait_for(timeout=30_000)
            dimmed = "() => getComputedStyle(document.querySelector('#t2f-edit-scales .image-container')).opacity === '0.3'"
            page.wait_for_function(dimmed, timeout=30_000)
            page.locator("#t2f-seed input").fill("42")

            # A refused description clears the previous one's read-out instead of leaving it standing.
            page.get_by_role("tab", name="What the model read").click()
            page.wait_for_function(
                "() => document.querySelector('#t2f-read-note').innerText.includes('Read:')", timeout=30_000
            )
            box.fill(" ")
            box.press("Enter")
            page.wait_for_function(
                "t => document.querySelector('#t2f-read-note').innerText.includes(t)", arg=app.NOT_DRAWN, timeout=30_000
            )
            # The last face stays, dimmed, with no red "Error" badge over it; the message leaves the seed and its
            # Random seed button uncovered.
            badge = page.locator("#t2f-scales .error")
            assert badge.count() == 1 and not badge.is_visible()
            assert page.locator("#t2f-scales img").is_visible()
            assert page.eval_on_selector("#t2f-scales .image-container", "e => getComputedStyle(e).opacity") == "0.3"
            toast = page.locator(".toast-body").first
            toast.wait_for(timeout=30_000)
            page.screenshot(path=tmp_path / "error.png", full_page=True)
            message, dice = toast.bounding_box(), page.get_by_role("button", name="Random seed").bounding_box()
            assert message["y"] >= dice["y"] + dice["height"] or message["x"] >= dice["x"] + dice["width"], (message, dice)

            # A seed past 2^53, which the browser's number would send as 2^53 (another face, silently), is refused
            # with the seed as typed.
            box.fill("a young woman with bangs")
            page.locator("#t2f-seed input").fill("9007199254740993")
            box.press("Enter")
            page.get_by_text("got 9007199254740993: type a smaller seed").first.wait_for(timeout=30_000)
            page.locator("#t2f-seed input").fill("42")

            # A new face while another tab is open: the Edit tab is not redrawn (its faces are cleared, none
            # stale), and shows the new face when opened.
            box.fill("a young woman with bangs")
            box.press("Enter")
            page.wait_for_function(
                "() => document.querySelector('#t2f-read-note').innerText.includes('Read:')", timeout=30_000
            )
            page.wait_for_function(f"() => {edited}.length === 0", timeout=30_000)
            page.get_by_role("tab", name="Edit").click()
            page.wait_for_function(
                f"src => {edited}.length === 1 && {edited}[0].src !== src", arg=bald, timeout=30_000
            )

            page.get_by_role("tab", name="About").click()
            page.get_by_text("What it is.").wait_for(timeout=30_000)
            # After all these clicks the tab bar still names each tab once, in order.
            names = page.eval_on_selector_all("[role=tab]", "tabs => tabs.map(t => t.textContent.trim())")
            assert names == TABS, names

            page.screenshot(path=tmp_path / "demo.png", full_page=True)
        finally:
            browser.close()
    assert (tmp_path / "demo.png").stat().st_size > 10_000
    assert not page_errors, page_errors
    assert not outside, f"the page fetched from outside the app: {outside}"
