"""Category profiles (VICS US, UK CAID, NCMEC industry) and the mappings between them.

Profiles and mappings live in a data file (``category_profiles.toml`` beside this
module, or the file named by ``VIGIL_CATEGORY_PROFILES``), because which category of
one scheme corresponds to which of another is a policy decision of an agency, not a
fact Vigil may hard-code. A category is stored as text ("1", "A", "B2") together with
the set's profile name, so values of different profiles are never mixed in one field.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

from vigil.errors import InvalidRecordError, UsageError
from vigil.settings import Settings

#: Environment variable naming a replacement for the bundled profiles file.
PROFILES_ENV = "VIGIL_CATEGORY_PROFILES"
VICS_US = "vics-us"
UK_CAID = "uk-caid"
NCMEC_INDUSTRY = "ncmec-industry"


@dataclass(frozen=True)
class CategoryProfile:
    """A named grading scheme: its categories and, where it has one, its VICS integer codes."""

    name: str
    title: str
    categories: dict[str, str]
    vics_codes: dict[str, int] = field(default_factory=dict)

    def validate(self, value: object) -> str | None:
        """The canonical category for ``value`` (text or VICS integer); None if uncategorised."""
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise InvalidRecordError(f"category {value!r} is not a category")
        if isinstance(value, int):
            for name, code in self.vics_codes.items():
                if code == value:
                    return name
            raise InvalidRecordError(
                f"category {value} is not a code of profile {self.name} "
                f"({', '.join(f'{v}={k}' for k, v in self.vics_codes.items()) or 'no codes'})"
            )
        text = str(value).strip().upper()
        if text in self.categories:
            return text
        if text.isdigit() and self.vics_codes:
            return self.validate(int(text))
        known = ", ".join(self.categories)
        raise InvalidRecordError(f"category {value!r} is not in profile {self.name} ({known})")

    def vics_code(self, category: str) -> int | str:
        """The value to write in a VICS Category field (the letter itself without a code)."""
        return self.vics_codes.get(category, category)


@dataclass(frozen=True)
class Profiles:
    """All profiles and mappings of one configuration file."""

    profiles: dict[str, CategoryProfile]
    mappings: dict[tuple[str, str], dict[str, str]]
    source: str

    def get(self, name: str) -> CategoryProfile:
        """The profile called ``name``, or a UsageError listing the known ones."""
        try:
            return self.profiles[name]
        except KeyError:
            known = ", ".join(sorted(self.profiles))
            raise UsageError(f"unknown category profile {name!r} (known: {known})") from None

    def map(self, category: str | None, source: str, target: str) -> str | None:
        """``category`` of profile ``source`` in profile ``target``; None without a counterpart."""
        if category is None or source == target:
            return category
        try:
            table = self.mappings[(source, target)]
        except KeyError:
            raise UsageError(
                f"no mapping from category profile {source} to {target} in {self.source}"
            ) from None
        return table.get(category)


def load_profiles(path: str | os.PathLike[str] | None = None) -> Profiles:
    """Profiles and mappings from ``path``, ``$VIGIL_CATEGORY_PROFILES`` or the bundled file."""
    chosen = path or Settings.from_env().category_profiles
    if chosen:
        return _parse(Path(chosen).read_text(encoding="utf-8"), str(chosen))
    return _bundled()


@lru_cache(maxsize=1)
def _bundled() -> Profiles:
    text = resources.files("vigil.hashsets").joinpath("category_profiles.toml").read_text("utf-8")
    return _parse(text, "category_profiles.toml (bundled)")


def _parse(text: str, source: str) -> Profiles:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{source}: not valid TOML: {exc}") from exc
    profiles = {
        name: CategoryProfile(
            name=name,
            title=str(body.get("title", name)),
            categories={str(k).upper(): str(v) for k, v in body.get("categories", {}).items()},
            vics_codes={str(k).upper(): int(v) for k, v in body.get("vics_codes", {}).items()},
        )
        for name, body in data.get("profiles", {}).items()
    }
    mappings: dict[tuple[str, str], dict[str, str]] = {}
    for src, targets in data.get("mappings", {}).items():
        for dst, table in targets.items():
            for name in (src, dst):
                if name not in profiles:
                    raise UsageError(f"{source}: mapping names unknown profile {name!r}")
            mappings[(src, dst)] = {str(k).upper(): str(v).upper() for k, v in table.items()}
    return Profiles(profiles, mappings, source)
