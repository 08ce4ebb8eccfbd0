"""What processing a photo gives: its settings, its files and the record the cache keeps.

Apart from photos.py so that the build can name these types (the cache's allow-list, the
pages that show a photo) without importing Pillow: only a build that processes a photo does.
"""

from __future__ import annotations

from dataclasses import dataclass

# libwebp cannot encode a side longer than this; a very tall image fails there otherwise.
WEBP_MAX_SIDE = 16_383


@dataclass(frozen=True)
class PhotoSettings:
    widths: tuple[int, ...] = (480, 960, 1600)
    max_pixels: int = 50_000_000
    webp_quality: int = 80
    jpeg_quality: int = 82

    def __post_init__(self) -> None:
        widths = self.widths
        if not widths or list(widths) != sorted(set(widths)) or not 0 < widths[0] <= widths[-1] <= WEBP_MAX_SIDE:
            raise ValueError(f"photo widths must be ascending, from 1 to {WEBP_MAX_SIDE}, not {widths!r}")
        if self.max_pixels <= 0:
            raise ValueError(f"max_pixels must be positive, not {self.max_pixels!r}")
        for label, quality in (("webp_quality", self.webp_quality), ("jpeg_quality", self.jpeg_quality)):
            if not 1 <= quality <= 100:
                raise ValueError(f"{label} must be from 1 to 100, not {quality!r}")


@dataclass(frozen=True)
class Variant:
    name: str
    width: int
    height: int
    mime: str
    digest: str


@dataclass(frozen=True)
class PhotoRecord:
    width: int
    height: int
    variants: tuple[Variant, ...]
    notes: tuple[str, ...]


class PhotoRefused(Exception):
    """The photo cannot be published; str(exc) / exc.reason says what is wrong and what to do."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason
