"""Airflow DAG file: Point-in-time-recovery drill DAGs, built by ``drdrill.dags.pitr``."""

from drdrill.dags import pitr

DAGS = pitr.dags()
