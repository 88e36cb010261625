"""``vigil hashset import --mode merge|replace|remove``: updates applied to a set, on both stores.

Each test writes real list files, imports them through the service (or the CLI), and
asks the one matcher (``open_snapshot``) what matches afterwards.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hashsets.helpers import rewrite
from vigil.cli.main import cli
from vigil.errors import InvalidRecordError, UnknownHashSetError, UsageError
from vigil.hashsets.model import Entry, HashSetInfo
from vigil.services.hashsets import HashSets
from vigil.services.matcher import Matcher, Query, open_snapshot
from vigil.store import Store, open_store
from vigil.store import hashsets as hashsets_store
from vigil.store.hashset_history import HistoryEvent

rng = np.random.default_rng(20)


def md5() -> str:
    return rng.bytes(16).hex()


def sha1() -> str:
    return rng.bytes(20).hex()


def pdq() -> str:
    return rng.bytes(32).hex()


def live(store: Store, query: Query) -> list[tuple[str, int, str | None]]:
    """What the matcher finds now: (set, entry, category)."""
    snap = open_snapshot(store)
    return [(f.hashset, f.entry_no, f.category) for f in Matcher(snap, store).match(query)]


def state(store: Store, name: str) -> tuple[list[Entry], int, int]:
    """A set's entries, history length and disabled marks: what 'unchanged' compares."""
    sets = HashSets(store)
    return list(sets.entries(name)), len(sets.history(name)), len(sets.disabled())


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with open_store(store_url) as opened:
        yield opened


def test_merge_adds_and_updates_and_the_matcher_sees_it(store: Store, tmp_path: Path) -> None:
    a, b, p = md5(), md5(), pdq()
    base = rewrite(
        "vics", [Entry(md5=a, category="1"), Entry(md5=b, category="1")], tmp_path / "base.json"
    )
    sets = HashSets(store)
    sets.import_file(base, name="L")
    assert live(store, Query(md5=b)) == [("L", 1, "1")]
    c = md5()
    update = rewrite(
        "vics",
        [Entry(md5=b, category="2", series="S"), Entry(md5=c, category="1"), Entry(pdq=p)],
        tmp_path / "update.json",
    )
    report = sets.import_file(update, name="L", mode="merge")
    assert report.changes == {"added": 2, "updated": 1, "removed": 0}
    assert report.info.entry_count == 4
    # the updated entry keeps its number, with the new category, in the digest index too
    assert live(store, Query(md5=b)) == [("L", 1, "2")]
    assert live(store, Query(md5=c)) == [("L", 2, "1")]
    assert live(store, Query(pdq=p)) == [("L", 3, None)]  # the PDQ index picked it up
    assert live(store, Query(md5=a)) == [("L", 0, "1")]  # untouched
    entries = list(sets.entries("L"))
    assert entries[1].series == "S" and entries[1].category == "2"
    # the history: the replace and the merge, with the file's SHA-256
    events = sets.history("L")
    assert [e.mode for e in events] == ["replace", "merge"]
    assert events[1].sha256 == hashlib.sha256(update.read_bytes()).hexdigest()
    assert events[1].file == str(update.resolve())
    assert (events[1].added, events[1].updated, events[1].removed) == (2, 1, 0)
    assert events[1].entries_after == 4
    # merging the same file again changes nothing, but is recorded
    again = sets.import_file(update, name="L", mode="merge")
    assert again.changes == {"added": 0, "updated": 0, "removed": 0}
    assert again.info.entry_count == 4


def test_remove_withdraws_for_ever_and_numbers_are_not_reused(store: Store, tmp_path: Path) -> None:
    a, b, p = md5(), md5(), pdq()
    base = rewrite(
        "vics", [Entry(md5=a), Entry(md5=b), Entry(md5=md5(), pdq=p)], tmp_path / "base.json"
    )
    sets = HashSets(store)
    sets.import_file(base, name="L")
    assert live(store, Query(pdq=p)) == [("L", 2, None)]
    withdrawal = tmp_path / "withdrawn.md5"
    withdrawal.write_text(f"{a}  one.jpg\n{md5()}  not-in-the-set.jpg\n")
    report = sets.import_file(withdrawal, name="L", mode="remove")
    assert report.changes == {"added": 0, "updated": 0, "removed": 1}
    assert live(store, Query(md5=a)) == []
    assert live(store, Query(md5=b)) == [("L", 1, None)]
    # a PDQ-only withdrawal list stops the near match too
    pdq_list = rewrite("vics", [Entry(pdq=p)], tmp_path / "pdq.json")
    assert sets.import_file(pdq_list, name="L", mode="remove").changes["removed"] == 1
    assert live(store, Query(pdq=p)) == []
    # removing again finds nothing live
    assert sets.import_file(withdrawal, name="L", mode="remove").changes["removed"] == 0
    # merging the withdrawn item back gives it a new number; the old stays withdrawn
    back = rewrite("vics", [Entry(md5=a, category="3")], tmp_path / "back.json")
    merged = sets.import_file(back, name="L", mode="merge")
    assert merged.changes == {"added": 1, "updated": 0, "removed": 0}
    assert live(store, Query(md5=a)) == [("L", 3, "3")]
    events = sets.history("L")
    assert [e.mode for e in events] == ["replace", "remove", "remove", "remove", "merge"]
    assert events[-1].entries_after == 2  # b and the merged-back a (entries 1 and 3)


