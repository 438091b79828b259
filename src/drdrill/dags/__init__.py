"""The drill DAGs, one module per drill kind, each with a ``dags()`` factory over the configured targets, and the
installation's one ``dr_report`` DAG (``report``).

An Airflow DAG file only calls a factory: ``dags/*.py`` in the checkout call one kind each, and the file
``drdrill dags install`` writes calls :func:`all_dags`.
"""

from __future__ import annotations

from typing import Any

KINDS = ("backup", "binlog_archive", "rpo_monitor", "restore", "pitr", "failover")
MODULES = (*KINDS, "report")  # the report is not per target


def all_dags() -> dict[str, Any]:
    """Every drill DAG of every kind for the configured targets, and dr_report, by DAG id."""
    from importlib import import_module

    found: dict[str, Any] = {}
    for module in MODULES:
        found.update({dag.dag_id: dag for dag in import_module(f"drdrill.dags.{module}").dags().values()})
    return found
