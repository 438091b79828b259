"""Whether the Airflow connections a drills config names exist, and how to create a missing one."""

from __future__ import annotations

import re
from collections.abc import Callable

from drdrill.config.models import CONNECTION_KEYS, DrillConfig
from drdrill.errors import ConfigError


def check_connections(config: DrillConfig, exists: Callable[[str], bool]) -> list[ConfigError]:
    """One ConfigError per connection reference that ``exists`` reports missing (Airflow is the caller's)."""
    known: dict[str, bool] = {}
    problems: list[ConfigError] = []
    for target in config.targets:
        for key, conn_id in target.connections().items():
            conn_type = CONNECTION_KEYS[key]
            if conn_type is None:
                continue
            if conn_id not in known:
                known[conn_id] = bool(exists(conn_id))
            if not known[conn_id]:
                problems.append(ConfigError(str(config.path), f"targets[{target.name}].{key}",
                                            f"Airflow connection {conn_id!r} does not exist.",
                                            _connection_fix(conn_id, conn_type)))
    return problems


_HOW_TO_CREATE = {  # connection type: the options of `airflow connections add`, an AIRFLOW_CONN_ URI, a note
    "mysql": ("--conn-type mysql --conn-host HOST --conn-port 3306 --conn-login USER --conn-password PASSWORD",
              "mysql://USER:PASSWORD@HOST:3306", ""),
    "aws": ("--conn-type aws --conn-login ACCESS_KEY_ID --conn-password SECRET_ACCESS_KEY "
            '--conn-extra \'{"region_name": "us-east-1"}\'', "aws://ACCESS_KEY_ID:SECRET_ACCESS_KEY@/?region_name=us-east-1",
            ' For MinIO or moto add "endpoint_url" to the extra.'),
    "slack": ("--conn-type slack --conn-password xoxb-YOUR-BOT-TOKEN", "slack://:xoxb-YOUR-BOT-TOKEN@",
              " Or set slack_conn_id: null to turn Slack off."),
    "generic": ("--conn-type generic --conn-password KEY", "generic://:KEY@",
                " KEY: a random secret of at least 32 characters, e.g. from `openssl rand -base64 48` (URL-encode it "
                "in the URI). Or set storage.manifest_signing_conn_id: null to write unsigned manifests."),
}


def _connection_fix(conn_id: str, conn_type: str) -> str:
    """How to create a missing connection of ``conn_type``, by CLI and (if the id allows) by env var."""
    options, uri, note = _HOW_TO_CREATE[conn_type]
    fix = f"Run `airflow connections add {conn_id} {options}`"
    if re.fullmatch(r"[A-Za-z0-9_]+", conn_id):
        fix += f", or set the environment variable AIRFLOW_CONN_{conn_id.upper()}='{uri}'"
    return f"{fix}.{note}"
