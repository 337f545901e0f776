"""Trendfolio's shared domain library: universe, calendar, returns, messages and data access."""

__version__ = "0.1.0"
