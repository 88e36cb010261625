"""The exchange interface: fetch deltas from a checkpoint, push a set, send feedback.

Modelled on python-threatexchange's ``SignalExchangeAPI`` and ``fetch_state``: a
pull is ``fetch_iter(checkpoint)``, an iterator of ``Batch`` objects, each holding
deltas keyed by the partner's record id (``None`` signals: the partner deleted or
withdrew it) and the checkpoint to store once the batch is committed. A type never
writes the store: ``vigil.exchange.sync`` applies the batches, so every type gets the
same atomicity, provenance and audit for free. Raw HTTP clients stay apart from the
adapters: the NCMEC, StopNCII and ThreatExchange types wrap python-threatexchange's
own clients; Vigil's feed and HMA's routes use ``http.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from vigil.errors import InvalidHashError, UsageError, VigilError
from vigil.hashsets.model import Entry
from vigil.signals import signal_type
from vigil.store.exchanges import STORED_SIGNALS, Delta, Exchange

__all__ = ["Batch", "Delta", "ExchangeError", "Option", "SignalExchange"]


class ExchangeError(VigilError):
    """A partner answered badly, could not be reached, or refused; or a bad exchange setup.

    ``usage`` marks the caller's mistakes (exit code 2), as opposed to the partner's.
    """

    def __init__(self, message: str, *, usage: bool = False) -> None:
        """``message`` names the exchange and, for a pull, the page."""
        super().__init__(message)
        self.usage = usage


@dataclass
class Batch:
    """One page of a partner's changes and the checkpoint that follows it."""

    deltas: list[Delta]
    checkpoint: dict[str, Any] | None
    #: Which page this is, for error messages and progress ("page 3", "cursor 1200").
    page: str = ""
    #: The batch is the partner's whole list: ids it does not name are withdrawn.
    full_snapshot: bool = False
    #: Estimated total records, when the partner says (0: unknown).
    total: int = 0
    #: The category profile the partner's categories are read under, when it says.
    category_profile: str | None = None


@dataclass(frozen=True)
class Option:
    """One type-specific setting (``--option NAME=VALUE``), described for HMA's schema route."""

    name: str
    type: str = "string"
    required: bool = False
    default: Any = None
    help: str = ""


class SignalExchange:
    """One exchange of a type; subclasses implement ``fetch_iter`` and what else they can."""

    #: Settings beyond the URL, by name.
    options: ClassVar[tuple[Option, ...]] = ()
    #: Credential fields the JSON credentials file holds (empty: none needed).
    credential_fields: ClassVar[tuple[str, ...]] = ()
    #: Whether the URL is required.
    needs_url: ClassVar[bool] = True
    #: The category profile of the partner's categories (vigil/hashsets/category_profiles.toml).
    category_profile: ClassVar[str | None] = None

    def __init__(
        self, exchange: Exchange, known_ids: Callable[[], list[str]] | None = None
    ) -> None:
        """Work for ``exchange``; ``known_ids`` lists the partner ids held now (live)."""
        self.exchange = exchange
        self.known_ids = known_ids or list

    @property
    def name(self) -> str:
        """The exchange's name (for messages)."""
        return self.exchange.name

    @property
    def url(self) -> str:
        """The partner's URL, without a trailing slash."""
        return (self.exchange.url or "").rstrip("/")

    def option(self, name: str, default: Any = None) -> Any:
        """A type-specific setting."""
        return self.exchange.config.get("options", {}).get(name, default)

    def credentials(self) -> dict[str, Any]:
        """The credentials file's JSON object (read at each use: never copied to the store)."""
        path = self.exchange.config.get("credentials")
        if not path:
            if self.credential_fields:
                raise ExchangeError(
                    f"exchange {self.name}: needs --credentials FILE with "
                    f"{', '.join(self.credential_fields)}",
                    usage=True,
                )
            return {}
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ExchangeError(
                f"exchange {self.name}: cannot read credentials {path}: {exc.strerror}", usage=True
            ) from exc
        except ValueError as exc:
            raise ExchangeError(
                f"exchange {self.name}: credentials {path} are not JSON: {exc}", usage=True
            ) from exc
        if not isinstance(data, dict):
            raise ExchangeError(
                f"exchange {self.name}: credentials {path} must be a JSON object", usage=True
            )
        missing = [f for f in self.credential_fields if not data.get(f)]
        if missing:
            raise ExchangeError(
                f"exchange {self.name}: credentials {path} lack {', '.join(missing)}", usage=True
            )
        return data

    @classmethod
    def check_config(cls, url: str | None, options: dict[str, Any]) -> None:
        """Refuse a setup that cannot work (missing URL or required option)."""
        if cls.needs_url and not url:
            raise ExchangeError("this exchange type needs --url", usage=True)
        known = {o.name for o in cls.options}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ExchangeError(
                f"unknown option(s) {', '.join(unknown)} "
                f"(known: {', '.join(sorted(known)) or 'none'})",
                usage=True,
            )
        missing = [o.name for o in cls.options if o.required and o.name not in options]
        if missing:
            raise ExchangeError(f"needs --option {missing[0]}=VALUE", usage=True)

    # -- what a type implements ------------------------------------------------------

    def fetch_iter(self, checkpoint: dict[str, Any] | None) -> Iterator[Batch]:
        """Batches of deltas from ``checkpoint`` (None: from the start)."""
        raise NotImplementedError

    def push(self, entries: Iterable[Entry]) -> int:
        """Send a set's entries to the partner; return how many were sent."""
        raise ExchangeError(
            f"exchange {self.name}: the {self.exchange.type} type cannot push", usage=True
        )

    def feedback(
        self, partner_id: str, verdict: str, note: str | None, signals: dict[str, str]
    ) -> None:
        """Tell the partner whether its entry ``partner_id`` was a true or false positive."""
        raise ExchangeError(
            f"exchange {self.name}: the {self.exchange.type} type takes no feedback", usage=True
        )

    # -- helpers ---------------------------------------------------------------------

    def error(self, page: str, message: str) -> ExchangeError:
        """An error naming the exchange and the page."""
        return ExchangeError(f"exchange {self.name}: {page}: {message}")

    def guarded(self, page: str, batches: Iterator[Batch]) -> Iterator[Batch]:
        """``batches`` with a client library's exceptions turned into ExchangeErrors.

        python-threatexchange's clients raise ``requests`` errors, XML and JSON parse
        errors and bare ``Exception``s; each becomes one message naming the page.
        """
        while True:
            try:
                batch = next(batches)
            except StopIteration:
                return
            except VigilError:
                raise
            except Exception as exc:
                raise self.error(page, f"{type(exc).__name__}: {exc}"[:500]) from exc
            page = batch.page or page
            yield batch


_VALIDATORS: dict[str, Callable[[str], str]] = {}


def checked_signals(raw: dict[str, Any], where: str) -> dict[str, str]:
    """A partner's hashes, validated to canonical form; InvalidHashError naming ``where``."""
    if not isinstance(raw, dict):
        raise InvalidHashError(f"{where}: signals must be an object")
    out: dict[str, str] = {}
    for name, value in raw.items():
        if name not in STORED_SIGNALS:
            continue
        if not isinstance(value, str):
            raise InvalidHashError(f"{where}: {name} must be a string")
        try:
            validate = _VALIDATORS.get(name)
            if validate is None:
                validate = _VALIDATORS[name] = signal_type(name).validate
            out[name] = validate(value)
        except UsageError as exc:
            raise InvalidHashError(f"{where}: {exc}") from exc
        except InvalidHashError as exc:
            raise InvalidHashError(f"{where}: {exc}") from exc
    return out
