"""Helpers shared by the test suites (``from tests.helpers.<module> import ...``)."""
