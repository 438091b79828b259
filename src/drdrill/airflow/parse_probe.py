"""Parse one DAG file the way the DAG processor would, refusing network, connections and Variables.

``python -m drdrill.airflow.parse_probe dags/dr_backup.py`` prints one JSON line: the seconds the file took
to run (Airflow itself already imported, as in the DAG processor) and the DAG ids it produced. A DAG file
that opens a socket or reads a connection or Variable at parse time fails with an AssertionError, because
the processor would do that on every parse of every file. The test suite checks the refusal; ``bench/dag_parse.py``
measures the seconds.
"""

from __future__ import annotations

import json
import runpy
import socket
import sys
import time
from typing import Any, NoReturn

PARSE_TIME_REFUSAL = "network, connection or variable used at DAG parse time"


def _refuse(*_args: Any, **_kwargs: Any) -> NoReturn:
    raise AssertionError(PARSE_TIME_REFUSAL)


def refuse_outside_access() -> None:
    """Make sockets, connection lookups and Variable reads raise in this process."""
    import airflow.sdk.bases.hook as hook
    import airflow.sdk.definitions.connection as connection
    import airflow.sdk.definitions.variable as variable

    socket.socket.connect = _refuse  # type: ignore[method-assign]
    socket.create_connection = _refuse
    hook.BaseHook.get_connection = classmethod(_refuse)  # type: ignore[method-assign,assignment]
    connection.Connection.get = classmethod(_refuse)  # type: ignore[method-assign,assignment]
    variable.Variable.get = classmethod(_refuse)  # type: ignore[method-assign,assignment]


def parse(path: str) -> dict[str, Any]:
    """Run the DAG file; its parse seconds and the ids of the DAGs in its ``DAGS`` mapping."""
    from airflow.sdk import DAG

    started = time.perf_counter()
    namespace = runpy.run_path(path)
    elapsed = time.perf_counter() - started
    dags = [value for value in namespace.get("DAGS", {}).values() if isinstance(value, DAG)]
    return {"seconds": elapsed, "dag_ids": [dag.dag_id for dag in dags]}


def main(argv: list[str]) -> int:
    """Probe the file named by the only argument; print the JSON line."""
    if len(argv) != 1:
        print("usage: python -m drdrill.airflow.parse_probe <dag file>", file=sys.stderr)
        return 2
    import airflow.sdk  # noqa: F401  (loaded already in the DAG processor: only the file's own cost counts)

    refuse_outside_access()
    print(json.dumps(parse(argv[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
