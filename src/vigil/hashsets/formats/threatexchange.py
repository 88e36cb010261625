"""Signal-type names shared by the two ThreatExchange/HMA formats.

python-threatexchange calls an MD5 of a file's bytes ``video_md5`` and a SHA-256
``video_sha256`` whatever the media; Vigil reads those and its own names, and writes
the pytx names so that ``threatexchange`` and HMA accept the file. SHA-1 has no pytx
signal type: Vigil writes it as ``sha1``, which only Vigil reads back.
"""

from __future__ import annotations

from vigil.errors import InvalidRecordError

TX_TO_VIGIL: dict[str, str] = {
    "pdq": "pdq",
    "vpdq": "vpdq",
    "video_md5": "md5",
    "photo_md5": "md5",
    "md5": "md5",
    "video_sha256": "sha256",
    "sha256": "sha256",
    "sha1": "sha1",
}
VIGIL_TO_TX: dict[str, str] = {
    "pdq": "pdq",
    "vpdq": "vpdq",
    "md5": "video_md5",
    "sha256": "video_sha256",
    "sha1": "sha1",
}


def vigil_type(tx_name: str) -> str:
    """Vigil's hash type for a ThreatExchange signal type, or InvalidRecordError."""
    try:
        return TX_TO_VIGIL[tx_name.strip().lower()]
    except KeyError:
        known = ", ".join(sorted(TX_TO_VIGIL))
        raise InvalidRecordError(
            f"signal type {tx_name!r} is not a media hash Vigil keeps (known: {known})"
        ) from None
