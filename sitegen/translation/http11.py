"""HTTP/1.1 requests and replies on one kept-alive socket, for direct.py.

``http.client`` cost a translation request about 0.3 ms of this machine's CPU on top of the
request itself: its reply's headers go through the ``email`` package's parser (a feed parser,
a policy and a message object for five header lines), and its request is put together one
validated header at a time. A first translation sends one request a paragraph, tens of
thousands of them, from threads that share one interpreter lock. Here the request is one
string and the reply's head is split on line ends, under the same rules: the request
``http.client`` would send (Host, then Content-Length, then the caller's headers, each
checked as ``putheader`` checks it), and a reply read as ``HTTPResponse`` reads it (a 100
Continue skipped, bodies by chunks, by length or to the end, none for HEAD, 204, 304 and
1xx, and the connection closed after HTTP/1.0 without keep-alive or ``Connection: close``).

Limits: a reply's head (status line and headers) of at most ``MAX_HEAD`` bytes and
``MAX_HEADERS`` headers, as ``http.client`` limits them; its body is the caller's to bound.
"""

from __future__ import annotations

import http.client
import re
import socket

MAX_HEAD = 256 * 1024
MAX_HEADERS = 100  # http.client's _MAXHEADERS
MAX_CHUNK_LINE = 64 * 1024
READ_SIZE = 16 * 1024
_HEAD_END = re.compile(rb"\r?\n\r?\n")
# http.client's own checks of a header's name and value (putheader).
_LEGAL_NAME = re.compile(r"[^:\s][^:\r\n]*")
_ILLEGAL_VALUE = re.compile(r"\n(?![ \t])|\r(?![ \t\n])")
_BODYLESS_METHODS = frozenset({"HEAD"})
_LENGTH_REQUIRED = frozenset({"PATCH", "POST", "PUT"})  # http.client sends Content-Length: 0 for these


def request_bytes(method: str, path: str, host: str, port: int | None, default_port: int, body: bytes | None, headers: dict[str, str]) -> bytes:
    """The request ``http.client.HTTPConnection.request`` would send, head and body."""
    try:
        host_text = host.encode("ascii").decode("ascii")
    except UnicodeEncodeError:
        host_text = host.encode("idna").decode("ascii")
    if ":" in host_text:
        host_text = f"[{host_text}]"
    if port is not None and port != default_port:
        host_text = f"{host_text}:{port}"
    names = {name.lower() for name in headers}
    lines = [f"{method} {path} HTTP/1.1"]
    if "host" not in names:
        lines.append(f"Host: {host_text}")
    if "content-length" not in names and "transfer-encoding" not in names and (body is not None or method in _LENGTH_REQUIRED):
        lines.append(f"Content-Length: {len(body or b'')}")
    for name, value in headers.items():
        if not _LEGAL_NAME.fullmatch(name):
            raise ValueError(f"Invalid header name {name!r}")
        if _ILLEGAL_VALUE.search(value):
            raise ValueError(f"Invalid header value {value!r}")
        lines.append(f"{name}: {value}")
    lines.append("\r\n")
    return "\r\n".join(lines).encode("latin-1") + (body or b"")


