"""One photo in, its published variants out: decoded safely, turned upright, converted to 8-bit sRGB
and written again as WebP and JPEG in the configured widths, with no metadata at all.

The photos may come from people in danger: EXIF GPS, a camera's serial number or an XMP packet
naming a phone can identify who took them and where. Nothing read from a file reaches an encoder:
every output is a new image holding only pixels, saved with no ``exif``, ``icc_profile``, ``xmp`` or
``comment`` argument. Files are hostile until proven otherwise, so every way a photo cannot be
published ends in ``PhotoRefused`` with a sentence for its author, never a traceback or half a result.

The function is pure (bytes and settings in, bytes out) so that the build can cache its result
under ``settings_key`` and the digest of the input, and run it in any worker.
"""

from __future__ import annotations

import io
import logging
import posixpath
import re
import struct
import warnings
from dataclasses import dataclass

import PIL
from PIL import ExifTags, Image, ImageCms, features

from sitegen.core.hashing import hash_bytes

from .records import WEBP_MAX_SIDE, PhotoRecord, PhotoRefused, PhotoSettings, Variant

# Pillow logs an ERROR for some hostile TIFFs besides raising; the build reports the photo
# with its file and line, so Python's last-resort printing of that log is noise. (Said here,
# where Pillow is imported: a build without photos never loads logging for it.)
logging.getLogger("PIL").addHandler(logging.NullHandler())

__all__ = ["PhotoRecord", "PhotoRefused", "PhotoSettings", "Variant", "process_photo", "settings_key"]

# Raise when a change here can change output bytes for the same input and settings: cached
# variants made by the old code are then made again.
PROCESSING_VERSION = 2

# The formats Pillow may even try: each one more is one more parser facing hostile bytes.
# A phone's MPO (a JPEG with a depth map or second view after it) opens through JPEG.
FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "TIFF")
MAX_SIDE = 65_000
_DRAFTABLE = ("JPEG", "MPO")
_KINDS = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "WEBP": "WebP", "GIF": "GIF", "TIFF": "TIFF"}
_EXTENSIONS = {
    "JPEG": (".jpg", ".jpeg", ".jpe", ".jfif"),
    "PNG": (".png",),
    "WebP": (".webp",),
    "GIF": (".gif",),
    "TIFF": (".tif", ".tiff"),
}
# What EXIF orientation 2-8 asks for to show the stored pixels upright (EXIF 2.32, tag 0x0112).
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SWAPS_SIDES = (5, 6, 7, 8)
# The first bytes of each format published, to tell a damaged header from another kind of file.
_MAGIC = {
    b"\xff\xd8\xff": "JPEG",
    b"\x89PNG\r\n\x1a\n": "PNG",
    b"GIF87a": "GIF",
    b"GIF89a": "GIF",
    b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF",
}
# What Pillow raises for a file it cannot read: damaged, truncated or crafted. Its pure-Python
# parsers also let struct.error and IndexError out when a file ends early (fuzzing found both in
# the GIF reader), and TypeError when a TIFF tag holds a value of the wrong type (a strip offset
# that is a float or a string). Anything else is a bug of ours or Pillow's and should surface as
# one, not as a message blaming the photo.
_READ_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError, TypeError)
_SIXTEEN_BIT = ("I;16", "I;16L", "I;16B", "I;16N")
_WHITE = 255


@dataclass(frozen=True)
class _Plan:
    sizes: tuple[tuple[int, int], ...]  # ascending widths, as published (upright)
    orientation: int
    draft: tuple[int, int]  # the least size libjpeg may decode to, in stored (not upright) sides


def settings_key(settings: PhotoSettings) -> str:
    """hash of the settings, PIL.__version__ and a PROCESSING_VERSION constant of this module: changes when output bytes could."""
    # The codec libraries are part of it too: a Pillow built from source links whichever
    # libjpeg, libwebp and littlecms the system has, and each can change the bytes.
    codecs = [features.version(name) for name in ("jpg", "webp", "littlecms2")]
    # Field by field rather than repr(): widths given as a list must give the same key as a tuple.
    values = (",".join(map(str, settings.widths)), settings.max_pixels, settings.webp_quality, settings.jpeg_quality)
    return hash_bytes("sitegen.media.photos", str(PROCESSING_VERSION), PIL.__version__, *codecs, *map(str, values))


