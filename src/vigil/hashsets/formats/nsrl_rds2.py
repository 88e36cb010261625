"""NIST NSRL RDS 2.x (legacy text): ``NSRLFile.txt`` with ``NSRLProd.txt``, often zipped.

Before RDS v3's SQLite, NIST shipped the RDS as quoted CSV text: ``NSRLFile.txt`` with
the header ``"SHA-1","MD5","CRC32","FileName","FileSize","ProductCode","OpSystemCode",
"SpecialCode"`` (one row per file per product, sorted by SHA-1) and ``NSRLProd.txt``
(``"ProductCode","ProductName","ProductVersion","OpSystemCode","MfgCode","Language",
"ApplicationType"``), usually together in a zip. IPED, Autopsy and ``hfind -i
nsrl-sha1``/``nsrl-md5`` still read them.

Vigil reads either the text file (``NSRLProd.txt`` is looked for beside it) or a zip
holding both, streaming. Consecutive rows with the same SHA-1 and MD5 (the same file
in several products) become one entry holding both digests, the names of its products
(``extra["nsrl_products"]``, "name version" from ``NSRLProd.txt``, or ``product N``
when the code is not listed) and any special code (``extra["nsrl_special"]``). As for
RDS v3, file names, sizes, CRC-32s and operating systems are not copied, and the set
is an ``ignore`` set: a hit means "known", never "harmless".

The writer makes the zip (``NSRLFile.txt`` and ``NSRLProd.txt``): one row per entry and
product, product codes numbered in order of first use.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
import zlib
from collections.abc import Generator, Iterable, Iterator
from itertools import compress, pairwise
from operator import itemgetter, ne
from pathlib import Path
from typing import IO, Any

from vigil.errors import HashSetError, InvalidHashError, UsageError, describe
from vigil.hashsets.formats.base import (
    LINE_BLOCK,
    UTF8_BOM,
    HashSetFormat,
    ReadContext,
    UnreadableTextError,
    line_blocks,
)
from vigil.hashsets.model import (
    DigestBlock,
    Entry,
    HashSetInfo,
    HashSetKind,
    Rejected,
    canonical_hash,
)

#: Bytes of whole lines read per block.
_BLOCK = LINE_BLOCK
FILE_NAME = "NSRLFile.txt"
PROD_NAME = "NSRLProd.txt"
FILE_COLUMNS = ("SHA-1", "MD5", "CRC32", "FileName", "FileSize", "ProductCode",
                "OpSystemCode", "SpecialCode")  # fmt: skip
PROD_COLUMNS = ("ProductCode", "ProductName", "ProductVersion", "OpSystemCode", "MfgCode",
                "Language", "ApplicationType")  # fmt: skip
FILE_HEADER = ",".join(f'"{c}"' for c in FILE_COLUMNS)
PROD_HEADER = ",".join(f'"{c}"' for c in PROD_COLUMNS)
ZIP_MAGIC = b"PK\x03\x04"
#: What reading a damaged or hostile zip raises (zlib's own error for a bad deflate
#: stream, NotImplementedError for an unknown compression, RuntimeError when encrypted).
ZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    NotImplementedError,
    RuntimeError,
)


def _member(names: Iterable[str], wanted: str) -> str | None:
    """The zip member whose base name is ``wanted`` (any case, any folder)."""
    for name in names:
        if name.rsplit("/", 1)[-1].lower() == wanted.lower():
            return name
    return None


def _sibling(path: Path, wanted: str) -> Path | None:
    """``wanted`` in ``path``'s folder, matched without regard to case."""
    try:
        for candidate in path.parent.iterdir():
            if candidate.name.lower() == wanted.lower() and candidate.is_file():
                return candidate
    except OSError:
        return None
    return None


