"""Airflow DAG file: the installation's DR report DAG (dr_report), built by ``drdrill.dags.report``."""

from drdrill.dags import report

DAGS = report.dags()
