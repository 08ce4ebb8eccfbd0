"""sitegen: a static-site generator for bilingual (Arabic / English) publication.

The layers, lowest first: core, config, content, translation, pages, outputs, pipeline,
commands. A module imports from its own layer and the ones below (tests/test_architecture.py).
Start with docs/architecture.md.
"""

from .core.pattern_code import remember_pattern_programs

# Before anything else is imported (dataclasses' own imports compile patterns): the programs
# of regular expressions are then read from __pycache__, not compiled again (pattern_code.py).
remember_pattern_programs()

from .core.generated_code import remember_generated_code  # noqa: E402 -- after the line above

# Before any module of the package defines its classes: their generated methods are then
# read compiled from __pycache__ instead of compiled again in every run (generated_code.py).
remember_generated_code()
