"""``drdrill.engines.restore``: the restore mechanics every engine shares."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from drdrill.engines.restore import CLIENT_ERROR, RestoreFailed, restore_stats, unpack_archive


@pytest.mark.unit
def test_a_client_error_names_code_state_line_and_message() -> None:
    found = CLIENT_ERROR.search("ERROR 1146 (42S02) at line 812: Table 'shop.orders' doesn't exist")
    assert found and (found["code"], found["state"], found["line"]) == ("1146", "42S02", "812")
    assert found["message"] == "Table 'shop.orders' doesn't exist"
    assert CLIENT_ERROR.search("ERROR 2002 (HY000): Can't connect to server") is None


@pytest.mark.unit
def test_unpack_extracts_a_whole_archive_and_refuses_a_cut_one(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "metadata").write_text("Finished dump at: now\n" + "x" * 200_000)
    subprocess.run(f"tar -C {tmp_path / 'in'} -cf - . | zstd -q -o {tmp_path / 'a.tar.zst'}", shell=True, check=True)
    tap = unpack_archive(tmp_path / "a.tar.zst", ["tar", "-x", "-C"], tmp_path / "out", tmp_path / "u.log", "test")
    assert (tmp_path / "out" / "metadata").read_text().startswith("Finished dump at")
    assert tap.count > 200_000

    data = (tmp_path / "a.tar.zst").read_bytes()
    (tmp_path / "cut.tar.zst").write_bytes(data[: len(data) // 3])
    with pytest.raises(RestoreFailed) as failed:
        unpack_archive(tmp_path / "cut.tar.zst", ["tar", "-x", "-C"], tmp_path / "out", tmp_path / "u.log", "test")
    assert failed.value.code == "ARCHIVE_TRUNCATED"


@pytest.mark.unit
def test_stats_give_seconds_bytes_and_throughput() -> None:
    stats = restore_stats(5_000_000, began=0.0)
    assert stats["raw_bytes"] == 5_000_000 and stats["seconds"] > 0 and stats["mb_per_second"] is not None
