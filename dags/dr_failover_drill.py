"""Airflow DAG file: Failover drill DAGs, built by ``drdrill.dags.failover``."""

from drdrill.dags import failover

DAGS = failover.dags()
