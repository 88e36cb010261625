"""Allow ``python -m vigil``."""

from __future__ import annotations

from vigil.cli.main import main

main()
