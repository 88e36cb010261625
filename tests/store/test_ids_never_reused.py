"""Ids are never reused, and deleting a set takes its per-set rows with it (both stores).

The bug this guards against (issue 10): disable entry 0 of set A, delete A, create B:
SQLite gave B the id A had, so B's entry 0 inherited A's disabled mark and the
service silently never matched it.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.errors import UsageError
from vigil.hashsets.model import Entry, HashSetInfo, HashSetKind
from vigil.store import open_store
from vigil.store.apikeys import ApiKeyRepository
from vigil.store.curation import Curation

MD5 = "0123456789abcdef0123456789abcdef"


def test_disabled_mark_does_not_pass_to_a_new_set(store_url: str) -> None:
    with open_store(store_url) as store:
        curation = Curation(store.db)
        a = curation.create_set("A")
        curation.add_entry("A", {"md5": MD5})
        curation.set_disabled("A", 0, True)
        assert (a.id, 0) in curation.disabled()
        assert store.hashsets.delete("A")
        b = curation.create_set("B")
        curation.add_entry("B", {"md5": MD5})
        assert b.id != a.id
        assert (b.id, 0) not in curation.disabled()
        assert curation.disabled() == {}


def test_newest_set_deleted_then_recreated_gets_a_new_id(store_url: str) -> None:
    with open_store(store_url) as store:
        first = store.hashsets.replace(HashSetInfo(name="A"), [Entry(md5=MD5)])
        store.hashsets.delete("A")
        second = store.hashsets.replace(HashSetInfo(name="A"), [Entry(md5=MD5)])
        assert second.id != first.id


def test_reimport_drops_the_old_sets_disabled_marks(store_url: str) -> None:
    with open_store(store_url) as store:
        curation = Curation(store.db)
        curation.create_set("A")
        curation.add_entry("A", {"md5": MD5})
        curation.set_disabled("A", 0, True)
        store.hashsets.replace(HashSetInfo(name="A", kind=HashSetKind.alert), [Entry(md5=MD5)])
        assert curation.disabled() == {}


def test_case_and_key_ids_are_not_reused(store_url: str) -> None:
    with open_store(store_url) as store:
        case, _ = store.cases.open("c1")
        store.db.execute("DELETE FROM cases WHERE id = ?", (case.id,))
        again, created = store.cases.open("c1")
        assert created and again.id != case.id
        keys = ApiKeyRepository(store.db)
        keys.create("k", "matcher")
        before = store.db.execute("SELECT MAX(id) FROM api_keys")[0][0]
        store.db.execute("DELETE FROM api_keys")
        keys.create("k", "matcher")
        assert store.db.execute("SELECT MAX(id) FROM api_keys")[0][0] != before


def test_create_set_refuses_an_existing_name_and_keeps_it(store_url: str) -> None:
    with open_store(store_url) as store:
        curation = Curation(store.db)
        curation.create_set("A")
        curation.add_entry("A", {"md5": MD5})
        with pytest.raises(UsageError, match="exists"):
            curation.create_set("A")
        assert store.hashsets.require("A").entry_count == 1


_OPS = st.lists(
    st.one_of(
        st.just(("create", 0)),
        st.tuples(st.just("delete"), st.integers(0, 5)),
        st.tuples(st.just("disable"), st.integers(0, 5)),
        st.tuples(st.just("reimport"), st.integers(0, 5)),
    ),
    max_size=25,
)


@settings(max_examples=40, deadline=None)
@given(_OPS)
def test_any_history_of_sets_keeps_ids_fresh_and_marks_live(ops: list[tuple[str, int]]) -> None:
    """Whatever sets are created, deleted, re-imported and disabled: ids only grow, and
    every disabled mark belongs to a live set's existing entry."""
    with open_store("sqlite:///:memory:") as store:
        curation = Curation(store.db)
        issued: list[int] = []
        names: list[str] = []
        for op, n in ops:
            live = [s.name for s in store.hashsets.list()]
            if op == "create":
                name = f"s{len(names)}"
                names.append(name)
                issued.append(int(curation.create_set(name).id or 0))
                curation.add_entry(name, {"md5": MD5})
            elif live:
                name = live[n % len(live)]
                if op == "delete":
                    curation.delete_set(name)
                elif op == "disable":
                    curation.set_disabled(name, 0, True)
                else:
                    info = store.hashsets.replace(HashSetInfo(name=name), [Entry(md5=MD5)])
                    issued.append(int(info.id or 0))
        assert issued == sorted(set(issued))
        live_ids = {int(s.id or 0) for s in store.hashsets.list()}
        assert {set_id for set_id, _ in curation.disabled()} <= live_ids
