"""Through a SOCKS proxy (names resolved by the proxy), and resumed after SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.cli_runner import vigil
from tests.crawl.conftest import import_set, pictures, write_vics
from tests.crawl.site import Site
from tests.crawl.socks import SocksProxy
from vigil.crawl.crawler import CrawlRequest, crawl_case
from vigil.store import Store, open_store
from vigil.store.crawl import CrawlRepository


def test_onion_site_through_a_socks5h_proxy(store: Store, site: Site, tmp_path: Path) -> None:
    known = pictures(1)
    import_set(store, write_vics(tmp_path / "known.json", known))
    site.html("/", '<a href="/two.html">two</a>')
    site.html("/two.html", '<img src="/k.png">')
    site.file("/k.png", known[0])
    seed = f"http://hidden-example.onion:{site.port}/"
    with SocksProxy() as proxy:
        outcome = crawl_case(
            store, CrawlRequest(seeds=(seed,), case="tor", rate=0, proxy=proxy.url, timeout=5)
        )
        connects = list(proxy.connects)
    media = list(CrawlRepository(store.db).urls(outcome.case.id, kind="media"))
    assert [m.url for m in media if m.matches] == [f"http://hidden-example.onion:{site.port}/k.png"]
    assert media[0].ip is None  # resolved by the proxy, not here
    # the name went to the proxy as a name (address type 3), never resolved locally
    assert connects and all(
        host == "hidden-example.onion" and atyp == 3 for host, _, atyp in connects
    )
    assert site.hits["/two.html"] == 1


def _crawl_process(home: Path, url: str, seed: str) -> subprocess.Popen[str]:
    env = {
        "VIGIL_HOME": str(home), "VIGIL_DATABASE_URL": url, "PATH": "/usr/bin:/bin",
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
    }  # fmt: skip
    return subprocess.Popen(
        [sys.executable, "-m", "vigil", "crawl", seed, "--case", "killed", "--rate", "25/s",
         "--allow-private", "--depth", "50", "--max-pages", "500"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_resumes_after_sigkill(store_url: str, site: Site, tmp_path: Path) -> None:
    pages = 30
    for i in range(pages):
        site.html(f"/p{i}.html", f'<a href="/p{i + 1}.html">next</a> <img src="/i{i % 3}.png">')
    site.html(f"/p{pages}.html", "the end")
    for i, data in enumerate(pictures(3)):
        site.file(f"/i{i}.png", data)
    seed = site.url("/p0.html")
    process = _crawl_process(tmp_path / "home", store_url, seed)
    deadline = time.monotonic() + 60
    while sum(site.hits[f"/p{i}.html"] for i in range(pages)) < 8:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.communicate()  # reaps it and closes its pipes
    with open_store(store_url) as store:
        case = store.cases.require("killed")
        done_before = CrawlRepository(store.db).counts(case.id).get("page.done", 0)
    assert 0 < done_before < pages + 1
    again = _crawl_process(tmp_path / "home", store_url, seed)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert "resumed" in out
    with open_store(store_url) as store:
        repo = CrawlRepository(store.db)
        case = store.cases.require("killed")
        counts = repo.counts(case.id)
        assert counts == {"page.done": pages + 1, "media.done": 3}
        assert len({u.url for u in repo.urls(case.id)}) == pages + 4
    # fetched again: only what the kill left unrecorded (the last batch, a quarter second)
    again_fetched = sum(site.hits[f"/p{i}.html"] for i in range(pages + 1)) - (pages + 1)
    assert 0 <= again_fetched <= 10


def test_cli_crawl_notices_recheck(tmp_path: Path, site: Site) -> None:
    home = tmp_path / "home"
    known = pictures(1)
    site.html("/", '<img src="/k.png">')
    site.file("/k.png", known[0])
    path = write_vics(tmp_path / "known.json", known)
    assert vigil("hashset", "import", str(path), "--name", "known", home=home).returncode == 0
    result = vigil(
        "crawl", site.url("/"), "--case", "c", "--rate", "0", "--allow-private", home=home
    )
    assert result.returncode == 0, result.stderr
    assert "1 matched" in result.stdout
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("match,provider,email\n127.0.0.1,Local,abuse@local.example\n")
    result = vigil(
        "notices", "c", "--contacts", str(contacts), "--out", str(tmp_path / "out"),
        "--reporter-org", "Hotline", "--reporter-email", "r@hotline.example", home=home,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert '"provider": "Local"' in result.stdout
    del site.routes["/k.png"]
    result = vigil("recheck", "c", "--allow-private", home=home)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["gone", site.url("/k.png")]
    bad = vigil("crawl", "ftp://x/", "--case", "c", home=home)
    assert bad.returncode == 2 and "not an http(s) URL" in bad.stderr
    bad = vigil("crawl", site.url("/"), "--case", "c", "--rate", "fast", home=home)
    assert bad.returncode == 2
