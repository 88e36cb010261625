"""URL normalisation and srcset parsing (properties), retries, redirects out of scope."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from tests.crawl.conftest import pictures
from tests.crawl.site import Gauge, Page, Site
from vigil.crawl.crawler import CrawlRequest, crawl_case
from vigil.crawl.extract import extract, srcset_urls
from vigil.crawl.route import Route
from vigil.crawl.urls import Scope, normalise
from vigil.store import Store
from vigil.store.crawl import CrawlRepository

_SEGMENT = st.text(alphabet="abcXYZ019-._~%", min_size=0, max_size=8)


@given(
    scheme=st.sampled_from(["http", "HTTP", "https"]),
    host=st.sampled_from(["Example.ORG", "example.org.", "xn--bcher-kva.example", "127.0.0.1"]),
    port=st.sampled_from(["", ":80", ":443", ":8080"]),
    segments=st.lists(_SEGMENT, max_size=5),
    query=st.sampled_from(["", "?b=2&a=1", "?x"]),
    fragment=st.sampled_from(["", "#top"]),
)
def test_normalise_is_idempotent_and_drops_what_the_server_never_sees(
    scheme: str, host: str, port: str, segments: list[str], query: str, fragment: str
) -> None:
    url = f"{scheme}://{host}{port}/{'/'.join(segments)}{query}{fragment}"
    once = normalise(url)
    assert once is not None
    assert normalise(once) == once
    assert "#" not in once and once.startswith(("http://", "https://"))
    netloc = once.split("://", 1)[1].split("/", 1)[0]
    assert netloc == netloc.lower() and not netloc.endswith(".")
    default = ":80" if once.startswith("http://") else ":443"
    assert not netloc.endswith(default)


def test_normalise_examples() -> None:
    assert normalise("HTTP://Example.org:80/a/./b/../c?q=1#f") == "http://example.org/a/c?q=1"
    assert normalise("https://example.org") == "https://example.org/"
    assert normalise("../x.png", "http://h.example/a/b/page.html") == "http://h.example/a/x.png"
    assert normalise("http://bücher.example/") == "http://xn--bcher-kva.example/"
    for bad in ("javascript:alert(1)", "mailto:a@b", "ftp://x/", "http://user:pw@h/", "data:,x"):
        assert normalise(bad) is None


@given(st.lists(st.from_regex(r"[a-z0-9/._-]{1,12}", fullmatch=True), min_size=1, max_size=5))
def test_srcset_candidates_come_back_in_order(urls: list[str]) -> None:
    urls = [u.strip(",") or "x" for u in urls]
    text = ", ".join(f"{u} {i + 1}x" for i, u in enumerate(urls))
    assert srcset_urls(text) == urls


def test_scope_and_extract_tags() -> None:
    scope = Scope.of(["http://a.example/"], ("b.example",))
    assert scope.follows("http://cdn.b.example/x") and not scope.follows("http://a.example/x")
    got = extract(
        b'<video src="v.mp4" poster="p.jpg"></video><embed src="e.swf"><object data="o.gif">'
        b'<link rel="image_src" href="l.jpg"><iframe src="f.html"></iframe><form action="/post">'
        b'<script>location="/js.html"</script>',
        "http://a.example/",
    )
    assert got.links == ["http://a.example/f.html"]
    assert "http://a.example/js.html" not in got.links + got.media  # scripts are not run
    assert set(got.media) == {
        f"http://a.example/{n}" for n in ("v.mp4", "p.jpg", "e.swf", "o.gif", "l.jpg")
    }


def test_route_refuses_what_it_must() -> None:
    direct = Route()
    for url, reason in (
        ("http://127.0.0.1/", "not a public address"),
        ("http://10.1.2.3/", "not a public address"),
        ("http://[::1]/", "not a public address"),
        ("http://169.254.169.254/latest/meta-data/", "not a public address"),
        ("http://x.onion/", "only through Tor"),
        ("file:///etc/passwd", "only http and https"),
    ):
        try:
            direct.target(url)
        except Exception as exc:
            assert reason in str(exc), (url, exc)
        else:
            raise AssertionError(f"{url} was not refused")
    proxied = Route(proxy="socks5h://127.0.0.1:9050")
    assert proxied.target("http://x.onion/").addresses == ()


def request(site: Site, **kw: object) -> CrawlRequest:
    options: dict[str, object] = {
        "seeds": (site.url("/"),), "case": "web", "rate": 0, "allow_private": True,
        "timeout": 5.0, "backoff": 0.05,
    }  # fmt: skip
    options.update(kw)
    return CrawlRequest(**options)  # type: ignore[arg-type]


def test_retries_with_backoff_then_success(store: Store, site: Site) -> None:
    site.html("/", '<a href="/flaky.html">f</a><a href="/down.html">d</a>')
    site.sequences["/flaky.html"] = [Page(b"busy", 503), Page(b"slow down", 429)]
    site.html("/flaky.html", "finally")
    site.routes["/down.html"] = Page(b"down", 503)
    outcome = crawl_case(store, request(site, retries=2))
    pages = {u.url: u for u in CrawlRepository(store.db).urls(outcome.case.id, kind="page")}
    flaky, down = pages[site.url("/flaky.html")], pages[site.url("/down.html")]
    assert flaky.state == "done" and flaky.attempts == 3 and flaky.status == 200
    assert down.state == "failed" and down.attempts == 3 and down.error == "HTTP 503"
    assert site.hits["/down.html"] == 3


def test_redirects_out_of_scope_are_not_followed(store: Store, site: Site) -> None:
    site.html("/", '<a href="/away">away</a>')
    site.redirect("/away", "http://elsewhere.example/landing")
    outcome = crawl_case(store, request(site))
    away = CrawlRepository(store.db).get(outcome.case.id, site.url("/away"))
    assert away is not None and away.state == "failed"
    assert "out of the crawl's scope" in (away.error or "") and away.status == 302


def test_a_picture_that_changes_between_visits(store: Store, site: Site) -> None:
    """Two pages show one URL whose bytes change between requests: fetched once, one record."""
    first, second = pictures(2, start=7)
    site.html("/", '<img src="/pic.png"><a href="/again.html">again</a>')
    site.html("/again.html", '<img src="/pic.png">')
    site.sequences["/pic.png"] = [Page(first, headers={"Content-Type": "image/png"})]
    site.file("/pic.png", second)
    outcome = crawl_case(store, request(site))
    repo = CrawlRepository(store.db)
    media = list(repo.urls(outcome.case.id, kind="media"))
    assert len(media) == 1 and site.hits["/pic.png"] == 1
    assert media[0].sha256 == hashlib.sha256(first).hexdigest()
    assert set(repo.sightings(outcome.case.id, site.url("/pic.png"))) == {
        site.url("/"),
        site.url("/again.html"),
    }


def test_hosts_are_fetched_at_once_but_never_two_requests_to_one_host(store: Store) -> None:
    gauge = Gauge()
    with Site("127.0.0.1", gauge) as one, Site("127.0.0.2", gauge) as two:
        for site in (one, two):
            site.html("/", '<a href="/a">a</a><a href="/b">b</a>', delay=0.5)
            site.html("/a", "a", delay=0.5)
            site.html("/b", "b", delay=0.5)
        crawl_case(store, request(one, seeds=(one.url("/"), two.url("/")), concurrency=4))
        assert gauge.most["127.0.0.1"] == 1 and gauge.most["127.0.0.2"] == 1
        assert gauge.most["all"] == 2  # the two hosts were fetched at the same time
        assert one.hits["/a"] == 1 and two.hits["/b"] == 1
