"""Finding 3: results are sealed; ``vigil audit --verify`` names what was changed afterwards.

Editing ``case_items`` with sqlite3 (a match removed, an MD5 changed, a row deleted or
added) is caught and each item named; with a signing key, deleting the last audit
entries or rewriting the log is caught too.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.cli_runner import vigil
from tests.factory import image_bytes, picture
from tests.integrity.helpers import home_with_set
from vigil.audit import compare_seal, merkle_root, seal_items


def _case(tmp_path: Path) -> tuple[Path, Path]:
    known = [image_bytes("JPEG", picture(seed=s)) for s in (1, 2)]
    home = home_with_set(tmp_path, *known)
    evidence = tmp_path / "ev"
    evidence.mkdir()
    for i, data in enumerate(known):
        (evidence / f"known{i}.jpg").write_bytes(data)
    for i in range(3):
        (evidence / f"other{i}.png").write_bytes(image_bytes("PNG", picture(seed=10 + i)))
    scan = vigil("scan", str(evidence), "--case", "c", home=home)
    assert scan.returncode == 0, scan.stderr
    return home, evidence


def _verify(home: Path) -> tuple[int, str]:
    out = vigil("audit", "c", "--verify", home=home)
    return out.returncode, out.stderr


def test_editing_items_in_the_database_is_detected_and_named(tmp_path: Path) -> None:
    home, evidence = _case(tmp_path)
    assert _verify(home) == (0, _verify(home)[1]) and "intact" in _verify(home)[1]
    with sqlite3.connect(home / "vigil.sqlite3") as db:
        db.execute("UPDATE case_items SET matches = NULL WHERE path LIKE '%known0.jpg'")
        db.execute(
            "UPDATE case_item_signals SET value = '0' || substr(value, 2) WHERE signal = 'md5' "
            "AND (source, ord) IN "
            "(SELECT source, ord FROM case_items WHERE path LIKE '%other0.png')"
        )
        db.execute("DELETE FROM case_items WHERE path LIKE '%other1.png'")
    code, text = _verify(home)
    assert code == 1, text
    assert f"item changed after the seal of entry 2: {evidence / 'known0.jpg'}" in text
    assert f"item changed after the seal of entry 2: {evidence / 'other0.png'}" in text
    assert f"item removed after the seal of entry 2: {evidence / 'other1.png'}" in text
    with sqlite3.connect(home / "vigil.sqlite3") as db:
        db.execute(
            "INSERT INTO case_items SELECT case_id, 'x', ord, seq, 'x', container, depth, kind, "
            "size, mtime, ctime, atime, type, pdq_quality, "
            "link_target, known, notes, error, matches"
            + "".join(f", {c}" for c in _extra_columns(db))
            + " FROM case_items WHERE path LIKE '%other2.png'"
        )
    code, text = _verify(home)
    assert code == 1 and "item added after the seal of entry 2: x" in text


def _extra_columns(db: sqlite3.Connection) -> list[str]:
    """Columns another migration may have added after ``matches``."""
    names = [row[1] for row in db.execute("PRAGMA table_info(case_items)")]
    return names[names.index("matches") + 1 :]


def test_removing_the_last_audit_entry_is_detected(tmp_path: Path) -> None:
    home, _ = _case(tmp_path)
    with sqlite3.connect(home / "vigil.sqlite3") as db:
        db.execute("DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)")
    code, text = _verify(home)
    assert code == 1 and "not sealed" in text, text


def test_with_a_key_the_head_is_signed_and_truncation_or_rewriting_is_detected(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    assert vigil("keys", "generate", home=home).returncode == 0
    home, _ = _case(tmp_path)
    log = vigil("audit", "c", home=home).stdout.split("\n")
    assert [line.split()[3] for line in log if line] == ["scan.start", "scan.finish", "audit.sign"]
    assert _verify(home)[0] == 0
    db_path = home / "vigil.sqlite3"
    with sqlite3.connect(db_path) as db:
        db.execute("DELETE FROM audit_log WHERE seq >= 2")  # the finish and its signature
    code, text = _verify(home)
    assert code == 1 and "signed head 2 (kept beside the key): entry 2 is missing" in text, text


def test_a_log_rewritten_below_a_signed_head_is_detected(tmp_path: Path) -> None:
    """Whoever can write the database rewrites the log with a valid chain: the key catches it."""
    from vigil.audit import append
    from vigil.services.cases import CaseService
    from vigil.store import open_store

    home = tmp_path / "home"
    assert vigil("keys", "generate", home=home).returncode == 0
    home, _ = _case(tmp_path)
    with open_store(f"sqlite:///{home / 'vigil.sqlite3'}") as store:
        cases = CaseService(store, home)
        case = cases.require("c")
        entries = cases.audit_log(case)
    rewritten, last = [], None
    for e in entries:
        details = dict(e.details)
        if e.action == "scan.finish":
            details["matched_items"] = 0
        last = append(last, actor=e.actor, action=e.action, case=e.case, details=details)
        rewritten.append(last)
    with sqlite3.connect(home / "vigil.sqlite3") as db:
        db.execute("DELETE FROM audit_log")
        db.executemany(
            "INSERT INTO audit_log VALUES (1, ?, ?, ?, ?, ?, ?, ?)",
            [(e.seq, e.at, e.actor, e.action, __import__("json").dumps(e.details), e.prev, e.hash)
             for e in rewritten],
        )  # fmt: skip
    code, text = _verify(home)
    assert code == 1 and "chain" in text
    assert "entry 2 differs from the one signed (rewritten)" in text, text


records = st.lists(
    st.tuples(
        st.sampled_from(["/a", "/b", "/c"]),
        st.text(max_size=8),
        st.dictionaries(st.sampled_from(["md5", "size", "error"]), st.integers(), max_size=3),
    ),
    max_size=20,
)


@settings(max_examples=60, deadline=None)
@given(records, st.data())
def test_a_seal_names_exactly_the_items_that_differ(items: list, data: st.DataObject) -> None:
    seal = seal_items(items)
    assert compare_seal(seal, items).intact
    if not items:
        return
    i = data.draw(st.integers(0, len(items) - 1))
    source, path, record = items[i]
    edited = [
        *items[:i],
        (source, path, {**record, "md5": -1 - abs(record.get("md5", 0))}),
        *items[i + 1 :],
    ]
    check = compare_seal(seal, edited)
    assert not check.intact and check.changed == [path] and not check.added
    assert merkle_root([]) != seal["root"] or not items


def test_report_and_referral_sign_the_head_and_the_report_prints_it(tmp_path: Path) -> None:
    import json
    import zipfile

    home = tmp_path / "home"
    assert vigil("keys", "generate", home=home).returncode == 0
    home, _ = _case(tmp_path)
    report = vigil("report", "c", "--out", str(tmp_path / "r"), home=home)
    assert report.returncode == 0, report.stderr
    html = (tmp_path / "r" / "report.html").read_text()
    signs = [json.loads(line) for line in (home / "signed-heads.jsonl").read_text().splitlines()]
    assert [s["reason"] for s in signs] == ["scan.finish", "report"]
    assert signs[-1]["signature"] in html and signs[-1]["hash"] in html
    facts = tmp_path / "facts.toml"
    from tests.integrity.test_timestamps import FACTS

    facts.write_text(FACTS)
    refer = vigil("refer", "c", "--to", "Partner", "--out", str(tmp_path / "p.zip"),
                  "--facts", str(facts), home=home)  # fmt: skip
    assert refer.returncode == 0, refer.stderr
    with zipfile.ZipFile(tmp_path / "p.zip") as package:
        head = json.loads(package.read("audit-head.json"))
    assert head["reason"] == "refer" and head["case"] == "c"
    assert _verify(home)[0] == 0


@settings(max_examples=60, deadline=None)
@given(records, st.data())
def test_a_seal_names_exactly_the_item_removed_or_added(items: list, data: st.DataObject) -> None:
    unique = list({(s, p): (s, p, r) for s, p, r in items}.values())
    seal = seal_items(unique)
    if unique:
        i = data.draw(st.integers(0, len(unique) - 1))
        check = compare_seal(seal, unique[:i] + unique[i + 1 :])
        assert check.removed == [unique[i][1]] and not check.changed and not check.added
    extra = ("/new", "added.jpg", {"md5": 1})
    check = compare_seal(seal, [*unique, extra])
    assert check.added == ["added.jpg"] and not check.removed and not check.changed


def test_the_seal_holds_and_catches_an_edit_on_postgresql(tmp_path: Path) -> None:
    import psycopg

    from tests.stores import postgres_schema_url

    evidence = tmp_path / "ev"
    evidence.mkdir()
    for i in range(3):
        (evidence / f"p{i}.png").write_bytes(image_bytes("PNG", picture(seed=20 + i)))
    for url in postgres_schema_url():
        home = tmp_path / "home"
        scan = vigil("scan", str(evidence), "--case", "c", home=home, database_url=url)
        assert scan.returncode == 0, scan.stderr
        ok = vigil("audit", "c", "--verify", home=home, database_url=url)
        assert ok.returncode == 0, ok.stderr
        with psycopg.connect(url, autocommit=True) as db:
            db.execute("UPDATE case_items SET size = size + 1 WHERE path LIKE '%p1.png'")
        bad = vigil("audit", "c", "--verify", home=home, database_url=url)
        assert (
            bad.returncode == 1
            and f"item changed after the seal of entry 2: {evidence / 'p1.png'}" in bad.stderr
        )
