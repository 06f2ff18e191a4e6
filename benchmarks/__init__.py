"""Benchmarks of dynsys against public baselines, run in the same process (``make bench``)."""
