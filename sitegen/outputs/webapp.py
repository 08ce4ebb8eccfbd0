"""What makes the site an installable web app that reads offline: the service worker,
the web manifest and its icon; and .nojekyll, so that GitHub Pages serves the files as they are."""

from __future__ import annotations

import json

from ..config import SiteConfig
from ..core import urls
from ..core.hashing import hash_bytes
from ..core.languages import direction
from .base import Artifact, Made, Output, SiteView

ICON_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512"><rect width="512" height="512" rx="96" fill="#0b5b8a"/>'
    b'<text x="256" y="340" font-size="280" text-anchor="middle" fill="#fdfcf8" font-family="serif">\xd8\xa3</text></svg>\n'
)


class WebAppFiles(Output):
    name = "web app"

    def artifacts(self, view: SiteView) -> list[Artifact]:
        # Every page links the icon (urls.ICON): without it browsers ask for a /favicon.ico that is not there.
        files = {".nojekyll": b"", urls.ICON: ICON_SVG}
        if view.config.service_worker and view.theme.service_worker_js:
            files["sw.js"] = view.theme.service_worker_js.encode("utf-8")
            files["manifest.webmanifest"] = web_manifest(view.config)
        # Tiny and made of the configuration and theme: the bytes are their own key.
        return [Artifact(path, hash_bytes(data), lambda _memo, p=path, d=data: Made({p: d})) for path, data in files.items()]


def web_manifest(config: SiteConfig) -> bytes:
    manifest = {
        "name": config.title,
        "short_name": config.title[:12],
        "lang": config.language,
        "dir": direction(config.language),
        "start_url": "index.html",
        "scope": "./",
        "display": "standalone",
        "background_color": "#fdfcf8",
        "theme_color": "#0b5b8a",
        "icons": [{"src": "icon.svg", "sizes": "any", "type": "image/svg+xml"}],
    }
    return (json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8")
