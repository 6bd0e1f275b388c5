"""Unattended harvesting: APScheduler timing, database leases per source and per host."""

from aggregator.scheduler.worker import Scheduler

__all__ = ["Scheduler"]
