"""``vigil serve --sync-every`` pulls every enabled exchange in the background."""

from __future__ import annotations

import pytest

from tests.cli_runner import vigil
from tests.web.server import Server, make_keys, wait_for
from vigil.exchange.base import ExchangeError
from vigil.exchange.sync import parse_interval

MD5 = "ab" * 16


def test_parse_interval():
    assert parse_interval("30s") == 30 and parse_interval("15m") == 900
    assert parse_interval("1h") == 3600 and parse_interval("2") == 2
    for bad in ("", "m", "-1m", "soon", "0s"):
        with pytest.raises(ExchangeError):
            parse_interval(bad)


def test_serve_pulls_in_the_background(tmp_path):
    home = tmp_path / "home"
    url = f"sqlite:///{home / 'vigil.sqlite3'}"
    listing = tmp_path / "partner.md5"
    listing.write_text(f"{MD5}\n")
    assert (
        vigil("exchange", "add", "f", "--type", "file", "--url", str(listing), home=home).returncode
        == 0
    )
    keys = make_keys(url)
    with (
        Server(url, home, serve_args=["--sync-every", "1s"]) as server,
        server.client(keys["matcher"]) as c,
    ):

        def matched() -> bool:
            r = c.get("/v1/match", params={"signal_type": "md5", "signal": MD5})
            return [m["hashset"] for m in r.json()["matches"]] == ["f"]

        assert wait_for(matched, timeout=30)
        listing.write_text(f"{'cd' * 16}\n")  # the partner withdraws it
        assert wait_for(lambda: not matched(), timeout=30)
