"""Photos as authors reference them, and where those references may lead.

A photo is a Markdown image on a line of its own (``![alt](photo.jpg "caption")``) or a
segment's lead photo from front matter (``image``, ``image_alt``, ``image_caption``,
``image_credit``). Only files inside ``content/`` are ever read: a remote address stays a
link, and a path that leaves the folder (``..``, an absolute path, a symbolic link that
points out) is refused, so a hostile article cannot publish a file of the machine.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

# A scheme (https:, data:, file:, javascript:) or a network path (//host/x.jpg).
_REMOTE = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|//|\\\\)")
_WEB = re.compile(r"^https?://", re.I)


@dataclass(frozen=True)
class PhotoRef:
    src: str  # as the author wrote it
    alt: str  # what the photo shows, for a reader who cannot see it
    caption: str
    credit: str
    line: int  # where it is referenced in the source file
    lead: bool = False  # the segment's lead photo (from front matter): shown first, loaded at once

    @property
    def units(self) -> tuple[str, ...]:
        """What is translated for the companion: the alt text and the caption (a credit is a name)."""
        return tuple(text for text in (self.alt, self.caption) if text)

    @property
    def remote(self) -> bool:
        return bool(_REMOTE.match(self.src.strip()))

    @property
    def web_link(self) -> str | None:
        """A remote photo is never loaded: an http(s) one is shown as a link to it."""
        src = self.src.strip()
        return src if _WEB.match(src) else None


@dataclass(frozen=True)
class Located:
    rel: str | None  # the photo's path under content/ ('/'), or None when it cannot be used
    problem: str | None  # why not (or None)


def locate_photo(src: str, source_path: Path, content_dir: Path) -> Located:
    """Where a referenced photo is: beside the article first, then under content/.

    Never outside content/: the real path (symbolic links followed) must be inside it and
    be a regular file.
    """
    text = unquote(src.strip().split("#", 1)[0].split("?", 1)[0])
    if not text:
        return Located(None, "image with no file name: write ![what it shows](photo.jpg)")
    if "\x00" in text or len(text) > 1024:
        return Located(None, "image path is not a file name: rename the photo and reference it by its name")
    root = os.path.realpath(content_dir)
    relative = text.lstrip("/")
    bases = [content_dir] if text.startswith("/") else [source_path.parent, content_dir]
    outside = f"photo '{src}' leads outside the content folder (through '..' or a symbolic link): only files inside content/ are published; copy the photo beside the article"
    for base in bases:
        candidate = os.path.normpath(os.path.join(os.path.realpath(base), relative))
        if not _inside(candidate, root):
            return Located(None, outside)
        if not os.path.lexists(candidate):
            continue
        real = os.path.realpath(candidate)
        if not _inside(real, root):
            return Located(None, outside)
        try:
            info = os.stat(real)
        except OSError:
            return Located(None, f"photo '{src}' cannot be read: check the file")
        if not stat.S_ISREG(info.st_mode):
            return Located(None, f"photo '{src}' is not a regular file: reference an image file")
        return Located(os.path.relpath(real, root).replace(os.sep, "/"), None)
    looked = "content/" if text.startswith("/") else "beside the article and under content/"
    return Located(None, f"photo '{src}' not found ({looked}): check the file name, or add the photo")


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root + os.sep)


def line_of(lines: list[str], src: str, first_line: int, after: int = 0, most: int | None = None) -> tuple[int, int]:
    """The line (of the file) where ``src`` is referenced: the first at or after ``after``
    (``after`` itself when none is), and how many lines were read to find it, at most
    ``most``. ``lines``: the body's lines, split once by the caller (split for every photo, a
    body of 8,000 photos took 5 s)."""
    start = max(0, after - first_line)
    end = len(lines) if most is None else min(len(lines), start + most)
    for index in range(start, end):
        if src in lines[index]:
            return first_line + index, index + 1 - start
    return max(first_line, after), end - start
