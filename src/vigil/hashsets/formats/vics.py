"""Project VIC VICS JSON (OData): 1.x and 2.0, hash-set and case shapes.

Reading handles every variant the field produces: 1.1-1.3 (``odata.metadata``) and
2.0 (``@odata.context`` with profile Default, US, UK or CUSTOM); a ``value[]`` of
Media records, or a Case record holding ``Media[]``; flags as strings or booleans;
a UTF-8 byte-order mark; upper- or lower-case hex. Parsing streams with ijson (its
yajl2 C backend), so a list larger than memory reads in constant memory: the plain
shape goes through ``ijson.items``, and the case shape through ijson's event stream
so that a case holding millions of Media records is never built in memory.

Fields Vigil interprets become ``Entry`` fields; everything else (``MediaID``,
``MediaFiles[]``, ``Exifs[]``, ``MediaMetadata[]``, further ``AlternativeHashes``,
unknown keys) is kept verbatim in ``Entry.extra`` and written back on export.
The writer here writes VICS 2.0; ``vics1`` writes 1.3 and ``caid`` the CAID 1.2 shape.

What is written is what the receivers read (IPED's hash-database importer is the
strictest, see docs/hashsets.md): the hash-set shape (a top-level ``value[]`` of
Media records; the Case shape only when asked), the ``Default`` profile for VICS US
categories, ``Tags`` as one pipe-separated string, and a ``MediaID`` in every record.
Reading splits pipe-separated ``Tags`` as those tools do.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, ClassVar

import ijson

from vigil.errors import InvalidHashError, InvalidRecordError, UsageError
from vigil.hashsets.categories import NCMEC_INDUSTRY, UK_CAID, VICS_US, CategoryProfile
from vigil.hashsets.formats import jsonguard
from vigil.hashsets.formats.base import (
    UTF8_BOM,
    HashSetFormat,
    ReadContext,
    checked,
    text_head,
)
from vigil.hashsets.model import DIGEST_SIZES, DigestBlock, Entry, HashSetInfo, Rejected

CONTEXT_2_0 = (
    "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/{profile}/$metadata#{shape}"
)
METADATA_1_X = "http://github.com/ICMEC/ProjectVic/DataModels/{version}.xml#{shape}"
#: VICS 2.0 profile name -> Vigil category profile (None: categories kept as given).
VICS_PROFILES: dict[str, str | None] = {
    "US": VICS_US,
    "DEFAULT": VICS_US,
    "UK": UK_CAID,
    "CUSTOM": None,
}
#: Vigil category profile -> VICS 2.0 profile written on export. VICS US categories go
#: out under ``Default``: the one 2.0 context IPED's importer accepts, and read back
#: by Vigil as VICS US. The NCMEC industry classification has no VICS profile: its
#: lists are ``CUSTOM`` with the grades as text ("A1").
PROFILE_TO_VICS = {VICS_US: "Default", UK_CAID: "UK", NCMEC_INDUSTRY: "CUSTOM"}
#: A Category that only the NCMEC industry classification uses (A1, A2, B1, B2).
_INDUSTRY_CATEGORY = re.compile(r'"Category"\s*:\s*"[ABab][12]"')
#: How many bytes of a file are looked at to recognise an industry-classified list.
_HEAD = 64 * 1024
#: Separator of several tags in one ``Tags`` string, as IPED and Griffeye write it.
TAG_SEPARATOR = "|"
#: AlternativeHashes names Vigil interprets (upper-cased) -> entry field.
ALTERNATIVE_HASHES = {
    "PDQ": "pdq",
    "PHOTODNA": "photodna",
    "SHA256": "sha256",
    "SHA-256": "sha256",
    "VPDQ": "vpdq",
}
_WRITE_ALT_NAMES = {"pdq": "PDQ", "photodna": "PhotoDNA", "sha256": "SHA256", "vpdq": "vPDQ"}
_VERSION = re.compile(r"DataModels/(\d+\.\d+)\.xml", re.IGNORECASE)
_PROFILE = re.compile(r"DataModels/2\.0\.xml/([A-Za-z]+)/", re.IGNORECASE)
_FLAGS = {"VICTIMIDENTIFIED": "victim_identified", "ISDISTRIBUTED": "is_distributed"}
_TEXT = {"SERIES": "series", "COMMENTS": "comments", "DATEUPDATED": "date_updated"}


class VicsFormat(HashSetFormat):
    """VICS JSON; reads 1.x and 2.0, writes 2.0."""

    name = "vics"
    title = "Project VIC VICS JSON 1.x / 2.0 (writes 2.0)"
    #: Category profile forced on reading (``caid``), else taken from the file.
    forced_profile: ClassVar[str | None] = None

    @classmethod
    def detect(cls, head: bytes, path: Path) -> int:
        """Score the file's first bytes (see ``HashSetFormat.detect``)."""
        text = text_head(head).lstrip()
        if not text.startswith("{"):
            return 0
        if '"odata.metadata"' in text or '"@odata.context"' in text:
            return 90
        return 50 if '"value"' in text and '"MD5"' in text else 0

    # -- reading -------------------------------------------------------------------

    def read(self, ctx: ReadContext) -> Iterator[Entry | Rejected]:
        """Stream the file's entries (see ``HashSetFormat.read``).

        ijson's yajl2 C backend reads integers up to 2^63 only: with ``use_float`` it
        refuses a larger one ("integer overflow"), and without it crashes the process on
        one of 4,300 digits (so it is never called without). A file holding such an
        integer (a MediaID) is read again by the pure-Python backend, which reads any
        integer Python can hold; the records already passed on are skipped, so the
        import sees each record once. A file escaping UTF-16 surrogates is read by the
        Python backend from the start (yajl replaces a lone one with "?").
        """
        self._ijson: Any = ijson
        self._surrogates = False
        self._blocks = True
        passed = 0  # records
        try:
            for item in self._read(ctx):
                passed += len(item.values) if type(item) is DigestBlock else 1
                yield item
        except _IntegerOverflowError:
            self._ijson = _PYTHON_BACKEND()
            self._blocks = False  # one item per record: the first ``passed`` are skipped
            for number, item in enumerate(self._read(ctx)):
                if number >= passed:
                    yield item

    def _read(self, ctx: ReadContext) -> Iterator[Entry | Rejected]:
        """One reading with ``self._ijson``; see ``read``.

        A first pass (``jsonguard``) bounds the nesting; the structure (an object with
        a ``value`` array) is checked before any record is read, so a wrong file is an
        error, never an empty set.
        """
        with ctx.open() as handle:
            start = 3 if handle.read(3) == UTF8_BOM else 0
            handle.seek(start)
            limits = ctx.limits
            shape = jsonguard.scan(
                handle, ctx.name, limits.max_json_depth, limits.max_json_string_bytes
            )
            if shape.surrogate_escapes:
                # yajl turns a lone surrogate into "?" without a word: the Python backend
                # keeps it, and ``_entry`` refuses the record.
                self._surrogates = True
                self._ijson = _PYTHON_BACKEND()
            handle.seek(start)
            head = handle.read(_HEAD).decode("utf-8", "replace")
            industry = bool(_INDUSTRY_CATEGORY.search(head))
            handle.seek(start)
            try:
                context, kind = _peek(self._ijson, handle)
            except _JSON_ERRORS as exc:
                _overflow(self._ijson, exc)
                yield Rejected(ctx.at("$"), _json_error(exc), fatal=True)
                return
            except _StructureError as exc:
                yield Rejected(ctx.at("$"), str(exc), fatal=True)
                return
            self._learn_context(ctx, context, industry=industry)
            profile = ctx.profiles.get(ctx.category_profile) if ctx.category_profile else None
            handle.seek(start)
            if kind == "case":
                yield from self._read_cases(ctx, handle, profile)
            else:
                yield from self._read_media(ctx, handle, profile)

    def _learn_context(self, ctx: ReadContext, context: str | None, *, industry: bool) -> None:
        """Version and category profile from the OData context (and the first categories).

        A list whose categories are NCMEC industry grades (A1..B2) takes that profile
        whatever its header says: no VICS profile has such a category, so the header
        cannot be right about them, and reading them as VICS US would refuse them all.
        """
        ctx.attributes["vics_context"] = context
        match = _VERSION.search(context or "")
        ctx.version = ctx.version or (f"VICS {match.group(1)}" if match else None)
        profile_match = _PROFILE.search(context or "")
        if profile_match:
            vics_profile = profile_match.group(1).upper()
            ctx.attributes["vics_profile"] = profile_match.group(1)
            ctx.category_profile = VICS_PROFILES.get(vics_profile)
        else:
            ctx.category_profile = VICS_US
        if industry:
            ctx.category_profile = NCMEC_INDUSTRY
        if self.forced_profile:
            ctx.category_profile = self.forced_profile

    def _read_media(
        self, ctx: ReadContext, handle: IO[bytes], profile: CategoryProfile | None
    ) -> Iterator[Entry | Rejected]:
        index = -1
        items = self._ijson.items(handle, "value.item", use_float=True)
        batch = _Batch(ctx) if self._blocks else None
        try:
            for index, record in enumerate(items):
                if batch is None:
                    yield _entry(ctx, record, f"$.value[{index}]", profile, self._surrogates)
                    continue
                parts = _entry(ctx, record, index, profile, self._surrogates, parts=batch.seen)
                if type(parts) is tuple:
                    yield from batch.add(parts)
                else:
                    yield from batch.flush()
                    yield parts  # type: ignore[misc]
            if batch is not None:
                yield from batch.flush()
        except _JSON_ERRORS as exc:
            _overflow(self._ijson, exc)
            if batch is not None:
                yield from batch.flush()
            yield Rejected(ctx.at(f"$.value[{index + 1}]"), _json_error(exc), fatal=True)

    def _read_cases(
        self, ctx: ReadContext, handle: IO[bytes], profile: CategoryProfile | None
    ) -> Iterator[Entry | Rejected]:
        """Walk ijson events: build each Media record alone, and the case's other fields."""
        case_index = media_index = -1
        media: ijson.ObjectBuilder | None = None
        case: ijson.ObjectBuilder | None = None
        try:
            for prefix, event, value in self._ijson.parse(handle, use_float=True):
                if prefix == "value.item.Media.item" and event == "start_map":
                    media_index += 1
                    media = ijson.ObjectBuilder()
                elif media is None and prefix == "value.item.Media.item" and event != "end_array":
                    media_index += 1
                    where = f"$.value[{case_index}].Media[{media_index}]"
                    yield Rejected(ctx.at(where), f"a Media record must be an object, not {event}")
                    continue
                elif prefix == "value.item.Media" and event not in ("start_array", "end_array"):
                    where = f"$.value[{case_index}].Media"
                    yield Rejected(
                        ctx.at(where), f"a case's Media must be an array, not {event}", True
                    )
                    return
                if media is not None:
                    media.event(event, value)
                    if prefix == "value.item.Media.item" and event == "end_map":
                        where = f"$.value[{case_index}].Media[{media_index}]"
                        yield _entry(ctx, media.value, where, profile, self._surrogates)
                        media = None
                    continue
                if prefix == "value.item" and event == "start_map":
                    case_index += 1
                    media_index = -1
                    case = ijson.ObjectBuilder()
                if case is None or _in_media(prefix, event, value):
                    continue
                case.event(event, value)
                if prefix == "value.item" and event == "end_map":
                    ctx.attributes.setdefault("vics_case", case.value)
                    case = None
        except _JSON_ERRORS as exc:
            _overflow(self._ijson, exc)
            where = f"$.value[{case_index}].Media[{media_index + 1}]"
            yield Rejected(ctx.at(where), _json_error(exc), fatal=True)

    # -- writing -------------------------------------------------------------------

    def write(
        self,
        entries: Iterable[Entry],
        out: IO[bytes] | Path,
        info: HashSetInfo,
        *,
        shape: str = "media",
    ) -> int:
        """Write the entries (see ``HashSetFormat.write``) in the hash-set or Case shape.

        ``shape="media"`` (the default) is the hash-set shape that every receiver reads:
        the records in a top-level ``value[]``. ``shape="case"`` writes one Case record
        holding ``Media[]`` with the set's ``vics_case`` fields (Griffeye and Vigil read
        it; IPED does not). A record without a ``MediaID`` gets its position in the file.
        """
        if shape not in ("media", "case"):
            raise UsageError(f"unknown VICS shape {shape!r} (media or case)")
        if isinstance(out, Path):
            with out.open("wb") as handle:
                return self.write(entries, handle, info, shape=shape)
        profile = self._profile_for(info)
        case = (info.attributes.get("vics_case") or {}) if shape == "case" else None
        header: dict[str, Any] = {
            self.context_key(): self.context_value(info, "Cases" if case is not None else "Media")
        }
        opening = json.dumps(header, ensure_ascii=False)[:-1] + ', "value": [\n'
        if case is not None:
            fields = {k: v for k, v in case.items() if k != "Media"}
            body = json.dumps(fields, ensure_ascii=False)[:-1]
            opening += body + (", " if fields else "") + '"Media": [\n'
        out.write(opening.encode("utf-8"))
        count = 0
        for entry in entries:
            record = self.record(entry, info, profile)
            if record.get("MediaID") is None:
                rest = {k: v for k, v in record.items() if k != "MediaID"}
                record = {"MediaID": count + 1, **rest}
            out.write(((",\n" if count else "") + json.dumps(record, ensure_ascii=False)).encode())
            count += 1
        out.write(("\n]}]}\n" if case is not None else "\n]}\n").encode())
        return count

    def _profile_for(self, info: HashSetInfo) -> CategoryProfile | None:
        from vigil.hashsets.categories import load_profiles

        name = info.category_profile
        return load_profiles().get(name) if name else None

    def context_key(self) -> str:
        """The OData header key of the version written."""
        return "@odata.context"

    def context_value(self, info: HashSetInfo, shape: str) -> str:
        """The OData context URL of the version, profile and shape written."""
        profile = PROFILE_TO_VICS.get(info.category_profile or "") or (
            "CUSTOM" if info.category_profile is None else "Default"
        )
        return CONTEXT_2_0.format(profile=profile, shape=shape)

    #: Whether flags are written as the strings "true"/"false" (1.x) or JSON booleans.
    flags_as_strings: ClassVar[bool] = False
    #: Whether PhotoDNA is a top-level field (1.x) or an alternative hash (2.0).
    photodna_top_level: ClassVar[bool] = False

    def record(
        self, entry: Entry, info: HashSetInfo, profile: CategoryProfile | None
    ) -> dict[str, Any]:
        """One Media record for ``entry``: interpreted fields first, preserved ones after."""
        extra = dict(entry.extra)
        rec: dict[str, Any] = {}
        if "MediaID" in extra:
            rec["MediaID"] = extra.pop("MediaID")
        if entry.category is not None:
            rec["Category"] = self.category_value(entry.category, profile)
        if entry.md5:
            rec["MD5"] = entry.md5.upper()
        if entry.sha1:
            rec["SHA1"] = entry.sha1.upper()
        if entry.photodna and self.photodna_top_level:
            rec["PhotoDNA"] = entry.photodna
        alternatives = [
            {"HashName": _WRITE_ALT_NAMES[field], "HashValue": value}
            for field in ("sha256", "pdq", "vpdq", "photodna")
            if (value := getattr(entry, field)) is not None
            and not (field == "photodna" and self.photodna_top_level)
        ]
        alternatives.extend(extra.pop("AlternativeHashes", None) or [])
        if alternatives:
            rec["AlternativeHashes"] = alternatives
        for key, field in (
            ("VictimIdentified", "victim_identified"),
            ("IsDistributed", "is_distributed"),
        ):
            value = getattr(entry, field)
            if value is not None:
                rec[key] = ("true" if value else "false") if self.flags_as_strings else value
        for key, value in (
            ("Series", entry.series),
            ("MediaSize", entry.media_size),
            ("Comments", entry.comments),
            ("DateUpdated", entry.date_updated),
        ):
            if value is not None:
                rec[key] = value
        if entry.tags:
            rec["Tags"] = TAG_SEPARATOR.join(entry.tags)
        if entry.file_names and "MediaFiles" not in extra:
            rec["MediaFiles"] = [{"FileName": name} for name in entry.file_names]
        rec.update(extra)
        return rec

    def category_value(self, category: str, profile: CategoryProfile | None) -> int | str:
        """The Category field for a stored category."""
        return profile.vics_code(category) if profile else category


