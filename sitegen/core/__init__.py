"""The ground floor: diagnostics, language tags, text rules, URLs, hashing, safe files and YAML.

Nothing here knows about sites, segments or translations; every other layer may use it.
"""
