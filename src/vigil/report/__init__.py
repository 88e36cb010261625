"""Stage 7a: what an examiner files and partners import: case exports and the case report."""