def _text(raw: bytes) -> str:
    """NIST's text is ASCII in practice; UTF-8 when it decodes, Latin-1 otherwise."""
    if raw.startswith(UTF8_BOM):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def read_products(raw: bytes) -> dict[str, str]:
    """``NSRLProd.txt`` as product code -> "name version" (the first row of each code)."""
    products: dict[str, str] = {}
    reader = csv.reader(io.StringIO(_text(raw)))
    try:
        header = next(reader, None)
        if not header or header[0].strip().lower() != "productcode":
            raise HashSetError(f"{PROD_NAME}: not an RDS product file (header {header!r})"[:300])
        for row in reader:
            if len(row) >= 3:
                code = row[0].strip()
                if code and code not in products:
                    products[code] = " ".join(p for p in (row[1].strip(), row[2].strip()) if p)
    except csv.Error as exc:
        raise HashSetError(f"{PROD_NAME}: line {reader.line_num}: bad CSV: {exc}") from None
    return products


#: Largest NSRLProd.txt read (NIST's own is about 30 MB); it is held in memory.
MAX_PRODUCTS_BYTES = 1 << 30


def _bounded(handle: IO[bytes]) -> bytes:
    """The whole products file, or HashSetError when it is larger than it can be."""
    raw = handle.read(MAX_PRODUCTS_BYTES + 1)
    if len(raw) > MAX_PRODUCTS_BYTES:
        raise HashSetError(f"{PROD_NAME} is larger than {MAX_PRODUCTS_BYTES:,} bytes")
    return raw


def _is_file_header(head: bytes) -> bool:
    if head.startswith(UTF8_BOM):
        head = head[3:]
    first = head.split(b"\n", 1)[0].decode("latin-1").strip()
    names = [c.strip().strip('"').lower() for c in first.split(",")]
    return names[:6] == [c.lower() for c in FILE_COLUMNS[:6]]


