"""Collector stages 1, 2 and 4: fetch from a source and publish to the topics."""
