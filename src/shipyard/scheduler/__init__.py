"""Schedules and triggers: cron slots and new lake data start pipeline runs, each exactly once."""

from shipyard.scheduler.ticks import Started, tick

__all__ = ["Started", "tick"]