class NsrlRds2Format(HashSetFormat):
    """NIST NSRL RDS 2.x text (``NSRLFile.txt`` + ``NSRLProd.txt``, or their zip)."""

    name = "nsrl-rds2"
    title = "NIST NSRL RDS 2.x text: NSRLFile.txt (+ NSRLProd.txt), or a zip of them"
    default_kind = HashSetKind.ignore
    writes_path = True

    @classmethod
    def detect(cls, head: bytes, path: Path) -> int:
        """100 for NSRLFile.txt's header, or a zip holding an NSRLFile.txt."""
        if head.startswith(ZIP_MAGIC):
            try:
                with zipfile.ZipFile(path) as archive:
                    return 100 if _member(archive.namelist(), FILE_NAME) else 0
            except ZIP_ERRORS:
                return 0
        return 100 if _is_file_header(head) else 0

    def read(self, ctx: ReadContext) -> Iterator[Entry | DigestBlock | Rejected]:
        """Distinct files in file order, with their products (see the module docstring)."""
        try:
            with ctx.path.open("rb") as probe:
                zipped = probe.read(4) == ZIP_MAGIC
        except OSError as exc:
            raise HashSetError(f"{ctx.name}: cannot read: {exc.strerror or exc}") from exc
        if zipped:
            yield from self._read_zip(ctx)
            return
        sibling = _sibling(ctx.path, PROD_NAME)
        products: dict[str, str] = {}
        if sibling is not None:
            with sibling.open("rb") as prod_file:
                products = read_products(_bounded(prod_file))
            ctx.attributes["nsrl_products_file"] = sibling.name
        with ctx.open() as handle:
            yield from self._rows(ctx, handle, products)

    def _read_zip(self, ctx: ReadContext) -> Iterator[Entry | DigestBlock | Rejected]:
        try:
            archive = zipfile.ZipFile(ctx.path)
        except ZIP_ERRORS as exc:
            yield Rejected(ctx.at("offset 0"), f"not a readable zip: {describe(exc)}", True)
            return
        with archive:
            names = archive.namelist()
            member = _member(names, FILE_NAME)
            if member is None:
                yield Rejected(ctx.at("zip"), f"the zip holds no {FILE_NAME}", True)
                return
            products: dict[str, str] = {}
            prod = _member(names, PROD_NAME)
            try:
                if prod is not None:
                    with archive.open(prod) as prod_file:
                        products = read_products(_bounded(prod_file))
                    ctx.attributes["nsrl_products_file"] = prod
                ctx.total = archive.getinfo(member).file_size
                with archive.open(member) as handle:
                    yield from self._rows(ctx, handle, products, where=f"{member}:")
            except ZIP_ERRORS as exc:
                yield Rejected(ctx.at(member), f"the zip is damaged: {describe(exc)}", True)

    def _rows(
        self, ctx: ReadContext, handle: IO[bytes], products: dict[str, str], where: str = ""
    ) -> Iterator[Entry | DigestBlock | Rejected]:
        """Group consecutive rows of the same file; one entry per group.

        Blocks of lines that are all plain rows of NIST's columns (hex digests, no
        quote inside a field, ``_PLAIN_ROW``) are matched by one regular expression
        and grouped with a few C-level passes (issue 16: the CSV loop was most of an
        RDS 2.x import). From the first block with anything else, the rest of the file
        goes through ``csv.reader`` row by row, with the same grouping and messages.
        """
        pieces = line_blocks(ctx, handle, _BLOCK)
        gather = _Gatherer(_Blocks(), products)
        first = next(pieces, None)
        if isinstance(first, Rejected):
            yield first
            return
        if not first:
            yield Rejected(ctx.at(f"{where}1"), f"not an {FILE_NAME} header: None", True)
            return
        standard = _is_standard_header(first[0].decode("latin-1"))
        number = 0  # lines read so far
        rest: list[bytes] = first
        if standard:
            rest, number = first[1:], 1
            while True:
                if not rest:
                    piece = next(pieces, None)
                    if piece is None:
                        yield from gather.finish()
                        return
                    if isinstance(piece, Rejected):
                        yield piece  # as csv.reader's path: the rest cannot be read
                        return
                    rest = piece
                found = _PLAIN_ROW.findall(b"".join(rest).decode("latin-1"))
                if len(found) != len(rest):
                    break
                yield from gather.fast(found)
                number += len(rest)
                rest = []
        yield from self._parse(
            ctx, _texts(rest, pieces), gather, where, header=not standard, offset=number
        )

    def _parse(
        self,
        ctx: ReadContext,
        text: Iterator[str],
        gather: _Gatherer,
        where: str,
        *,
        header: bool = True,
        offset: int = 0,
    ) -> Iterator[Entry | DigestBlock | Rejected]:
        """``csv.reader`` row by row, from the header or after the fast path's lines.

        With ``header`` False the file's standard header and its first ``offset`` lines
        were read by the fast path, and ``text`` starts at line ``offset + 1``.
        """
        reader = csv.reader(text)
        code_at, special_at, width = 5, 7, len(FILE_COLUMNS)
        if header:
            try:
                head = next(reader, None)
            except UnreadableTextError as exc:
                yield exc.rejected
                return
            except csv.Error as exc:
                yield Rejected(ctx.at(f"{where}1"), f"unreadable header: {exc}", True)
                return
            names = [c.strip().lstrip("\ufeff\xef\xbb\xbf").lower() for c in head or []]
            if names[:2] != ["sha-1", "md5"] or "productcode" not in names:
                yield Rejected(ctx.at(f"{where}1"), f"not an {FILE_NAME} header: {head!r}", True)
                return
            code_at = names.index("productcode")
            special_at = names.index("specialcode") if "specialcode" in names else None
            width = len(names)
        line = 1 if header else offset
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except UnreadableTextError as exc:
                yield exc.rejected
                return
            except csv.Error as exc:
                at = reader.line_num + (0 if header else offset)
                yield Rejected(ctx.at(f"{where}{at}"), f"bad CSV: {exc}", True)
                return
            start, line = line + 1, reader.line_num + (0 if header else offset)
            if len(row) != width:
                if not row:
                    continue
                yield Rejected(
                    ctx.at(f"{where}{start}"), f"{len(row)} fields, the header has {width}"
                )
                continue
            special = row[special_at] if special_at is not None else ""
            problem = yield from gather.row(row[0], row[1], row[code_at], special)
            if problem is not None:
                yield Rejected(ctx.at(f"{where}{start}"), problem)
        yield from gather.finish()

    def write(self, entries: Iterable[Entry], out: IO[bytes] | Path, info: HashSetInfo) -> int:
        """A zip at ``out`` holding NSRLFile.txt and NSRLProd.txt (see the module docstring)."""
        if not isinstance(out, Path):
            raise UsageError("an NSRL RDS 2.x export is a zip: give --out FILE.zip")
        codes: dict[str, int] = {}
        count = 0
        try:
            with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                with archive.open(FILE_NAME, "w", force_zip64=True) as raw:
                    buffer: list[str] = [FILE_HEADER]
                    for entry in entries:
                        if entry.sha1 is None and entry.md5 is None:
                            continue
                        count += 1
                        buffer.extend(_file_rows(entry, codes))
                        if len(buffer) >= 8192:
                            raw.write(("\r\n".join(buffer) + "\r\n").encode("utf-8"))
                            buffer.clear()
                    if buffer:
                        raw.write(("\r\n".join(buffer) + "\r\n").encode("utf-8"))
                lines = [PROD_HEADER]
                lines.extend(
                    f'{code},{_quote(name)},"","","","",""' for name, code in codes.items()
                )
                archive.writestr(PROD_NAME, ("\r\n".join(lines) + "\r\n").encode("utf-8"))
        except BaseException:
            out.unlink(missing_ok=True)
            raise
        return count


