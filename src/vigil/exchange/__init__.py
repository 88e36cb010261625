"""Exchanges with partners: pull their hash lists, push ours, send feedback.

One module per exchange type, each a ``SignalExchange`` (``base.py``) on
python-threatexchange's ``SignalExchangeAPI`` model: ``fetch_iter(checkpoint)``
yields batches of deltas keyed by the partner's ids, and ``sync.py`` (the use
cases) applies each batch and its checkpoint in one transaction. The registry below
is explicit and lazy: a type's module (and its client library) is imported when an
exchange of that type is used, so a missing optional dependency disables one type
with a clear message.
"""

from __future__ import annotations

import importlib

from vigil.exchange.base import ExchangeError, SignalExchange

#: Exchange type -> "module:class". One line per type.
_BUILT_IN: dict[str, str] = {
    "vigil": "vigil.exchange.vigil:VigilFeedExchange",
    "ncmec": "vigil.exchange.ncmec:NCMECExchange",
    "stopncii": "vigil.exchange.stopncii:StopNCIIExchange",
    "threatexchange": "vigil.exchange.threatexchange:ThreatExchangeExchange",
    "hma": "vigil.exchange.hma:HMAExchange",
    "file": "vigil.exchange.file:FileExchange",
}

EXCHANGE_TYPES: tuple[str, ...] = tuple(_BUILT_IN)


def exchange_type(name: str) -> type[SignalExchange]:
    """The class of the exchange type ``name``; ExchangeError if unknown or not installed."""
    path = _BUILT_IN.get(name)
    if path is None:
        raise ExchangeError(
            f"unknown exchange type {name!r} (known: {', '.join(EXCHANGE_TYPES)})", usage=True
        )
    module_name, _, attribute = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ExchangeError(
            f"exchange type {name!r} needs {exc.name}: pip install 'vigil[exchange]'", usage=True
        ) from exc
    cls: type[SignalExchange] = getattr(module, attribute)
    return cls


__all__ = ["EXCHANGE_TYPES", "ExchangeError", "SignalExchange", "exchange_type"]
