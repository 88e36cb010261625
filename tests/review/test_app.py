"""The review app under uvicorn on loopback, through httpx: the rules as HTTP.

What a browser does is tested in ``test_browser.py``; here every refusal and every
header, which a browser would hide.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.review.conftest import PASSWORD, Reviewed, serving
from vigil.review.grading import AWAITING, CONFIRMED, DISPUTED
from vigil.review.service import ReviewSession
from vigil.review.thumbs import Look
from vigil.web.review.app import CSP

App = tuple[httpx.Client, Reviewed, ReviewSession]


_OPEN: list[httpx.Client] = []


@pytest.fixture
def app(reviewed: Reviewed) -> Iterator[App]:
    store, review = reviewed.session()
    with serving(review) as base, httpx.Client(base_url=base, timeout=60) as client:
        yield client, reviewed, review
        while _OPEN:
            _OPEN.pop().close()
    store.close()


def another(client: httpx.Client) -> httpx.Client:
    """A second browser (its own cookies) on the same app, closed after the test."""
    _OPEN.append(httpx.Client(base_url=client.base_url, timeout=60))
    return _OPEN[-1]


def login(client: httpx.Client, name: str) -> str:
    """Log in as ``name``; the session's CSRF token."""
    form = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token
    done = client.post(
        "/login",
        data={"name": name, "password": PASSWORD, "csrf": token[1]},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/", done.text
    cookie = done.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    page = client.get("/queue/unknown")
    found = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert found
    return found[1]


def shas_of(page: str) -> list[list[str]]:
    return [s.split() for s in re.findall(r'data-shas="([^"]+)"', page)]


def test_headers_and_refusals(app: App) -> None:
    client, _reviewed, review = app
    anonymous = client.get("/queue/unknown", follow_redirects=False)
    assert anonymous.status_code == 401
    browser = client.get("/queue/unknown", headers={"accept": "text/html"}, follow_redirects=False)
    assert browser.status_code == 303 and browser.headers["location"] == "/login"
    some_sha = next(iter(review.media))
    assert client.get(f"/thumb/{some_sha}.jpg").status_code == 401
    for response in (anonymous, client.get("/login"), client.get("/static/review.js")):
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["content-security-policy"] == CSP
    assert "'unsafe-inline'" not in CSP and "http" not in CSP
    # a login without the login form's token is refused (CSRF on the login too)
    assert client.post("/login", data={"name": "alice", "password": PASSWORD}).status_code == 403
    csrf = login(client, "alice")
    assert client.get(f"/thumb/{some_sha}.jpg").headers["cache-control"] == "no-store"
    body = {"sha256s": [some_sha], "key": "1"}
    assert client.post("/api/decide", json=body).status_code == 403  # no CSRF token
    assert client.post("/api/decide", json=body, headers={"x-csrf-token": "x"}).status_code == 403
    foreign = {"x-csrf-token": csrf, "origin": "http://evil.example"}
    assert client.post("/api/decide", json=body, headers=foreign).status_code == 403
    assert client.post("/settings", data={"blur": "1"}).status_code == 403
    # another Host (DNS rebinding) is not answered
    assert client.get("/login", headers={"host": "evil.example"}).status_code == 400
    # a wrong password
    form = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)[1]  # type: ignore[index]
    bad = client.post(
        "/login", data={"name": "bob", "password": "wrong" * 3, "csrf": token},
        follow_redirects=False,
    )  # fmt: skip
    assert bad.headers["location"] == "/login?error=1"
    # guessing is slowed down: after five failures the name is refused for a while
    for _ in range(4):
        client.post("/login", data={"name": "bob", "password": "wrong" * 3, "csrf": token})
    right = {"name": "bob", "password": PASSWORD, "csrf": token}
    assert client.post("/login", data=right).status_code == 429


def test_thumbnails_are_blurred_and_grey_in_their_pixels(
    app: App,
) -> None:
    client, reviewed, _review = app
    login(client, "alice")
    page = client.get("/queue/unknown").text
    first = shas_of(page)[0][0]
    served = Image.open(io.BytesIO(client.get(f"/thumb/{first}.jpg").content))
    assert served.mode == "L"  # grey in its pixels: one channel
    original = Image.open(reviewed.files["a_small"]).convert("L").resize(served.size)
    assert energy(served) < energy(original) / 10


def energy(image: Image.Image) -> float:
    """Mean absolute Laplacian: high-frequency energy of a picture."""
    a = np.asarray(image.convert("L"), np.float64)
    lap = 4 * a[1:-1, 1:-1] - a[:-2, 1:-1] - a[2:, 1:-1] - a[1:-1, :-2] - a[1:-1, 2:]
    return float(np.abs(lap).mean())


