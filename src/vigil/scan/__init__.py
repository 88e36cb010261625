"""Stage 6: the triage scan of seized storage (walk, hash, recognise known files, match)."""
