"""Vigil: find known child-sexual-abuse material by hash, and pass on what is found.

The package follows the data's way, one sub-package a stage:
media (bytes and pixels out of evidence) -> signals (hash algorithms) -> hashsets
-> index -> store -> scan -> report/refer -> web. See docs/architecture.md.
"""

from __future__ import annotations

__version__ = "0.1.0"
