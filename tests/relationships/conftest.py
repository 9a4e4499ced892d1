"""The relationships tests use `demo_db` (the TWCS demo loaded once per run,
cloned per test), defined in tests/conftest.py and shared with other domains."""
