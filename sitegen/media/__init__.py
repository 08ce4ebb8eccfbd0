"""Media an article references: photos decoded safely and written again as WebP and JPEG with no metadata (photos.py)."""
