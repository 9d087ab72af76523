"""Benchmarks: ours against the reference in one run, reported as ratios (docs/BENCHMARKS.md)."""
