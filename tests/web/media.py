"""Benign synthetic uploads for the web tests."""

from __future__ import annotations

import io

from PIL import Image

from tests.factory import image_bytes, picture


def jpeg(seed: int = 0) -> bytes:
    return image_bytes("JPEG", picture(seed=seed))


def bomb() -> bytes:
    """A small PNG that decodes to 9 million pixels (over the test server's 4 million)."""
    out = io.BytesIO()
    Image.new("1", (3000, 3000)).save(out, "PNG")
    return out.getvalue()
