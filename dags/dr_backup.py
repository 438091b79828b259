"""Airflow DAG file: Backup drill DAGs, built by ``drdrill.dags.backup``."""

from drdrill.dags import backup

DAGS = backup.dags()
