"""How `pwatch serve` runs uvicorn for the exchange: the HTTP/1.1 protocol with bounded request
heads, and errors from the HTTP layer in the service's JSON shape.

uvicorn's httptools protocol keeps reading a request head however long it grows (a 64 MB header
took seconds and stalled the other clients of the process); h11 bounds it but is about half as
fast. So the fast parser is kept and the head is bounded here: a head over `MAX_HEAD_BYTES` is
refused with 431 as soon as it is seen, before the rest of it is parsed. The count of headers
and duplicate `Authorization` headers are checked in the app (`HeaderLimits`), which sees them
whatever server runs it.
"""

from __future__ import annotations

import asyncio
import http
import json
from collections.abc import Sequence
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# The request line and all headers together (h11's default bound, as nginx allows 4 × 8 KiB).
MAX_HEAD_BYTES = 16 * 1024
MAX_HEADERS = 100
# After a refusal, what the client still sends is read and dropped (so it sees the answer
# rather than a reset connection) for at most this long.
DRAIN_SECONDS = 5.0


def error_bytes(status: int, code: str, message: str,
                default_headers: Sequence[tuple[bytes, bytes]] = ()) -> bytes:
    """A whole HTTP/1.1 response carrying the service's JSON error, closing the connection."""
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    head = [f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}\r\n".encode()]
    head += [name + b": " + value + b"\r\n" for name, value in default_headers]
    head += [b"content-type: application/json\r\n",
             b"content-length: " + str(len(body)).encode() + b"\r\n",
             b"connection: close\r\n\r\n"]
    return b"".join(head) + body


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the request head bounded and JSON errors."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True  # the bytes arriving belong to a request head not yet complete
        self._head_bytes = 0
        self._refused = False

    def _refuse(self, status: int, code: str, message: str) -> None:
        """Answer `status` and close: the client's further bytes are dropped unparsed."""
        self._refused = True
        self.logger.warning("refused a request: %s", message)
        self.transport.write(error_bytes(status, code, message,
                                         self.server_state.default_headers))
        if self.transport.can_write_eof():
            self.transport.write_eof()
            asyncio.get_running_loop().call_later(DRAIN_SECONDS, self.transport.close)
        else:
            self.transport.close()

    def _head_too_large(self) -> None:
        self._refuse(431, "headers_too_large",
                     f"the request line and headers exceed {MAX_HEAD_BYTES} bytes")

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        counting = self._in_head
        super().data_received(data)
        if counting and self._in_head and not self._refused:
            # The head is still incomplete after this chunk: count it, so a head that never
            # ends is refused after about MAX_HEAD_BYTES (one chunk more at most).
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES:
                self._head_too_large()

    def send_400_response(self, msg: str) -> None:
        if self._refused:
            return
        self._refuse(400, "bad_http_request",
                     "the request is not valid HTTP/1.1 (a header value with a NUL, CR or LF, "
                     "a bad header name, or a malformed request line)")

    def on_message_begin(self) -> None:
        self._in_head = True
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_bytes = 0
        size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if size > MAX_HEAD_BYTES:
            self._head_too_large()  # the app never sees it; the rest is dropped unparsed
            return
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        self._in_head = True
        if not self._refused:
            super().on_message_complete()


def server_options() -> dict[str, Any]:
    """uvicorn options shared by `pwatch serve` and the tests that run a real server."""
    return {"http": "precursorwatch.exchange.http:BoundedHttpToolsProtocol"}
