"""Key names of the binlog archive: one folder per server with its objects, index entries and fork records."""

from __future__ import annotations

import pytest

from drdrill.storage.binlog.layout import BinlogLayout
from drdrill.storage.layout import TargetLayout

pytestmark = pytest.mark.unit


def test_keys_of_one_servers_archive() -> None:
    layout = BinlogLayout("drills", "shop")
    assert layout.root == "drills/shop/binlog/"
    assert layout.object_key("1-ab", "mysql-bin.000001") == "drills/shop/binlog/1-ab/mysql-bin.000001.zst"
    assert layout.index_key("1-ab", "mysql-bin.000001") == "drills/shop/binlog/1-ab/index/mysql-bin.000001.json"
    assert layout.fork_key("1-ab", "mysql-bin.000003") == "drills/shop/binlog/1-ab/forks/mysql-bin.000003.json"
    assert layout.index_root("1-ab") == "drills/shop/binlog/1-ab/index/"


def test_the_binlog_layout_of_a_target_layout_shares_its_root() -> None:
    target = TargetLayout("", "shop")
    binlogs = BinlogLayout.of(target)
    assert binlogs == BinlogLayout("", "shop") and BinlogLayout.of(binlogs) is binlogs
    assert binlogs.root == "shop/binlog/" and target.full_root == "shop/full/"
