"""Category profiles are kept apart; mappings come from the configuration file."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.errors import InvalidRecordError, UsageError
from vigil.hashsets.categories import load_profiles


def test_bundled_profiles() -> None:
    profiles = load_profiles()
    us, uk, ncmec = (profiles.get(n) for n in ("vics-us", "uk-caid", "ncmec-industry"))
    assert list(us.categories) == ["0", "1", "2", "3", "4"]
    assert list(uk.categories) == ["A", "B", "C"]
    assert list(ncmec.categories) == ["A1", "A2", "B1", "B2"]
    assert us.validate(3) == "3" and us.validate("4") == "4" and us.validate(None) is None
    assert uk.validate("b") == "B" and uk.validate(2) == "B"
    assert ncmec.validate("a2") == "A2"
    with pytest.raises(InvalidRecordError, match="not a code of profile vics-us"):
        us.validate(5)
    with pytest.raises(InvalidRecordError, match="not in profile uk-caid"):
        uk.validate("A1")  # an NCMEC grade is never a CAID one
    with pytest.raises(InvalidRecordError, match="not in profile ncmec-industry"):
        ncmec.validate("A")
    with pytest.raises(UsageError, match="unknown category profile"):
        profiles.get("dhs-legacy")


def test_mappings_are_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    profiles = load_profiles()
    assert profiles.map("A", "uk-caid", "vics-us") == "1"
    assert profiles.map("2", "vics-us", "vics-us") == "2"
    with pytest.raises(UsageError, match="no mapping from category profile vics-us to uk-caid"):
        profiles.map("1", "vics-us", "uk-caid")
    config = tmp_path / "profiles.toml"
    config.write_text(
        '[profiles.vics-us]\ncategories = { "1" = "CAM", "2" = "exploitive" }\n'
        'vics_codes = { "1" = 1, "2" = 2 }\n'
        '[profiles.uk-caid]\ncategories = { "A" = "a", "B" = "b", "C" = "c" }\n'
        '[mappings.vics-us.uk-caid]\n"1" = "B"\n'
    )
    monkeypatch.setenv("VIGIL_CATEGORY_PROFILES", str(config))
    custom = load_profiles()
    assert custom.map("1", "vics-us", "uk-caid") == "B"
    assert custom.map("2", "vics-us", "uk-caid") is None  # no counterpart configured
    assert "profiles.toml" in custom.source


def test_a_mapping_to_an_unknown_profile_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "p.toml"
    config.write_text('[profiles.a]\ncategories = { "1" = "x" }\n[mappings.a.b]\n"1" = "2"\n')
    with pytest.raises(UsageError, match="mapping names unknown profile 'b'"):
        load_profiles(config)
