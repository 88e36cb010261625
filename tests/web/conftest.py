from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.stores import store_url  # noqa: F401  (fixture)
from tests.web.server import Server, make_keys


@pytest.fixture
def keys(store_url: str) -> dict[str, str]:  # noqa: F811
    return make_keys(store_url)


@pytest.fixture
def server(store_url: str, keys: dict[str, str], tmp_path: Path) -> Iterator[Server]:  # noqa: F811
    with Server(store_url, tmp_path / "home") as running:
        yield running
