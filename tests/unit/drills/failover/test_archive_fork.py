"""The archived history of an old primary: the number its new history starts at keeps the archive's numbering."""

from __future__ import annotations

import pytest

from drdrill.drills.failover.archive_fork import ArchivedHistory

pytestmark = pytest.mark.unit


def test_the_new_history_takes_the_number_of_the_empty_current_file() -> None:
    history = ArchivedHistory(store=None, layout=None, server_key="1-abc", last_file="mysql-bin.000041",  # type: ignore[arg-type]
                              next_file="mysql-bin.000042", end="0-1-99")
    assert history.next_number == 42 and history.archive_findings == ()
