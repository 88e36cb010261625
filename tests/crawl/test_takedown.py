"""Notices grouped by a contacts table, XARF v4 reports valid against the schemas, recheck."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

from tests.crawl.conftest import import_set, pictures, write_vics
from tests.crawl.site import Site
from vigil.crawl import CrawlUsageError
from vigil.crawl.contacts import Contacts
from vigil.crawl.crawler import CrawlRequest, crawl_case
from vigil.crawl.notices import NoticeRequest, write_notices
from vigil.crawl.recheck import RecheckRequest, recheck_case
from vigil.crawl.takedown import percentile, takedown
from vigil.hashsets.model import HashSetKind
from vigil.services.cases import CaseService
from vigil.store import Store
from vigil.store.crawl import CrawlRepository


def xarf_validator() -> Draft202012Validator:
    """The xarf package's own v4 JSON schemas (content-csam with its $refs)."""
    spec = importlib.util.find_spec("xarf")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("the xarf package (its JSON schemas) is not installed")
    root = Path(next(iter(spec.submodule_search_locations))) / "schemas"
    resources = []
    for path in root.rglob("*.json"):
        schema = json.loads(path.read_text(encoding="utf-8"))
        resources.append((schema["$id"], Resource.from_contents(schema)))
    registry = Registry().with_resources(resources)
    csam = json.loads((root / "types" / "content-csam.json").read_text(encoding="utf-8"))
    return Draft202012Validator(csam, registry=registry, format_checker=FormatChecker())


def contacts_csv(path: Path) -> Path:
    path.write_text(
        "match,provider,email\n"
        "127.0.0.0/8,Loopback Hosting,abuse@loopback.example\n"
        "127.0.0.2,Second Host,abuse@second.example\n"
        "example.org,Example Org,abuse@example.org\n",
        encoding="utf-8",
    )
    return path


def crawl(store: Store, site: Site, **kw: Any) -> None:
    crawl_case(
        store,
        CrawlRequest(
            seeds=(site.url("/"),), case="web", rate=0, allow_private=True, timeout=5, **kw
        ),
    )


def test_contacts_table_lookup(tmp_path: Path) -> None:
    contacts = Contacts.load(contacts_csv(tmp_path / "c.csv"))
    assert contacts.lookup("127.0.0.1", "127.0.0.1").provider == "Loopback Hosting"
    assert contacts.lookup("x", "127.0.0.2").provider == "Second Host"  # most specific
    assert contacts.lookup("cdn.example.org", None).provider == "Example Org"
    assert contacts.lookup("abc.onion", None).provider == "unknown provider"
    (tmp_path / "bad.csv").write_text("domain,who\nx,y\n", encoding="utf-8")
    with pytest.raises(CrawlUsageError, match="match,provider,email"):
        Contacts.load(tmp_path / "bad.csv")


def test_notices_grouped_by_provider_valid_xarf_then_recheck(
    store: Store, site: Site, tmp_path: Path
) -> None:
    known, other = pictures(3), pictures(1, start=50)
    import_set(store, write_vics(tmp_path / "known.json", known[:2], category="B2"), "graded")
    import_set(store, write_vics(tmp_path / "vics.json", known[2:], category="1"), "vics")
    site.html("/", '<img src="/k0.png"><img src="/k1.png"><img src="/k2.png"><img src="/u.png">')
    for i, data in enumerate(known):
        site.file(f"/k{i}.png", data)
    site.file("/u.png", other[0])
    crawl(store, site)
    out = tmp_path / "notices"
    notices = write_notices(
        store,
        NoticeRequest(
            case="web", contacts=contacts_csv(tmp_path / "c.csv"), out=out,
            reporter_org="Test Hotline", reporter_email="reports@hotline.example",
        ),
    )  # fmt: skip
    assert [n.contact.provider for n in notices] == ["Loopback Hosting"]
    notice = notices[0]
    assert sorted(notice.urls) == sorted(site.url(f"/k{i}.png") for i in range(3))
    assert notice.unclassified == [site.url("/k2.png")]  # VICS 1: no exact XARF equivalent
    validator = xarf_validator()
    assert len(notice.xarf) == 2
    for path in notice.xarf:
        report = json.loads(path.read_text(encoding="utf-8"))
        errors = sorted(validator.iter_errors(report), key=str)
        assert not errors, [e.message for e in errors]
        assert report["classification"] == "B2" and report["detection_method"] == "hash_match"
        assert report["category"] == "content" and report["type"] == "csam"
        assert report["source_identifier"] == "127.0.0.1"
        assert len(report["hash_values"]["sha256"]) == 64
    text = (notice.folder / "notice.txt").read_text(encoding="utf-8")
    assert "abuse@loopback.example" in text and site.url("/k0.png") in text
    assert site.url("/u.png") not in text
    # a second run notifies nothing new
    again = write_notices(
        store,
        NoticeRequest(
            case="web", contacts=tmp_path / "c.csv", out=tmp_path / "n2",
            reporter_org="Test Hotline", reporter_email="reports@hotline.example",
        ),
    )  # fmt: skip
    assert again == []

    # the host removes one picture, replaces another, keeps the third
    del site.routes["/k0.png"]
    site.file("/k1.png", other[0])
    outcome = recheck_case(store, RecheckRequest(case="web", allow_private=True, timeout=5))
    by_url = {c.url: c.outcome for c in outcome.checks}
    assert by_url == {
        site.url("/k0.png"): "gone",
        site.url("/k1.png"): "changed",
        site.url("/k2.png"): "present",
    }
    case = CaseService(store).require("web")
    figures = takedown(store, case.id)
    assert figures.notified == 3 and figures.removed == 2 and figures.still_online == 1
    assert figures.median_hours is not None and figures.median_hours >= 0
    actions = [e.action for e in CaseService(store).audit_log(case)]
    assert actions[-2:] == ["notices.write", "recheck"]
    assert len(CrawlRepository(store.db).checks(case.id)) == 3


def test_nearest_rank_percentile() -> None:
    assert percentile([5.0], 90) == 5.0
    assert percentile([float(i) for i in range(1, 11)], 90) == 9.0
    assert percentile([1.0, 2.0, 3.0], 50) == 2.0


def test_finds_only_on_a_watch_set_are_not_notified(
    store: Store, site: Site, tmp_path: Path
) -> None:
    known = pictures(2, start=30)
    import_set(store, write_vics(tmp_path / "a.json", known[:1]), "alerting")
    import_set(store, write_vics(tmp_path / "w.json", known[1:]), "watching", HashSetKind.watch)
    site.html("/", '<img src="/a.png"><img src="/w.png">')
    site.file("/a.png", known[0])
    site.file("/w.png", known[1])
    crawl(store, site)
    notices = write_notices(
        store,
        NoticeRequest(
            case="web", contacts=contacts_csv(tmp_path / "c.csv"), out=tmp_path / "out",
            reporter_org="Hotline", reporter_email="r@hotline.example",
        ),
    )  # fmt: skip
    assert [u for n in notices for u in n.urls] == [site.url("/a.png")]