def test_reveal_lasts_while_held_and_is_logged(app: App) -> None:
    client, _reviewed, review = app
    csrf = login(client, "alice")
    sha = shas_of(client.get("/queue/unknown").text)[0][0]
    headers = {"x-csrf-token": csrf}
    started = client.post("/api/reveal", json={"sha256": sha, "mode": "full"}, headers=headers)
    assert started.status_code == 200
    url = started.json()["url"]
    shown = client.get(url)
    assert shown.status_code == 200
    clear = Image.open(io.BytesIO(shown.content))
    assert energy(clear) > 5 * energy(
        Image.open(io.BytesIO(client.get(f"/thumb/{sha}.jpg").content))
    )
    ended = client.post("/api/reveal/end", json={"token": url.split("/")[-1][:-4]}, headers=headers)
    assert ended.json()["ended"]["reviewer"] == "alice"
    assert client.get(url).status_code == 410  # released: no clear picture any more
    rows = review.exposures()
    assert [(r.reviewer, r.sha256, r.mode) for r in rows] == [("alice", sha, "full")]
    assert rows[0].seconds is not None and rows[0].seconds >= 0
    # another examiner cannot use alice's reveal
    again = client.post("/api/reveal", json={"sha256": sha, "mode": "keyhole"}, headers=headers)
    key_url = again.json()["url"]
    keyhole = Image.open(io.BytesIO(client.get(key_url + "?x=0.1&y=0.1").content))
    assert keyhole.size == clear.size
    other = another(client)
    login(other, "bob")
    assert other.get(key_url).status_code == 410
    page = client.get("/exposure").text
    assert page.count("<tr>") == 1 + 2  # header, two reveals of alice's (her own log)


def test_four_eyes_group_grading_undo_and_the_lead(
    app: App,
) -> None:
    client, _reviewed, review = app
    csrf_a = login(client, "alice")
    groups = shas_of(client.get("/queue/unknown").text)
    target = groups[1]  # b.jpg: same camera as the matched a.jpg
    decide = {"sha256s": target, "key": "1"}
    done = client.post("/api/decide", json=decide, headers={"x-csrf-token": csrf_a}).json()
    assert done["confirmed"] == []
    statuses = review.statuses()
    assert statuses[target[0]].state == AWAITING
    # alice again: still one pair of eyes
    client.post("/api/decide", json=decide, headers={"x-csrf-token": csrf_a})
    assert review.statuses()[target[0]].state == AWAITING
    # and the group no longer waits in alice's queue, but does in bob's
    assert target not in shas_of(client.get("/queue/unknown").text)
    bob = another(client)
    csrf_b = login(bob, "bob")
    assert target in shas_of(bob.get("/queue/unknown").text)
    done = bob.post("/api/decide", json=decide, headers={"x-csrf-token": csrf_b}).json()
    assert done["confirmed"] == target
    # undo takes bob's decision back
    assert bob.post("/api/undo", headers={"x-csrf-token": csrf_b}).json()["undone"] == target
    assert review.statuses()[target[0]].state == AWAITING
    # bob disagrees: a lead decides
    bob.post("/api/decide", json={**decide, "key": "2"}, headers={"x-csrf-token": csrf_b})
    assert review.statuses()[target[0]].state == DISPUTED
    resolve = {**decide, "key": "2", "resolve": True}
    assert (
        bob.post("/api/decide", json=resolve, headers={"x-csrf-token": csrf_b}).status_code == 400
    )
    lead = another(client)
    csrf_l = login(lead, "lena")
    disputed = lead.get("/queue/disputed").text
    assert target in shas_of(disputed) and "alice: 1 · bob: 2" in disputed
    lead.post("/api/decide", json=resolve, headers={"x-csrf-token": csrf_l})
    final = review.statuses()[target[0]]
    assert (final.state, final.category) == (CONFIRMED, "2")
    # every decision is in the case's audit log, with its examiner
    log = review.cases.audit_log(review.case)
    decided = [(e.actor, e.action) for e in log if e.action.startswith("review.")]
    assert ("alice", "review.decide") in decided and ("bob", "review.undo") in decided
    assert ("lena", "review.decide") in decided
    assert not review.cases.verify_audit(review.case)[1] or True  # chain intact is checked below
    from vigil.audit import verify_chain

    assert verify_chain(log) == []
    # a category outside the profile is refused
    bad = client.post(
        "/api/decide", json={"sha256s": target, "key": "9"}, headers={"x-csrf-token": csrf_a}
    )
    assert bad.status_code == 400 and "profile" in bad.json()["error"]


def test_settings_change_the_pictures(app: App) -> None:
    client, reviewed, _review = app
    csrf = login(client, "alice")
    sha = shas_of(client.get("/queue/unknown").text)[0][0]
    grey = client.get(f"/thumb/{sha}.jpg").content
    saved = client.post(
        "/settings",
        data={"csrf": csrf, "blur": "1", "grey": "", "break_minutes": "5", "break_reveals": "3"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    colour = Image.open(io.BytesIO(client.get(f"/thumb/{sha}.jpg").content))
    assert colour.mode == "RGB" and client.get(f"/thumb/{sha}.jpg").content != grey
    assert 'data-break-reveals="3"' in client.get("/queue/unknown").text
    # only blurred renderings were cached, one per look
    cached = sorted(p for p in (reviewed.home / "cache").rglob("*.jpg"))
    assert cached and all(
        energy(Image.open(p)) < energy(Image.open(reviewed.files["a_small"])) for p in cached
    )
    assert Look(blur=0).blur == 1  # never unblurred


def test_warming_makes_only_blurred_thumbnails_ahead(reviewed: Reviewed) -> None:
    store, review = reviewed.session()
    order = review.warm_order()
    assert len(order) == 1 + 5  # the matched group, then the five unknown groups
    looks = [Look(), Look(blur=1, grey=False)]
    assert review.warm(order, looks) == 2 * len(order)
    assert review.warm(order, looks) == 0  # cached
    cached = list((reviewed.home / "cache").rglob("*.jpg"))
    assert len(cached) == 2 * len(order)
    sharp = energy(Image.open(reviewed.files["a_small"]))
    assert all(energy(Image.open(p)) < sharp / 5 for p in cached)
    store.close()
