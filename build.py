#!/usr/bin/env python3
"""Build the site: ``python build.py`` (see ``python build.py --help`` and README.md)."""

from sitegen.commands.cli import leave, main

if __name__ == "__main__":
    # What the build made is kept to the end and freed with the process, at once: freeing it
    # object by object cost a one-change build 40-50 ms (see BuildOptions.keep).
    made: list[object] = []
    leave(main(keep=made.append))
