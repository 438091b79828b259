"""Airflow DAG file: Binlog archiving DAGs, built by ``drdrill.dags.binlog_archive``."""

from drdrill.dags import binlog_archive

DAGS = binlog_archive.dags()
