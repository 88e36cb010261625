"""The layout tells the architecture: no module imports a later stage.

Stages follow the data's way (docs/architecture.md). A module may import its own
stage and earlier ones, never a later one; imports inside functions count too (a
lazy import is still a dependency). The test reads the sources with ``ast``, so it
sees every import without running any.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import vigil

PACKAGE = Path(vigil.__file__).parent

#: Each line imports only lines above it (and its own).
STAGES: tuple[frozenset[str], ...] = (
    frozenset(
        {
            "__init__",
            "errors",
            "settings",
            "fsutil",
            "records",
            "audit",
            "parallel",
            "netaddr",
            "keys",
        }
    ),
    frozenset({"media"}),
    frozenset({"signals"}),
    frozenset({"hashsets"}),
    frozenset({"index"}),
    frozenset({"store"}),
    frozenset({"services"}),
    frozenset({"scan", "review", "crawl", "exchange"}),
    frozenset({"report", "refer"}),
    frozenset({"web", "cli", "__main__"}),
)


def stage_of(top: str) -> int:
    """The rank of a top-level module or sub-package of ``vigil``."""
    for rank, names in enumerate(STAGES):
        if top in names:
            return rank
    raise AssertionError(f"vigil.{top} belongs to no stage: add it to STAGES and the docs")


def _top(module: Path) -> str:
    rel = module.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


def _imported(tree: ast.AST, module: Path) -> set[str]:
    """Top-level ``vigil`` sub-modules that a module imports, absolute or relative."""
    out: set[str] = set()
    package_parts = list(module.relative_to(PACKAGE).with_suffix("").parts)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_parts[: len(package_parts) - node.level]
                if module.name == "__init__.py":
                    base = package_parts[: len(package_parts) - node.level + 1][:-1] or base
                target = ".".join(["vigil", *base, *([node.module] if node.module else [])])
                names = [target]
            else:
                names = [node.module or ""]
                if node.module == "vigil":
                    names = [
                        f"vigil.{a.name}"
                        if (PACKAGE / a.name).is_dir() or (PACKAGE / f"{a.name}.py").exists()
                        else "vigil.__init__"
                        for a in node.names
                    ]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "vigil" and len(parts) > 1:
                out.add(parts[1])
    return out


def test_every_module_belongs_to_a_stage() -> None:
    for module in PACKAGE.rglob("*.py"):
        stage_of(_top(module))


def test_no_module_imports_a_later_stage() -> None:
    backward = []
    for module in sorted(PACKAGE.rglob("*.py")):
        own = stage_of(_top(module))
        tree = ast.parse(module.read_text(encoding="utf-8"))
        for top in sorted(_imported(tree, module)):
            if stage_of(top) > own:
                backward.append(f"{module.relative_to(PACKAGE)} imports vigil.{top}")
    assert not backward, "backward imports:\n" + "\n".join(backward)


#: Modules outside store/ that run SQL on a database that is not the store.
FOREIGN_SQL = {
    # NIST NSRL RDS v3 is itself a SQLite file: a list format, read like any other.
    "hashsets/formats/nsrl.py",
    # Autopsy / The Sleuth Kit hash databases (.kdb) are SQLite files too.
    "hashsets/formats/autopsy_kdb.py",
    # Their shared read-only, limited connection to such a file (issue 19).
    "hashsets/formats/sqlite_reader.py",
}


def test_no_sql_outside_the_store() -> None:
    """Raw SQL on the store lives in ``store/`` only."""
    statement = re.compile(
        r"\b(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP)\b[^\n]*\b(FROM|INTO|SET|TABLE)\b"
    )
    offenders = []
    for module in sorted(PACKAGE.rglob("*.py")):
        rel = str(module.relative_to(PACKAGE))
        if _top(module) == "store" or rel in FOREIGN_SQL:
            continue
        text = module.read_text(encoding="utf-8")
        if re.search(r"\bdb\.(execute|executemany|stream|script)\(", text) or statement.search(
            text
        ):
            offenders.append(str(module.relative_to(PACKAGE)))
    assert not offenders, "SQL outside store/: " + ", ".join(offenders)


#: What the thin layers (CLI, web) may take from the store directly: opening it and
#: where it is. Everything else goes through ``vigil.services`` and the use cases.
THIN = ("cli", "web")
STORE_DOORS = {
    "vigil.store": {"Store", "open_store"},
    "vigil.store.config": {"database_url", "vigil_home"},
}


def test_cli_and_web_reach_the_store_only_through_services() -> None:
    offenders = []
    for top in THIN:
        for module in sorted((PACKAGE / top).rglob("*.py")):
            tree = ast.parse(module.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    "vigil.store"
                ):
                    allowed = STORE_DOORS.get(node.module or "", set())
                    bad = [a.name for a in node.names if a.name not in allowed]
                    if bad:
                        offenders.append(f"{module.relative_to(PACKAGE)}: {node.module} {bad}")
                elif (
                    isinstance(node, ast.Attribute)
                    and node.attr in ("db", "cases", "hashsets")
                    and isinstance(node.value, ast.Name)
                    and node.value.id == "store"
                ):
                    offenders.append(f"{module.relative_to(PACKAGE)}: store.{node.attr}")
    assert not offenders, "the CLI or web reach into the store:\n" + "\n".join(offenders)
