"""``crawl_case`` against a local site: what is fetched, followed, matched and recorded."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.crawl.conftest import import_set, pictures, write_vics
from tests.crawl.site import Page, Site
from vigil.crawl import CrawlUsageError
from vigil.crawl.crawler import CrawlRequest, crawl_case
from vigil.services.cases import CaseService
from vigil.store import Store
from vigil.store.crawl import CrawlRepository


def request(site: Site, **kw: object) -> CrawlRequest:
    options: dict[str, object] = {
        "seeds": (site.url("/"),), "case": "web", "rate": 0, "allow_private": True,
        "timeout": 5.0, "backoff": 0.05,
    }  # fmt: skip
    options.update(kw)
    return CrawlRequest(**options)  # type: ignore[arg-type]


def build_site(site: Site, known: list[bytes], unknown: list[bytes]) -> None:
    """Pages with known and unknown pictures, every way a page can show or link one."""
    site.html(
        "/",
        """<html><head><meta property="og:image" content="/img/k0.png"></head><body>
        <a href="/a.html">a</a> <a href="b.html#top">b</a>
        <a href="http://example.invalid/out.html">out of scope</a>
        <a href="/loop.html">loop</a> <a href="/start">redirects</a>
        <img src="img/u0.png"></body></html>""",
    )
    site.html(
        "/a.html",
        f"""<picture><source srcset="/img/k1.png 1x, {site.url("/img/u1.png")} 2x"></picture>
        <a href="/">home</a> <a href="/img/k2.png">a picture, linked</a>""",
    )
    site.html("/b.html", '<img srcset="/img/k0.png 100w, /img/u0.png 200w"><a href="/a.html">a</a>')
    site.html("/loop.html", '<a href="/loop.html">me</a> <a href="/./loop.html">me again</a>')
    site.redirect("/start", "/hop")
    site.redirect("/hop", site.url("/end.html"), 301)
    site.html("/end.html", '<img src="/img/k3.png">')
    for i, data in enumerate(known):
        site.file(f"/img/k{i}.png", data, "text/plain")  # Content-Type lies: sniffed
    for i, data in enumerate(unknown):
        site.file(f"/img/u{i}.png", data)


def test_finds_exactly_the_matching_pictures_with_their_pages(
    store: Store, site: Site, tmp_path: Path
) -> None:
    known, unknown = pictures(4), pictures(2, start=100)
    import_set(store, write_vics(tmp_path / "known.json", known))
    build_site(site, known, unknown)
    outcome = crawl_case(store, request(site))
    repo = CrawlRepository(store.db)
    media = {u.url: u for u in repo.urls(outcome.case.id, kind="media")}
    matched = {u for u, row in media.items() if row.matches}
    assert matched == {site.url(f"/img/k{i}.png") for i in range(4)}
    assert {site.url(f"/img/u{i}.png") for i in range(2)} <= set(media)
    row = media[site.url("/img/k1.png")]
    assert row.sha256 == hashlib.sha256(known[1]).hexdigest()
    assert row.hashes["md5"] == hashlib.md5(known[1]).hexdigest()
    assert row.hashes.get("pdq")
    assert row.ip == "127.0.0.1" and row.status == 200 and row.host == "127.0.0.1"
    assert row.headers["server"] == "test-site/1.0" and row.type == "image/png"
    assert row.fetched_at and row.matches[0]["hashset"] == "known"
    assert row.matches[0]["category"] == "A1"
    assert repo.sightings(outcome.case.id, site.url("/img/k1.png")) == [site.url("/a.html")]
    assert set(repo.sightings(outcome.case.id, site.url("/img/k0.png"))) == {
        site.url("/"),
        site.url("/b.html"),
    }
    # every URL once, the loop and the out-of-scope link not followed
    assert site.hits["/loop.html"] == 1 and site.hits["/img/k0.png"] == 1
    pages = {u.url: u for u in repo.urls(outcome.case.id, kind="page")}
    assert "http://example.invalid/out.html" not in pages
    # the redirect chain is followed and recorded; its picture found
    start = pages[site.url("/start")]
    assert start.final_url == site.url("/end.html") and start.status == 200
    assert site.url("/img/k3.png") in matched
    assert outcome.progress.matched == 4
    log = [e.action for e in CaseService(store).audit_log(outcome.case)]
    assert log == ["crawl.start", "crawl.finish"]


def test_media_are_deduplicated_by_content(store: Store, site: Site, tmp_path: Path) -> None:
    known = pictures(1)
    import_set(store, write_vics(tmp_path / "known.json", known))
    site.html("/", '<img src="/x.png"><img src="/copy-of-x.png">')
    site.file("/x.png", known[0])
    site.file("/copy-of-x.png", known[0])
    outcome = crawl_case(store, request(site))
    rows = {u.url: u for u in CrawlRepository(store.db).urls(outcome.case.id, kind="media")}
    copy = rows[site.url("/copy-of-x.png")]
    assert copy.same_as == site.url("/x.png") and copy.matches == rows[site.url("/x.png")].matches


def test_robots_txt_is_honoured_unless_ignored(store: Store, site: Site, tmp_path: Path) -> None:
    site.html("/", '<a href="/private/p.html">p</a> <a href="/open.html">o</a> <img src="/x.png">')
    site.html("/private/p.html", "secret")
    site.html("/open.html", "open")
    site.file("/x.png", pictures(1)[0])
    site.routes["/robots.txt"] = Page(b"User-agent: *\nDisallow: /private/\nDisallow: /*.png$\n")
    crawl_case(store, request(site))
    assert site.hits["/private/p.html"] == 0 and site.hits["/x.png"] == 0
    assert site.hits["/open.html"] == 1
    crawl_case(store, request(site, case="again", ignore_robots=True))
    assert site.hits["/private/p.html"] == 1 and site.hits["/x.png"] == 1


def test_limits_a_huge_page_and_a_slow_server(store: Store, site: Site) -> None:
    site.html("/", '<a href="/huge.html">h</a><a href="/slow.html">s</a><a href="/ok.html">ok</a>')
    site.html("/huge.html", "<p>" + "x" * 300_000)
    site.routes["/slow.html"] = Page(b"<p>slow</p>" * 3, trickle=True)
    site.html("/ok.html", "fine")
    outcome = crawl_case(store, request(site, max_page_bytes=100_000, timeout=0.5, retries=1))
    pages = {u.url: u for u in CrawlRepository(store.db).urls(outcome.case.id, kind="page")}
    assert "larger than the limit" in (pages[site.url("/huge.html")].error or "")
    slow = pages[site.url("/slow.html")]
    assert slow.state == "failed" and "timed out" in (slow.error or "") and slow.attempts == 2
    assert pages[site.url("/ok.html")].state == "done"


def test_private_addresses_and_onion_names_are_refused(store: Store, site: Site) -> None:
    site.html("/", "<p>hi</p>")
    outcome = crawl_case(store, request(site, allow_private=False))
    page = CrawlRepository(store.db).get(outcome.case.id, site.url("/"))
    assert page is not None and page.state == "failed" and "not a public address" in page.error
    assert site.hits["/"] == 0
    outcome = crawl_case(store, request(site, case="onion", seeds=("http://abc.onion/",)))
    page = CrawlRepository(store.db).get(outcome.case.id, "http://abc.onion/")
    assert page is not None and "only through Tor" in (page.error or "")
    with pytest.raises(CrawlUsageError, match="socks5h"):
        crawl_case(store, request(site, proxy="socks5://127.0.0.1:9050"))
    with pytest.raises(CrawlUsageError, match="not an http"):
        crawl_case(store, request(site, seeds=("ftp://x/",)))


def test_depth_and_page_limits(store: Store, site: Site) -> None:
    for i in range(5):
        site.html(f"/p{i}.html", f'<a href="/p{i + 1}.html">next</a>')
    site.html("/", '<a href="/p0.html">p0</a>')
    crawl_case(store, request(site, depth=2))
    assert site.hits["/p1.html"] == 1 and site.hits["/p2.html"] == 0
    site.hits.clear()
    outcome = crawl_case(store, request(site, case="limited", depth=10, max_pages=3))
    assert outcome.counts.get("page.done") == 3
    assert outcome.counts.get("page.queued") == 1


def test_media_limit_leaves_the_rest_queued_for_a_later_run(store: Store, site: Site) -> None:
    site.html("/", "".join(f'<img src="/m{i}.png">' for i in range(5)) + '<a href="/2">2</a>')
    site.html("/2", "two")
    for i, data in enumerate(pictures(5)):
        site.file(f"/m{i}.png", data)
    outcome = crawl_case(store, request(site, max_media=2))
    assert outcome.counts == {"page.done": 2, "media.done": 2, "media.queued": 3}
    outcome = crawl_case(store, request(site, max_media=10))
    assert outcome.counts == {"page.done": 2, "media.done": 5}
    assert outcome.resumed and site.hits["/"] == 1
