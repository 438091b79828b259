"""The local Celery cluster: Postgres, Redis, Airflow's components and two Celery workers on 127.0.0.1."""