def _in_media(prefix: str, event: str, value: Any) -> bool:
    """Whether an event belongs to a case's Media array (or is its key)."""
    if prefix == "value.item" and event == "map_key" and value == "Media":
        return True
    return prefix == "value.item.Media" or prefix.startswith("value.item.Media.")


class _StructureError(Exception):
    """The file is JSON but not VICS: no ``value`` array in a top-level object."""


#: What the parsers raise on a file that is not (UTF-8) JSON.
_JSON_ERRORS = (ijson.JSONError, UnicodeDecodeError, ValueError)


def _PYTHON_BACKEND() -> Any:  # noqa: N802 - reads as the constant it stands for
    """Ijson's pure-Python backend (reads integers of any length; loaded when needed)."""
    return ijson.get_backend("python")


class _IntegerOverflowError(Exception):
    """The C backend met an integer beyond 64 bits: read the file with the Python one."""


def _overflow(backend: Any, exc: BaseException) -> None:
    """Raise ``_IntegerOverflowError`` for the C backend's "integer overflow"."""
    if backend is ijson and "integer overflow" in str(exc):
        raise _IntegerOverflowError from exc


def _json_error(exc: BaseException) -> str:
    """A parser's error as one line of text (yajl's messages span lines, some are bytes)."""
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text: {exc.reason} at byte {exc.start} of a chunk"
    message = exc.args[0] if exc.args else type(exc).__name__
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    lines = [" ".join(line.split()) for line in str(message).splitlines()]
    text = "; ".join(line for line in lines if line and "(right here)" not in line)
    if len(text) > 300:
        text = text[:297] + "..."
    return f"not valid JSON: {text or type(exc).__name__}"


