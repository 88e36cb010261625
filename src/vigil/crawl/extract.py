"""Links and media out of an HTML page, with a real HTML5 parser (selectolax's Lexbor).

What a page *shows* is collected as media: ``img`` (``src``, ``srcset``, and the
``data-src`` of lazy loading), ``picture``/``video``/``audio`` ``source`` (``src``,
``srcset``), ``video`` (``src``, ``poster``), ``embed``/``object``, ``og:image`` /
``og:video`` / ``twitter:image`` metadata and ``link rel=image_src``; what it
*links* is followed as pages (``a``, ``area``, ``iframe``, ``frame``), except links
whose path ends like a picture or a video, which are media too. ``<base href>`` is
honoured. Nothing is run: no script, no style, no form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from selectolax.lexbor import LexborHTMLParser

from vigil.crawl.urls import normalise

MEDIA_SUFFIXES = frozenset(
    [
        "jpg",
        "jpeg",
        "jpe",
        "jfif",
        "png",
        "gif",
        "webp",
        "bmp",
        "tif",
        "tiff",
        "heic",
        "heif",
        "avif",
        "mp4",
        "m4v",
        "mov",
        "webm",
        "mkv",
        "avi",
        "wmv",
        "asf",
        "flv",
        "3gp",
        "3g2",
        "mpg",
        "mpeg",
        "ts",
    ]
)
_SELECTOR = (
    "base[href], a[href], area[href], iframe[src], frame[src], img, source, video, "
    "embed[src], object[data], meta[content], link[rel][href]"
)
_META_MEDIA = frozenset(
    {
        "og:image", "og:image:url", "og:image:secure_url", "og:video", "og:video:url",
        "og:video:secure_url", "twitter:image", "twitter:image:src", "twitter:player:stream",
    }
)  # fmt: skip


@dataclass
class Extracted:
    """A page's links (to follow) and media (to fetch and hash), normalised, in page order."""

    links: list[str] = field(default_factory=list)
    media: list[str] = field(default_factory=list)


def srcset_urls(value: str) -> list[str]:
    """The URLs of a ``srcset`` (candidates split as the HTML standard parses them)."""
    urls = []
    position, length = 0, len(value)
    while position < length:
        while position < length and (value[position].isspace() or value[position] == ","):
            position += 1
        start = position
        while position < length and not value[position].isspace():
            position += 1
        url = value[start:position]
        if url.endswith(","):
            url = url.rstrip(",")
        else:  # skip the descriptors, up to the comma that ends this candidate
            depth = 0
            while position < length:
                ch = value[position]
                if ch == "(":
                    depth += 1
                elif ch == ")":
                    depth = max(0, depth - 1)
                elif ch == "," and depth == 0:
                    break
                position += 1
        if url:
            urls.append(url)
    return urls


def looks_like_media(url: str) -> bool:
    """Whether a URL's path ends like a picture or video file (a link to fetch as media)."""
    path = urlsplit(url).path
    suffix = path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else ""
    return suffix in MEDIA_SUFFIXES


_SPACE = re.compile(r"\s+")


def extract(html: bytes | str, page_url: str) -> Extracted:
    """Links and media of one page fetched from ``page_url``."""
    tree = LexborHTMLParser(html)
    base = page_url
    out = Extracted()
    seen: set[str] = set()

    def add(raw: str | None, *, media: bool) -> None:
        if not raw:
            return
        url = normalise(raw, base)
        if url is None or url in seen:
            return
        seen.add(url)
        (out.media if media or looks_like_media(url) else out.links).append(url)

    for node in tree.css(_SELECTOR):
        tag = node.tag
        attrs = node.attributes
        if tag == "base":
            found = normalise(attrs.get("href") or "", page_url)
            if found is not None and base == page_url:
                base = found
        elif tag in ("a", "area"):
            add(attrs.get("href"), media=False)
        elif tag in ("iframe", "frame"):
            add(attrs.get("src"), media=False)
        elif tag in ("img", "source", "video", "embed"):
            add(attrs.get("src"), media=True)
            add(attrs.get("data-src"), media=True)
            add(attrs.get("poster"), media=True)
            for attr in ("srcset", "data-srcset"):
                for url in srcset_urls(attrs.get(attr) or ""):
                    add(url, media=True)
        elif tag == "object":
            add(attrs.get("data"), media=True)
        elif tag == "meta":
            key = (attrs.get("property") or attrs.get("name") or "").strip().lower()
            if key in _META_MEDIA:
                add(attrs.get("content"), media=True)
        elif tag == "link":
            rels = set(_SPACE.split((attrs.get("rel") or "").lower()))
            if "image_src" in rels:
                add(attrs.get("href"), media=True)
    return out
