"""The aggregator: one union catalogue harvested from many OAI-PMH repositories."""

__version__ = "0.1.0"
