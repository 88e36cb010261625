"""The review app in headless Chromium (Debian's, driven by Playwright), as an examiner uses it.

Checks the pixels the browser received (the bodies of the image responses): blurred
(low high-frequency energy against the original) and grey (zero saturation); a
reveal held with the Space key shows the clear picture only while held and writes
one exposure-log row; number keys grade a whole group; no request leaves the app.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.review.conftest import PASSWORD, Reviewed, serving
from vigil.review.grading import AWAITING

CHROMIUM = Path("/usr/bin/chromium")


def energy(image: Image.Image) -> float:
    """Mean absolute Laplacian of the grey picture: its high-frequency energy."""
    a = np.asarray(image.convert("L"), np.float64)
    lap = 4 * a[1:-1, 1:-1] - a[:-2, 1:-1] - a[2:, 1:-1] - a[1:-1, :-2] - a[1:-1, 2:]
    return float(np.abs(lap).mean())


def saturation(image: Image.Image) -> float:
    """Largest HSV saturation of any pixel (0: grey)."""
    hsv = np.asarray(image.convert("RGB").convert("HSV"))
    return float(hsv[..., 1].max())


@pytest.fixture
def browser_page():  # type: ignore[no-untyped-def]
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (./dev installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"],
        )  # fmt: skip
        yield browser
        browser.close()


def test_an_examiner_grades_in_the_browser(reviewed: Reviewed, browser_page) -> None:  # type: ignore[no-untyped-def]
    store, review = reviewed.session()
    requests: list[str] = []
    images: dict[str, bytes] = {}
    with serving(review) as base:
        page = browser_page.new_page(viewport={"width": 1280, "height": 900})
        page.on("request", lambda r: requests.append(r.url))

        def keep(response) -> None:  # type: ignore[no-untyped-def]
            if response.url.startswith(base) and (
                "/thumb/" in response.url or "/clear/" in response.url
            ):
                with contextlib.suppress(Exception):  # a response dropped by a navigation
                    images[response.url] = response.body()

        page.on("response", keep)
        page.goto(base + "/")
        assert page.url.endswith("/login")
        page.fill("input[name=name]", "alice")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/queue/matched")
        page.goto(base + "/queue/unknown")
        cards = page.locator(".card")
        assert cards.count() == 5  # a-small (near duplicate of a match) first, then b, c, d, e
        assert "near duplicate of a match" in cards.nth(0).inner_text()
        assert "same camera" in cards.nth(1).inner_text()
        assert "EXIF thumbnail matched" in cards.nth(2).inner_text()
        page.wait_for_function(
            "() => [...document.querySelectorAll('.card img')]"
            ".every(i => i.complete && i.naturalWidth > 0)"
        )

        # 1. every picture the browser received is blurred and grey
        first = cards.nth(0).get_attribute("data-first")
        received = Image.open(io.BytesIO(images[f"{base}/thumb/{first}.jpg"]))
        original = Image.open(reviewed.files["a_small"])
        assert saturation(original) > 100 and saturation(received) == 0
        assert energy(received) < energy(original.resize(received.size)) / 10
        thumbs = [u for u in images if "/thumb/" in u]
        assert len(thumbs) == 5
        assert all(saturation(Image.open(io.BytesIO(images[u]))) == 0 for u in thumbs)

        # 2. a reveal shows the clear picture while Space is held, and only then
        page.keyboard.down(" ")
        page.wait_for_function(
            "() => document.querySelector('.card.selected img').src.includes('/clear/')"
        )
        page.wait_for_function("() => document.querySelector('.card.selected img').complete")
        clear_url = page.locator(".card.selected img").get_attribute("src") or ""
        shown = Image.open(io.BytesIO(images[base + clear_url]))
        assert energy(shown) > 5 * energy(received)
        page.keyboard.up(" ")
        page.wait_for_function(
            "() => document.querySelector('.card.selected img').src.includes('/thumb/')"
        )
        page.wait_for_function(
            "() => fetch('/exposure').then(r => r.text()).then(t => !t.includes('>open<'))"
        )
        rows = review.exposures()
        assert len(rows) == 1 and rows[0].reviewer == "alice" and rows[0].sha256 == first
        assert rows[0].seconds is not None
        gone = page.evaluate(f"() => fetch('{clear_url}').then(r => r.status)")
        assert gone == 410  # the clear picture is not there after the release

        # 3. number keys grade; a group is graded at once; the grade awaits a second reviewer
        second = cards.nth(1)
        page.keyboard.press("ArrowRight")
        assert "selected" in (second.get_attribute("class") or "")
        page.keyboard.press("1")
        page.wait_for_function("() => document.querySelectorAll('.card.done').length === 1")
        b_sha = second.get_attribute("data-first")
        assert review.statuses()[b_sha].state == AWAITING
        page.keyboard.press("ArrowRight")  # after a grade the next card is selected: c; then d
        page.keyboard.press("ArrowRight")  # e and its near duplicate: one group of two
        group = (cards.nth(4).get_attribute("data-shas") or "").split()
        assert len(group) == 2 and "selected" in (cards.nth(4).get_attribute("class") or "")
        page.keyboard.press("2")
        page.wait_for_function("() => document.querySelectorAll('.card.done').length === 2")
        statuses = review.statuses()
        assert all((statuses[s].state, statuses[s].category) == (AWAITING, "2") for s in group)
        # undo (u) takes the last decision back: the whole group
        page.keyboard.press("u")
        page.wait_for_function("() => document.querySelectorAll('.card.done').length === 1")
        assert all(review.statuses()[s].state == "pending" for s in group)

        # 4. a break reminder after as many reveals as the examiner chose
        page.goto(base + "/settings")
        page.fill("input[name=break_reveals]", "1")
        page.click("#settings button[type=submit]")
        page.wait_for_url("**/settings?saved=1")
        page.goto(base + "/queue/unknown")
        page.wait_for_selector("#break", state="visible")  # one reveal made already
        page.click("#break-done")
        assert page.locator("#break").is_hidden()
        page.keyboard.down(" ")
        page.wait_for_function(
            "() => document.querySelector('.card.selected img').src.includes('/clear/')"
        )
        page.keyboard.up(" ")
        page.wait_for_selector("#break", state="visible")
        # 5. logging out (a form POST with its CSRF token) ends the session
        page.click("#break-done")
        page.click("header form button[type=submit]")
        page.wait_for_url("**/login")
        page.goto(base + "/queue/unknown")
        assert page.url.endswith("/login")
        page.close()
    store.close()
    outside = [u for u in requests if not u.startswith(base + "/")]
    assert not outside, outside
