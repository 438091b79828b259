"""Where a target's backups and binlog archive live in its bucket: the one bridge from config to storage keys."""

from __future__ import annotations

from drdrill.config import Target
from drdrill.storage.binlog.layout import BinlogLayout
from drdrill.storage.layout import TargetLayout


def layout_for(target: Target) -> TargetLayout:
    """The S3 layout of a target's backups."""
    return TargetLayout(prefix=target.storage.prefix, target=target.name)


def binlog_layout(target: Target) -> BinlogLayout:
    """Where a target's binlog archive lives."""
    return BinlogLayout.of(layout_for(target))
