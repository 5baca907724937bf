"""Speed and accuracy benchmarks of tsz-otel; run them with ``benchmarks/run_all.py``."""
