"""Work nobody waits for, handed to a process of its own that outlives the build (deleting an
old site, copying the cache's log into its file)."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence


def start_detached(command: Sequence[str]) -> bool:
    """Start ``command`` in a session of its own, reading and printing nothing, and do not
    wait for it; False if it could not be started (the caller then does the work itself)."""
    try:
        subprocess.Popen(list(command), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    except OSError:
        return False
    return True