def _peek(backend: Any, handle: IO[bytes]) -> tuple[str | None, str]:
    """The OData context and the shape ("media" or "case"), from the file's first events.

    The structure is checked here: a top-level object holding a ``value`` array.
    Anything else (a top-level array, ``"Value"``, ``value`` as an object) raises
    ``_StructureError``: read as VICS it would be an empty set.
    """
    context: str | None = None
    keys: list[str] = []
    seen_value = False
    for prefix, event, value in backend.parse(handle, use_float=True):
        if prefix == "" and event in ("start_array", "string", "number", "boolean", "null"):
            raise _StructureError(
                "a VICS file is a JSON object holding a 'value' array, not "
                + ("an array" if event == "start_array" else f"a {event}")
            )
        if prefix == "" and event == "map_key":
            if len(keys) < 20:
                keys.append(str(value))
        elif prefix == "" and event == "end_map":
            break
        elif prefix in ("odata.metadata", "@odata.context") and event == "string":
            context = value
        elif prefix == "value" and not seen_value:
            if event != "start_array":
                kind = "an object" if event == "start_map" else f"a {event}"
                raise _StructureError(f"'value' must be an array of records, not {kind}")
            seen_value = True
        elif prefix == "value.item" and event == "map_key" and value == "Media":
            return context, "case"
        elif (prefix == "value.item" and event == "end_map") or (
            prefix == "value" and event == "end_array"
        ):
            return context, "media"
    if not seen_value:
        near = [k for k in keys if k.lower() == "value"]
        hint = f" (it has {near[0]!r}: the name is case-sensitive)" if near else ""
        raise _StructureError(f"no 'value' array of records in the top-level object{hint}")
    return context, "media"


