"""The triage scan of seized storage: walk, hash, recognise known files, match, record.

``engine`` and ``worker`` run on any ``concurrent.futures.Executor``; ``case_scan``
is the use case ``vigil scan`` calls (sets chosen, audit entries, summary).
"""
