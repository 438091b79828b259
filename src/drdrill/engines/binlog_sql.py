"""The command that turns binlog files into SQL for the target's databases only."""

from __future__ import annotations

import shlex
from collections.abc import Sequence


def binlog_sql_command(base: Sequence[str], databases: Sequence[str], files: Sequence[str]) -> list[str]:
    """``mariadb-binlog`` limited to the target's databases, one ``--database`` pass per database.

    ``mariadb-binlog --database`` takes a single schema, and events of other schemas (tables the
    restored server does not have) must not reach it. With several databases the passes run one after
    another in one shell command; a transaction spanning schemas is then applied schema by schema.
    ``base`` must hold no secret (credentials go in an option file).
    """
    if not databases:
        raise ValueError("a target has at least one database")
    passes = [[*base, f"--database={name}", *files] for name in databases]
    if len(passes) == 1:
        return passes[0]
    return ["bash", "-c", "set -e; " + "; ".join(shlex.join(argv) for argv in passes)]
