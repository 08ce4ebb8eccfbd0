"""The photo row of the benchmark: an archive whose articles show phone photos.

Makes ``--photos`` JPEGs of about 12 megapixels (4000 x 3000, with EXIF as a phone writes
it: GPS, camera, serial number), one or two per article, in year folders beside their
articles, then times ``python build.py`` on it in separate processes:

- cold: no output, no cache (every photo decoded and encoded in every width),
- no-op: nothing changed,
- one text edit: one article's paragraph changed (no photo may be encoded again),
- from scratch with a kept cache: the output folder deleted (the cache's processed photos
  are linked again, none encoded).

    python bench/photos.py --photos 1000 --work /tmp/photo-bench

Prints one JSON object: seconds of each run, and cold seconds per photo.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent


def base_image(rng: random.Random, width: int, height: int):
    """A photo-like picture: smooth gradients with grain (flat colour would encode unrealistically fast)."""
    from PIL import Image, ImageFilter

    small = Image.effect_noise((width // 40, height // 40), 64).convert("RGB")
    tint = Image.new("RGB", small.size, (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    image = Image.blend(small, tint, 0.5).resize((width, height), Image.Resampling.BILINEAR)
    grain = Image.effect_noise((width, height), 12).convert("RGB")
    return Image.blend(image, grain, 0.15).filter(ImageFilter.SMOOTH)


def photo_bytes(rng: random.Random, base) -> bytes:
    """A JPEG of its own pixels (a patch drawn on a shared base), with EXIF as a phone writes it."""
    from PIL import Image, ImageDraw

    image = base.copy()
    x, y = rng.randrange(base.width - 400), rng.randrange(base.height - 400)
    ImageDraw.Draw(image).rectangle([x, y, x + 400, y + 400], fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "PhoneMaker", "Model 12"
    exif.get_ifd(0x8769)[0xA431] = f"SN{rng.randrange(10**8):08d}"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (34.0, 43.0, float(rng.randrange(60))), "E", (36.0, 42.0, 41.0)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88, exif=exif)
    return out.getvalue()


def make_archive(root: Path, photos: int, seed: int = 7) -> list[Path]:
    rng = random.Random(seed)
    content = root / "content"
    if root.exists():
        shutil.rmtree(root)
    content.mkdir(parents=True)
    (root / "site.yml").write_text("title: أرشيف الصور\nlanguage: ar\n", encoding="utf-8")
    articles, made = [], 0
    # Photos share a few base pictures (making noise is slow), each with pixels of its own: the
    # build names its files by their bytes, so identical pixels would be published once.
    bases = [base_image(rng, 4000, 3000) for _ in range(4)]
    while made < photos:
        number = len(articles)
        folder = content / str(2010 + number % 10)
        folder.mkdir(exist_ok=True)
        shown = min(photos - made, 1 + number % 2)
        names = []
        for index in range(shown):
            name = f"photo-{number:05d}-{index}.jpg"
            (folder / name).write_bytes(photo_bytes(rng, bases[(made + index) % len(bases)]))
            names.append(name)
        made += shown
        lines = [f"---\nimage: {names[0]}\nimage_alt: صورة رقم {number}\nimage_caption: تعليق الصورة {number}\n---",
                 f"فقرة أولى من المقال رقم {number} عن الأحداث في المدينة."]
        lines += [f"![صورة أخرى {number}]({n})" for n in names[1:]]
        lines.append("فقرة أخيرة من المقال.")
        path = folder / f"{2010 + number % 10}-0{1 + number % 9}-1{number % 9}-article-{number:05d}.md"
        path.write_text("\n\n".join(lines) + "\n", encoding="utf-8")
        articles.append(path)
    return articles


def timed_build(root: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, str(PROJECT / "build.py"), "--config", str(root / "site.yml")], check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=1000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/photo-bench"))
    args = parser.parse_args()
    articles = make_archive(args.work, args.photos)
    cold = timed_build(args.work)
    noop = timed_build(args.work)
    edited = articles[len(articles) // 2]
    edited.write_text(edited.read_text(encoding="utf-8").replace("فقرة أخيرة", "فقرة معدلة"), encoding="utf-8")
    one_edit = timed_build(args.work)
    shutil.rmtree(args.work / "_site")
    scratch = timed_build(args.work)
    media = list((args.work / "_site" / "media").iterdir())
    print(json.dumps({
        "photos": args.photos,
        "articles": len(articles),
        "cold_s": round(cold, 2),
        "cold_per_photo_ms": round(1000 * cold / args.photos, 1),
        "noop_s": round(noop, 3),
        "one_text_edit_s": round(one_edit, 3),
        "output_deleted_s": round(scratch, 2),
        "media_files": len(media),
        "media_mb": round(sum(p.stat().st_size for p in media) / 1e6, 1),
        "cores": os.cpu_count(),
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