def _entry(
    ctx: ReadContext,
    record: Any,
    where: str | int,
    profile: CategoryProfile | None,
    surrogates: bool = False,
    *,
    parts: dict[tuple[type, Any], str | None] | None = None,
) -> Entry | Parts | Rejected:
    """Map one Media record to an Entry, or its ``Parts``, or say why it cannot be.

    ``parts`` (the categories read so far, see ``_parts``) asks for the parts.

    ``where`` is the record's JSON path, or its index in ``value[]``. ``surrogates``:
    the file escapes UTF-16 surrogates, so the record is checked for a lone one (such
    as U+D800 alone): refused, never stored as "?".
    """
    if not isinstance(record, dict):
        return Rejected(
            ctx.at(_path(where)),
            f"a Media record must be an object, not {type(record).__name__}",
        )
    if surrogates:
        try:
            json.dumps(record, ensure_ascii=False, default=str).encode("utf-8")
        except UnicodeEncodeError:
            return Rejected(
                ctx.at(_path(where)),
                "a lone UTF-16 surrogate escape (\\uD800-\\uDFFF): not text",
            )
    try:
        return _parts(record, profile, parts) if parts is not None else _map(record, profile)
    except (InvalidRecordError, InvalidHashError) as exc:
        return Rejected(ctx.at(_path(where)), str(exc))