def process_photo(data: bytes, name: str, settings: PhotoSettings) -> tuple[PhotoRecord, dict[str, bytes]]:
    """`data` = the file's bytes; `name` = its file name (for messages and the extension check only).
    Returns the record and {variant.name: bytes}. Raises PhotoRefused for anything that cannot be published."""
    _refuse_non_raster(data, name)
    notes: list[str] = []
    # Pillow warns about odd files (and about large ones before our own limit is checked); in a
    # build those warnings would be printed once per worker with no file name, so they are
    # silenced here and everything that matters becomes a refusal or a note instead. The filter
    # is process-wide while it lasts: the build runs photos in worker processes, not threads.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pixels, icc, plan = _decode(data, name, settings, notes)
        images = _resize_all(pixels, _Colour(icc, name, notes), plan)
        variants, files = _encode_all(images, settings)
    largest = images[-1]
    record = PhotoRecord(largest.width, largest.height, tuple(variants), tuple(notes))
    return record, files


def _refuse_non_raster(data: bytes, name: str) -> None:
    if not data:
        raise PhotoRefused(f"{name} is empty (0 bytes): copy the photo again; the transfer probably failed.")
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    # No raster format starts with "<"; an SVG does, and publishing one as a "photo" would put
    # its scripts and links to other sites on the page.
    if head.startswith(b"<") and (head.startswith(b"<?xml") or b"<svg" in head):
        raise PhotoRefused(
            f"{name}: SVG is not published as a photo: it can carry scripts and references to other sites; "
            "export it as PNG or JPEG."
        )


def _decode(data: bytes, name: str, settings: PhotoSettings, notes: list[str]) -> tuple[Image.Image, bytes | None, _Plan]:
    """The first frame's pixels, 8 bits a channel, as stored (not yet upright or in sRGB), its
    colour profile, and the plan."""
    try:
        with Image.open(io.BytesIO(data), formats=FORMATS) as im:
            plan = _plan(im, name, settings, notes)
            # libjpeg decodes at 1/2, 1/4 or 1/8 scale for a fraction of the time, never below the
            # size asked for: a landscape 12-megapixel photo is read as 3 megapixels for a 1600 px
            # variant (a portrait one in full: half its width, 1512 px, would be too narrow).
            im.draft("RGB", plan.draft)
            im.load()
            pixels = _eight_bit(im, name)
            icc = im.info.get("icc_profile") or None
    except Image.DecompressionBombError as exc:
        # Pillow's own limit, twice Image.MAX_IMAGE_PIXELS, stops the file inside Image.open.
        raise PhotoRefused(_too_many_pixels(name, _pixels_in(str(exc)), None, settings)) from exc
    except Image.UnidentifiedImageError as exc:
        raise PhotoRefused(_not_a_photo(data, name)) from exc
    except _READ_ERRORS as exc:
        raise PhotoRefused(
            f"{name} is damaged or incomplete, so it cannot be read ({_detail(exc)}): copy it again from "
            "the original; an interrupted download or transfer often cuts a photo short."
        ) from exc
    return pixels, icc, plan


def _plan(im: Image.Image, name: str, settings: PhotoSettings, notes: list[str]) -> _Plan:
    """What to make, decided from the headers; the size checks come before any pixel is decoded."""
    width, height = im.size
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        raise PhotoRefused(
            f"{name} claims to be {width}×{height} pixels, which no photo is: the file is damaged or was made "
            "to break image software; export it again from the original."
        )
    if width * height > settings.max_pixels:
        raise PhotoRefused(_too_many_pixels(name, width * height, (width, height), settings))
    fmt = im.format or ""
    notes.extend(_format_notes(im, fmt, name))
    if fmt not in _DRAFTABLE:
        # Loaded now so that metadata stored after the pixels (a PNG's eXIf chunk) is read;
        # only a JPEG can be decoded smaller, so nothing is lost by decoding the rest in full.
        im.load()
    orientation = _orientation(im, name, notes)
    swaps = orientation in _SWAPS_SIDES
    sizes = _variant_sizes(*((height, width) if swaps else (width, height)), settings.widths)
    widest, tallest = sizes[-1]
    if tallest > WEBP_MAX_SIDE:
        raise PhotoRefused(
            f"{name} is too tall for its width: its {widest} px wide version would be {tallest} px tall, more "
            f"than the {WEBP_MAX_SIDE} px a WebP image can have; crop it or split it into several images."
        )
    # Upright width comes from the stored height when the photo is turned a quarter.
    return _Plan(sizes, orientation, (1, widest) if swaps else (widest, 1))


def _variant_sizes(width: int, height: int, widths: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    """The configured widths below the photo's, and the largest it can have: its own width, up to
    the largest configured. A 1,400 px photo is published at 480, 960 and 1,400, not cut to 960,
    which would waste what a sharp phone screen can show. A configured width within a fifth of
    that largest one is left out: 960 beside 1,200, or 480 beside 500, saves a reader nothing."""
    top = min(width, widths[-1])
    chosen = [w for w in widths if w < top * 0.8] + [top]
    return tuple((w, max(1, round(height * w / width))) for w in chosen)


def _too_many_pixels(name: str, pixels: int | None, size: tuple[int, int] | None, settings: PhotoSettings) -> str:
    # Pillow refuses more than twice Image.MAX_IMAGE_PIXELS whatever site.yml says, so raising
    # the configured limit is only advice when the photo is under that.
    hard_limit = 2 * Image.MAX_IMAGE_PIXELS
    shown = f"{pixels / 1_000_000:.1f} megapixels" if pixels else "far too many pixels"
    if size is not None:
        shown += f" ({size[0]}×{size[1]})"
    advice = f"resize it (the site shows photos at most {max(settings.widths)} px wide)"
    if pixels is not None and pixels <= hard_limit:
        advice += ", or raise photos.max_megapixels in site.yml"
    limit = min(settings.max_pixels, hard_limit) / 1_000_000
    return (
        f"{name} is {shown}, over the limit of {limit:g} megapixels that keeps one file from "
        f"exhausting the build's memory: {advice}."
    )


def _pixels_in(message: str) -> int | None:
    # Pillow stops the file before we see its size; the count is in its message
    # ("Image size (400000000 pixels) exceeds limit of ...").
    found = re.search(r"\((\d+) pixels\)", message)
    return int(found.group(1)) if found else None


def _format_notes(im: Image.Image, fmt: str, name: str) -> list[str]:
    notes = []
    # An MPO's other frames are a phone's depth map or second view, not an animation.
    if fmt != "MPO" and getattr(im, "is_animated", False):
        if fmt == "TIFF":
            notes.append(f"{name} holds several pages: only the first is published; export the others as separate images.")
        else:
            notes.append(
                f"{name} is animated: only its first frame is published, as a still photo; "
                "to show the motion, publish it as a video instead."
            )
    kind = _KINDS.get(fmt, fmt)
    stem, suffix = posixpath.splitext(name)
    if suffix.lower() not in _EXTENSIONS.get(kind, ()):
        notes.append(f"{name} is really a {kind} image: rename it to {stem}{_EXTENSIONS[kind][0]} so that its name says what it is.")
    return notes


def _orientation(im: Image.Image, name: str, notes: list[str]) -> int:
    try:
        exif = im.getexif()
        value = exif.get(ExifTags.Base.Orientation, 1)
    except _READ_ERRORS:
        exif, value = None, 1
    if not exif and im.info.get("exif") and not _empty_exif(im.info["exif"]):
        # Pillow reads a damaged EXIF block as an empty one (a JPEG's is read, and its error
        # swallowed, while the file is opened): present but empty is how the damage shows.
        notes.append(
            f"{name} has damaged EXIF data, so which way up it goes is unknown: check that it shows upright, "
            "and if not, rotate it and save it again."
        )
        return 1
    # A crafted file can put any type of value here; only the eight the standard defines count.
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _empty_exif(raw: bytes) -> bool:
    """Whether an EXIF block is whole but holds no tag (some tools write one): not damage."""
    body = raw[6:] if raw.startswith(b"Exif\x00\x00") else raw
    order = {b"MM\x00*": "big", b"II*\x00": "little"}.get(body[:4])
    if order is None or len(body) < 8:
        return False
    offset = int.from_bytes(body[4:8], order)
    return len(body) >= offset + 2 and int.from_bytes(body[offset : offset + 2], order) == 0


@dataclass(frozen=True)
class _Colour:
    icc: bytes | None
    name: str  # for notes
    notes: list[str]


def _to_srgb(pixels: Image.Image, colour: _Colour) -> Image.Image:
    """The pixels as L, LA, RGB or RGBA in sRGB (grey stays grey: a third of the bytes)."""
    if colour.icc:
        pixels = _apply_profile(pixels, colour)
    if pixels.mode == "CMYK":
        # Without a profile the naive formula is all there is; Pillow has already undone the
        # inversion Adobe applications write into CMYK JPEGs.
        pixels = pixels.convert("RGB")
    if pixels.mode in ("LA", "RGBA") and pixels.getchannel("A").getextrema() == (_WHITE, _WHITE):
        # A fully opaque alpha channel only costs time: in every resize and in flattening for JPEG.
        pixels = pixels.convert(pixels.mode[:-1])
    return pixels


def _eight_bit(im: Image.Image, name: str) -> Image.Image:
    """L, LA, RGB, RGBA or CMYK, 8 bits a channel, with any transparency as an alpha channel."""
    mode = im.mode
    transparent = im.info.get("transparency") is not None
    if mode in ("L", "RGB") and transparent:
        return im.convert("RGBA" if mode == "RGB" else "LA")
    if mode in ("L", "LA", "RGB", "RGBA", "CMYK"):
        return im
    if mode in ("P", "PA"):
        return im.convert("RGBA")
    simple = {"1": "L", "La": "LA", "RGBX": "RGB", "RGBa": "RGBA", "YCbCr": "RGB"}
    if mode in simple:
        return im.convert(simple[mode])
    if mode in _SIXTEEN_BIT or mode in ("I", "F"):
        return _scaled_to_l(im)
    raise PhotoRefused(
        f"{name} uses the colour mode {mode}, which cannot be converted for the web: "
        "export it as an 8-bit RGB JPEG or PNG."
    )


def _scaled_to_l(im: Image.Image) -> Image.Image:
    """Greyscale of more than 8 bits, scaled to 8: converting directly would clip every value over
    255 to white, and a 16-bit photo is nearly all over 255."""
    if im.mode in _SIXTEEN_BIT:
        # The full 16-bit range is the meaning of these modes: 65535 is white.
        wide, low, high = im.convert("I"), 0.0, 65535.0
    else:
        # 32-bit integer or float pixels have no fixed white; floats from 0 to 1 are the
        # usual convention, anything else is stretched from its darkest value to its lightest.
        wide = im
        low, high = (float(v) for v in im.getextrema())
        if im.mode == "F" and 0.0 <= low and high <= 1.0:
            low, high = 0.0, 1.0
        elif 0.0 <= low and high <= 255.0:
            low, high = 0.0, 255.0
    scale = 255.0 / (high - low) if high > low else 0.0
    # point() with a linear function runs in C on I and F images; +0.5 rounds rather than truncates.
    return wide.point(lambda v: v * scale + (0.5 - low * scale)).convert("L")


def _apply_profile(pixels: Image.Image, colour: _Colour) -> Image.Image:
    """Convert from the embedded profile to sRGB, the space browsers assume for untagged images."""
    alpha = pixels.getchannel("A") if pixels.mode in ("LA", "RGBA") else None
    bands = pixels.convert(pixels.mode[:-1]) if alpha is not None else pixels
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(colour.icc or b""))
        transform = ImageCms.buildTransform(
            source, ImageCms.createProfile("sRGB"), bands.mode, "RGB", renderingIntent=ImageCms.Intent.PERCEPTUAL
        )
        converted = ImageCms.applyTransform(bands, transform)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        # A damaged profile, or one for another colour space than the pixels: the photo is still
        # worth publishing, with colours as they come.
        colour.notes.append(
            f"{colour.name} has a colour profile that cannot be used, so its colours were taken as they are: "
            "check them, or export the photo again in sRGB."
        )
        return pixels
    assert converted is not None  # applyTransform returns None only when asked to work in place
    if bands.mode == "L":
        # A grey profile's sRGB result is neutral; back to one channel for a third of the bytes.
        converted = converted.convert("L")
    if alpha is not None:
        converted.putalpha(alpha)
    return converted


def _not_a_photo(data: bytes, name: str) -> str:
    head = data[:512]
    kinds = [kind for magic, kind in _MAGIC.items() if head.startswith(magic)]
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        kinds.append("WebP")
    if kinds:
        # The right signature, and still nothing Pillow can open: its header is what is broken.
        return (
            f"{name} starts like a {kinds[0]} image but its header is damaged, so it cannot be read: "
            "copy it again from the original, or export it again."
        )
    what = _sniff(head)
    if what == "a HEIC photo":
        hint = "export it as JPEG (an iPhone does so itself with Settings › Camera › Formats › Most Compatible)."
    else:
        hint = "export it as JPEG (photographs) or PNG (graphics)."
    return f"{name} is {what}, not a JPEG, PNG, WebP, GIF or TIFF image that the site publishes: {hint}"


def _sniff(head: bytes) -> str:
    """What a refused file most likely is, only to word the message."""
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1"):
            return "a HEIC photo"
        if brand in (b"avif", b"avis"):
            return "an AVIF image"
        return "a video or other media file"
    known = {b"%PDF": "a PDF document", b"8BPS": "a Photoshop document", b"BM": "a BMP image", b"PK\x03\x04": "a ZIP archive"}
    for magic, what in known.items():
        if head.startswith(magic):
            return what
    # A cut through a multi-byte character at the end of the sample still reads as text.
    text = b"\x00" not in head and "\ufffd" not in head.decode("utf-8", errors="replace")[:-1]
    return "a text file" if text else "an unknown kind of file"


