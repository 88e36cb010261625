"""The case use cases the others build on: open a case, record what was done, read it back.

Every action on a case (a scan started, resumed, stopped or finished; a report, an
export, a referral) goes to the case's hash-chained audit log through ``record``, so
the rule "every action leaves an audit entry" lives in one place, not in each
command. The scan (``vigil.scan.case_scan``), the report and the referral call this;
the CLI and the web routes call those, never the store's case tables.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from typing import Any

from vigil.audit import AuditEntry, head, verify_chain
from vigil.records import ScanItem
from vigil.store import Store
from vigil.store.cases import Case, UnknownCaseError

__all__ = ["Case", "CaseService", "UnknownCaseError", "current_user"]


def current_user() -> str:
    """The operating-system user, the actor of an action when no examiner is named."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return "unknown"


class CaseService:
    """Cases of one store: open, record actions, read items and the audit log."""

    def __init__(self, store: Store) -> None:
        """Work on ``store`` (open, migrated)."""
        self.store = store
        self.repo = store.cases

    def open(self, name: str, *, examiner: str | None = None) -> tuple[Case, bool]:
        """The case called ``name``, created if new; and whether it was created."""
        return self.repo.open(name, examiner=examiner)

    def require(self, name: str) -> Case:
        """The case called ``name``, or UnknownCaseError listing the cases there are."""
        return self.repo.require(name)

    def record(
        self, case: Case, action: str, details: dict[str, Any], actor: str | None = None
    ) -> AuditEntry:
        """Append one action to the case's audit log (actor: the OS user by default)."""
        return self.repo.audit(case, actor or current_user(), action, details)

    def save_settings(self, case: Case, settings: dict[str, Any]) -> None:
        """Replace the case's settings (evidence roots, hash sets with versions, options)."""
        self.repo.save_settings(case, settings)

    def items(self, case: Case, *, matches_only: bool = False) -> Iterator[ScanItem]:
        """The case's items in walk order (``duplicate_of`` set for exact duplicates)."""
        return self.repo.items(case, matches_only=matches_only)

    def counts(self, case: Case) -> dict[str, int]:
        """Sources and items recorded so far."""
        return self.repo.counts(case)

    def duplicate_count(self, case: Case) -> int:
        """Files that are exact copies (same SHA-256) of a file found earlier in the case."""
        return self.repo.duplicate_count(case)

    def done_sources(self, case: Case) -> dict[str, tuple[int | None, float | None]]:
        """Sources already recorded (for resuming a scan)."""
        return self.repo.done_sources(case)

    def audit_log(self, case: Case) -> list[AuditEntry]:
        """The case's audit log in stored order."""
        return self.repo.audit_log(case)

    def verify_audit(self, case: Case) -> tuple[list[AuditEntry], list[str], str]:
        """The log, what is wrong with its chain (empty: intact), and its head digest."""
        entries = self.audit_log(case)
        return entries, verify_chain(entries), head(entries)
