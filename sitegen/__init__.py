"""sitegen: a static-site generator for bilingual (Arabic / English) publication.

The layers, lowest first: core, config, content, translation, pages, outputs, pipeline,
commands. A module imports from its own layer and the ones below (tests/test_architecture.py).
Start with docs/architecture.md.
"""
