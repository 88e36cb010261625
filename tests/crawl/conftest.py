"""Fixtures of the crawl tests: a store on each backend, benign pictures, a hash set of some."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.crawl.site import Site
from tests.factory import image_bytes, picture
from tests.stores import store_url  # noqa: F401  (the fixture, on both backends)
from vigil.hashsets.model import HashSetKind
from vigil.services.hashsets import HashSets
from vigil.store import Store, open_store


def pictures(n: int, start: int = 0) -> list[bytes]:
    """``n`` different benign generated PNG pictures."""
    return [image_bytes("PNG", picture(seed=start + i)) for i in range(n)]


def write_vics(path: Path, known: list[bytes], category: str = "A1") -> Path:
    """A VICS JSON hash set of the MD5 and SHA-1 of ``known`` (NCMEC grades: that profile)."""
    media = [
        {
            "MediaID": i + 1,
            "Category": category,
            "MD5": hashlib.md5(data).hexdigest().upper(),
            "SHA1": hashlib.sha1(data).hexdigest().upper(),
        }
        for i, data in enumerate(known)
    ]
    path.write_text(
        json.dumps({"@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/"
                    "2.0.xml/US/$metadata#Media", "value": media}),
        encoding="utf-8",
    )  # fmt: skip
    return path


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:  # noqa: F811
    s = open_store(store_url)
    try:
        yield s
    finally:
        s.close()


def import_set(
    store: Store, path: Path, name: str = "known", kind: HashSetKind | None = None
) -> None:
    HashSets(store).import_file(path, name=name, kind=kind)


@pytest.fixture
def site() -> Iterator[Site]:
    with Site() as s:
        yield s
