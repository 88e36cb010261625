"""Run a parser of hostile input in a child process, with a memory limit and a stall limit.

The Sleuth Kit and libewf are C libraries with known crashes and hangs on bad input.
``in_child`` runs a generator in a forked child with ``RLIMIT_AS`` set (its address
space may grow by ``memory_bytes`` at most), passes what it yields back through a
pipe, and kills it when nothing comes for ``idle_seconds``. A crash, a hang or a
blown limit raises ``ChildFailedError`` in the parent after everything the child yielded
before it: the caller records what was reached and goes on. The child dies with its
parent (``PR_SET_PDEATHSIG``), so a killed scan leaves no reader behind.
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import pickle
import resource
import select
import signal
import struct
import traceback
from collections.abc import Callable, Iterator
from typing import Any

from vigil.errors import MediaError
from vigil.parallel import die_with_parent

_HEADER = struct.Struct("<Q")
_DONE = "done"
_ITEM = "item"
_RAISED = "raised"


class ChildFailedError(MediaError):
    """The child crashed, hung or ran out of memory (the message says which)."""


def in_child(
    fn: Callable[..., Iterator[Any]],
    *args: Any,
    idle_seconds: float = 300.0,
    memory_bytes: int = 4 << 30,
) -> Iterator[Any]:
    """Yield what ``fn(*args)`` yields, computed in a child process under limits.

    An exception raised by ``fn`` in the child is raised here as ``ChildFailedError`` with
    its text. Closing the iterator early kills the child.
    """
    read_fd, write_fd = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read_fd)
        die_with_parent(parent)  # no reader outlives the scan that started it
        _child(fn, args, write_fd, memory_bytes)
    os.close(write_fd)
    finished = False
    pipe = _Pipe(read_fd, pid, idle_seconds)
    try:
        while True:
            message = pipe.receive()
            if message is None:
                raise ChildFailedError(_how_it_ended(pid))
            tag, value = message
            if tag == _ITEM:
                yield value
            elif tag == _RAISED:
                raise ChildFailedError(value)
            else:
                finished = True
                return
    finally:
        os.close(read_fd)
        if not finished:
            _kill(pid)
        _reap(pid)


def _child(fn: Callable[..., Iterator[Any]], args: tuple[Any, ...], fd: int, memory: int) -> None:
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
        faulthandler.disable()  # a crash is reported by the parent, once, as the item's error
        _limit_memory(memory)
        with os.fdopen(fd, "wb", buffering=1 << 16) as out:
            try:
                for value in fn(*args):
                    _send(out, (_ITEM, value))
                _send(out, (_DONE, None))
            except MemoryError:
                _send(out, (_RAISED, f"over the memory limit of {memory:,} bytes"))
                code = 1
            except Exception as exc:
                _send(out, (_RAISED, f"{type(exc).__name__}: {exc}"))
                code = 1
    except BaseException:
        traceback.print_exc()
        code = 2
    finally:
        os._exit(code)


def _limit_memory(memory: int) -> None:
    try:
        with open("/proc/self/statm") as f:
            current = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        current = 0
    limit = current + memory
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _send(out: Any, message: tuple[str, Any]) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(_HEADER.pack(len(data)))
    out.write(data)
    out.flush()


class _Pipe:
    """The parent's end: length-prefixed pickles, waited for with a stall limit."""

    def __init__(self, fd: int, pid: int, idle_seconds: float) -> None:
        self.fd, self.pid, self.idle = fd, pid, idle_seconds
        self.buffer = bytearray()

    def receive(self) -> tuple[str, Any] | None:
        header = self._exactly(_HEADER.size)
        if header is None:
            return None
        body = self._exactly(_HEADER.unpack(header)[0])
        if body is None:
            return None
        return pickle.loads(body)  # our own child's messages

    def _exactly(self, n: int) -> bytes | None:
        while len(self.buffer) < n:
            ready, _, _ = select.select([self.fd], [], [], self.idle)
            if not ready:
                _kill(self.pid)
                raise ChildFailedError(f"no progress for {self.idle:g} s: stopped (a hang?)")
            chunk = os.read(self.fd, max(1 << 16, n - len(self.buffer)))
            if not chunk:
                return None
            self.buffer += chunk
        out = bytes(self.buffer[:n])
        del self.buffer[:n]
        return out


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _reap(pid: int) -> int | None:
    try:
        return os.waitpid(pid, 0)[1]
    except ChildProcessError:
        return None


def _how_it_ended(pid: int) -> str:
    status = _reap(pid)
    if status is None:
        return "the reader process ended unexpectedly"
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else sig
        return f"the reader process crashed ({name})"
    return f"the reader process ended early (exit code {os.WEXITSTATUS(status)})"