def _quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


class _Blocks:
    """Files holding a SHA-1 and an MD5 (and products) gathered into DigestBlocks.

    The store then loads them without one record per file (issue 16); a file missing
    either digest goes out as an ``Entry`` of its own, in order.
    """

    SIZE = 50_000

    def __init__(self) -> None:
        self.sha1: list[str] = []
        self.md5: list[str] = []
        self.extras: list[dict[str, Any] | None] = []

    def add(self, entry: Entry) -> Iterator[Entry | DigestBlock]:
        """Buffer ``entry`` if it fits a block; yield what has to go out now."""
        signals = entry.signals
        if len(signals) == 2 and signals.get("sha1") and signals.get("md5"):
            self.sha1.append(signals["sha1"])
            self.md5.append(signals["md5"])
            self.extras.append(entry.extra or None)
            if len(self.sha1) >= self.SIZE:
                yield from self.flush()
            return
        yield from self.flush()
        yield entry

    def add_plain(self, sha1: str, md5: str, extra: dict[str, Any] | None) -> Iterator[DigestBlock]:
        """Buffer a file known to hold a valid SHA-1 and MD5 (no Entry built for it)."""
        self.sha1.append(sha1)
        self.md5.append(md5)
        self.extras.append(extra)
        if len(self.sha1) >= self.SIZE:
            yield from self.flush()

    def add_many(
        self, sha1: list[str], md5: list[str], extras: list[dict[str, Any] | None]
    ) -> Iterator[DigestBlock]:
        """Buffer plain files (lower-case, valid) given as columns."""
        self.sha1 += sha1
        self.md5 += md5
        self.extras += extras
        if len(self.sha1) >= self.SIZE:
            yield from self.flush()

    def flush(self) -> Iterator[DigestBlock]:
        """The buffered files as one block."""
        if self.sha1:
            extras = self.extras if any(self.extras) else None
            yield DigestBlock("sha1", self.sha1, others={"md5": self.md5}, extras=extras)
            self.sha1, self.md5, self.extras = [], [], []


#: ``current`` while the file being gathered is a plain one (see ``_Gatherer``).
_PLAIN = Entry()
#: A plain row of NIST's eight columns: hex digests, every text field quoted without a
#: quote inside it, size and product code unquoted. Groups: the file's key (SHA-1
#: ``","`` MD5: 75 characters), product code, special code.
_PLAIN_ROW = re.compile(
    r'^"([0-9A-Fa-f]{40}","[0-9A-Fa-f]{32})","[^"\r\n]*","[^"\r\n]*",[^,"\r\n]*,'
    r'([^,"\r\n]*),"[^"\r\n]*","([^"\r\n]*)"\r?$',
    re.MULTILINE,
)
_STANDARD_HEADER = re.compile(
    "^" + ",".join(f'"{c}"' for c in FILE_COLUMNS).replace("-", "\\-") + "\r?\n?$",
    re.IGNORECASE,
)


