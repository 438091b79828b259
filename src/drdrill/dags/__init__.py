"""The drill DAGs, one module per drill kind, each with a ``dags()`` factory over the configured targets.

An Airflow DAG file only calls a factory: ``dags/*.py`` in the checkout call one kind each, and the file
``drdrill dags install`` writes calls :func:`all_dags`.
"""

from __future__ import annotations

from typing import Any

KINDS = ("backup", "binlog_archive", "rpo_monitor", "restore", "pitr", "failover")


def all_dags() -> dict[str, Any]:
    """Every drill DAG of every kind for the configured targets, by DAG id."""
    from importlib import import_module

    found: dict[str, Any] = {}
    for kind in KINDS:
        found.update({dag.dag_id: dag for dag in import_module(f"drdrill.dags.{kind}").dags().values()})
    return found
