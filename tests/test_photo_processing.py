"""sitegen.media.photos: every photo written again with no metadata, upright, in sRGB, in the
configured widths, and every file that cannot be published refused with a reason.

The test images are made here, by Pillow or by hand where Pillow cannot write what a camera or
an attacker would (an EXIF thumbnail, an IPTC block, a PNG header that lies about its size).
"""

from __future__ import annotations

import io
import json
import os
import pickle
import re
import shutil
import struct
import subprocess
import zlib

import PIL
import pytest
from PIL import ExifTags, Image, ImageCms
from PIL.TiffImagePlugin import IFDRational

from sitegen.core.hashing import hash_bytes
from sitegen.media import photos
from sitegen.media.photos import PhotoRecord, PhotoRefused, PhotoSettings, process_photo, settings_key

SETTINGS = PhotoSettings()
SMALL = PhotoSettings(widths=(16, 32, 64))

# What the planted photo carries; none of it may reach a published byte.
MAKE = "PlantedCamMake"
MODEL = "PlantedModel-X1"
SERIAL = "SERIAL-0xDEADBEEF"
GPS_AREA = b"PLANTED-GPS-AREA"
MAKER_NOTE = b"PLANTED-MAKERNOTE"
COMMENT = b"PLANTED-COMMENT"
XMP_CITY = "PLANTED-XMP-CITY"
BYLINE = b"PLANTED-IPTC-BYLINE"
THUMB_COMMENT = b"PLANTED-THUMBNAIL"
ICC_DESCRIPTION = "PLANTED-ICC-ADOBE-RGB"
LATITUDE = ((33, 1), (30, 1), (1231, 100))  # in lowest terms: Pillow writes rationals reduced
LONGITUDE = ((36, 1), (17, 1), (5677, 100))


# ---------------------------------------------------------------- making test images


def _encode(im: Image.Image, fmt: str, **params) -> bytes:
    out = io.BytesIO()
    im.save(out, fmt, **params)
    return out.getvalue()


