"""Shipyard's team stack: the servers team-scale tests and `make demo-team` run against.

A dev and demo tool, not part of the `shipyard` package: see `teamstack/team.py`.
"""
