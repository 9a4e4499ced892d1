"""The relationships tests use `demo_db` (tests/conftest.py): the TWCS demo,
loaded once per run and cloned per test."""