def _detail(exc: BaseException) -> str:
    lines = str(exc).splitlines()
    # Messages can name a Python object by its address, which differs from run to run.
    text = re.sub(r" at 0x[0-9a-fA-F]+", "", lines[0] if lines else "")[:160]
    return text or type(exc).__name__


def _resize_all(pixels: Image.Image, colour: _Colour, plan: _Plan) -> list[Image.Image]:
    """Each size in ascending order, upright and in sRGB, each made from the next larger one: a
    third of the work of making each from the original, and no visible difference with Lanczos."""
    widest = plan.sizes[-1]
    # Only the first reduction works on the full decoded image; converting colours and turning
    # upright come after it, on a quarter of the pixels or fewer. On a 12-megapixel portrait
    # photo with a Display P3 or Adobe RGB profile that is the difference between 1 s and 0.7 s.
    # Resizing before converting blends the same gamma-encoded values either way.
    current = _to_srgb(_resized(pixels, widest[::-1] if plan.orientation in _SWAPS_SIDES else widest), colour)
    method = _TRANSPOSE.get(plan.orientation)
    if method is not None:
        current = current.transpose(method)
    made = [current]
    for size in reversed(plan.sizes[:-1]):
        current = _resized(current, size)
        made.append(current)
    return made[::-1]


def _resized(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    if image.size == size:
        return image
    # reducing_gap lets Pillow shrink a large input by whole factors first (a box filter, exact
    # for them) before Lanczos: several times faster on a big PNG, indistinguishable.
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _encode_all(images: list[Image.Image], settings: PhotoSettings) -> tuple[list[Variant], dict[str, bytes]]:
    variants: list[Variant] = []
    files: dict[str, bytes] = {}
    for ext, mime in (("webp", "image/webp"), ("jpg", "image/jpeg")):
        for image in images:
            data = _webp(image, settings.webp_quality) if ext == "webp" else _jpeg(image, settings.jpeg_quality)
            digest = hash_bytes(data)
            variant = Variant(f"{digest[:16]}-{image.width}.{ext}", image.width, image.height, mime, digest)
            variants.append(variant)
            files[variant.name] = data
    return variants, files


def _bare(image: Image.Image) -> Image.Image:
    """A new image holding only the pixels. Pillow copies ``info`` along every resize, convert and
    copy, and its JPEG writer saves ``info["comment"]`` unasked: the original's comment would
    reach the published file through any of them."""
    bare = Image.new(image.mode, image.size)
    bare.paste(image)
    return bare


def _webp(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    # method 4, libwebp's default: on 12-megapixel test photos 3 was no faster, 6 two to three per
    # cent smaller but 1.7 to 3 times slower, and 2 twice as fast but up to 9 per cent larger.
    _bare(image).save(out, "WEBP", quality=quality, method=4)
    return out.getvalue()


def _jpeg(image: Image.Image, quality: int) -> bytes:
    flat = image
    if image.mode in ("LA", "RGBA"):
        # JPEG has no transparency: what is transparent becomes the white of the page.
        flat = Image.new(image.mode[:-1], image.size, _WHITE if image.mode == "LA" else (_WHITE,) * 3)
        flat.paste(image.convert(image.mode[:-1]), mask=image.getchannel("A"))
    out = io.BytesIO()
    _bare(flat).save(out, "JPEG", quality=quality, optimize=True, progressive=True)
    return out.getvalue()
