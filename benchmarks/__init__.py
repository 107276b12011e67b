"""Benchmarks: each prints its figures, writes JSON, and says which machine it ran on."""
