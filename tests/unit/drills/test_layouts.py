"""``drdrill.drills.layouts``: a target's keys in its bucket come from its config, in one place."""

from __future__ import annotations

from pathlib import Path

import pytest

from drdrill.drills.layouts import binlog_layout, layout_for
from tests.helpers.storage import BINLOGS, LAYOUT
from tests.helpers.targets import load_test_target


@pytest.mark.unit
def test_the_layouts_follow_the_targets_prefix_and_name(tmp_path: Path) -> None:
    shop = load_test_target(tmp_path, prefix="drills")
    assert layout_for(shop) == LAYOUT
    assert binlog_layout(shop) == BINLOGS
    (tmp_path / "other").mkdir()
    other = load_test_target(tmp_path / "other", name="billing", prefix="prod")
    assert layout_for(other).backup_root("x").startswith("prod/billing/")
