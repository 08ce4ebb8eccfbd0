"""Answering one request of the preview: the site's files, redirects, the reload long poll.

The handler holds no settings of its own: it reads them, and the build counter
and the site folder, from the PreviewServer its HTTP server belongs to
(``self.server.preview``).
"""

from __future__ import annotations

import errno
import mimetypes
import os
import posixpath
import re
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, quote, unquote

from ..messages import one_line

RELOAD_PATH = "/__reload"
LONG_POLL_SECONDS = 25.0  # waited in the server, not on the socket: request_timeout does not cut it
# Host names a browser uses for this machine (the Host header, port aside). Any other is
# refused: a page of another site that resolves its name to 127.0.0.1 (DNS rebinding)
# must not read the preview, drafts included.
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")
TEXT = "text/plain; charset=utf-8"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".xml": "application/xml; charset=utf-8",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
    ".zip": "application/zip",
}

# {since} is the build counter the page was served with. A failed fetch (server
# stopped or restarting) retries after a pause; a restarted server answers with
# another counter and the page reloads.
RELOAD_SCRIPT = (
    '<script data-sitegen-reload>(function(){{var n={since};function p(){{'
    'fetch("{path}?since="+n,{{cache:"no-store"}}).then(function(r){{return r.text()}})'
    '.then(function(t){{if(String(n)!==t.trim()){{location.reload()}}else{{p()}}}})'
    '.catch(function(){{setTimeout(p,1000)}})}}p()}})();</script>'
)


def reload_script(counter: int) -> bytes:
    return RELOAD_SCRIPT.format(since=counter, path=RELOAD_PATH).encode("utf-8")


def inject_reload(html: bytes, counter: int) -> bytes:
    """The reload script before the last </body> (or at the end when there is none)."""
    script = reload_script(counter)
    at = html.lower().rfind(b"</body>")
    if at < 0:
        return html + script
    return html[:at] + script + html[at:]


class PreviewHandler(BaseHTTPRequestHandler):
    server_version = "sitegen-preview"
    protocol_version = "HTTP/1.1"

    @property
    def preview(self):
        """The PreviewServer answering (its settings, build counter and site folder)."""
        return self.server.preview

    def setup(self) -> None:
        # Set on the socket before the first read: a silent client, or one that stops reading
        # an answer, is dropped after this long (BaseHTTPRequestHandler closes on TimeoutError).
        self.timeout = self.preview.settings.request_timeout
        super().setup()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 -- quiet: the terminal shows builds
        pass

    def do_HEAD(self) -> None:
        self._respond(head=True)

    def do_GET(self) -> None:
        self._respond(head=False)

    def _respond(self, head: bool) -> None:
        self._answered = False  # a status line went out: too late for a 500
        try:
            self._answer(head)
        except Exception as exc:  # noqa: BLE001 -- a bug of ours costs one answer, not the connection
            self.preview.warn(f"error: cannot answer {self.command} {one_line(self.path, 200)} ({type(exc).__name__}: {one_line(exc)})")
            self.close_connection = True
            if not self._answered:
                self._send(HTTPStatus.INTERNAL_SERVER_ERROR, b"500: the preview failed to answer: see the terminal running build.py serve\n", TEXT, head)

    def _answer(self, head: bool) -> None:
        preview = self.preview
        if not self._from_this_machine():
            return self._send(
                HTTPStatus.FORBIDDEN,
                f"403: this preview answers only to {', '.join(LOCAL_HOSTS)} (another host name may be DNS rebinding): open {preview.url}\n".encode(),
                TEXT,
                head,
            )
        try:
            path, query = _split_target(self.path)
        except ValueError as exc:
            return self._send(HTTPStatus.BAD_REQUEST, f"400: {exc}\n".encode(), TEXT, head)
        if path == RELOAD_PATH:
            return self._reload(query, head)
        base = preview.base
        # As a browser would: '/repo/../x.html' is '/x.html', outside the site.
        decoded = unquote(path)
        clean = "/" + posixpath.normpath(decoded).lstrip("/")
        if decoded.endswith("/") and clean != "/":
            clean += "/"
        if base != "/" and clean in ("/", base.rstrip("/")):
            return self._redirect(_location(base, query))
        if not clean.startswith(base) or "\0" in clean:
            return self._send(
                HTTPStatus.NOT_FOUND,
                f"404: {one_line(path, 200)} is outside the site, which is served under {base}: open {preview.url}\n".encode(),
                TEXT,
                head,
            )
        normal = clean[len(base):].strip("/")
        site = preview.site_dir
        file = site / normal if normal else site
        try:
            is_dir = file.is_dir()
        except OSError:  # a name over 255 bytes (ENAMETOOLONG), a loop: no page there, as read_bytes says below
            is_dir = False
        if is_dir:
            if not clean.endswith("/"):
                return self._redirect(_location(clean + "/", query))
            file = file / "index.html"
        if preview.counter == 0:
            what = "The site is being built" if preview.builds == 0 else "The site did not build: see the terminal running build.py serve"
            body = (
                f'<!DOCTYPE html><html lang="en" dir="ltr"><meta charset="utf-8"><title>Preview</title><body>'
                f"<h1>{what}</h1><p>This page reloads when a build succeeds.</p></body></html>"
            ).encode()
            return self._send(HTTPStatus.SERVICE_UNAVAILABLE, inject_reload(body, 0), CONTENT_TYPES[".html"], head)
        try:
            data = file.read_bytes()
            status = HTTPStatus.OK
        except OSError as exc:
            if not _no_such_file(exc):
                return self._send(HTTPStatus.INTERNAL_SERVER_ERROR, f"cannot read {one_line(normal, 200)}: {exc.strerror or exc}\n".encode(), TEXT, head)
            status = HTTPStatus.NOT_FOUND
            try:
                data, file = (site / "404.html").read_bytes(), site / "404.html"
            except OSError:
                return self._send(status, b"404: not found\n", TEXT, head)
        content_type = _content_type(file.name)
        if content_type.startswith("text/html"):
            data = inject_reload(data, preview.counter)
        self._send(status, data, content_type, head)

    def _from_this_machine(self) -> bool:
        """Whether the Host header names this machine (any port). HTTP/1.0 may leave it out; a browser never does."""
        hosts = self.headers.get_all("Host") or []
        if len(hosts) > 1:
            return False
        if hosts and _host_name(hosts[0]) not in self.preview.local_hosts:
            return False
        # An absolute request target names the host too, and wins over the header (RFC 9112, 3.2.2).
        authority = _target_authority(self.path)
        return authority is None or _host_name(authority) in self.preview.local_hosts

    def _reload(self, query: str, head: bool) -> None:
        try:
            since = int(parse_qs(query).get("since", ["-1"])[0])
        except ValueError:
            since = -1
        counter = self.preview.wait_for_change(since, 0 if head else LONG_POLL_SECONDS)
        self._send(HTTPStatus.OK, str(counter).encode(), TEXT, head)

    def _redirect(self, location: str) -> None:
        self._answered = True
        try:
            self.send_response(HTTPStatus.FOUND)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()
        except OSError:  # hung up, or stopped reading: the connection is done
            self.close_connection = True

    def _send(self, status: HTTPStatus, data: bytes, content_type: str, head: bool) -> None:
        self._answered = True
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            if not head:
                self.wfile.write(data)
        except OSError:  # hung up, or stopped reading until request_timeout: the connection is done
            self.close_connection = True


