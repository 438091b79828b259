"""The parts of a drdrill Airflow cluster, named once: the local stack (``drdrill stack``) and docker-compose.yaml
both start exactly these, and tests/unit/test_docker_compose.py holds the compose file to them."""

EXECUTOR = "CeleryExecutor"
CELERY_CONFIG_OPTIONS = "drdrill.airflow.celery_preload.CELERY_CONFIG"  # workers preload Great Expectations
BACKING_SERVICES = ("postgres", "redis")  # Airflow's metadata + the drill history; Celery's broker
AIRFLOW_SERVICES = ("api-server", "scheduler", "dag-processor", "triggerer")  # each an `airflow <name>` command
WORKERS = ("drdrill-worker-1", "drdrill-worker-2")  # Celery workers, each its own host name and work dir
METADATA_DB, HISTORY_DB = "airflow", "drdrill_history"  # the Postgres databases
# Airflow pools (settings.pools) and their slots: one backup dump and one scratch server per worker at a time
POOLS = {"backup": ("drdrill_backup", len(WORKERS)), "recovery": ("drdrill_recovery", len(WORKERS))}
