"""The drills YAML: its types declared once (``models``, ``values``), read and validated (``loading``), problems
in drdrill's words (``messages``), the JSON Schema for editors (``schema``), the connection check (``connections``).

DAG files call :func:`load_config` at parse time: no network I/O, nothing heavy imported.
"""

from __future__ import annotations

from drdrill.config.connections import check_connections
from drdrill.config.loading import load_config
from drdrill.config.models import (BrokenTarget, DrillConfig, Encryption, EngineOptions, FailoverDrill, Heartbeat, Notify, Objectives,
                                   Pools, RestoreDrill, Retention, Schedules, Settings, Storage, Target)

__all__ = ["BrokenTarget", "DrillConfig", "Encryption", "EngineOptions", "FailoverDrill", "Heartbeat", "Notify", "Objectives", "RestoreDrill",
           "Pools", "Retention", "Schedules", "Settings", "Storage", "Target", "check_connections", "load_config"]
