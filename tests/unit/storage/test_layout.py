"""Where a target's backups live, and backup ids that sort by time and encode it."""

from __future__ import annotations

from datetime import timedelta, timezone

import pytest

from drdrill.storage.layout import BACKUP_ID_PATTERN, TargetLayout, backup_time, new_backup_id, target_root
from tests.helpers.storage import NOW

pytestmark = pytest.mark.unit


def test_backup_ids_sort_by_time_and_encode_it() -> None:
    first, second = new_backup_id(NOW), new_backup_id(NOW + timedelta(seconds=1))
    assert BACKUP_ID_PATTERN.match(first) and first < second
    assert backup_time(first) == NOW
    assert new_backup_id(NOW) != new_backup_id(NOW)  # the random suffix keeps two runs in one second apart


def test_a_backup_id_is_in_utc_whatever_the_time_zone_given() -> None:
    east = NOW.astimezone(timezone(timedelta(hours=5)))
    assert new_backup_id(east).startswith("20261121T120000Z-")


def test_keys_of_a_backup() -> None:
    layout = TargetLayout("p", "shop")
    assert layout.full_root == "p/shop/full/"
    assert layout.manifest_key("B") == "p/shop/full/B/manifest.json"
    assert layout.quarantine_key("B") == "p/shop/full/B/quarantine.json"
    assert layout.object_key("B", "dump.sql.zst") == "p/shop/full/B/dump.sql.zst"
    assert TargetLayout("", "shop").full_root == "shop/full/" and target_root("", "shop") == "shop/"


@pytest.mark.parametrize("name", ["20261121T120000Z-abcdef", "20261121T120000Z-000000"])
def test_backup_id_pattern_accepts_ids(name: str) -> None:
    assert BACKUP_ID_PATTERN.match(name)


@pytest.mark.parametrize("name", ["drills", "20261121T120000Z", "20261121T120000Z-ABCDEF", "x20261121T120000Z-abcdef"])
def test_backup_id_pattern_refuses_other_folders(name: str) -> None:
    assert not BACKUP_ID_PATTERN.match(name)
