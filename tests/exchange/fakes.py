"""Fake partners on 127.0.0.1: a tiny threaded HTTP server answering from a Python function.

Each fake answers like the documented API it stands for (python-threatexchange's own
tests and clients show the NCMEC, StopNCII and ThreatExchange shapes; HMA's are its
curation blueprint's). ``FakeServer.handler`` maps a request to a status, headers and
body, so a test can switch a partner to garbage, errors, a cut-short body or a hang.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


Answer = tuple[int, dict[str, str], bytes]


def as_json(data: Any, status: int = 200) -> Answer:
    return status, {"Content-Type": "application/json"}, json.dumps(data).encode()


@dataclass
class FakeServer:
    handler: Callable[[Request], Answer]
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _do(self) -> None:
                parsed = urllib.parse.urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                req = Request(
                    self.command,
                    parsed.path,
                    dict(urllib.parse.parse_qsl(parsed.query)),
                    self.rfile.read(length) if length else b"",
                    {k.lower(): v for k, v in self.headers.items()},
                )
                fake.requests.append(req)
                status, headers, body = fake.handler(req)
                try:
                    self.send_response(status)
                    headers = {"Content-Length": str(len(body)), **headers}
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    cut = headers.get("X-Cut")
                    self.wfile.write(body if cut is None else body[: int(cut)])
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            do_GET = do_POST = do_PUT = do_DELETE = _do  # noqa: N815 (http.server names)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