def _path(where: str | int) -> str:
    return where if isinstance(where, str) else f"$.value[{where}]"


#: A record's keys (upper-cased) -> what ``_map`` does with the value: 0 keep it in
#: ``extra`` even when null (MediaID), 1-3 a digest, 4 PhotoDNA, 5 the category, 6 a
#: flag, 7 a text field, 8 the size, 9 tags, 10 alternative hashes; others (11) go to
#: ``extra`` (MediaFiles also gives the file names). One dict lookup per key instead
#: of a chain of comparisons (issue 16: the mapping was most of a VICS import).
_KEYS: dict[str, int] = {
    "MEDIAID": 0,
    "MD5": 1,
    "SHA1": 2,
    "SHA256": 3,
    "SHA-256": 3,
    "PHOTODNA": 4,
    "CATEGORY": 5,
    **dict.fromkeys(_FLAGS, 6),
    **dict.fromkeys(_TEXT, 7),
    "MEDIASIZE": 8,
    "TAGS": 9,
    "ALTERNATIVEHASHES": 10,
}
_DIGESTS = {1: "md5", 2: "sha1", 3: "sha256"}
#: A record's keys as written -> (upper-cased, kind): most lists spell them alike.
_KINDS: dict[str, tuple[str, int]] = {}
_UNSEEN = object()