def test_the_identity_rule(store: Store, tmp_path: Path) -> None:
    x, y, s256 = md5(), sha1(), rng.bytes(32).hex()
    sets = HashSets(store)
    sets.import_file(rewrite("vics", [Entry(md5=x, sha1=y)], tmp_path / "b.json"), name="L")
    # same MD5, a different SHA-1: a different item (an MD5 collision), appended
    other = rewrite("vics", [Entry(md5=x, sha1=sha1())], tmp_path / "o.json")
    assert sets.import_file(other, name="L", mode="merge").changes["added"] == 1
    # the SHA-1 alone names the first entry; its SHA-256 is added in place
    more = rewrite("vics", [Entry(sha1=y, sha256=s256, category="2")], tmp_path / "m.json")
    report = sets.import_file(more, name="L", mode="merge")
    assert report.changes == {"added": 0, "updated": 1, "removed": 0}
    assert live(store, Query(sha256=s256)) == [("L", 0, "2")]
    assert live(store, Query(sha1=y)) == [("L", 0, "2")]
    # a near-match signal the entry lacked: the entry is superseded by the union
    p = pdq()
    rewrite("vics", [Entry(sha1=y, pdq=p)], tmp_path / "p.json")
    report = sets.import_file(tmp_path / "p.json", name="L", mode="merge")
    assert report.changes["updated"] == 1
    assert live(store, Query(pdq=p)) == [("L", 2, "2")]
    assert live(store, Query(sha1=y)) == [("L", 2, "2")]  # entry 0 is withdrawn
    # an MD5 in both of the set's entries 1 and 2: a removal by MD5 takes both
    gone = tmp_path / "gone.md5"
    gone.write_text(f"{x}  f\n")
    assert sets.import_file(gone, name="L", mode="remove").changes["removed"] == 2
    assert live(store, Query(md5=x)) == []


def test_every_mode_is_atomic(store: Store, tmp_path: Path) -> None:
    a = md5()
    sets = HashSets(store)
    sets.import_file(rewrite("vics", [Entry(md5=a)], tmp_path / "b.json"), name="L")
    before = state(store, "L")
    bad = tmp_path / "bad.md5"
    bad.write_text(f"{md5()}  new.jpg\n{a}  old.jpg\nnot-a-hash  x\n")
    for mode in ("merge", "remove", "replace"):
        with pytest.raises(InvalidRecordError):
            sets.import_file(bad, name="L", mode=mode)
        assert state(store, "L") == before

    # Ctrl-C in the middle of a merge
    def interrupted() -> Iterator[Entry]:
        yield Entry(md5=md5())
        yield Entry(md5=a, category="9")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.hashsets.apply("L", interrupted(), HistoryEvent(mode="merge"))
    assert state(store, "L") == before
    assert live(store, Query(md5=a)) == [("L", 0, None)]


def test_modes_refuse_what_they_cannot_do(store: Store, tmp_path: Path) -> None:
    listed = tmp_path / "l.md5"
    listed.write_text(f"{md5()}  f\n")
    sets = HashSets(store)
    with pytest.raises(UnknownHashSetError):
        sets.import_file(listed, name="NOPE", mode="remove")
    with pytest.raises(UsageError, match="unknown import mode"):
        sets.import_file(listed, name="L", mode="upsert")
    # merging into a set that does not exist creates it, recorded as a merge
    report = sets.import_file(listed, name="L", mode="merge")
    assert report.info.entry_count == 1
    assert [e.mode for e in sets.history("L")] == ["merge"]


def test_a_replace_after_a_merge_is_not_unchanged(store: Store, tmp_path: Path) -> None:
    base = tmp_path / "base.md5"
    base.write_text(f"{md5()}  a\n")
    more = tmp_path / "more.md5"
    more.write_text(f"{md5()}  b\n")
    sets = HashSets(store)
    sets.import_file(base, name="L")
    assert sets.import_file(base, name="L").unchanged
    sets.import_file(more, name="L", mode="merge")
    report = sets.import_file(base, name="L")
    assert not report.unchanged and report.info.entry_count == 1
    assert [e.mode for e in sets.history("L")] == ["replace", "merge", "replace"]
    assert sets.history("L")[-1].removed == 2  # the whole set it replaced
    sets.delete_set("L")
    sets.import_file(base, name="L")
    assert [e.mode for e in sets.history("L")] == ["replace"]  # deleted with the set