class Reply:
    """A reply's status line and headers; its body is read with ``body_pieces``."""

    __slots__ = ("status", "reason", "headers", "will_close", "_length", "_chunked")

    def __init__(self, status: int, reason: str, headers: list[tuple[str, str]], will_close: bool, length: int | None, chunked: bool) -> None:
        self.status, self.reason, self.headers = status, reason, headers
        self.will_close, self._length, self._chunked = will_close, length, chunked

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (any case), as ``getheader`` gives it."""
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None


class Connection:
    """One socket and the bytes read from it past the last reply (none, from a sane server)."""

    __slots__ = ("sock", "buffer")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read_reply(self, method: str, before_read) -> Reply:
        """The reply's head (a 100 Continue skipped). ``before_read()`` runs before each read
        from the socket (the caller sets its timeout from the attempt's deadline)."""
        while True:
            status, reason, version, headers = self._read_head(before_read)
            if status != 100:
                break
        names = {}
        for key, value in headers:
            lowered = key.lower()
            names[lowered] = f"{names[lowered]}, {value}" if lowered in names else value
        chunked = "chunked" in names.get("transfer-encoding", "").lower()
        length: int | None = None
        if not chunked and "content-length" in names:
            try:
                length = int(names["content-length"])
            except ValueError:
                length = None
            if length is not None and length < 0:
                length = None
        if status in (204, 304) or 100 <= status < 200 or method in _BODYLESS_METHODS:
            length, chunked = 0, False
        connection = names.get("connection", "").lower()
        if version == "HTTP/1.0":
            will_close = "keep-alive" not in connection and "keep-alive" not in names
        else:
            will_close = "close" in connection
        if not chunked and length is None:
            will_close = True  # the body runs to the end of the connection
        return Reply(status, reason, headers, will_close, length, chunked)

    def body_pieces(self, reply: Reply, before_read):
        """The reply's body, piece by piece, as it arrives (raw: any content coding is the caller's)."""
        if reply._chunked:
            yield from self._chunks(before_read)
        elif reply._length is None:
            if self.buffer:
                yield bytes(self.buffer)
                self.buffer.clear()
            while self._fill(before_read):
                yield bytes(self.buffer)
                self.buffer.clear()
        else:
            yield from self._exactly(reply._length, before_read)

    def _exactly(self, left: int, before_read):
        """The next ``left`` bytes, piece by piece; a connection that ends first is an error."""
        while left:
            if not self.buffer and not self._fill(before_read):
                raise http.client.IncompleteRead(b"", left)
            piece = bytes(self.buffer[:left])
            del self.buffer[: len(piece)]
            left -= len(piece)
            yield piece

    def _chunks(self, before_read):
        while True:
            line = self._line(before_read, MAX_CHUNK_LINE)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise http.client.IncompleteRead(b"") from None
            if size < 0:
                raise http.client.IncompleteRead(b"")
            if size == 0:
                while self._line(before_read, MAX_CHUNK_LINE).strip():  # the trailer, to its empty line
                    pass
                return
            yield from self._exactly(size, before_read)
            self._line(before_read, MAX_CHUNK_LINE)  # the CRLF after the chunk's data

    def _line(self, before_read, limit: int) -> bytes:
        start = 0
        while True:
            end = self.buffer.find(b"\n", start)
            if end >= 0:
                line = bytes(self.buffer[: end + 1])
                del self.buffer[: end + 1]
                return line
            if len(self.buffer) > limit:
                raise http.client.LineTooLong("chunk size")
            start = len(self.buffer)
            if not self._fill(before_read):
                raise http.client.IncompleteRead(bytes(self.buffer))

    def _read_head(self, before_read) -> tuple[int, str, str, list[tuple[str, str]]]:
        start = 0
        while True:
            found = _HEAD_END.search(self.buffer, start)
            if found is not None:
                break
            if len(self.buffer) > MAX_HEAD:
                raise http.client.LineTooLong("reply head")
            start = max(0, len(self.buffer) - 3)
            if not self._fill(before_read):
                if not self.buffer:
                    raise http.client.RemoteDisconnected("Remote end closed connection without response")
                raise http.client.IncompleteRead(bytes(self.buffer))
        head = bytes(self.buffer[: found.start()]).decode("iso-8859-1")
        del self.buffer[: found.end()]
        lines = head.split("\n")
        status_line = lines[0].rstrip("\r")
        parts = status_line.split(None, 2)
        if len(parts) == 2:
            parts.append("")
        if len(parts) != 3 or not parts[0].startswith("HTTP/"):
            raise http.client.BadStatusLine(status_line)
        version, code, reason = parts
        try:
            status = int(code)
        except ValueError:
            raise http.client.BadStatusLine(status_line) from None
        if not 100 <= status <= 999:
            raise http.client.BadStatusLine(status_line)
        headers: list[tuple[str, str]] = []
        for raw in lines[1:]:
            line = raw.rstrip("\r")
            if line[:1] in (" ", "\t") and headers:  # an obsolete folded line continues the last header
                name, value = headers[-1]
                headers[-1] = (name, f"{value} {line.strip()}")
                continue
            name, colon, value = line.partition(":")
            if colon:
                headers.append((name.strip(), value.strip()))
            if len(headers) > MAX_HEADERS:
                raise http.client.HTTPException(f"got more than {MAX_HEADERS} headers")
        return status, reason.strip(), version, headers

    def _fill(self, before_read) -> bool:
        before_read()
        piece = self.sock.recv(READ_SIZE)
        if not piece:
            return False
        self.buffer += piece
        return True
