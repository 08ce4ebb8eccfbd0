#!/usr/bin/env python3
"""Build the site: ``python build.py`` (see ``python build.py --help`` and README.md)."""

from sitegen.commands.cli import leave, main

if __name__ == "__main__":
    leave(main())
