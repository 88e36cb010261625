"""The reference implementations, as oracles: pdqhash (PDQ) and vpdq (vPDQ)."""

from __future__ import annotations

import numpy as np


def pdqhash_hex(rgb: np.ndarray) -> tuple[str, int]:
    """PDQ of the pdqhash package (Meta's C++ reference), as hex, the way pytx formats it."""
    import pdqhash

    vector, quality = pdqhash.compute(np.ascontiguousarray(rgb))
    return _vector_hex(vector), quality


def pdqhash_dihedral_hex(rgb: np.ndarray) -> tuple[list[str], int]:
    import pdqhash

    vectors, quality = pdqhash.compute_dihedral(np.ascontiguousarray(rgb))
    return [_vector_hex(v) for v in vectors], quality


def _vector_hex(vector: np.ndarray) -> str:
    return f"{int(''.join(str(int(b)) for b in vector), 2):064x}"