#: What ``_parts`` learns of a record: signals, category, Entry fields, extra.
Parts = tuple[dict[str, str], str | None, dict[str, Any], dict[str, Any]]


def _map(record: dict[str, Any], profile: CategoryProfile | None) -> Entry:
    signals, category, fields, extra = _parts(record, profile)
    return Entry(signals=signals, category=category, extra=extra, **fields)


def _parts(
    record: dict[str, Any],
    profile: CategoryProfile | None,
    categories: dict[tuple[type, Any], str | None] | None = None,
) -> Parts:
    """One Media record read: its signals, category, other Entry fields and ``extra``.

    ``categories`` keeps the categories already read (a list uses a handful): one
    dict lookup instead of the profile's check per record.
    """
    signals: dict[str, str] = {}
    fields: dict[str, Any] = {}
    category: str | None = None
    extra: dict[str, Any] = {}
    kinds = _KINDS
    for key, value in record.items():
        known = kinds.get(key)
        if known is None:
            upper = key.upper()
            known = (upper, _KEYS.get(upper, 11))
            if len(kinds) < 1000:
                kinds[key] = known
        upper, kind = known
        if value is None and kind:
            continue
        if 1 <= kind <= 3:
            name = _DIGESTS[kind]
            signals[name] = checked(name, value)
        elif kind == 5:
            if categories is None or type(value) not in (int, str):
                category = _category(value, profile)
            else:
                cached = categories.get((type(value), value), _UNSEEN)
                if cached is _UNSEEN:
                    cached = categories[(type(value), value)] = _category(value, profile)
                category = cached  # type: ignore[assignment]
        elif kind == 10:
            kept = _alternatives(signals, fields, value)
            if kept:
                extra["AlternativeHashes"] = kept
        elif kind == 6:
            fields[_FLAGS[upper]] = _flag(key, value)
        elif kind == 8:
            fields["media_size"] = _size(value)
        elif kind == 4:
            fields["photodna"] = checked("photodna", value)
        elif kind == 7:
            fields[_TEXT[upper]] = _text(key, value)
        elif kind == 9:
            fields["tags"] = _tags(value)
        else:
            if upper == "MEDIAFILES" and isinstance(value, list):
                fields["file_names"] = _file_names(value)
            extra[key] = value
    if not (signals or fields.get("photodna")):
        raise InvalidRecordError("no hash: needs MD5, SHA1 or an alternative hash")
    return signals, category, fields, extra


