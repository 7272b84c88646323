"""A real browser on the demo: Chromium (the Debian package) driven by Playwright, against the app in-process."""

from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright
from test_app import TEXT, launch_in_process

import app
from t2f import TextToFace

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"
]  # fmt: skip

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM}: install it with `apt-get install -y chromium`"
)


@pytest.fixture(scope="module")
def url(tiny_weights, tmp_path_factory):
    demo, url = launch_in_process(TextToFace.from_pretrained(tiny_weights), tmp_path_factory.mktemp("gifs"))
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

            page.get_by_label("Description").fill(TEXT)
            page.get_by_role("button", name="Generate").click()
            loaded = "[...document.querySelectorAll('#t2f-scales img')].filter(i => i.complete && i.naturalWidth)"
            page.wait_for_function(f"{loaded}.length === 6", timeout=30_000)
            shown = page.eval_on_selector_all(
                "#t2f-scales img",
                "images => images.map(i => [i.naturalWidth, i.clientWidth, getComputedStyle(i).imageRendering])",
            )
            assert [natural for natural, _, _ in shown] == [4, 8, 16, 32, 64, 128]  # native sizes served
            assert len({width for _, width, _ in shown}) == 1 and shown[0][1] > 128  # all shown at one, larger size
            assert {rendering for _, _, rendering in shown} == {"pixelated"}

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

            page.screenshot(path=tmp_path / "demo.png", full_page=True)
        finally:
            browser.close()
    assert (tmp_path / "demo.png").stat().st_size > 10_000
    assert not page_errors, page_errors
    assert not outside, f"the page fetched from outside the app: {outside}"
