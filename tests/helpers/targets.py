"""Targets loaded from a small drills YAML written to a temporary directory (the config's public path)."""

from __future__ import annotations

import json
from pathlib import Path

from drdrill.config import DrillConfig, Target, load_config

TARGET_YAML = """\
settings:
  history_url: sqlite:///{directory}/history.sqlite
  work_dir: {directory}/work
targets:
  - name: {name}
    description: {description}
    source_conn_id: shop_primary
    databases: [shop, billing]
    storage: {{conn_id: drdrill_s3, bucket: drdrill-backups, prefix: {prefix}}}
    objectives: {{rto: 30m, rpo: 15m}}
    retention: {{keep_backups: 3}}
    tags: [team-db]
{extra}"""


def write_config(directory: Path, *, name: str = "shop", prefix: str = "tests", description: str = "unit-test shop",
                 extra: str = "") -> Path:
    """A one-target drills YAML in ``directory``; ``extra``: further target lines, indented four spaces."""
    path = directory / "drills.yaml"
    path.write_text(TARGET_YAML.format(directory=directory, name=name, prefix=prefix, description=json.dumps(description),
                                       extra=extra), encoding="utf-8")
    return path


def load_test_config(directory: Path, **options: str) -> DrillConfig:
    """The config of :func:`write_config`, loaded and validated."""
    return load_config(write_config(directory, **options))


def load_test_target(directory: Path, **options: str) -> Target:
    """The one target of :func:`write_config`."""
    return load_test_config(directory, **options).targets[0]
