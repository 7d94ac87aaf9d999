"""Connection-level limits that uvicorn leaves open: request-head size and read time, open files.

uvicorn (httptools) buffers a request's line and headers without a bound and waits for them
without a deadline: one client could grow the server's memory with an endless header, or
hold connections open forever by sending nothing or one byte at a time (slowloris).
:class:`GuardedHttpToolsProtocol` closes those: a request head must be complete within
``HEAD_TIMEOUT`` seconds (408) and ``MAX_HEAD_BYTES`` (431). Idle keep-alive connections
are closed by uvicorn's own ``timeout_keep_alive``; bodies are bounded by
:class:`unrated.serving.guards.BodyLimit`.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

#: Seconds from a connection's opening (or a request's first byte) to its complete head.
HEAD_TIMEOUT = 10.0
#: The largest request line + headers, in bytes (nginx's default is 4 × 8 KiB).
MAX_HEAD_BYTES = 64 * 1024
#: ``uvicorn.run(http=...)``: the protocol class, by import path (workers import it too).
PROTOCOL = f"{__name__}:GuardedHttpToolsProtocol"


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline and a size limit on each request head."""

    head_timeout = HEAD_TIMEOUT
    max_head_bytes = MAX_HEAD_BYTES

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_open = False
        self._head_begun = False  # the request's first byte has come (not a silent client)
        self._head_bytes = 0  # bytes received since the head began (it may span reads)
        self._parsed_bytes = 0  # bytes of the request line and headers parsed so far
        self._refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the clock: an idle new connection gets ``head_timeout`` seconds too."""
        super().connection_made(transport)
        self._open_head()

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the clock."""
        self._close_head()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """Parse ``data``; refuse the request if its head, still incomplete, is too large."""
        if self._refused:
            return
        if self._head_open:
            self._head_bytes += len(data)
        super().data_received(data)
        if self._head_open and not self._refused and self._head_bytes > self.max_head_bytes:
            self._refuse_large_head()

    # Parser callbacks
    def on_message_begin(self) -> None:
        """A request starts: its head must be complete in time."""
        super().on_message_begin()
        self._parsed_bytes = 0
        if not self._head_open:
            self._open_head()
        self._head_begun = True

    def on_url(self, url: bytes) -> None:
        """Count the request target's bytes."""
        super().on_url(url)
        self._parsed_bytes += len(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        """Count the header's bytes (with its ': ' and line end)."""
        super().on_header(name, value)
        self._parsed_bytes += len(name) + len(value) + 4

    def on_headers_complete(self) -> None:
        """The head is complete: the clock stops (bodies are bounded elsewhere)."""
        self._close_head()
        if self._parsed_bytes > self.max_head_bytes:  # it came in one read
            self._refuse_large_head()
            return
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        """Pass on the body of a request that was not refused."""
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        """Finish a request that was not refused."""
        if not self._refused:
            super().on_message_complete()

    def _open_head(self) -> None:
        self._head_open, self._head_begun, self._head_bytes = True, False, 0
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _close_head(self) -> None:
        self._head_open, self._head_bytes = False, 0
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self._head_open or self.transport.is_closing():
            return
        if self.pipeline or (self.cycle is not None and not self.cycle.response_complete):
            # a pipelined head waits while reading is paused for an answer in progress
            self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)
            return
        if not self._head_begun:  # nothing sent at all: just hang up
            self.transport.close()
            return
        detail = f"the request line and headers took over {self.head_timeout:g} s to arrive"
        self._refuse(408, "Request Timeout", detail)

    def _refuse_large_head(self) -> None:
        detail = f"the request line and headers exceed {self.max_head_bytes:,} bytes"
        self._refuse(431, "Request Header Fields Too Large", detail)

    def _refuse(self, status: int, phrase: str, detail: str) -> None:
        """Answer ``status`` with the service's JSON error body and close the connection."""
        self._close_head()
        self._refused = True
        if self.transport.is_closing():  # the parser refused the request already (400)
            return
        error = phrase.replace(" ", "")
        body = json.dumps({"error": error, "detail": detail}).encode()
        head = (
            f"HTTP/1.1 {status} {phrase}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
        )
        self.transport.write(head.encode() + body)
        self.transport.close()


def raise_open_file_limit(wanted: int = 65536) -> int:
    """Raise this process's soft limit on open files towards ``wanted`` (at most the hard limit).

    Each connection is a file descriptor; a soft limit of 1024 (a common default) would make
    the server refuse connections well before memory or CPU run out. Returns the new limit
    (-1 where there is no such limit to raise).
    """
    try:
        import resource
    except ImportError:  # not POSIX
        return -1
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return soft
