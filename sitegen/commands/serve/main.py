"""The command line of ``build.py serve``: its options, and running the preview until Ctrl-C."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..messages import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, parse_arguments
from .server import PreviewServer, ServeSettings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="build.py serve",
        description="Preview the site on http://127.0.0.1: build it into .cache/serve/, serve it, rebuild and reload the browser on every change.",
    )
    parser.add_argument("--config", default="site.yml", metavar="PATH", help="site configuration (default: ./site.yml)")
    parser.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (default: 8000; 0 picks a free one)")
    parser.add_argument("--base", default="/", metavar="PATH", help="serve under this sub-path, as GitHub Pages does for a project site (e.g. /repo/; default: /)")
    parser.add_argument("--offline", action="store_true", help="never contact a translation service: use the translation memory only")
    parser.add_argument("--drafts", action="store_true", help="include segments marked 'draft: true'")
    return parser


def serve_main(argv: list[str] | None = None) -> int:
    args, code = parse_arguments(_parser(), argv)
    if args is None:
        return code
    config_path = Path(args.config)
    if not config_path.is_file():
        print(f"error: no such configuration file: {config_path} (run from the project folder or pass --config PATH)", file=sys.stderr)
        return EXIT_USAGE
    if not 0 <= args.port <= 65535:
        print(f"error: --port must be between 0 and 65535, not {args.port}", file=sys.stderr)
        return EXIT_USAGE
    server = PreviewServer(ServeSettings(config_path, port=args.port, base=args.base, offline=args.offline, drafts=args.drafts))
    try:
        try:
            server.start()
        except OSError as exc:
            print(f"error: cannot listen on 127.0.0.1:{args.port} ({exc.strerror or exc}): try another --port", file=sys.stderr)
            return EXIT_PROBLEMS
        except Exception as exc:  # noqa: BLE001 -- as the CLI: a message, not a traceback
            print(f"error: unexpected failure ({type(exc).__name__}: {exc})", file=sys.stderr)
            return EXIT_PROBLEMS
        print(f"serving the preview at {server.url}  (rebuilds on change; Ctrl-C to stop)", flush=True)
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    print("stopped", flush=True)
    return EXIT_OK
