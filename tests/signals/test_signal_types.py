"""Signal types: validation and distances, as properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigil.errors import InvalidHashError, UsageError
from vigil.signals import SIGNAL_TYPES, signal_type
from vigil.signals.pdq import PdqSignal, hamming

hex64 = st.text("0123456789abcdef", min_size=64, max_size=64)


@given(hex64, hex64, hex64)
def test_hamming_is_a_metric(a: str, b: str, c: str) -> None:
    assert hamming(a, a) == 0
    assert hamming(a, b) == hamming(b, a)
    assert 0 <= hamming(a, b) <= 256
    assert hamming(a, c) <= hamming(a, b) + hamming(b, c)


@given(hex64, st.sets(st.integers(0, 255), max_size=64))
def test_flipping_k_bits_gives_distance_k(a: str, bits: set[int]) -> None:
    b = f"{int(a, 16) ^ sum(1 << k for k in bits):064x}"
    assert hamming(a, b) == len(bits)
    assert PdqSignal.matches(a, b) == (len(bits) <= 31)


@given(hex64)
def test_validation_lowercases_and_round_trips(a: str) -> None:
    assert PdqSignal.validate(a.upper()) == a


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("pdq", "ab" * 31, "62 characters, expected 64"),
        ("pdq", "ab" * 33, "66 characters, expected 64"),
        ("md5", "g" * 32, "non-hex character 'g'"),
        ("sha1", "a" * 39, "39 characters, expected 40"),
        ("sha256", "0x" + "a" * 62, "non-hex character 'x'"),
    ],
)
def test_bad_values_are_rejected_not_padded(name: str, value: str, message: str) -> None:
    with pytest.raises(InvalidHashError, match=message):
        signal_type(name).validate(value)


def test_registry_names_are_the_stored_names() -> None:
    assert set(SIGNAL_TYPES) == {"md5", "sha1", "sha256", "pdq", "vpdq"}
    assert all(cls.name == name for name, cls in SIGNAL_TYPES.items())
    with pytest.raises(UsageError, match="unknown signal type 'tmk'"):
        signal_type("tmk")
