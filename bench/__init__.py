"""Benchmarks: each prints its figures and writes them to results/."""
