"""The commands a user runs: build (cli.py), serve and check, and the wording they share (messages.py).
"""
