"""Baselines for the engine benchmark (bench/engine.py): SpiffWorkflow and a raw relational loop."""
