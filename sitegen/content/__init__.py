"""Sources to segments: finding and reading files, splitting, front matter, Markdown, titles, dates and slugs.
"""
