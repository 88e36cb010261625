"""Property-based fuzzing of every importer (issue 19): only Vigil's own errors, ever.

For each registered format, hypothesis mutates a valid file of that format (bytes
flipped, inserted, deleted, duplicated; the file cut) or makes one up, and reads it
with that format forced, and through detection. Whatever it gets, a reader may yield
entries and ``Rejected`` records or raise a ``VigilError``; any other exception (a
``UnicodeDecodeError``, ``ValueError``, ``RecursionError``...) fails the test with the
input that caused it. What a reader accepted, every exporter must write (an import that
succeeds must not make a later export crash). Examples and time are bounded so that
the suite stays quick; the reader's limits are small, so that a mutation reaches them.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hashsets import samples
from tests.hashsets.helpers import rewrite
from vigil.errors import VigilError
from vigil.hashsets.formats import FORMATS, detect_format, get_format
from vigil.hashsets.formats.base import HEAD_SIZE, Limits, ReadContext
from vigil.hashsets.model import Entry, Rejected, expand

SMALL = Limits(max_line_bytes=4096, max_json_depth=16, max_sqlite_value_bytes=4096)
FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def _entries() -> list[Entry]:
    """A few entries holding what the formats carry (names, sizes, flags, tags)."""
    out = []
    for i in range(2):
        out.append(
            Entry(
                md5=samples.MD5[i],
                sha1=samples.SHA1[i],
                sha256=samples.SHA256[i],
                pdq=samples.PDQ[i],
                file_names=(f"dir\\file {i}.jpg",),
                media_size=100 + i,
                series="s",
                comments="note",
                is_distributed=True,
                tags=("a", "b"),
            )
        )
    return out


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """A valid file of every format, as bytes."""
    folder = tmp_path_factory.mktemp("seeds")
    out = {}
    for name in FORMATS:
        path = rewrite(name, _entries(), folder / f"seed-{name}", category_profile=None)
        out[name] = path.read_bytes()
    return out


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    """``seed`` with a few random edits (or, sometimes, random bytes instead)."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=2048))
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "repeat", "cut", "token"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        elif op == "repeat":
            piece = data[at : at + draw(st.integers(1, 32))]
            data[at:at] = piece * draw(st.integers(1, 300))
        elif op == "cut":
            del data[at:]
        else:
            token = draw(
                st.sampled_from(
                    [b"\r", b"\n", b"\x00", b'"', b"\\", b"[" * 40, b"{", b"}", b",", b"\xc0\xaf",
                     b"\\ud800", b"9" * 30, b"\xb2", b"%%%%", b"##", b";", b"\xef\xbb\xbf"]
                )
            )  # fmt: skip
            data[at:at] = token
    return bytes(data)


def _read(name: str, path: Path) -> list[Entry]:
    """Read ``path`` as ``name`` to the end; only Vigil's errors may escape."""
    entries: list[Entry] = []
    try:
        for item in expand(get_format(name).read(ReadContext(path, limits=SMALL))):
            assert isinstance(item, Entry | Rejected)
            if isinstance(item, Entry):
                entries.append(item)
    except VigilError:
        pass
    return entries


def _export(entries: list[Entry], folder: Path) -> None:
    """What an import accepted, every exporter writes (or refuses with a VigilError)."""
    if not entries:
        return
    for name in FORMATS:
        out = folder / f"export-{name}"
        out.unlink(missing_ok=True)
        with contextlib.suppress(VigilError):
            rewrite(name, entries[:20], out)


def _detect(path: Path) -> None:
    with contextlib.suppress(VigilError):
        detect_format(path)
    head = path.read_bytes()[:HEAD_SIZE]
    for name in FORMATS:
        get_format(name).detect(head, path)


@pytest.mark.parametrize("name", list(FORMATS))
def test_mutated_files_give_only_vigil_errors(
    name: str, seeds: dict[str, bytes], tmp_path: Path
) -> None:
    path = tmp_path / f"fuzz-{name}"

    @FUZZ
    @given(data=mutated(seeds[name]))
    def check(data: bytes) -> None:
        path.write_bytes(data)
        _export(_read(name, path), tmp_path)
        _detect(path)

    check()


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "MD5",
                    "SHA1",
                    "Category",
                    "MediaFiles",
                    "FileName",
                    "Media",
                    "value",
                    "Tags",
                    "MediaSize",
                    "AlternativeHashes",
                    "HashName",
                    "HashValue",
                    "VictimIdentified",
                    "Series",
                    "x",
                ]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=30,
)


@FUZZ
@given(
    records=st.lists(
        st.fixed_dictionaries({"MD5": st.sampled_from(samples.MD5)}, optional={"x": JSON}) | JSON,
        max_size=5,
    ),
    case=st.booleans(),
)
def test_made_up_vics_gives_only_vigil_errors(
    records: list[object], case: bool, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("vics") / "made-up.json"
    body: object = [{"CaseID": 1, "Media": records}] if case else records
    path.write_text(
        json.dumps(
            {"odata.metadata": "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Media",
             "value": body}
        )
    )  # fmt: skip
    _export(_read("vics", path), path.parent)
