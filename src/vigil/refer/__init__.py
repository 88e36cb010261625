"""Stage 7b: packages that one agency sends another, signed so that tampering shows."""
