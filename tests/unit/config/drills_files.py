"""Small drills files for the config tests, and the assertion every error message must pass."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from drdrill.config import DrillConfig, load_config
from drdrill.errors import ConfigError

TARGET = """\
  - name: shop
    source_conn_id: shop_primary
    databases: [shop]
    storage: {conn_id: drdrill_s3, bucket: drdrill-backups, prefix: drdrill}
    objectives: {rto: 30m, rpo: 15m}
    retention: {keep_days: 14, keep_backups: 7}
"""


def write(tmp_path: Path, text: str, name: str = "drills.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def with_target_lines(tmp_path: Path, *lines: str, target: str = TARGET) -> Path:
    """A one-target file with extra lines appended to (or replacing parts of) the target."""
    return write(tmp_path, "targets:\n" + target + "".join(f"    {line}\n" for line in lines))


def load_error(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return caught.value


def assert_names(error: ConfigError, path: Path, key: str, *pieces: str) -> None:
    """The message names the file and key, has a fix, and contains each of ``pieces``."""
    message = str(error)
    assert path.name in message
    assert error.key == key
    assert f": {key}: " in message
    assert " Fix: " in message and error.fix
    for piece in pieces:
        assert piece in message, f"{piece!r} not in {message!r}"


def load_error_default() -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config()
    return caught.value


def two_targets(tmp_path: Path) -> DrillConfig:
    """shop (with a replica and Slack) and billing (neither)."""
    path = write(
        tmp_path,
        "targets:\n"
        + TARGET
        + "    replica_conn_id: shop_replica\n"
        + "    notify: {slack_conn_id: drdrill_slack}\n"
        + TARGET.replace("shop", "billing").replace("drdrill-backups", "billing-backups"),
    )
    return load_config(path)
