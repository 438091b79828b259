"""Airflow DAG file: Restore drill DAGs, built by ``drdrill.dags.restore``."""

from drdrill.dags import restore

DAGS = restore.dags()
