"""Applying deltas: atomic with the checkpoint, provenance kept, withdrawals stop matching.

Runs on SQLite and PostgreSQL. The property test drives any history of batches
(upserts, updates, deletes, repeats, full snapshots) against a plain dict model: the
live entries the matcher sees are always the model's, each partner id is live at most
once, entry numbers only grow.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vigil.errors import StoreError
from vigil.services.matcher import open_snapshot
from vigil.store import open_store
from vigil.store.curation import Curation
from vigil.store.exchanges import Delta, ExchangeRepository

MD5S = [f"{i:032x}" for i in range(1, 9)]


def live_md5s(store, set_name):
    """The (md5, category) of the set's entries that are not disabled."""
    info = store.hashsets.require(set_name)
    disabled = Curation(store.db).disabled()
    out = []
    for n, entry in enumerate(store.hashsets.entries(set_name)):
        if (info.id, n) not in disabled:
            out.append((entry.signals["md5"], entry.category))
    return sorted(out, key=repr)


def test_batch_applies_with_its_checkpoint(store_url):
    with open_store(store_url) as store:
        repo = ExchangeRepository(store.db)
        ex = repo.add("partner", "file", "/x", "FROM_PARTNER", {})
        a = repo.apply_batch(
            ex, [Delta("1", {"md5": MD5S[0]}, "A1"), Delta("2", {"md5": MD5S[1]})], {"n": 1}
        )
        assert (a.added, a.updated, a.withdrawn) == (2, 0, 0)
        assert repo.require("partner").checkpoint == {"n": 1}
        # an update appends the new version and disables the old; a delete disables
        b = repo.apply_batch(ex, [Delta("1", {"md5": MD5S[0]}, "B1"), Delta("2", None)], {"n": 2})
        assert (b.added, b.updated, b.withdrawn) == (0, 1, 1)
        assert live_md5s(store, "FROM_PARTNER") == [(MD5S[0], "B1")]
        prov = repo.provenance("FROM_PARTNER")
        assert {p["partner_id"] for p in prov.values()} == {"1", "2"}
        assert prov[2]["live"] and prov[2]["exchange"] == "partner"
        assert not prov[1]["live"]
        # a repeat changes nothing
        c = repo.apply_batch(ex, [Delta("1", {"md5": MD5S[0]}, "B1")], {"n": 3})
        assert c.unchanged == 1 and store.hashsets.require("FROM_PARTNER").entry_count == 3


def test_withdrawn_entry_stops_matching(store_url, tmp_path):
    with open_store(store_url) as store:
        repo = ExchangeRepository(store.db)
        ex = repo.add("partner", "file", "/x", "FROM_PARTNER", {})
        repo.apply_batch(ex, [Delta("1", {"md5": MD5S[0]})], None)
        snap = open_snapshot(store, tmp_path / "idx")
        from vigil.services.matcher import Matcher, Query

        hits = Matcher(snap, store).match(Query.of_hash("md5", MD5S[0]))
        assert [h.hashset for h in hits] == ["FROM_PARTNER"]
        repo.apply_batch(ex, [Delta("1", None)], None)
        snap = open_snapshot(store, tmp_path / "idx")
        assert Matcher(snap, store).match(Query.of_hash("md5", MD5S[0])) == []


def test_failed_batch_leaves_set_and_checkpoint(store_url):
    with open_store(store_url) as store:
        repo = ExchangeRepository(store.db)
        ex = repo.add("partner", "file", "/x", "FROM_PARTNER", {})
        repo.apply_batch(ex, [Delta("1", {"md5": MD5S[0]})], {"n": 1})
        bad = Delta("2", {"md5": "zz"})  # not hex: fails inside the transaction
        with pytest.raises((ValueError, StoreError)):
            repo.apply_batch(ex, [Delta("3", {"md5": MD5S[2]}), bad], {"n": 2})
        assert repo.require("partner").checkpoint == {"n": 1}
        assert live_md5s(store, "FROM_PARTNER") == [(MD5S[0], None)]
        assert repo.known_ids(ex) == ["1"]


def test_full_snapshot_withdraws_what_it_does_not_name(store_url):
    with open_store(store_url) as store:
        repo = ExchangeRepository(store.db)
        ex = repo.add("partner", "file", "/x", "FROM_PARTNER", {})
        repo.apply_batch(ex, [Delta(str(i), {"md5": MD5S[i]}) for i in range(3)], None)
        r = repo.apply_batch(ex, [Delta("1", {"md5": MD5S[1]})], None, full_snapshot=True)
        assert (r.withdrawn, r.unchanged) == (2, 1)
        assert live_md5s(store, "FROM_PARTNER") == [(MD5S[1], None)]


delta = st.builds(
    lambda pid, md5, cat, gone: Delta(str(pid), None if gone else {"md5": MD5S[md5]}, cat),
    st.integers(0, 5),
    st.integers(0, 7),
    st.sampled_from([None, "A1", "B2"]),
    st.booleans(),
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(history=st.lists(st.tuples(st.lists(delta, max_size=6), st.booleans()), max_size=6))
def test_any_history_matches_the_model(store_url, history):
    with open_store(store_url) as store:
        repo = ExchangeRepository(store.db)
        name = f"p{abs(hash(repr(history))) % 10**9}"
        if repo.get(name) is not None:
            return
        ex = repo.add(name, "file", "/x", f"S{name}", {})
        model: dict[str, tuple[str, str | None]] = {}
        top = -1
        for n, (deltas, full) in enumerate(history):
            repo.apply_batch(ex, deltas, {"n": n}, full_snapshot=full)
            batch_model = dict(model)
            for d in deltas:
                if d.signals is None:
                    batch_model.pop(d.partner_id, None)
                else:
                    batch_model[d.partner_id] = (d.signals["md5"], d.category)
            if full:
                named = {d.partner_id for d in deltas}
                batch_model = {k: v for k, v in batch_model.items() if k in named}
            model = batch_model
            assert repo.require(name).checkpoint == {"n": n}
            if store.hashsets.get(f"S{name}") is None:
                assert not model
                continue
            assert live_md5s(store, f"S{name}") == sorted(model.values(), key=repr)
            assert sorted(repo.known_ids(ex)) == sorted(model)
            now_top = store.hashsets.top_entry(store.hashsets.require(f"S{name}").id)
            assert now_top >= top
            top = now_top


def test_a_second_pull_of_the_same_exchange_stops(store_url):
    """Two pulls read the same checkpoint; the one that commits second is refused."""
    with open_store(store_url) as one, open_store(store_url) as two:
        first, second = ExchangeRepository(one.db), ExchangeRepository(two.db)
        ex1 = first.add("partner", "file", "/x", "FROM_PARTNER", {})
        ex2 = second.require("partner")
        first.apply_batch(ex1, [Delta("1", {"md5": MD5S[0]})], {"n": 1})
        with pytest.raises(StoreError, match="another pull"):
            second.apply_batch(ex2, [Delta("1", {"md5": MD5S[0]})], {"n": 1})
        assert first.require("partner").checkpoint == {"n": 1}
        assert first.known_ids(ex1) == ["1"]