#: The digest types a block can hold (a record with another signal, vPDQ, is an Entry).
_BLOCK_TYPES = frozenset(DIGEST_SIZES)
#: Records per block, and bytes of file read after which a block goes out anyway.
_BATCH = 10_000
_BATCH_BYTES = 16 << 20


def _metadata(fields: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any] | None:
    """What ``Entry.metadata()`` of the entry ``_map`` would build holds, without building it.

    The same keys and values (tuples, which JSON writes as lists, and
    ``Entry.from_metadata`` reads back as tuples), in the record's order.
    """
    meta = fields
    if () in meta.values():
        meta = {k: v for k, v in meta.items() if v != ()}
    if extra:
        meta["extra"] = extra
    return meta or None


class _Batch:
    """Consecutive records holding the same digest types, gathered into a DigestBlock.

    A VICS list's records go to the store by columns (issue 16): no Entry per record,
    digests as blobs, categories and metadata as rows. A record with another signal
    (vPDQ) or other digest types ends the block and goes as an Entry, in order.
    """

    def __init__(self, ctx: ReadContext) -> None:
        self.ctx = ctx
        self.types: tuple[str, ...] = ()
        self.keys: frozenset[str] = frozenset()
        self.values: dict[str, list[str]] = {}
        #: Categories already read (see ``_parts``).
        self.seen: dict[tuple[type, Any], str | None] = {}
        self.categories: list[str | None] = []
        self.metas: list[dict[str, Any] | None] = []
        self.mark = 0

    def add(self, parts: Parts) -> Iterator[Entry | DigestBlock]:
        """Take one record's parts; yield what has to go out first."""
        signals, category, fields, extra = parts
        if not signals or signals.keys() != self.keys:
            if not signals or not signals.keys() <= _BLOCK_TYPES:  # PhotoDNA alone, vPDQ
                yield from self.flush()
                yield Entry(signals=signals, category=category, extra=extra, **fields)
                return
            yield from self.flush()
            self.types = tuple(sorted(signals))
            self.keys = frozenset(self.types)
            self.values = {name: [] for name in self.types}
        for name, column in self.values.items():
            column.append(signals[name])
        self.categories.append(category)
        self.metas.append(_metadata(fields, extra))
        if len(self.metas) >= _BATCH or (
            not len(self.metas) % 256 and self.ctx.position - self.mark > _BATCH_BYTES
        ):
            yield from self.flush()

    def flush(self) -> Iterator[DigestBlock]:
        """The gathered records as one block."""
        self.mark = self.ctx.position
        if not self.metas:
            return
        first, *others = self.types
        yield DigestBlock(
            first,
            self.values[first],
            others={name: self.values[name] for name in others},
            categories=self.categories if any(c is not None for c in self.categories) else None,
            metas=self.metas,
        )
        self.values = {name: [] for name in self.types}
        self.categories, self.metas = [], []


