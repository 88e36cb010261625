"""Vigil to Vigil: pull a set another ``vigil serve`` publishes as a signed, cursor-based feed.

The URL names the feed: ``http://partner:8080/v1/feeds/CONFIRMED``. The credentials
file holds the API key the publisher granted that set (``{"api_key": "vgl_..."}``);
``--public-key`` pins the publisher's key (its ``vigil keys export-public``) when
the exchange is added. Each page is verified before anything is applied: a batch
whose signature does not verify, of another feed, or answering an earlier request
(replay) stops the pull with the set and checkpoint as they were.
"""

from __future__ import annotations

import secrets
import urllib.parse
from collections.abc import Iterator
from typing import Any, ClassVar

from vigil.errors import InvalidHashError
from vigil.exchange.base import Batch, ExchangeError, Option, SignalExchange, checked_signals
from vigil.exchange.http import request_json
from vigil.exchange.signing import parse_public, verify_batch
from vigil.store.exchanges import Delta

FEEDS = "/v1/feeds/"


def split_feed_url(url: str) -> tuple[str, str]:
    """``(base URL, feed name)`` of ``http://host/v1/feeds/NAME``; ExchangeError otherwise."""
    head, sep, name = url.rstrip("/").partition(FEEDS)
    if not sep or not name or "/" in name:
        raise ExchangeError(
            f"a vigil exchange's URL names the feed: http://HOST:PORT{FEEDS}SET (got {url})",
            usage=True,
        )
    return head, urllib.parse.unquote(name)


class VigilFeedExchange(SignalExchange):
    """A set published by another Vigil."""

    options: ClassVar[tuple[Option, ...]] = (
        Option("page_size", "number", False, 5000, "Entries per page (at most 10,000)."),
    )
    credential_fields: ClassVar[tuple[str, ...]] = ("api_key",)

    @classmethod
    def check_config(cls, url: str | None, options: dict[str, Any]) -> None:
        """The URL must name a feed."""
        super().check_config(url, options)
        split_feed_url(url or "")

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.credentials()['api_key']}"}

    def fetch_iter(self, checkpoint: dict[str, Any] | None) -> Iterator[Batch]:
        """Pages from the stored cursor until the publisher says there is no more."""
        base, feed = split_feed_url(self.url)
        pem = self.exchange.config.get("public_key_pem")
        if not pem:
            raise ExchangeError(f"exchange {self.name}: no pinned public key", usage=True)
        key = parse_public(pem.encode(), f"exchange {self.name}'s pinned key")
        headers = self._headers()
        size = int(self.option("page_size", 5000))
        cursor = int((checkpoint or {}).get("cursor", 0))
        while True:
            page = f"page at cursor {cursor}"
            nonce = secrets.token_hex(16)
            query = urllib.parse.urlencode({"cursor": cursor, "limit": size, "nonce": nonce})
            envelope = request_json(
                "GET",
                f"{base}{FEEDS}{urllib.parse.quote(feed)}?{query}",
                who=self.name,
                page=page,
                headers=headers,
            )
            body = verify_batch(
                envelope,
                key,
                feed=feed,
                cursor=cursor,
                nonce=nonce,
                where=f"exchange {self.name}: {page}",
            )
            deltas, next_cursor = self._deltas(body, cursor, page)
            profile = body.get("category_profile")
            yield Batch(
                deltas,
                {"cursor": next_cursor},
                page=page,
                total=int(body.get("total") or 0),
                category_profile=profile if isinstance(profile, str) else None,
            )
            if not body.get("has_more"):
                return
            if next_cursor <= cursor:
                raise self.error(page, "the feed says it has more but its cursor did not move")
            cursor = next_cursor

    def _deltas(self, body: dict[str, Any], cursor: int, page: str) -> tuple[list[Delta], int]:
        items = body.get("items")
        next_cursor = body.get("next_cursor")
        if not isinstance(items, list) or not isinstance(next_cursor, int):
            raise self.error(page, "the batch lacks items or next_cursor")
        deltas = []
        for n, item in enumerate(items):
            where = f"item {n}"
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                raise self.error(page, f"{where} is not an object with an id")
            seq = item.get("seq")
            if not isinstance(seq, int) or not cursor < seq <= next_cursor:
                raise self.error(page, f"{where} is out of the batch's cursor range")
            if item.get("op") == "delete":
                deltas.append(Delta(item["id"], None))
                continue
            if item.get("op") != "upsert":
                raise self.error(page, f"{where} has an unknown op {item.get('op')!r}")
            try:
                signals = checked_signals(item.get("signals") or {}, where)
            except InvalidHashError as exc:
                raise self.error(page, str(exc)) from exc
            category = item.get("category")
            deltas.append(
                Delta(item["id"], signals, category if isinstance(category, str) else None)
            )
        return deltas, next_cursor

    def feedback(
        self, partner_id: str, verdict: str, note: str | None, signals: dict[str, str]
    ) -> None:
        """POST the verdict to the publisher's feed, where it is shown per entry."""
        base, feed = split_feed_url(self.url)
        request_json(
            "POST",
            f"{base}{FEEDS}{urllib.parse.quote(feed)}/feedback",
            who=self.name,
            page="feedback",
            headers=self._headers(),
            body={"item": partner_id, "verdict": verdict, "note": note},
        )
