"""Benchmarks and their data (BENCH.md); run with `make bench-data` and `make bench`."""