def _is_standard_header(line: str) -> bool:
    """Whether ``line`` is NIST's header, quoted, in its column order (the fast path's)."""
    return _STANDARD_HEADER.match(line.lstrip("\ufeff")) is not None


def _texts(first: list[bytes], pieces: Iterator[list[bytes] | Rejected]) -> Iterator[str]:
    """Lines for ``csv.reader``: ``first``, then the rest of the file (Latin-1 always decodes).

    Split as ``text_lines`` splits (CR, LF, CRLF; not Latin-1's NEL or form feed).
    """
    yield from io.StringIO(b"".join(first).decode("latin-1"), newline="")
    for piece in pieces:
        if isinstance(piece, Rejected):
            raise UnreadableTextError(piece)
        yield from io.StringIO(b"".join(piece).decode("latin-1"), newline="")


class _Products(dict[str, str | None]):
    """Product code -> the name an entry lists, None for no product ("", "0"); cached."""

    def __init__(self, products: dict[str, str]) -> None:
        super().__init__()
        self.products = products

    def __missing__(self, raw: str) -> str | None:
        code = raw.strip()
        name = None if not code or code == "0" else self.products.get(code) or f"product {code}"
        if len(self) < 100_000:  # bounded: codes are few, hostile text is not
            self[raw] = name
        return name


class _Gatherer:
    """Consecutive rows of one file become one entry (see the module docstring).

    ``row`` takes one CSV row; ``fast`` a block of ``_PLAIN_ROW`` matches at once. The
    file being gathered is ``plain`` (its lower-case SHA-1 and MD5) in the common case,
    an ``Entry`` only for an odd one, so that a million files are not a million Entry
    objects (issue 16); ``current`` is ``_PLAIN`` while ``plain`` holds it.
    """

    def __init__(self, blocks: _Blocks, products: dict[str, str]) -> None:
        self.blocks = blocks
        self.names = _Products(products)
        self.current: Entry | None = None
        self.plain: tuple[str, str] = ("", "")
        self.key: tuple[str, str] = ("", "")
        self.seen: list[str] = []
        self.specials: list[str] = []

    def finish(self) -> Iterator[Entry | DigestBlock]:
        """The file being gathered goes out (the buffered blocks too)."""
        yield from self._close()
        self.current, self.key = None, ("", "")
        yield from self.blocks.flush()

    def _close(self) -> Iterator[Entry | DigestBlock]:
        if self.current is _PLAIN:
            yield from self.blocks.add_plain(*self.plain, _extra(self.seen, self.specials))
        elif self.current is not None:
            _finish(self.current, self.seen, self.specials)
            yield from self.blocks.add(self.current)

    def row(
        self, sha1: str, md5: str, code: str, special: str
    ) -> Generator[Entry | DigestBlock, None, str | None]:
        """One row (a generator: what goes out; its return value is a rejection's reason)."""
        if (sha1, md5) != self.key:
            yield from self._close()
            self.current = None
            self.key = (sha1, md5)
            self.seen, self.specials = [], []
            try:
                # the common case: 40 and 32 hex digits, checked in C
                if len(sha1) == 40 and len(md5) == 32 and len(bytes.fromhex(sha1 + md5)) == 36:
                    self.current, self.plain = _PLAIN, (sha1.lower(), md5.lower())
                else:
                    entry = Entry(
                        sha1=canonical_hash("sha1", sha1) if sha1.strip() else None,
                        md5=canonical_hash("md5", md5) if md5.strip() else None,
                    )
                    if entry.sha1 is None and entry.md5 is None:
                        raise InvalidHashError("neither a SHA-1 nor an MD5")
                    self.current = entry
            except (InvalidHashError, ValueError) as exc:
                self.key = ("", "")
                return (
                    str(exc)
                    if isinstance(exc, InvalidHashError)
                    else f"invalid hex digest in SHA-1 {sha1[:48]!r} or MD5 {md5[:40]!r}"
                )
        elif self.current is None:
            return None  # a further row of a rejected file
        product = self.names[code]
        if product is not None and product not in self.seen:
            self.seen.append(product)
        special = special.strip()
        if special and special not in self.specials:
            self.specials.append(special)
        return None

    def fast(self, found: list[tuple[str, str, str]]) -> Iterator[Entry | DigestBlock]:
        """A block of plain rows (``_PLAIN_ROW`` matches: hex digests of the right length).

        The first file of the block may continue the one being gathered and the last
        may go on in the next block: those go through ``row``; every file between is
        grouped here without a Python step per row.
        """
        # Columns by itemgetter: ``zip(*found)`` makes an iterator per row (5x slower).
        keys, codes, specials = (list(map(itemgetter(i), found)) for i in range(3))
        n = len(keys)
        starts = [0, *compress(range(1, n), map(ne, keys[1:], keys[:-1])), n]
        for i in range(starts[1]):
            yield from self.row(keys[i][:40], keys[i][43:], codes[i], specials[i])
        if len(starts) == 2:
            return  # one file, maybe continued in the next block
        yield from self._close()
        self.current, self.key = None, ("", "")
        middle = starts[1:-1]  # starts of the files between the first and the last
        if len(middle) > 1:
            names = list(map(self.names.__getitem__, codes))
            digests = '","'.join([keys[i] for i in middle[:-1]]).lower().split('","')
            extras = _group_extras(names, specials if any(specials) else None, middle)
            yield from self.blocks.add_many(digests[0::2], digests[1::2], extras)
        for i in range(middle[-1], n):
            yield from self.row(keys[i][:40], keys[i][43:], codes[i], specials[i])