def _open(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def _pixel(data: bytes, xy: tuple[int, int] | None = None, mode: str = "RGB") -> tuple[int, ...]:
    """The pixel at xy, or at the centre."""
    im = _open(data).convert(mode)
    value = im.getpixel(xy or (im.width // 2, im.height // 2))
    return value if isinstance(value, tuple) else (value,)


def _close(actual, expected, tolerance: int) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


def _quadrants(width: int, height: int) -> Image.Image:
    """Red top left, green top right, blue bottom left, white bottom right: every flip and turn differs."""
    im = Image.new("RGB", (width, height), "white")
    im.paste((255, 0, 0), (0, 0, width // 2, height // 2))
    im.paste((0, 255, 0), (width // 2, 0, width, height // 2))
    im.paste((0, 0, 255), (0, height // 2, width // 2, height))
    return im


def _text_description(tag: bytes, text: str) -> bytes:
    ascii_ = text.encode("ascii") + b"\x00"
    return tag + b"\x00" * 4 + struct.pack(">I", len(ascii_)) + ascii_ + struct.pack(">IIHB", 0, 0, 0, 0) + b"\x00" * 67


def _xyz(values: tuple[float, float, float]) -> bytes:
    return b"XYZ " + b"\x00" * 4 + b"".join(struct.pack(">i", round(v * 65536)) for v in values)


def _curve(gamma: float) -> bytes:
    return b"curv" + b"\x00" * 4 + struct.pack(">IH", 1, round(gamma * 256)) + b"\x00\x00"


def _icc(space: bytes, tags: list[tuple[bytes, bytes]], description: str) -> bytes:
    """An ICC v2 display profile built by hand: ImageCms can only create sRGB, LAB and XYZ ones."""
    tags = [(b"desc", _text_description(b"desc", description)), (b"cprt", b"text" + b"\x00" * 4 + b"No copyright\x00"),
            (b"wtpt", _xyz((0.9642, 1.0, 0.8249))), *tags]
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for signature, data in tags:
        data += b"\x00" * (-len(data) % 4)
        table += signature + struct.pack(">II", offset + len(body), len(data))
        body += data
    header = struct.pack(">I4sI4s4s4s", offset + len(body), b"\x00" * 4, 0x02100000, b"mntr", space, b"XYZ ")
    header += b"\x00" * 12 + b"acsp" + b"\x00" * 24 + struct.pack(">I", 0)
    header += b"".join(struct.pack(">i", round(v * 65536)) for v in (0.9642, 1.0, 0.8249))
    header += b"\x00" * (128 - len(header))
    return header + struct.pack(">I", len(tags)) + table + body


def _adobe_rgb_profile(description: str = ICC_DESCRIPTION) -> bytes:
    """The Adobe RGB (1998) primaries (adapted to D50, as in Adobe's own profile) and gamma 563/256."""
    gamma = _curve(563 / 256)
    return _icc(b"RGB ", [
        (b"rXYZ", _xyz((0.60974, 0.31111, 0.01947))),
        (b"gXYZ", _xyz((0.20528, 0.62567, 0.06087))),
        (b"bXYZ", _xyz((0.14919, 0.06322, 0.74457))),
        (b"rTRC", gamma), (b"gTRC", gamma), (b"bTRC", gamma),
    ], description)


def _linear_grey_profile() -> bytes:
    return _icc(b"GRAY", [(b"kTRC", _curve(1.0))], "linear grey")


def _exif_with_gps_and_thumbnail(orientation: int = 1) -> bytes:
    """An EXIF block as a phone writes it: make, model, serial number, capture time, maker note,
    GPS position, and an IFD1 thumbnail (Pillow writes no IFD1, so it is appended by hand)."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = MAKE
    exif[ExifTags.Base.Model] = MODEL
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.IFD.Exif] = {
        ExifTags.Base.BodySerialNumber: SERIAL,
        ExifTags.Base.DateTimeOriginal: "2024:02:03 04:05:06",
        ExifTags.Base.MakerNote: MAKER_NOTE,
    }
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: tuple(IFDRational(*r) for r in LATITUDE),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: tuple(IFDRational(*r) for r in LONGITUDE),
        ExifTags.GPS.GPSAreaInformation: b"ASCII\x00\x00\x00" + GPS_AREA,
    }
    thumbnail = _encode(Image.new("RGB", (16, 12), "blue"), "JPEG", comment=THUMB_COMMENT)
    tiff = bytearray(exif.tobytes()[6:])
    endian = "<" if tiff[:2] == b"II" else ">"
    ifd0 = struct.unpack_from(endian + "I", tiff, 4)[0]
    next_ifd_at = ifd0 + 2 + 12 * struct.unpack_from(endian + "H", tiff, ifd0)[0]
    tiff += b"\x00" * (len(tiff) % 2)
    struct.pack_into(endian + "I", tiff, next_ifd_at, len(tiff))
    thumbnail_at = len(tiff) + 2 + 3 * 12 + 4
    compression = 6 << 16 if endian == ">" else 6  # a SHORT sits in the first two bytes of the field
    tiff += struct.pack(endian + "H", 3)
    tiff += struct.pack(endian + "HHII", 0x0103, 3, 1, compression)
    tiff += struct.pack(endian + "HHII", 0x0201, 4, 1, thumbnail_at)
    tiff += struct.pack(endian + "HHII", 0x0202, 4, 1, len(thumbnail))
    tiff += struct.pack(endian + "I", 0) + thumbnail
    return b"Exif\x00\x00" + bytes(tiff)


def _with_iptc(jpeg: bytes) -> bytes:
    """Insert a Photoshop APP13 segment with an IPTC by-line (Pillow cannot write one)."""
    iptc = b"\x1c\x02\x50" + struct.pack(">H", len(BYLINE)) + BYLINE
    resource = b"8BIM" + struct.pack(">H", 0x0404) + b"\x00\x00" + struct.pack(">I", len(iptc)) + iptc
    resource += b"\x00" * (len(resource) % 2)
    payload = b"Photoshop 3.0\x00" + resource
    return jpeg[:2] + b"\xff\xed" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def _planted_jpeg(size: tuple[int, int] = (1000, 750)) -> bytes:
    xmp = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'<rdf:Description xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" photoshop:City="{XMP_CITY}"/>'
        "</rdf:RDF></x:xmpmeta>"
    )
    im = _quadrants(*size)
    jpeg = _encode(
        im, "JPEG", quality=90, exif=_exif_with_gps_and_thumbnail(), icc_profile=_adobe_rgb_profile(),
        comment=COMMENT, xmp=xmp.encode(),
    )
    return _with_iptc(jpeg)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_claiming(width: int, height: int, bit_depth: int = 1, colour_type: int = 0, rows: bytes = b"\x00" * 64) -> bytes:
    """A PNG whose header claims any size, with a few bytes of pixel data: a decompression bomb's shape."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", zlib.compress(rows)) + _png_chunk(b"IEND", b"")


# ---------------------------------------------------------------- no metadata


def test_the_planted_photo_really_carries_every_kind_of_metadata():
    """Without this the stripping tests could pass on a photo that had nothing to strip."""
    data = _planted_jpeg()
    im = _open(data)
    exif = im.getexif()
    assert exif[ExifTags.Base.Make] == MAKE
    assert exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.BodySerialNumber] == SERIAL
    assert exif.get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitudeRef] == "N"
    assert exif.get_ifd(ExifTags.IFD.IFD1)[0x0202] > 0  # the thumbnail's length
    assert im.info["icc_profile"] and XMP_CITY.encode() in im.info["xmp"] and im.info["comment"] == COMMENT
    for marker in (SERIAL.encode(), MAKE.encode(), GPS_AREA, MAKER_NOTE, BYLINE, THUMB_COMMENT, b"http://ns.adobe.com/xap"):
        assert marker in data
    assert any(coordinates in data for coordinates in _gps_coordinates())
    assert {0xE1, 0xE2, 0xED, 0xFE} <= set(_jpeg_markers(data))  # EXIF and XMP, ICC, IPTC, comment


def _gps_coordinates() -> list[bytes]:
    """The planted latitude and longitude as EXIF stores them: three rationals, in either byte order."""
    return [b"".join(struct.pack(f"{e}II", *r) for r in value) for e in "<>" for value in (LATITUDE, LONGITUDE)]


def _jpeg_markers(data: bytes) -> list[int]:
    """Every marker in the file. In entropy-coded data a 0xFF byte is followed by 0x00 or a
    restart marker, so any other 0xFF pair anywhere is a real marker (between progressive scans too)."""
    return [data[i + 1] for i in range(len(data) - 1) if data[i] == 0xFF and data[i + 1] not in (0x00, 0xFF, *range(0xD0, 0xD8))]


def _webp_chunks(data: bytes) -> list[bytes]:
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    found, at = [], 12
    while at + 8 <= len(data):
        kind, size = data[at : at + 4], struct.unpack("<I", data[at + 4 : at + 8])[0]
        found.append(kind)
        at += 8 + size + size % 2
    return found


def test_no_metadata_reaches_any_output():
    record, files = process_photo(_planted_jpeg(), "planted.jpg", SETTINGS)
    assert len(files) == 4  # 480 and 960 wide, in WebP and JPEG
    for name, data in sorted(files.items()):
        im = _open(data)
        assert not im.getexif(), name
        assert not {"exif", "icc_profile", "xmp", "comment", "XML:com.adobe.xmp", "photoshop"} & set(im.info), (name, im.info)
        for marker in (
            SERIAL.encode(), MAKE.encode(), MODEL.encode(), GPS_AREA, MAKER_NOTE, COMMENT, XMP_CITY.encode(),
            BYLINE, THUMB_COMMENT, ICC_DESCRIPTION.encode(), b"http://ns.adobe.com/xap", b"Exif\x00\x00",
            b"ICC_PROFILE", b"acsp", b"Photoshop 3.0", b"8BIM", b"2024:02:03",
        ):
            assert marker not in data, (name, marker)
        assert not any(coordinates in data for coordinates in _gps_coordinates()), name
        if name.endswith(".webp"):
            # Image data only: no VP8X container (which is what carries ICCP, EXIF and XMP chunks).
            assert _webp_chunks(data) == [b"VP8 "], (name, _webp_chunks(data))
        else:
            # Start, JFIF, quantisation and Huffman tables, progressive frame, scans, end: no
            # APP1 (EXIF, XMP), APP2 (ICC, MPF), APP13 (IPTC), APP14 (Adobe) or COM (comment).
            markers = set(_jpeg_markers(data))
            assert markers <= {0xD8, 0xE0, 0xDB, 0xC2, 0xC4, 0xDA, 0xD9}, (name, sorted(map(hex, markers)))


def test_exiftool_finds_nothing_but_the_basics(tmp_path):
    exiftool = shutil.which("exiftool") or ("/usr/bin/exiftool" if os.path.exists("/usr/bin/exiftool") else None)
    if exiftool is None:
        if os.environ.get("CI"):
            pytest.fail("exiftool is not installed; CI installs it (apt-get install libimage-exiftool-perl)")
        pytest.skip("exiftool is not installed")
    _, files = process_photo(_planted_jpeg(), "planted.jpg", SETTINGS)
    paths = []
    for name, data in sorted(files.items()):
        (tmp_path / name).write_bytes(data)
        paths.append(str(tmp_path / name))
    planted = tmp_path / "planted.jpg"
    planted.write_bytes(_planted_jpeg())
    report = json.loads(subprocess.run([exiftool, "-j", "-G", "-a", *paths, str(planted)], capture_output=True, check=True).stdout)
    by_file = {os.path.basename(entry["SourceFile"]): entry for entry in report}
    # The planted file shows what exiftool would have found: the check below can fail.
    planted_groups = {key.split(":")[0] for key in by_file.pop("planted.jpg") if ":" in key}
    assert {"EXIF", "XMP", "IPTC", "ICC_Profile"} <= planted_groups
    for name, entry in by_file.items():
        allowed = {"File", "ExifTool", "Composite", "JFIF" if name.endswith(".jpg") else "RIFF"}
        groups = {key.split(":")[0] for key in entry if ":" in key}
        assert groups <= allowed, (name, groups - allowed)
        # The File group's dates are the file system's; every other tag comes from the bytes.
        tags = " ".join(key for key in entry if ":" in key and key.split(":")[0] not in ("File", "ExifTool"))
        assert not re.search(r"GPS|Exif|XMP|IPTC|ICC|Profile|Serial|Make|Model|Thumbnail|Comment|Date|Time", tags), (name, tags)


def test_a_jpeg_comment_does_not_survive_even_without_other_metadata():
    """Pillow's JPEG writer copies info["comment"] of the image it is given, through resize and convert."""
    data = _encode(_quadrants(40, 30), "JPEG", comment=COMMENT)
    _, files = process_photo(data, "c.jpg", SETTINGS)
    assert all(COMMENT not in out for out in files.values())
    assert all("comment" not in _open(out).info for out in files.values())


# ---------------------------------------------------------------- orientation


def _stored_for(upright: Image.Image, orientation: int) -> Image.Image:
    """The pixels a camera stores for an upright scene under each EXIF orientation, written from the
    standard's definition (where the stored 0th row and 0th column are in the scene), not from Pillow."""
    width, height = upright.size
    row0, col0 = {1: ("top", "left"), 2: ("top", "right"), 3: ("bottom", "right"), 4: ("bottom", "left"),
                  5: ("left", "top"), 6: ("right", "top"), 7: ("right", "bottom"), 8: ("left", "bottom")}[orientation]
    source = upright.load()
    if row0 in ("top", "bottom"):
        stored = Image.new("RGB", (width, height))
        for r in range(height):
            for c in range(width):
                y = r if row0 == "top" else height - 1 - r
                x = c if col0 == "left" else width - 1 - c
                stored.putpixel((c, r), source[x, y])
    else:
        stored = Image.new("RGB", (height, width))
        for r in range(width):
            for c in range(height):
                x = r if row0 == "left" else width - 1 - r
                y = c if col0 == "top" else height - 1 - c
                stored.putpixel((c, r), source[x, y])
    return stored


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_comes_out_upright(orientation):
    upright = _quadrants(48, 32)
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    data = _encode(_stored_for(upright, orientation), "JPEG", quality=95, exif=exif)
    record, files = process_photo(data, "turned.jpg", SETTINGS)
    assert (record.width, record.height) == (48, 32)
    for name, out in files.items():
        im = _open(out).convert("RGB")
        assert im.size == (48, 32), name
        for xy, colour in (((12, 8), (255, 0, 0)), ((36, 8), (0, 255, 0)), ((12, 24), (0, 0, 255)), ((36, 24), (255, 255, 255))):
            assert _close(im.getpixel(xy), colour, 40), (name, xy, im.getpixel(xy), colour)


def test_a_quarter_turned_jpeg_is_not_decoded_below_the_width_it_is_published_at():
    """Draft decoding must size by the side that becomes the width: stored 3200x1000, shown 1000x3200.
    Sized by the stored width, libjpeg would decode at half scale (500 px wide) and the 1000 px
    variant would be an enlargement that has lost the finest detail."""
    stripes = Image.new("L", (3200, 1000))
    stripes.putdata([255 * (y % 2) for y in range(1000) for _ in range(3200)])  # one-pixel stripes
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    data = _encode(stripes, "JPEG", quality=95, exif=exif)
    record, files = process_photo(data, "tall.jpg", SETTINGS)
    assert (record.width, record.height) == (1000, 3200)
    for variant in record.variants:
        if variant.width == 1000:
            shown = _open(files[variant.name]).convert("L")
            row = [shown.getpixel((x, 1500)) for x in range(100, 900)]
            # From the full 1000 px the stripes keep their contrast; a half-scale decode
            # enlarged back to 1000 px averages them to grey (about 110).
            assert max(row) - min(row) > 180, (variant.name, max(row) - min(row))


# ---------------------------------------------------------------- widths


def test_a_large_photo_gets_every_width_in_webp_and_jpeg():
    data = _encode(Image.linear_gradient("L").resize((4000, 3000)).convert("RGB"), "JPEG", quality=85)
    record, files = process_photo(data, "big.jpg", SETTINGS)
    expected = [(480, 360), (960, 720), (1600, 1200)]
    assert [(v.width, v.height, v.mime) for v in record.variants] == (
        [(w, h, "image/webp") for w, h in expected] + [(w, h, "image/jpeg") for w, h in expected]
    )
    assert (record.width, record.height) == (1600, 1200)
    assert set(files) == {v.name for v in record.variants}
    for variant in record.variants:
        data = files[variant.name]
        ext = "webp" if variant.mime == "image/webp" else "jpg"
        assert re.fullmatch(rf"[0-9a-f]{{16}}-{variant.width}\.{ext}", variant.name)
        assert variant.digest == hash_bytes(data) and variant.name.startswith(variant.digest[:16])
        im = _open(data)
        assert im.size == (variant.width, variant.height)
        assert im.format == ("WEBP" if ext == "webp" else "JPEG")
    assert record.notes == ()


def test_a_narrow_photo_gets_one_width_its_own():
    record, files = process_photo(_encode(_quadrants(300, 200), "JPEG"), "narrow.jpg", SETTINGS)
    assert [(v.width, v.height) for v in record.variants] == [(300, 200), (300, 200)]
    assert (record.width, record.height) == (300, 200)
    assert len(files) == 2


@pytest.mark.parametrize(
    ("size", "expected"),
    # Every configured width below the photo's own, then its own (up to the largest configured);
    # a configured width within a fifth of that top one is left out.
    [((960, 640), [480, 960]), ((1000, 667), [480, 1000]), ((1599, 100), [480, 960, 1599]), ((479, 479), [479]), ((500, 300), [500]), ((4000, 3000), [480, 960, 1600])],
)
def test_widths_are_never_enlarged(size, expected):
    record, _ = process_photo(_encode(_quadrants(*size), "PNG"), "p.png", SETTINGS)
    widths = [v.width for v in record.variants if v.mime == "image/webp"]
    assert widths == expected
    assert all(v.height == max(1, round(size[1] * v.width / size[0])) for v in record.variants)


def test_a_very_wide_strip_keeps_at_least_one_pixel_of_height():
    record, _ = process_photo(_encode(Image.new("RGB", (5000, 2), "red"), "PNG"), "strip.png", SETTINGS)
    assert [(v.width, v.height) for v in record.variants[:3]] == [(480, 1), (960, 1), (1600, 1)]


# ---------------------------------------------------------------- hostile and broken files


def test_a_header_claiming_more_megapixels_than_allowed_is_refused_before_decoding():
    """10000x8000 claimed with 64 bytes of pixel data: decoding it first would fail as 'damaged'
    (or allocate 80 MB); the size check must come first and say what to do."""
    with pytest.raises(PhotoRefused, match=r"80\.0 megapixels \(10000×8000\).*limit of 50 megapixels.*photos\.max_megapixels"):
        process_photo(_png_claiming(10000, 8000), "bomb.png", SETTINGS)


def test_pillow_decompression_bomb_error_becomes_a_refusal(recwarn):
    with pytest.raises(PhotoRefused, match=r"400\.0 megapixels.*resize it") as refused:
        process_photo(_png_claiming(20000, 20000), "bomb.png", SETTINGS)
    # Over Pillow's own hard limit: raising the site's limit would not help, so it is not suggested.
    assert "max_megapixels" not in refused.value.reason
    assert not recwarn.list


def test_pillow_decompression_bomb_warning_is_neither_raised_nor_printed(recwarn, capsys):
    # 100 megapixels: over Pillow's warning threshold (89 M), under its error (179 M).
    with pytest.raises(PhotoRefused, match="megapixels"):
        process_photo(_png_claiming(10000, 10000), "bomb.png", SETTINGS)
    assert not recwarn.list
    assert capsys.readouterr() == ("", "")


def test_a_real_image_over_a_lower_configured_limit_is_refused():
    data = _encode(Image.new("1", (2000, 1000)), "PNG")
    with pytest.raises(PhotoRefused, match=r"2\.0 megapixels.*limit of 1 megapixels"):
        process_photo(data, "big.png", PhotoSettings(max_pixels=1_000_000))


@pytest.mark.parametrize(("width", "height"), [(70000, 1), (1, 70000)])
def test_absurd_dimensions_are_refused(width, height):
    with pytest.raises(PhotoRefused, match=rf"claims to be {width}×{height} pixels"):
        process_photo(_png_claiming(width, height), "absurd.png", SETTINGS)


def test_a_zero_width_header_is_refused_as_a_damaged_png():
    # Pillow's PNG reader rejects a zero side itself, so the file reaches us as unidentified.
    with pytest.raises(PhotoRefused, match=r"zero\.png starts like a PNG image but its header is damaged"):
        process_photo(_png_claiming(0, 10), "zero.png", SETTINGS)


# Not GIF: zeroing its screen descriptor makes Pillow read the palette as a frame of any size,
# which the size checks refuse instead (as they should).
@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "TIFF"])
def test_a_damaged_header_is_named_as_such(fmt):
    data = bytearray(_encode(_quadrants(40, 30), fmt))
    keep = {"JPEG": 3, "PNG": 8, "WEBP": 12, "TIFF": 4}[fmt]  # just past the signature
    data[keep : keep + 24] = b"\x00" * 24
    with pytest.raises(PhotoRefused, match=r"(header is damaged|is damaged or incomplete)"):
        process_photo(bytes(data), "broken.img", SETTINGS)


def test_a_truncated_jpeg_is_refused_as_damaged():
    data = _encode(Image.effect_noise((200, 150), 60).convert("RGB"), "JPEG", quality=90)
    with pytest.raises(PhotoRefused, match=r"half\.jpg is damaged or incomplete"):
        process_photo(data[: len(data) // 2], "half.jpg", SETTINGS)


def test_a_truncated_png_is_refused_as_damaged():
    data = _encode(Image.effect_noise((200, 150), 60), "PNG")
    with pytest.raises(PhotoRefused, match=r"half\.png is damaged or incomplete"):
        process_photo(data[: len(data) // 2], "half.png", SETTINGS)


def test_an_empty_file_is_refused():
    with pytest.raises(PhotoRefused, match=r"empty\.jpg is empty \(0 bytes\)"):
        process_photo(b"", "empty.jpg", SETTINGS)


@pytest.mark.parametrize(
    "svg",
    [
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script><rect width="10" height="10"/></svg>',
        b'\xef\xbb\xbf<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script>fetch("//evil")</script></svg>',
    ],
)
def test_svg_is_refused(svg):
    with pytest.raises(PhotoRefused, match=r"SVG is not published as a photo: it can carry scripts"):
        process_photo(svg, "logo.jpg", SETTINGS)


def test_a_text_file_named_jpg_is_refused():
    with pytest.raises(PhotoRefused, match=r"notes\.jpg is a text file, not a JPEG, PNG, WebP, GIF or TIFF image"):
        process_photo("Just some notes, not a photo.\nسطر بالعربية\n".encode(), "notes.jpg", SETTINGS)


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64, "a HEIC photo"),
        (b"%PDF-1.7\n" + b"\x00" * 64, "a PDF document"),
        (_encode(Image.new("RGB", (8, 8)), "BMP"), "a BMP image"),
        (bytes(range(256)) * 2, "an unknown kind of file"),
    ],
)
def test_formats_not_published_are_refused_by_name(data, what):
    with pytest.raises(PhotoRefused, match=re.escape(f"file.jpg is {what}, not a JPEG, PNG, WebP, GIF or TIFF image")):
        process_photo(data, "file.jpg", SETTINGS)


def test_formats_pillow_reads_but_the_site_does_not_publish_are_refused():
    for fmt in ("BMP", "ICO", "PPM", "TGA"):
        data = _encode(Image.new("RGB", (8, 8), "red"), fmt)
        with pytest.raises(PhotoRefused, match="not a JPEG, PNG, WebP, GIF or TIFF image"):
            process_photo(data, f"x.{fmt.lower()}", SETTINGS)


def test_an_image_too_tall_for_webp_is_refused_with_what_to_do():
    data = _encode(Image.new("L", (100, 20000), 128), "PNG")
    with pytest.raises(PhotoRefused, match=r"too tall.*100 px wide version would be 20000 px tall.*crop it"):
        process_photo(data, "scroll.png", SETTINGS)


def _with_app1(jpeg: bytes, payload: bytes) -> bytes:
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")  # from the test's own check that the block is there
@pytest.mark.parametrize(
    "exif",
    [
        b"Exif\x00\x00" + b"XX\x2a\x00" + b"\xff" * 40,  # no valid TIFF byte order
        b"Exif\x00\x00" + b"II\x2a\x00" + struct.pack("<I", 10**6),  # IFD0 far past the end
    ],
)
def test_damaged_exif_in_a_jpeg_is_a_note_not_a_refusal(exif):
    data = _with_app1(_encode(_quadrants(40, 30), "JPEG"), exif)
    assert _open(data).info.get("exif")
    record, files = process_photo(data, "odd.jpg", SETTINGS)
    assert len(files) == 2
    assert any("damaged EXIF" in note and "upright" in note for note in record.notes), record.notes


def test_damaged_exif_in_a_png_is_a_note_not_a_refusal():
    png = _encode(_quadrants(40, 30), "PNG")
    at = png.index(b"IEND") - 4
    data = png[:at] + _png_chunk(b"eXIf", b"XX\x2a\x00" + b"\xff" * 20) + png[at:]
    record, files = process_photo(data, "odd.png", SETTINGS)
    assert len(files) == 2
    assert any("damaged EXIF" in note for note in record.notes), record.notes


def test_mutated_files_raise_nothing_but_photo_refused():
    """A little fuzzing: whatever a damaged or crafted file does to Pillow, the build gets a reason."""
    import random

    base = _quadrants(24, 16)
    samples = [
        _encode(base, "JPEG", exif=_exif_with_gps_and_thumbnail(), icc_profile=_adobe_rgb_profile()),
        _encode(base, "PNG", icc_profile=_adobe_rgb_profile()),
        _encode(base, "WEBP", icc_profile=_adobe_rgb_profile()),
        _encode(base, "GIF", save_all=True, append_images=[base.rotate(180)]),
        _encode(base, "TIFF", compression="tiff_lzw"),
    ]
    rng = random.Random(20240203)
    for _ in range(300):
        data = bytearray(rng.choice(samples))
        for _ in range(rng.randint(1, 6)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.25:
            data = data[: rng.randrange(1, len(data))]
        try:
            record, files = process_photo(bytes(data), "fuzz.jpg", SMALL)
        except PhotoRefused as refused:
            assert refused.reason and "0x" not in refused.reason.replace("0x?", "")
        else:
            assert {v.name for v in record.variants} == set(files)


# ---------------------------------------------------------------- published with a note


def test_a_png_named_jpg_is_published_with_a_note_to_rename_it():
    record, files = process_photo(_encode(_quadrants(40, 30), "PNG"), "photo.jpg", SETTINGS)
    assert len(files) == 2
    assert any("photo.jpg is really a PNG image: rename it to photo.png" in note for note in record.notes)


def test_a_jpeg_named_png_is_published_with_a_note_to_rename_it():
    record, _ = process_photo(_encode(_quadrants(40, 30), "JPEG"), "shot.PNG", SETTINGS)
    assert record.notes == ("shot.PNG is really a JPEG image: rename it to shot.jpg so that its name says what it is.",)


def test_a_file_name_without_an_extension_gets_a_note_with_one():
    record, _ = process_photo(_encode(_quadrants(40, 30), "WEBP"), "IMG_0001", SETTINGS)
    assert record.notes == ("IMG_0001 is really a WebP image: rename it to IMG_0001.webp so that its name says what it is.",)


@pytest.mark.parametrize("name", ["a.jpg", "a.JPEG", "a.jpe", "b.jfif"])
def test_every_jpeg_extension_is_accepted_without_a_note(name):
    record, _ = process_photo(_encode(_quadrants(40, 30), "JPEG"), name, SETTINGS)
    assert record.notes == ()


@pytest.mark.parametrize("fmt", ["GIF", "PNG", "WEBP"])
def test_an_animation_publishes_its_first_frame_with_a_note(fmt):
    frames = [Image.new("RGB", (40, 30), colour) for colour in ("red", "lime", "blue")]
    data = _encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert getattr(_open(data), "n_frames", 1) == 3
    record, files = process_photo(data, f"anim.{fmt.lower()}", SETTINGS)
    assert any("animated" in note and "only its first frame" in note for note in record.notes)
    for out in files.values():
        assert _close(_pixel(out, (20, 15)), (255, 0, 0), 12)


def test_a_phone_mpo_is_published_as_a_single_photo_without_a_note():
    # A phone's MPO: the photo, then a second image (a depth map or another view) after it.
    first, second = _quadrants(40, 30), Image.new("RGB", (40, 30), "black")
    data = _encode(first, "MPO", save_all=True, append_images=[second])
    assert _open(data).format == "MPO"
    record, files = process_photo(data, "phone.jpg", SETTINGS)
    assert record.notes == ()
    for out in files.values():
        assert _close(_pixel(out, (10, 7)), (255, 0, 0), 40)
        assert getattr(_open(out), "n_frames", 1) == 1


# ---------------------------------------------------------------- colour


def test_cmyk_jpeg_becomes_rgb():
    # Pillow writes CMYK JPEGs as Adobe applications do: inverted, with an Adobe marker.
    data = _encode(Image.new("CMYK", (600, 400), (0, 255, 255, 0)), "JPEG", quality=95)
    assert b"Adobe" in data
    _, files = process_photo(data, "print.jpg", SETTINGS)
    for out in files.values():
        assert _open(out).mode == "RGB"
        assert _close(_pixel(out), (255, 0, 0), 12)


def test_sixteen_bit_grey_png_is_scaled_not_clipped_to_white():
    width = 256
    values = [16384 + 128 * x for x in range(width)]  # a mid-grey gradient, 64 to 192 in 8 bits
    im = Image.frombytes("I;16", (width, 4), struct.pack(f"<{width}H", *values) * 4)
    data = _encode(im, "PNG")
    assert _open(data).mode.startswith("I;16")
    _, files = process_photo(data, "scan.png", SETTINGS)
    for name, out in files.items():
        shown = _open(out).convert("L")
        for x in (0, 128, 255):
            assert abs(shown.getpixel((x, 2)) - values[x] / 257) <= 4, (name, x, shown.getpixel((x, 2)))


def test_sixteen_bit_rgb_png_keeps_its_colours():
    # Pillow writes no 16-bit RGB PNG; this one is written by hand: one row, filter byte 0.
    width, height = 8, 4
    row = b"\x00" + struct.pack(">3H", 0xC000, 0x8000, 0x4000) * width
    data = _png_claiming(width, height, bit_depth=16, colour_type=2, rows=row * height)
    _, files = process_photo(data, "deep.png", SETTINGS)
    for out in files.values():
        assert _close(_pixel(out, (4, 2)), (192, 128, 64), 6)


def test_floating_point_tiff_from_zero_to_one_is_scaled():
    im = Image.new("F", (32, 8), 0.5)
    _, files = process_photo(_encode(im, "TIFF"), "float.tif", SETTINGS)
    for out in files.values():
        assert _close(_pixel(out, (16, 4), "L"), (128,), 3)


def _transparent_rgba() -> Image.Image:
    im = Image.new("RGBA", (40, 30), (255, 0, 0, 255))
    im.paste((0, 0, 255, 0), (20, 0, 40, 30))  # right half fully transparent (its colour blue)
    return im


def test_rgba_keeps_alpha_in_webp_and_is_put_on_white_in_jpeg():
    _, files = process_photo(_encode(_transparent_rgba(), "PNG"), "cut.png", SETTINGS)
    webp = next(out for name, out in files.items() if name.endswith(".webp"))
    jpeg = next(out for name, out in files.items() if name.endswith(".jpg"))
    shown = _open(webp)
    assert shown.mode == "RGBA"
    assert shown.getpixel((30, 15))[3] == 0 and _close(shown.getpixel((10, 15)), (255, 0, 0, 255), 8)
    assert _open(jpeg).mode == "RGB"
    assert _close(_pixel(jpeg, (30, 15)), (255, 255, 255), 6)
    assert _close(_pixel(jpeg, (10, 15)), (255, 0, 0), 12)


def test_palette_png_with_transparency_keeps_it():
    im = Image.new("P", (40, 30), 1)
    im.putpalette([0, 0, 0, 0, 128, 0] + [0] * 762)
    im.paste(0, (20, 0, 40, 30))
    data = _encode(im, "PNG", transparency=0)
    _, files = process_photo(data, "icon.png", SETTINGS)
    for name, out in files.items():
        if name.endswith(".webp"):
            assert _open(out).getpixel((30, 15))[3] == 0
            assert _close(_open(out).getpixel((10, 15)), (0, 128, 0, 255), 8)
        else:
            assert _close(_pixel(out, (30, 15)), (255, 255, 255), 6)
            assert _close(_pixel(out, (10, 15)), (0, 128, 0), 10)


def test_greyscale_stays_greyscale():
    im = Image.linear_gradient("L").resize((64, 48))
    _, files = process_photo(_encode(im, "PNG"), "grey.png", SETTINGS)
    jpeg = next(out for name, out in files.items() if name.endswith(".jpg"))
    assert _open(jpeg).mode == "L"
    for out in files.values():
        assert abs(_pixel(out, (32, 24), "L")[0] - im.getpixel((32, 24))) <= 4


def test_greyscale_with_a_grey_profile_is_converted_and_stays_greyscale():
    # Linear grey 128 is 50 % light; sRGB writes 50 % light as 188.
    data = _encode(Image.new("L", (600, 400), 128), "PNG", icc_profile=_linear_grey_profile())
    record, files = process_photo(data, "linear.png", SETTINGS)
    assert record.notes == () and len(files) == 2
    for name, out in files.items():
        if name.endswith(".jpg"):
            assert _open(out).mode == "L"
        assert _close(_pixel(out, mode="L"), (188,), 3), (name, _pixel(out, mode="L"))


def test_a_large_jpeg_is_decoded_at_reduced_scale(monkeypatch):
    """Speed: libjpeg decodes a 4000 px photo at half scale when the widest variant is 1600 px."""
    from PIL import JpegImagePlugin

    decoded = []
    original = JpegImagePlugin.JpegImageFile.load

    def load(self):
        decoded.append(self.size)
        return original(self)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "load", load)
    data = _encode(Image.new("RGB", (4000, 3000), "red"), "JPEG")
    process_photo(data, "big.jpg", SETTINGS)
    assert decoded and set(decoded) == {(2000, 1500)}


def test_a_one_pixel_image_is_published():
    record, files = process_photo(_encode(Image.new("RGB", (1, 1), (200, 10, 10)), "PNG"), "dot.png", SETTINGS)
    assert [(v.width, v.height) for v in record.variants] == [(1, 1), (1, 1)]
    for out in files.values():
        assert _open(out).size == (1, 1)
        assert _close(_pixel(out, (0, 0)), (200, 10, 10), 20)


def _adobe_to_srgb(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """Adobe RGB (1998) to sRGB by the published matrices, independent of littlecms."""
    linear = [(v / 255) ** 2.19921875 for v in rgb]
    adobe = ((0.60974, 0.20528, 0.14919), (0.31111, 0.62567, 0.06322), (0.01947, 0.06087, 0.74457))
    xyz = [sum(adobe[i][j] * linear[j] for j in range(3)) for i in range(3)]
    srgb = ((0.4360747, 0.3850649, 0.1430804), (0.2225045, 0.7168786, 0.0606169), (0.0139322, 0.0971045, 0.7141733))
    # Cramer's rule for the 3x3 inverse.
    def det(m):
        return (m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
                + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]))
    d = det(srgb)
    out = []
    for k in range(3):
        m = [list(row) for row in srgb]
        for i in range(3):
            m[i][k] = xyz[i]
        value = min(1.0, max(0.0, det(m) / d))
        encoded = 12.92 * value if value <= 0.0031308 else 1.055 * value ** (1 / 2.4) - 0.055
        out.append(round(encoded * 255))
    return tuple(out)


def test_an_adobe_rgb_photo_is_converted_to_srgb_and_untagged():
    colour = (60, 160, 90)
    expected = _adobe_to_srgb(colour)
    assert max(abs(a - b) for a, b in zip(expected, colour, strict=True)) > 15  # the test can tell
    data = _encode(Image.new("RGB", (600, 400), colour), "JPEG", quality=98, subsampling=0, icc_profile=_adobe_rgb_profile())
    _, files = process_photo(data, "adobe.jpg", SETTINGS)
    assert len(files) == 2
    for name, out in files.items():
        assert "icc_profile" not in _open(out).info
        assert _close(_pixel(out), expected, 5), (name, _pixel(out), expected)


def test_an_srgb_tagged_photo_keeps_its_colours_and_loses_the_tag():
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    colour = (60, 160, 90)
    data = _encode(Image.new("RGB", (40, 30), colour), "JPEG", quality=98, subsampling=0, icc_profile=srgb)
    _, files = process_photo(data, "srgb.jpg", SETTINGS)
    for out in files.values():
        assert "icc_profile" not in _open(out).info and b"acsp" not in out
        assert _close(_pixel(out, (20, 15)), colour, 4)


def test_an_rgba_png_with_a_profile_is_converted_and_keeps_alpha():
    im = Image.new("RGBA", (600, 400), (60, 160, 90, 255))
    im.paste((0, 0, 255, 0), (300, 0, 600, 400))
    _, files = process_photo(_encode(im, "PNG", icc_profile=_adobe_rgb_profile()), "a.png", SETTINGS)
    webp = _open(next(out for name, out in files.items() if name.endswith(".webp")))
    assert webp.size == (600, 400)
    assert webp.getpixel((400, 160))[3] == 0
    assert _close(webp.getpixel((100, 160)), (*_adobe_to_srgb((60, 160, 90)), 255), 6)


def test_a_damaged_colour_profile_is_a_note_and_the_colours_are_kept():
    data = _encode(Image.new("RGB", (40, 30), (60, 160, 90)), "JPEG", quality=98, icc_profile=b"not a profile" * 20)
    record, files = process_photo(data, "bad-icc.jpg", SETTINGS)
    assert any("colour profile" in note for note in record.notes)
    for out in files.values():
        assert _close(_pixel(out, (20, 15)), (60, 160, 90), 6)


def test_a_cmyk_profile_on_rgb_pixels_is_a_note_not_a_crash():
    lab = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    data = _encode(Image.new("RGB", (40, 30), (60, 160, 90)), "PNG", icc_profile=lab)
    record, files = process_photo(data, "lab.png", SETTINGS)
    assert len(files) == 2 and any("colour profile" in note for note in record.notes)


# ---------------------------------------------------------------- the contract


def test_the_same_input_gives_the_same_bytes():
    data = _planted_jpeg((700, 500))
    first = process_photo(data, "same.jpg", SETTINGS)
    second = process_photo(data, "same.jpg", SETTINGS)
    assert first == second


def test_the_record_is_small_and_picklable_and_holds_no_image_bytes():
    record, files = process_photo(_planted_jpeg((700, 500)), "r.jpg", SETTINGS)
    assert pickle.loads(pickle.dumps(record)) == record
    assert isinstance(record, PhotoRecord) and len(pickle.dumps(record)) < 2000
    assert all(not isinstance(getattr(v, f), bytes) for v in record.variants for f in ("name", "digest", "mime"))


def test_refusals_survive_a_trip_between_processes():
    try:
        process_photo(b"", "e.jpg", SETTINGS)
    except PhotoRefused as refused:
        again = pickle.loads(pickle.dumps(refused))
        assert again.reason == refused.reason == str(again)


def test_notes_are_sentences():
    record, _ = process_photo(_encode(Image.new("RGB", (40, 30)), "GIF", save_all=True,
                                      append_images=[Image.new("RGB", (40, 30), "red")]), "x.png", SETTINGS)
    assert len(record.notes) == 2
    assert all(note[0].isalnum() and note.endswith(".") for note in record.notes)


def test_settings_key_changes_with_everything_that_changes_the_bytes(monkeypatch):
    key = settings_key(SETTINGS)
    assert key == settings_key(PhotoSettings()) and re.fullmatch(r"[0-9a-f]{32}", key)
    for other in (PhotoSettings(widths=(480, 960)), PhotoSettings(webp_quality=81), PhotoSettings(jpeg_quality=83),
                  PhotoSettings(max_pixels=1)):
        assert settings_key(other) != key
    monkeypatch.setattr(photos, "PROCESSING_VERSION", photos.PROCESSING_VERSION + 1)
    assert settings_key(SETTINGS) != key
    monkeypatch.undo()
    monkeypatch.setattr(PIL, "__version__", "0.0.0")
    assert settings_key(SETTINGS) != key


@pytest.mark.parametrize(
    "bad",
    [dict(widths=()), dict(widths=(960, 480)), dict(widths=(0, 480)), dict(widths=(480, 480)),
     dict(widths=(480, 20000)), dict(max_pixels=0), dict(webp_quality=0), dict(jpeg_quality=101)],
)
def test_settings_are_checked(bad):
    with pytest.raises(ValueError):
        PhotoSettings(**bad)


def test_an_empty_but_whole_exif_block_is_no_damage():
    # Pillow writes one for Image.Exif() with no tag; cameras and editors do too.
    data = _encode(Image.new("RGB", (40, 30), (10, 20, 30)), "JPEG", exif=Image.Exif())
    assert _open(data).info.get("exif")  # the block is there
    record, _ = process_photo(data, "empty-exif.jpg", SETTINGS)
    assert not record.notes
