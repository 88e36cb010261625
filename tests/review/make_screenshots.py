"""Screenshots of the review app for docs/review.md, made from the example case.

Run: ``.venv/bin/python -m tests.review.make_screenshots`` (needs Debian's chromium).
It scans ``examples/evidence`` against the example hash set in a temporary VIGIL_HOME,
adds two examiners, serves the app on loopback and photographs its pages into
``docs/img/review-*.png`` (palette PNGs, a few tens of KiB each). Only blurred
pictures appear: no reveal is photographed.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

from PIL import Image

from tests.cli_runner import EXAMPLES, REPO, vigil
from tests.review.conftest import PASSWORD, serving
from vigil.review.accounts import Accounts
from vigil.review.service import ReviewSession
from vigil.settings import Settings
from vigil.store import open_store

OUT = REPO / "docs" / "img"


def save(png: bytes, name: str) -> Path:
    """Keep a screenshot as a small palette PNG."""
    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=64)
    path = OUT / name
    image.save(path, optimize=True)
    return path


def main() -> None:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        os.environ["VIGIL_HOME"] = str(home)
        os.environ.pop("VIGIL_DATABASE_URL", None)
        example = EXAMPLES / "hashsets" / "example-vics.json"
        assert (
            vigil("hashset", "import", str(example), "--name", "EXAMPLE", home=home).returncode == 0
        )
        vigil("scan", str(EXAMPLES / "evidence"), "--case", "example", home=home)
        url = Settings.from_env({"VIGIL_HOME": str(home)}).store_url
        store = open_store(url)
        Accounts(store).add("alice", "reviewer", PASSWORD)
        review = ReviewSession(store, "example", cache_root=home / "cache")
        with serving(review) as base, sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            page = browser.new_page(viewport={"width": 1000, "height": 620})
            page.goto(base + "/login")
            page.fill("input[name=name]", "alice")
            print(save(page.screenshot(), "review-login.png"))
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url("**/queue/matched")
            page.wait_for_load_state("networkidle")
            print(save(page.screenshot(), "review-matched.png"))
            page.keyboard.press("a")  # agree with the list on the first matched picture
            page.wait_for_function("() => document.querySelectorAll('.card.done').length === 1")
            page.goto(base + "/queue/unknown")
            page.wait_for_load_state("networkidle")
            page.keyboard.press("ArrowRight")
            print(save(page.screenshot(), "review-unknown.png"))
            page.goto(base + "/settings")
            print(save(page.screenshot(), "review-settings.png"))
            browser.close()
        store.close()


if __name__ == "__main__":
    main()