# host, or [IPv6 literal], then an optional port
_HOST = re.compile(r"(\[[^\[\]]*\]|[^:\[\]]*)(?::[0-9]*)?")
_ABSOLUTE_TARGET = re.compile(r"(?i)https?://([^/?#]*)")


def _host_name(value: str) -> str | None:
    """The host of a Host header or an authority, lower case and without the port; None when malformed."""
    match = _HOST.fullmatch(value.strip())
    return match.group(1).lower() if match else None


def _target_authority(target: str) -> str | None:
    """The host and port of an absolute request target (``http://host:port/path``); None for ``/path``."""
    match = _ABSOLUTE_TARGET.match(target)
    return match.group(1) if match else None


def _split_target(target: str) -> tuple[str, str]:
    """The path (still percent-encoded) and query of a request target; ValueError for one no browser sends.

    Split by hand: urlsplit() raises on ``http://[x/`` and reads ``//host/path`` as a host.
    """
    match = _ABSOLUTE_TARGET.match(target)
    if match:
        target = "/" + target[match.end() :].lstrip("/")
    if not target.startswith("/"):
        raise ValueError("the request target must be a path")
    path, _, query = target.partition("#")[0].partition("?")
    return path, query


def _location(path: str, query: str) -> str:
    """A Location within this preview: one leading slash (never ``//host``), percent-encoded ASCII."""
    location = quote("/" + path.lstrip("/"), safe="/")
    return location + ("?" + quote(query, safe="=&;%+/?:@,!$'()*~") if query else "")


def _no_such_file(exc: OSError) -> bool:
    """A request for a name that is not in the site, however odd the name (too long for the file system too)."""
    return isinstance(exc, (FileNotFoundError, NotADirectoryError, IsADirectoryError)) or exc.errno in (errno.ENAMETOOLONG, errno.ELOOP)


def _content_type(name: str) -> str:
    suffix = os.path.splitext(name)[1].lower()
    if suffix in CONTENT_TYPES:
        return CONTENT_TYPES[suffix]
    guessed, _ = mimetypes.guess_type(name)
    return guessed or "application/octet-stream"
