"""Stage 2: hash algorithms (signal types), and hashing a whole file into a record.

The registry below is explicit: one line per signal type, no registration by
import side effect. Names are stored in hash sets and cases and never change.
"""

from __future__ import annotations

from vigil.errors import UsageError
from vigil.signals.base import SignalType
from vigil.signals.crypto import Md5Signal, Sha1Signal, Sha256Signal
from vigil.signals.pdq import PdqSignal
from vigil.signals.vpdq import VpdqSignal

SIGNAL_TYPES: dict[str, type[SignalType]] = {
    Md5Signal.name: Md5Signal,
    Sha1Signal.name: Sha1Signal,
    Sha256Signal.name: Sha256Signal,
    PdqSignal.name: PdqSignal,
    VpdqSignal.name: VpdqSignal,
}


def signal_type(name: str) -> type[SignalType]:
    """The signal type stored under ``name``, or a UsageError listing the known ones."""
    try:
        return SIGNAL_TYPES[name.lower()]
    except KeyError:
        known = ", ".join(sorted(SIGNAL_TYPES))
        raise UsageError(f"unknown signal type {name!r} (known: {known})") from None
