"""How the preview puts a value into a one-line message (shared by its threads' reports)."""

from __future__ import annotations


def one_line(value: object, limit: int = 300) -> str:
    """``value`` as one line of at most ``limit`` characters, for a message (a request path may be 64 KiB)."""
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
