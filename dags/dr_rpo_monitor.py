"""Airflow DAG file: RPO monitor DAGs, built by ``drdrill.dags.rpo_monitor``."""

from drdrill.dags import rpo_monitor

DAGS = rpo_monitor.dags()
