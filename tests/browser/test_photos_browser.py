"""Photos in a real browser: every image loads from disk and under /repo/, the browser picks a
width that fits the screen, and pages with photos pass the Nu Html Checker and axe.

The sample site has no photos, so a small photo site is built here (photos made with Pillow,
with GPS and a serial number in EXIF, as a phone writes them) and served beside the sample.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys

import pytest

from .conftest import ORIGINS, REPO, WIDTHS, Site, base_url
from .test_accessibility import check_axe
from .test_validator import run_vnu

PHOTOS = "photos-site"


def _photo(width: int, height: int, colour: tuple[int, int, int]) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), colour)
    ImageDraw.Draw(image).rectangle([width // 4, height // 3, width // 2, height], fill=(60, 50, 40))
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0xA431] = "SERIAL-1234"
    exif.get_ifd(0x8825)[1] = "N"
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85, exif=exif)
    return out.getvalue()


@pytest.fixture(scope="module")
def photo_site(www, tmp_path_factory) -> Site:
    source = tmp_path_factory.mktemp("photo-source")
    content = source / "content" / "2012"
    content.mkdir(parents=True)
    (source / "site.yml").write_text("title: صور من حمص\nlanguage: ar\n", encoding="utf-8")
    (content / "lead.jpg").write_bytes(_photo(3000, 2000, (120, 150, 200)))
    (content / "street.jpg").write_bytes(_photo(1800, 1200, (200, 170, 90)))
    body = "\n\n".join(["فقرة أولى عن الحي قبل الصور."] * 3 + ["![الشارع بعد القصف](street.jpg \"الشارع الرئيسي\")"] + ["فقرة بعد الصورة."] * 12)
    (content / "2012-02-24-homs.md").write_text(
        "---\nimage: lead.jpg\nimage_alt: مبان تحت سماء صافية\nimage_caption: صباح الجمعة\nimage_credit: مصور الحي\n---\n" + body + "\n",
        encoding="utf-8",
    )
    out = www / PHOTOS
    result = subprocess.run([sys.executable, str(REPO / "build.py"), "--config", str(source / "site.yml"), "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return Site.discover(out)


# Scrolls every image into view (the lazy ones load then) and waits for each to settle.
LOAD_ALL_JS = """async () => {
  const images = Array.from(document.querySelectorAll('img'));
  for (const img of images) {
    img.scrollIntoView();
    if (!img.complete) await new Promise(done => { img.onload = img.onerror = done; setTimeout(done, 5000); });
  }
  return images.map(img => ({src: img.currentSrc, natural: img.naturalWidth, shown: img.getBoundingClientRect().width,
                              lazy: img.loading, ratio: window.devicePixelRatio}));
}"""


@pytest.mark.parametrize("origin", ORIGINS)
@pytest.mark.parametrize("width", WIDTHS)
def test_every_photo_loads_in_a_width_that_fits_the_screen(browser, photo_site, server, origin, width):
    page_url = base_url(photo_site, origin, server) + photo_site.pages["segment"]
    with browser.visit(page_url, width=width) as (page, log):
        images = page.evaluate(LOAD_ALL_JS)
    assert len(images) == 2, images
    for image in images:
        assert image["natural"] > 0, f"did not load: {image}"
        assert "/media/" in image["src"] and image["src"].endswith(".webp"), image  # WebP where the browser has it
        # The file's width is in its name. The smallest published width that covers the shown
        # width is picked: 480 for a 328 px column, 960 for the 640 px column of a wide screen.
        chosen = int(re.search(r"-(\d+)\.webp$", image["src"]).group(1))
        assert chosen >= image["shown"] * image["ratio"], image
        assert chosen == (480 if width == 360 else 960), image
    assert [i["lazy"] for i in images] == ["auto", "lazy"]  # the lead photo loads at once
    assert not log.console_errors and not log.page_errors and not log.aborted


def test_pages_with_photos_are_valid_html(photo_site):
    errors, _ = run_vnu(photo_site.root)[photo_site.root]
    assert not errors, "\n".join(errors)


def test_pages_with_photos_have_no_serious_axe_violations(browser, photo_site):
    with browser.visit(photo_site.root.as_uri() + "/" + photo_site.pages["segment"]) as (page, _):
        problems = check_axe(page)
    assert not problems, "\n".join(problems)
