"""A fast LibreTranslate-compatible stub for timing a first translation (127.0.0.1 only).

asyncio, HTTP/1.1 with keep-alive, no threads: it answers at once, so a build's
time against it is the build's own cost per paragraph (requests, journal, memory),
not a service's. It speaks what deep-translator's ``LibreTranslator`` sends:

- ``POST /translate`` with ``q``, ``source``, ``target``, ``format`` and maybe
  ``api_key`` as URL query parameters (also read from a form or JSON body, as the
  real server does), answered ``{"translatedText": ...}`` where the text is
  ``corpus.fake_english(q, entry_key(q))``: deterministic English-looking words
  (ASCII, about 10% longer than the Arabic), the very text the benchmark's
  translation memories hold for the same paragraph;
- ``GET /languages``: ar and en;
- ``GET /stats``: ``{"translate": <requests answered>, "characters": <of q>}``.

Run it as its own process (``run.py`` does)::

    python bench/libre_fast_stub.py --port 0     # prints "listening http://127.0.0.1:PORT/" and serves until killed
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpus  # noqa: E402  (bench/corpus.py: fake_english and the project's entry_key)

LANGUAGES = [{"code": "ar", "name": "Arabic", "targets": ["en"]}, {"code": "en", "name": "English", "targets": ["ar"]}]
READ_LIMIT = 4 * 1024 * 1024  # a request head (the query holds the text, URL-encoded) or body
STATS = {"translate": 0, "characters": 0}


def translate(text: str) -> str:
    if not text.strip():
        return text
    return corpus.fake_english(text, corpus.entry_key(text, corpus.SOURCE_LANGUAGE, corpus.TARGET_LANGUAGE))


def _fields(target: str, headers: dict[str, str], body: bytes) -> dict[str, str]:
    fields = {k: v[0] for k, v in parse_qs(urlsplit(target).query, keep_blank_values=True).items()}
    kind = headers.get("content-type", "")
    if body and "json" in kind:
        try:
            data = json.loads(body)
            fields.update({k: str(v) for k, v in data.items()} if isinstance(data, dict) else {})
        except ValueError:
            pass
    elif body:
        fields.update({k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()})
    return fields


def route(method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, object]:
    path = urlsplit(target).path.rstrip("/") or "/"
    if path == "/translate" and method == "POST":
        q = _fields(target, headers, body).get("q")
        if q is None:
            return 400, {"error": "Invalid request: missing q parameter"}
        STATS["translate"] += 1
        STATS["characters"] += len(q)
        return 200, {"translatedText": translate(q)}
    if path == "/languages" and method in ("GET", "POST"):
        return 200, LANGUAGES
    if path == "/stats":
        return 200, STATS
    return 404, {"error": "Not Found"}


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                return
            lines = head.decode("latin-1").split("\r\n")
            try:
                method, target, version = lines[0].split(" ", 2)
            except ValueError:
                return
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
            body = await reader.readexactly(int(headers.get("content-length") or 0))
            status, payload = route(method, target, headers, body)
            data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            close = headers.get("connection", "").lower() == "close" or version == "HTTP/1.0"
            writer.write(
                f"HTTP/1.1 {status} {'OK' if status == 200 else 'Error'}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(data)}\r\nConnection: {'close' if close else 'keep-alive'}\r\n\r\n".encode("ascii") + data
            )
            await writer.drain()
            if close:
                return
    except (ConnectionError, asyncio.IncompleteReadError, ValueError):
        return
    finally:
        writer.close()


async def serve(host: str, port: int) -> None:
    server = await asyncio.start_server(handle, host, port, limit=READ_LIMIT, backlog=512)
    bound = server.sockets[0].getsockname()[1]
    print(f"listening http://{host}:{bound}/", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", choices=("127.0.0.1", "localhost", "::1"))
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed)")
    args = parser.parse_args(argv)
    asyncio.run(serve(args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
