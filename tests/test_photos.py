"""Photos in articles, through whole builds: found, checked, processed once, shown, zipped.

The processing itself (metadata, orientation, colour, hostile files) is tested on its own
in test_photo_processing.py; here a photo goes from an article to the published site.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from pathlib import Path

import pytest
from PIL import Image

import sitegen.media.photos
import sitegen.pipeline.files
from sitegen.commands.check import check_site
from sitegen.translation.translator import FakeTranslator
from tests.sitekit import build, tree_bytes, write_site

SERIAL = "SN-TEST-8842-GPS"


def phone_photo(width: int = 2000, height: int = 1500, colour=(200, 40, 40)) -> bytes:
    """A JPEG as a phone writes it: GPS position, camera and serial number in EXIF."""
    image = Image.new("RGB", (width, height), colour)
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "PhoneModel X"  # Model
    exif.get_ifd(0x8769)[0xA431] = SERIAL  # BodySerialNumber
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (34.0, 43.0, 52.0), "E", (36.0, 42.0, 41.0)  # Homs
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=90)
    return out.getvalue()


ARTICLE = (
    "---\nimage: lead.jpg\nimage_alt: دخان فوق الحي\nimage_caption: صباح الجمعة\nimage_credit: مصور الحي\n---\n"
    "قصف عنيف على حي بابا عمرو صباح اليوم.\n\n"
    '![أطفال في الشارع](photos/street.jpg "الشارع بعد القصف")\n\n'
    "فقرة أخيرة بعد الصورة.\n"
)


def photo_site(tmp_path: Path, config: dict | None = None, article: str = ARTICLE) -> Path:
    return write_site(
        tmp_path / "site",
        {
            "content/2012/2012-02-24-homs.md": article,
            "content/2012/lead.jpg": phone_photo(),
            "content/2012/photos/street.jpg": phone_photo(1200, 900, (30, 90, 160)),
        },
        config,
    )


def built(site: Path, **options):
    result = build(site, **options)
    assert result.written or result.unchanged, [str(p) for p in result.problems]
    return result


PAGE = "ar/2012-2012-02-24-homs-1.html"


def page(site: Path) -> str:
    return (site / "_site" / PAGE).read_text(encoding="utf-8")


def media_files(site: Path) -> list[Path]:
    return sorted((site / "_site" / "media").iterdir())


@pytest.fixture
def calls(monkeypatch) -> list[str]:
    """Every photo actually processed (not reused), by file name."""
    seen: list[str] = []
    original = sitegen.media.photos.process_photo

    def counting(data, name, settings):
        seen.append(name)
        return original(data, name, settings)

    monkeypatch.setattr(sitegen.media.photos, "process_photo", counting)
    return seen


def test_a_markdown_image_on_its_own_line_becomes_a_responsive_figure(tmp_path):
    site = photo_site(tmp_path)
    built(site)
    html = page(site)
    figures = re.findall(r"<figure.*?</figure>", html, re.S)
    assert len(figures) == 2, html
    lead, street = figures
    # The lead photo comes first and is loaded at once; the others lazily.
    assert 'class="photo lead"' in lead and 'loading="lazy"' not in lead
    assert 'loading="lazy"' in street and 'decoding="async"' in street
    assert 'alt="أطفال في الشارع"' in street and "الشارع بعد القصف" in street
    assert 'alt="دخان فوق الحي"' in lead and "صباح الجمعة" in lead and '<span class="credit">تصوير: مصور الحي</span>' in lead
    # WebP in every width with a JPEG fallback; sizes given; no layout shift.
    assert '<source type="image/webp" srcset="../media/' in street and " 480w" in street and " 1200w" in street
    assert 'width="1200" height="900"' in street and 'width="1600" height="1200"' in lead
    # The text around the photo is untouched, and the title comes from the text, not the photo.
    assert "فقرة أخيرة بعد الصورة." in html
    assert "<title>قصف عنيف على حي بابا عمرو صباح اليوم" in html


def test_every_published_photo_file_carries_no_metadata(tmp_path):
    site = photo_site(tmp_path)
    built(site)
    files = media_files(site)
    assert {f.suffix for f in files} == {".webp", ".jpg"} and len(files) == 2 * (3 + 2)  # lead 2000 px: 480, 960, 1600; street 1200: 480, 1200
    for path in files:
        data = path.read_bytes()
        assert SERIAL.encode() not in data and b"PhoneMaker" not in data and b"Exif" not in data, path.name
        with Image.open(path) as image:
            assert not image.getexif() and "icc_profile" not in image.info and "exif" not in image.info, path.name
    # Nothing of the originals is published under their own names.
    assert not list((site / "_site").rglob("*.jpeg")) and not (site / "_site" / "lead.jpg").exists()


def test_editing_the_text_never_processes_its_photos_again(tmp_path, calls):
    site = photo_site(tmp_path)
    built(site)
    assert sorted(calls) == ["lead.jpg", "street.jpg"]
    calls.clear()
    source = site / "content/2012/2012-02-24-homs.md"
    source.write_text(source.read_text(encoding="utf-8").replace("فقرة أخيرة", "فقرة معدلة"), encoding="utf-8")
    built(site)
    assert calls == [] and "فقرة معدلة" in page(site)
    # Nor does a build that starts from nothing (another tool version, say): the cache keeps the files.
    (site / "_site" / "index.html").unlink()
    built(site)
    assert calls == []


def test_a_replaced_photo_remakes_its_pages_and_equals_a_full_build(tmp_path, calls):
    site = photo_site(tmp_path)
    built(site)
    before = page(site)
    (site / "content/2012/photos/street.jpg").write_bytes(phone_photo(800, 800, (10, 200, 10)))
    built(site)
    after = page(site)
    assert after != before and 'width="800" height="800"' in after and calls.count("street.jpg") == 2
    incremental = tree_bytes(site / "_site")
    twin = photo_site(tmp_path / "twin")
    (twin / "content/2012/photos/street.jpg").write_bytes(phone_photo(800, 800, (10, 200, 10)))
    built(twin)
    assert tree_bytes(twin / "_site") == incremental
    # The old street photo's files are gone from the site; the lead photo's stay.
    old = set(re.findall(r"media/([0-9a-f]{16}-\d+\.(?:webp|jpg))", before)) - set(re.findall(r"media/([0-9a-f]{16}-\d+\.(?:webp|jpg))", after))
    assert len(old) == 4 and not old & {p.name for p in media_files(site)}


def test_a_photo_replaced_after_builds_with_nothing_to_do_still_remakes_its_pages(tmp_path, calls):
    # A build with nothing to do compares the recorded signatures with the fresh ones as a
    # whole: a file showing photos has theirs in its recorded one, compared too.
    site = photo_site(tmp_path)
    built(site)
    source = site / "content/2012/2012-02-24-homs.md"
    os.utime(source, ns=(source.stat().st_mtime_ns + 10**9,) * 2)
    assert built(site).unchanged and built(site).unchanged
    before = page(site)
    (site / "content/2012/photos/street.jpg").write_bytes(phone_photo(800, 800, (10, 200, 10)))
    assert built(site).written
    assert page(site) != before and 'width="800" height="800"' in page(site)


def test_a_remote_image_is_never_fetched_and_says_where_it_is(tmp_path):
    article = "نص أول.\n\n![صورة](https://example.com/tracker.jpg)\n\n![بيانات](data:image/png;base64,AAAA)\n"
    site = write_site(tmp_path / "site", {"content/a.md": article})
    result = built(site)
    messages = [str(p) for p in result.problems]
    assert any("a.md:3:" in m and "https://example.com/tracker.jpg" in m and "link" in m for m in messages), messages
    assert any("a.md:5:" in m and "left out" in m for m in messages), messages
    html = (site / "_site" / "ar" / "a-1.html").read_text(encoding="utf-8")
    assert '<a href="https://example.com/tracker.jpg"' in html and "<img" not in html and "data:image" not in html


@pytest.mark.parametrize(
    "reference, expected",
    [
        ("../../../etc/passwd", "outside the content folder"),
        ("/../../site.yml", "outside the content folder"),
        ("escape.jpg", "outside the content folder"),  # a symbolic link out of content/
        ("nowhere.jpg", "not found"),
        ("folder", "not a regular file"),
    ],
)
def test_a_photo_path_leaving_content_is_an_error_and_the_live_site_stays(tmp_path, reference, expected):
    site = write_site(tmp_path / "site", {"content/a.md": "نص أول.\n", "content/folder/x.txt": "نص.\n"})
    (tmp_path / "secret.jpg").write_bytes(phone_photo(100, 100))
    os.symlink(tmp_path / "secret.jpg", site / "content" / "escape.jpg")
    built(site)
    live = tree_bytes(site / "_site")
    (site / "content/a.md").write_text(f"نص أول.\n\n![صورة]({reference})\n", encoding="utf-8")
    result = build(site)
    assert not result.written
    messages = [str(p) for p in result.problems]
    assert any("a.md:3:" in m and expected in m for m in messages), messages
    assert tree_bytes(site / "_site") == live
    assert not (site / "_site" / "media").exists()


def test_a_hostile_image_is_refused_with_its_line_and_nothing_is_published(tmp_path):
    bomb = io.BytesIO()
    Image.new("1", (12000, 12000)).save(bomb, "PNG")  # 144 megapixels in a few kilobytes
    site = write_site(tmp_path / "site", {"content/a.md": "نص أول.\n\n![قنبلة](bomb.png)\n", "content/bomb.png": bomb.getvalue()}, {"photos": {"max_megapixels": 50}})
    result = build(site)
    assert not result.written
    messages = [str(p) for p in result.problems]
    assert any("a.md:3:" in m and "bomb.png" in m and "megapixel" in m.lower() for m in messages), messages
    assert not (site / "_site").exists() or not (site / "_site" / "media").exists()


def test_a_photo_without_alt_text_is_a_warning_and_an_error_with_strict(tmp_path):
    site = write_site(tmp_path / "site", {"content/a.md": "نص أول.\n\n![](p.jpg)\n", "content/p.jpg": phone_photo(600, 400)})
    result = built(site)
    assert any("a.md:3:" in str(p) and "alt text" in str(p) for p in result.problems)
    assert not build(site, strict=True).written


def test_site_zip_carries_the_smallest_photo_and_its_pages_point_only_at_it(tmp_path):
    site = photo_site(tmp_path)
    built(site)
    with zipfile.ZipFile(site / "_site" / "site.zip") as archive:
        names = set(archive.namelist())
        media = sorted(n for n in names if n.startswith("site/media/"))
        assert len(media) == 2 and all(n.endswith("-480.jpg") for n in media), media
        page_in_zip = archive.read(f"site/{PAGE}").decode("utf-8")
    assert "<source" not in page_in_zip and "srcset" not in page_in_zip
    for src in re.findall(r'<img class="photo-img" src="([^"]+)"', page_in_zip):
        assert "site/" + os.path.normpath(os.path.join("ar", src)) in names
    # The site itself keeps every width.
    assert "srcset" in page(site) and len(media_files(site)) == 10


@pytest.mark.parametrize("images, count", [("all", 10), ("none", 0)])
def test_offline_archive_images_setting(tmp_path, images, count):
    site = photo_site(tmp_path, {"offline_archive_images": images})
    built(site)
    with zipfile.ZipFile(site / "_site" / "site.zip") as archive:
        assert len([n for n in archive.namelist() if n.startswith("site/media/")]) == count
        page_in_zip = archive.read(f"site/{PAGE}").decode("utf-8")
    if images == "none":
        assert "<img" not in page_in_zip and '<span class="photo-absent">أطفال في الشارع</span>' in page_in_zip
    else:
        assert page_in_zip == page(site)


def test_the_companion_shows_the_alt_text_and_caption_translated(tmp_path):
    site = photo_site(tmp_path, {"translation": {"enabled": True}})
    built(site, translator_factory=FakeTranslator)
    english = (site / "_site" / PAGE.replace("ar/", "en/")).read_text(encoding="utf-8")
    memory = next((site / "translations").rglob("*.yml")).read_text(encoding="utf-8")
    assert "أطفال في الشارع" in memory and "الشارع بعد القصف" in memory
    street = re.findall(r"<figure.*?</figure>", english, re.S)[1]
    assert 'alt="أطفال في الشارع"' not in street and 'lang="en"' not in street
    assert "<img" in street and street.count("<figcaption>") == 1
    # The credit is a name: left as written, marked as Arabic inside the English page.
    assert '<bdi lang="ar">مصور الحي</bdi>' in english


def test_check_finds_every_photo_reference_resolved(tmp_path):
    site = photo_site(tmp_path)
    built(site)
    assert check_site(site / "_site").lines() == []
    victim = media_files(site)[0]
    victim.unlink()
    assert any(victim.name in line for line in check_site(site / "_site").lines())


def test_a_photo_shared_by_two_articles_survives_removing_one(tmp_path):
    site = write_site(
        tmp_path / "site",
        {"content/a.md": "نص أ.\n\n![صورة](p.jpg)\n", "content/b.md": "نص ب.\n\n![صورة](p.jpg)\n", "content/p.jpg": phone_photo(500, 300)},
    )
    built(site)
    files = {p.name for p in media_files(site)}
    (site / "content/a.md").unlink()
    built(site)
    assert {p.name for p in media_files(site)} == files
    (site / "content/b.md").unlink()
    (site / "content/c.md").write_text("نص ج بلا صور.\n", encoding="utf-8")
    built(site)
    assert not (site / "_site" / "media").exists() or not media_files(site)


def test_photos_in_worker_processes_give_the_same_site(tmp_path, monkeypatch):
    one = photo_site(tmp_path / "one")
    built(one, workers=1)
    monkeypatch.setattr(sitegen.pipeline.files, "PARALLEL_THRESHOLD", 1)
    monkeypatch.setattr(sitegen.pipeline.files, "BATCH", 1)
    two = photo_site(tmp_path / "two")
    (two / "content/2012/second.md").write_text("نص ثان.\n\n![الصورة نفسها](photos/street.jpg)\n", encoding="utf-8")
    (one / "content/2012/second.md").write_text("نص ثان.\n\n![الصورة نفسها](photos/street.jpg)\n", encoding="utf-8")
    built(one, workers=1)
    built(two, workers=2)
    assert tree_bytes(one / "_site") == tree_bytes(two / "_site")
