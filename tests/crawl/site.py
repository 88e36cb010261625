"""A small web site on 127.0.0.1 for the crawl tests: routes in a dict the test can change.

Each route is ``path -> Page`` (status, body, headers, delay). The server runs in a
thread of the test process (a real socket, real HTTP/1.1 with keep-alive) and counts
the requests it got per path, so tests can tell what the crawler fetched.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Page:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before the body (a slow server)
    trickle: bool = False  # send the body slowly, a byte at a time


class Gauge:
    """Requests in progress at once: overall and per server address (shared by sites)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now: Counter[str] = Counter()
        self.most: Counter[str] = Counter()

    def enter(self, key: str) -> None:
        with self.lock:
            for k in (key, "all"):
                self.now[k] += 1
                self.most[k] = max(self.most[k], self.now[k])

    def leave(self, key: str) -> None:
        with self.lock:
            for k in (key, "all"):
                self.now[k] -= 1


class Site:
    def __init__(self, address: str = "127.0.0.1", gauge: Gauge | None = None) -> None:
        self.routes: dict[str, Page] = {}
        self.sequences: dict[str, list[Page]] = {}  # served in turn, then routes[path]
        self.hits: Counter[str] = Counter()
        self.agents: set[str] = set()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "test-site/1.0"
            sys_version = ""

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                site.hits[self.path] += 1
                site.agents.add(self.headers.get("User-Agent", ""))
                queue = site.sequences.get(self.path)
                page = queue.pop(0) if queue else site.routes.get(self.path)
                if page is None:
                    page = Page(b"not found", 404)
                if site.gauge is not None:
                    site.gauge.enter(site.address)
                if page.delay:
                    time.sleep(page.delay)
                if site.gauge is not None:
                    site.gauge.leave(site.address)
                try:
                    self.send_response(page.status)
                    for k, v in page.headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(page.body)))
                    self.end_headers()
                    if page.trickle:
                        for i in range(len(page.body)):
                            self.wfile.write(page.body[i : i + 1])
                            self.wfile.flush()
                            time.sleep(0.05)
                    else:
                        self.wfile.write(page.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.address = address
        self.gauge = gauge
        self.server = ThreadingHTTPServer((address, 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "/") -> str:
        return f"http://{self.address}:{self.port}{path}"

    def html(self, path: str, body: str, **kw: object) -> None:
        self.routes[path] = Page(body.encode(), headers={"Content-Type": "text/html"}, **kw)  # type: ignore[arg-type]

    def file(self, path: str, data: bytes, content_type: str = "image/png") -> None:
        self.routes[path] = Page(data, headers={"Content-Type": content_type})

    def redirect(self, path: str, to: str, status: int = 302) -> None:
        self.routes[path] = Page(b"", status, headers={"Location": to})

    def __enter__(self) -> Site:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