def _category(value: Any, profile: CategoryProfile | None) -> str | None:
    """The record's category; a value no profile could hold is an invalid record.

    Checked before the profile sees it: a 5,000-digit integer cannot even be printed
    (Python refuses such conversions), and ``"²"`` passes ``str.isdigit``.
    """
    if isinstance(value, (dict, list)):
        raise InvalidRecordError(f"Category must be a number or text, not {type(value).__name__}")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 1 << 63:
        raise InvalidRecordError("Category is a number too large to be a category code")
    if isinstance(value, float):
        raise InvalidRecordError(f"Category must be a whole number or text, not {value!r}")
    if isinstance(value, str) and len(value) > 100:
        raise InvalidRecordError(f"Category is {len(value):,} characters long: not a category")
    if profile is None:
        return None if value == "" else str(value)
    try:
        return profile.validate(value)
    except ValueError as exc:
        if isinstance(exc, InvalidRecordError):
            raise
        raise InvalidRecordError(f"category {value!r} is not a category") from None


def _file_names(files: list[Any]) -> tuple[str, ...]:
    """The ``FileName`` of each ``MediaFiles`` item; a name that is not text is refused.

    An exporter writes names as text (md5sum, hashdeep): a number or an object taken
    here would crash it later.
    """
    names: list[str] = []
    for i, item in enumerate(files):
        if not isinstance(item, dict) or item.get("FileName") in (None, ""):
            continue
        name = item["FileName"]
        if not isinstance(name, str):
            raise InvalidRecordError(
                f"MediaFiles[{i}].FileName must be text, not {type(name).__name__}"
            )
        names.append(name)
    return tuple(names)


def _flag(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise InvalidRecordError(f"{key} must be true or false, not {value!r}")


def _text(key: str, value: Any) -> str:
    if isinstance(value, (dict, list)):
        raise InvalidRecordError(f"{key} must be text, not {type(value).__name__}")
    return str(value)


def _size(value: Any) -> int:
    if isinstance(value, bool):
        raise InvalidRecordError(f"MediaSize must be a whole number of bytes, not {value!r}")
    try:
        size = int(value)
    except (TypeError, ValueError):
        raise InvalidRecordError(
            f"MediaSize must be a whole number of bytes, not {value!r}"
        ) from None
    if size < 0 or (size != value and not isinstance(value, str)):
        raise InvalidRecordError(f"MediaSize must be a whole number of bytes, not {value!r}")
    return size


def _tags(value: Any) -> tuple[str, ...]:
    """Tags from a pipe-separated string (what the field writes) or a list of strings."""
    if isinstance(value, str):
        parts: list[str] = [value]
    elif isinstance(value, list) and all(isinstance(t, str) for t in value):
        parts = value
    else:
        raise InvalidRecordError(
            f"Tags must be a pipe-separated string or a list of strings, not {value!r}"[:200]
        )
    split = (tag.strip() for part in parts for tag in part.split(TAG_SEPARATOR))
    return tuple(tag for tag in split if tag)


def _alternatives(signals: dict[str, str], fields: dict[str, Any], value: Any) -> list[Any]:
    """Take the alternative hashes Vigil interprets; return the others, kept verbatim.

    PhotoDNA is an Entry field (``fields``), the others signals.
    """
    if not isinstance(value, list):
        raise InvalidRecordError("AlternativeHashes must be a list")
    kept: list[Any] = []
    for i, item in enumerate(value):
        name = item.get("HashName") if isinstance(item, dict) else None
        field = ALTERNATIVE_HASHES.get(str(name).upper()) if name is not None else None
        if field is None or not isinstance(item, dict) or item.get("HashValue") is None:
            kept.append(item)
            continue
        try:
            (fields if field == "photodna" else signals)[field] = checked(field, item["HashValue"])
        except InvalidRecordError as exc:
            raise InvalidRecordError(f"AlternativeHashes[{i}] ({name}): {exc}") from None
    return kept
