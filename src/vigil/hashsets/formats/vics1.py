"""VICS 1.x JSON (``odata.metadata``): written as 1.3, read by the VICS reader.

Older tools (X-Ways, Griffeye before 2.0 support, CAID exports) take 1.x: PhotoDNA
is a top-level field and flags are the strings "true"/"false".
"""

from __future__ import annotations

from pathlib import Path

from vigil.hashsets.formats.base import text_head
from vigil.hashsets.formats.vics import METADATA_1_X, VicsFormat
from vigil.hashsets.model import HashSetInfo


class Vics1Format(VicsFormat):
    """VICS 1.3 writer (reads any VICS version)."""

    name = "vics1"
    title = "Project VIC VICS JSON 1.x (writes 1.3)"
    flags_as_strings = True
    photodna_top_level = True
    #: The 1.x data-model version written.
    version = "1.3"

    @classmethod
    def detect(cls, head: bytes, path: Path) -> int:
        """Score the file's first bytes (see ``HashSetFormat.detect``)."""
        # Reading is the same as ``vics``; detection leaves the choice to it.
        return 0 if '"odata.metadata"' not in text_head(head) else 10

    def context_key(self) -> str:
        """1.x names its header ``odata.metadata``."""
        return "odata.metadata"

    def context_value(self, info: HashSetInfo, shape: str) -> str:
        """1.x carries no profile in its URL."""
        return METADATA_1_X.format(version=self.version, shape=shape)
