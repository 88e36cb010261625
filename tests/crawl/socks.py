"""A small SOCKS5 proxy for the tests (no authentication, CONNECT only).

It resolves the names it is given itself, as Tor does for ``socks5h``, and records
the destination of every CONNECT (host as sent, port), so a test can tell that the
crawler handed the name to the proxy rather than resolving it.  Names ending in
``.onion`` are mapped to 127.0.0.1 here, to stand for an onion service.
"""

from __future__ import annotations

import select
import socket
import socketserver
import struct
import threading


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def _read(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.request.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data

    def handle(self) -> None:
        try:
            _version, count = self._read(2)
            self._read(count)
            self.request.sendall(b"\x05\x00")
            _, _command, _, atyp = self._read(4)
            if atyp == 1:
                host = socket.inet_ntoa(self._read(4))
            elif atyp == 3:
                host = self._read(self._read(1)[0]).decode()
            else:
                host = socket.inet_ntop(socket.AF_INET6, self._read(16))
            (port,) = struct.unpack("!H", self._read(2))
            self.server.connects.append((host, port, atyp))
            target = "127.0.0.1" if host.endswith(".onion") or host == "localhost" else host
            upstream = socket.create_connection((target, port), timeout=5)
        except (OSError, ConnectionError, ValueError):
            return
        self.request.sendall(b"\x05\x00\x00\x01" + socket.inet_aton("0.0.0.0") + b"\x00\x00")
        sockets = [self.request, upstream]
        try:
            while True:
                ready, _, _ = select.select(sockets, [], [], 5)
                if not ready:
                    break
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    (upstream if s is self.request else self.request).sendall(data)
        except OSError:
            pass
        finally:
            upstream.close()


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    connects: list[tuple[str, int, int]]


class SocksProxy:
    def __init__(self) -> None:
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.connects = []
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"socks5h://127.0.0.1:{self.port}"

    @property
    def connects(self) -> list[tuple[str, int, int]]:
        return self.server.connects

    def __enter__(self) -> SocksProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
