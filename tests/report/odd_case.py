"""A case whose matched pictures sit where only a locator reaches them.

One picture inside an archive inside an archive, one inside a zip, one on disk under
a name that is not UTF-8: the report's thumbnails and the referral's media must
reach all three (they used to open display paths of files on disk only).
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import zipfile
from pathlib import Path

from tests.cli_runner import vigil
from tests.factory import image_bytes, picture

PICTURES = {
    name: image_bytes("PNG", picture(96, 72, seed=seed))
    for seed, name in enumerate(["red.png", "x.png", "caf\udce9.png"], start=11)
}


def _zipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buffer.getvalue()


def odd_case(root: Path, case: str = "odd") -> Path:
    """Scan the odd evidence into ``case`` with a hash set of its three pictures; the home."""
    evidence = root / "evidence"
    evidence.mkdir(parents=True)
    (evidence / "pics.zip").write_bytes(_zipped({"inner/red.png": PICTURES["red.png"]}))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as t:
        data = _zipped({"x.png": PICTURES["x.png"]})
        info = tarfile.TarInfo("a.zip")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    (evidence / "deep.tar").write_bytes(buffer.getvalue())
    with open(os.fsencode(evidence) + b"/caf\xe9.png", "wb") as f:
        f.write(PICTURES["caf\udce9.png"])
    hashes = root / "odd.txt"
    hashes.write_text("".join(hashlib.sha256(d).hexdigest() + "\n" for d in PICTURES.values()))
    home = root / "home"
    imported = vigil("hashset", "import", str(hashes), "--name", "ODD", "-f", "sha256-list",
                     home=home)  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    scanned = vigil("scan", str(evidence), "--case", case, home=home)
    assert scanned.returncode == 0, scanned.stderr
    return home
