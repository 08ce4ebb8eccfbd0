"""sitegen: a static-site generator for bilingual (Arabic / English) publication.

The layers, lowest first: core, config, content, translation, pages, outputs, pipeline,
commands. A module imports from its own layer and the ones below (tests/test_architecture.py).
Start with docs/architecture.md.
"""

from .core.generated_code import remember_generated_code

# Before any module of the package defines its classes: their generated methods are then
# read compiled from __pycache__ instead of compiled again in every run (generated_code.py).
remember_generated_code()
