"""The test run's own settings (WXGATE_TEST_*), read at import, before tests/conftest.py
clears every WXGATE_* variable so that no test reads the product settings of the shell."""

from __future__ import annotations

import os

# A Postgres to create the test databases in, instead of the embedded one.
DATABASE_URL = os.environ.get("WXGATE_TEST_DATABASE_URL") or None
# Where the browser test writes its screenshots.
OUTPUT = os.environ.get("WXGATE_TEST_OUTPUT") or None
