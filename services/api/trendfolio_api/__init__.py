"""The Trendfolio HTTP API (SPEC §8): FastAPI over the read-only database role."""
