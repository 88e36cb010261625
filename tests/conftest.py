"""Shared test fixtures: paths to the shared benign fixtures and small generators."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
PDQ_FIXTURES = SHARED / "fixtures" / "pdq-reference"


@pytest.fixture(scope="session")
def pdq_fixtures() -> Path:
    if not PDQ_FIXTURES.is_dir():
        pytest.skip(f"shared PDQ fixtures not found at {PDQ_FIXTURES}")
    return PDQ_FIXTURES