def _group_extras(
    names: list[str | None], specials: tuple[str, ...] | None, starts: list[int]
) -> list[dict[str, Any] | None]:
    """Each file's ``extra`` (products, special codes), files starting at ``starts``.

    The last start ends the last file.
    """
    out: list[dict[str, Any] | None] = []
    if specials is None:
        # Files listing the same products share one ``extra`` (the store encodes it
        # once per block); DigestBlock.entries() copies it for each entry.
        shared: dict[tuple[str | None, ...], dict[str, Any] | None] = {}
        for lo, hi in pairwise(starts):
            group = tuple(names[lo:hi])
            if group in shared:
                out.append(shared[group])
                continue
            seen = [p for p in dict.fromkeys(group) if p is not None]
            extra = {"nsrl_products": seen} if seen else None
            if len(shared) < 10_000:
                shared[group] = extra
            out.append(extra)
        return out
    for lo, hi in pairwise(starts):
        seen = [p for p in dict.fromkeys(names[lo:hi]) if p is not None]
        codes = [c for c in dict.fromkeys(x.strip() for x in specials[lo:hi]) if c]
        out.append(_extra(seen, codes))
    return out


def _extra(products: list[str], specials: list[str]) -> dict[str, Any] | None:
    """A file's ``extra``: its products and special codes, or None for neither."""
    if not products and not specials:
        return None
    extra: dict[str, Any] = {}
    if products:
        extra["nsrl_products"] = products
    if specials:
        extra["nsrl_special"] = specials
    return extra


def _finish(entry: Entry, products: list[str], specials: list[str]) -> None:
    extra = _extra(products, specials)
    if extra:
        entry.extra = extra


def _file_rows(entry: Entry, codes: dict[str, int]) -> Iterator[str]:
    """One NSRLFile.txt row per product (and special code) of ``entry``; code 0 for none."""
    sha1 = (entry.sha1 or "").upper()
    md5 = (entry.md5 or "").upper()
    name = _quote(entry.file_names[0] if entry.file_names else "")
    size = entry.media_size or 0
    products = [str(p) for p in entry.extra.get("nsrl_products") or ()]
    specials = [str(s) for s in entry.extra.get("nsrl_special") or ()]
    for i in range(max(len(products), len(specials), 1)):
        code = codes.setdefault(products[i], len(codes) + 1) if i < len(products) else 0
        special = _quote(specials[i] if i < len(specials) else "")
        yield f'"{sha1}","{md5}","",{name},{size},{code},"",{special}'
