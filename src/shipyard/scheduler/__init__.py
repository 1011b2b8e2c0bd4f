"""Schedules and triggers: cron slots and new lake data start pipeline runs, each exactly once."""

from shipyard.scheduler.ticks import NextSlot, Started, next_cron_slot, tick

__all__ = ["NextSlot", "Started", "next_cron_slot", "tick"]
