"""The report's takedown section: finds, notices, time to removal."""

from __future__ import annotations

from pathlib import Path

from tests.crawl.conftest import import_set, pictures, write_vics
from tests.crawl.site import Site
from vigil.crawl.crawler import CrawlRequest, crawl_case
from vigil.crawl.notices import NoticeRequest, write_notices
from vigil.crawl.recheck import RecheckRequest, recheck_case
from vigil.report.html import render_html, report_context
from vigil.services.cases import CaseService
from vigil.store import Store


def test_takedown_section(store: Store, site: Site, tmp_path: Path) -> None:
    known = pictures(2)
    import_set(store, write_vics(tmp_path / "known.json", known))
    site.html("/", '<img src="/k0.png"><img src="/k1.png">')
    site.file("/k0.png", known[0])
    site.file("/k1.png", known[1])
    crawl_case(
        store,
        CrawlRequest(seeds=(site.url("/"),), case="web", rate=0, allow_private=True, timeout=5),
    )
    contacts = tmp_path / "c.csv"
    contacts.write_text("match,provider,email\n127.0.0.1,Local Host,abuse@local.example\n")
    write_notices(
        store,
        NoticeRequest(
            case="web", contacts=contacts, out=tmp_path / "out",
            reporter_org="Hotline", reporter_email="r@hotline.example",
        ),
    )  # fmt: skip
    del site.routes["/k0.png"]
    recheck_case(store, RecheckRequest(case="web", allow_private=True, timeout=5))
    cases = CaseService(store)
    context = report_context(cases, cases.require("web"))
    takedown = context["takedown"]
    assert dict(takedown["stats"])["URLs notified"] == "2"
    assert dict(takedown["stats"])["still online"] == "1"
    assert dict(takedown["hours"])["median time to removal"].endswith(" h")
    statuses = {f["url"]: f["status"] for f in takedown["finds"]}
    assert statuses[site.url("/k0.png")].startswith("gone after")
    assert statuses[site.url("/k1.png")] == "online (present)"
    html = render_html(context)
    assert 'id="takedown-finds"' in html and site.url("/k1.png") in html


def test_a_case_without_a_crawl_says_so(store: Store) -> None:
    cases = CaseService(store)
    case, _ = cases.open("plain")
    context = report_context(cases, case)
    assert context["takedown"] is None
    assert "This case has no crawl." in render_html(context)
