"""Spark jobs of the pipeline: stages 3, 5, 6, 7 and 8, and the walk-forward backtest."""
