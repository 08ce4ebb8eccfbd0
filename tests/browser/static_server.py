"""The browser tests' HTTP server: ``python -m http.server`` with a listen queue a browser cannot overflow.

``http.server`` listens with a queue of five connections. A page that asks for its
stylesheet, scripts, fonts and images at once, on a loaded two-core machine, can
find the queue full, and Chromium then shows ``chrome-error://`` for a page that is
there: a test failing for a reason that is not its own. Run as a script: it prints
``port N`` once it listens, then serves ``--directory`` until it is terminated.
"""

from __future__ import annotations

import argparse
import functools
import http.server


class _Server(http.server.ThreadingHTTPServer):
    request_queue_size = 256
    daemon_threads = True


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args) -> None:  # noqa: A002 - the base class's name
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--directory", required=True)
    args = parser.parse_args()
    handler = functools.partial(_QuietHandler, directory=args.directory)
    with _Server(("127.0.0.1", 0), handler) as server:
        print(f"serving on port {server.server_address[1]}", flush=True)
        server.serve_forever()


if __name__ == "__main__":
    main()
