"""Benchmarks: plain Python, driven by management commands and tests."""
