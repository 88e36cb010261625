"""Per-key token buckets: a sustained rate and a burst, refilled continuously.

In memory, per serving process: with N worker processes a key may reach N times its
rate (documented in docs/service.md); a shared bucket would cost a store write per
request, which the lookup path cannot afford.
"""

from __future__ import annotations

import threading
import time


class TokenBuckets:
    """One bucket per key name."""

    def __init__(self, rate: float, burst: float) -> None:
        """Default ``rate`` tokens per second, holding at most ``burst``."""
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, rate: float | None = None) -> float:
        """Take one token; 0.0 if granted, else the seconds until one is available."""
        rate = rate or self.rate
        burst = max(self.burst if rate == self.rate else 2 * rate, 1.0)
        now = time.monotonic()
        with self._lock:
            tokens, then = self._buckets.get(key, (burst, now))
            tokens = min(burst, tokens + (now - then) * rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / rate
