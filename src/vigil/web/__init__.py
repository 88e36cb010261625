"""The matching service (``vigil serve``): an HTTP API over the same store as the CLI.

Small modules, one concern each: ``app`` assembles them; ``v1`` and ``hma`` are the two
route sets (Vigil's own, and HMA-compatible ones); ``auth`` and ``ratelimit`` guard
them; ``freshness`` keeps the current ``vigil.services.matcher.Snapshot``, which every
request matches against with the one ``Matcher``; ``actions`` delivers webhook
events; ``metrics`` counts.
"""
