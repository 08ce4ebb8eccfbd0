"""The offline edition: the whole site as one deterministic zip, for a phone or a USB stick."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping

# Zip cannot store dates before 1980; a fixed date makes two builds byte-identical.
FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def site_zip(files: Mapping[str, bytes], folder: str = "site") -> bytes:
    """Every file under one folder, in sorted order, with fixed times and permissions."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for rel in sorted(files):
            info = zipfile.ZipInfo(f"{folder}/{rel}", date_time=FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.create_system = 3  # Unix, whatever the building machine
            # Pages compress well; fast settings keep large archives quick to build.
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[rel], compresslevel=6)
    return buffer.getvalue()