def test_the_command_line(store_url: str, tmp_path: Path) -> None:
    runner = CliRunner()

    def run(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(cli(), ["hashset", *args], catch_exceptions=False)

    a, b = md5(), md5()
    base = tmp_path / "base.md5"
    base.write_text(f"{a}  a\n{b}  b\n")
    assert run("import", str(base), "--into", "L").exit_code == 0
    extra = tmp_path / "extra.md5"
    extra.write_text(f"{md5()}  c\n")
    result = run("import", str(extra), "--into", "L", "--mode", "merge")
    assert result.exit_code == 0, result.output
    assert "L: merge: 1 added, 0 updated, 0 removed (3 entries)" in result.output
    withdrawn = tmp_path / "withdrawn.md5"
    withdrawn.write_text(f"{a}  a\n")
    result = run("import", str(withdrawn), "--into", "L", "--mode", "remove")
    assert "L: remove: 0 added, 0 updated, 1 removed (3 entries)" in result.output
    shown = json.loads(run("show", "L", "--history", "--json").output)
    assert [(e["mode"], e["added"], e["removed"]) for e in shown["history"]] == [
        ("replace", 2, 0),
        ("merge", 1, 0),
        ("remove", 0, 1),
    ]
    assert shown["history"][2]["sha256"] == hashlib.sha256(withdrawn.read_bytes()).hexdigest()
    text = run("show", "L", "--history").output
    assert "history:" in text and str(withdrawn.resolve()) in text
    bad = run("import", str(extra), "--into", "NOPE", "--mode", "remove")
    assert bad.exit_code == 2 and "no hash set named 'NOPE'" in bad.output
    kind = run("import", str(extra), "--into", "L", "--mode", "merge", "--kind", "ignore")
    assert kind.exit_code == 2
    with open_store(store_url) as store:
        assert live(store, Query(md5=a)) == [] and live(store, Query(md5=b)) == [("L", 1, None)]


# -- the batched merge against a plain model of the rule ------------------------------

_MD5S = [f"{i:032x}" for i in range(1, 4)]
_SHA1S = [f"{i:040x}" for i in range(1, 4)]
_entries = st.builds(
    lambda m, s, c: Entry(md5=m, sha1=s, category=c),
    st.sampled_from([None, *_MD5S]),
    st.sampled_from([None, *_SHA1S]),
    st.sampled_from([None, "1", "2"]),
).filter(lambda e: bool(e.hashes()))


def _model(rows: list[list[object]], dead: set[int], entries: list[Entry], mode: str) -> None:
    """The rule, one entry at a time, on plain lists: [signals, category] per entry."""
    for e in entries:
        mine = e.hashes()
        matches: list[int] = []
        for t in ("sha1", "md5"):
            if t in mine:
                matches = [
                    no
                    for no, (sig, _) in enumerate(rows)
                    if no not in dead
                    and sig.get(t) == mine[t]  # type: ignore[attr-defined]
                    and all(sig.get(k, v) == v for k, v in mine.items())  # type: ignore[attr-defined]
                ]
                if matches:
                    break
        if mode == "remove":
            dead.update(matches)
        elif not matches:
            rows.append([dict(mine), e.category])
        for no in matches if mode == "merge" else ():
            sig, cat = rows[no]
            rows[no] = [{**mine, **sig}, e.category if e.category is not None else cat]  # type: ignore[dict-item]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    base=st.lists(_entries, max_size=6),
    steps=st.lists(
        st.tuples(st.sampled_from(["merge", "remove"]), st.lists(_entries, max_size=7)),
        max_size=4,
    ),
)
def test_batches_decide_as_one_entry_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, base: list[Entry], steps: list
) -> None:
    """Chunks of 3 (entries of one chunk naming each other) give what the plain rule gives."""
    monkeypatch.setattr(hashsets_store, "_APPLY_CHUNK", 3)
    rows: list[list[object]] = [[e.hashes(), e.category] for e in base]
    dead: set[int] = set()
    with open_store(f"sqlite:///{tmp_path / f'{uuid.uuid4().hex}.sqlite3'}") as opened:
        opened.hashsets.replace(HashSetInfo(name="L"), base or [Entry(md5=_MD5S[0])])
        if not base:
            rows = [[{"md5": _MD5S[0]}, None]]
        for mode, entries in steps:
            opened.hashsets.apply("L", entries, HistoryEvent(mode=mode))
            _model(rows, dead, entries, mode)
        stored = [[e.hashes(), e.category] for e in opened.hashsets.entries("L")]
        disabled = {no for (_, no) in HashSets(opened).disabled()}
    assert stored == rows
    assert disabled == dead
