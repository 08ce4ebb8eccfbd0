"""The build: plan, file stage, site view, outputs through the engine, publish, state.

stages.build() states it once, top to bottom; workers.py is the only place that forks
workers (core/forked.py forks the one child that lists the sources).
"""
