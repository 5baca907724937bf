"""Test servers that ship with tsz-otel, for tests, examples and benchmarks.

Everything here binds to 127.0.0.1 only and is started and stopped by its user.
"""
