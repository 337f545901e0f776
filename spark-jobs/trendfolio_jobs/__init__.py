"""Spark jobs of the pipeline: stage 3 (trending ETFs) and stage 5 (portfolio allocation)."""
