"""docker-compose.yaml, held to the compose specification and to what drdrill needs (there is no Docker engine here).

Each check is a function that lists problems: quiet on the project's files, and shown to fire on a broken copy.
The Airflow components are the local cluster's (``drdrill.sandbox.components``), the logins' grants the sandbox's,
the connections those docker/drills.yaml names: the compose file cannot drift from them unnoticed.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from drdrill.config import load_config
from drdrill.config.models import CONNECTION_KEYS, DrillConfig, Pools
from drdrill.sandbox import components
from drdrill.sandbox.sample_data import APP_GRANTS
from drdrill.sandbox.stack import BACKUP_GRANTS, FAILOVER_GRANTS, REPLICATION_GRANTS

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yaml"
DOCKER_DIR = ROOT / "docker"
CONFIG_MOUNT = "./docker/drills.yaml:/opt/airflow/config/drills.yaml:ro"
# conn_type of the AIRFLOW_CONN_* a config connection key needs (the Slack notifier takes a webhook connection)
CONN_TYPES = {"mysql": "mysql", "aws": "aws", "slack": "slackwebhook", "generic": "generic"}
LOGIN_GRANTS = {"drdrill_backup": BACKUP_GRANTS + FAILOVER_GRANTS, "drdrill_repl": REPLICATION_GRANTS,
                "shop_app": APP_GRANTS}
_VARIABLE = re.compile(r"\$\{[^}]*\}")


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def drills_config() -> DrillConfig:
    return load_config(DOCKER_DIR / "drills.yaml")


def airflow_services(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The services that run Airflow (they have its executor setting)."""
    return {name: service for name, service in spec["services"].items()
            if "AIRFLOW__CORE__EXECUTOR" in (service.get("environment") or {})}


def command_of(service: dict[str, Any]) -> list[str]:
    command = service.get("command") or []
    return command.split() if isinstance(command, str) else list(command)


# -- the checks ------------------------------------------------------------------------------------------------

def schema_problems(path: Path) -> list[str]:
    """What check-jsonschema's bundled compose specification says about ``path`` (offline)."""
    done = subprocess.run([str(Path(sys.executable).parent / "check-jsonschema"), "--builtin-schema",
                           "vendor.compose-spec", str(path)], capture_output=True, text=True, timeout=60)
    return [] if done.returncode == 0 else [done.stdout + done.stderr]


def unpinned_images(spec: dict[str, Any]) -> list[str]:
    """Images without a tag or tagged latest."""
    problems = []
    for name, service in spec["services"].items():
        image = service.get("image", "")
        tag = image.rsplit("/", 1)[-1].partition(":")[2]
        if not tag or tag == "latest":
            problems.append(f"{name}: image {image!r} is not pinned")
    return problems


def nested_defaults(text: str) -> list[str]:
    """``${A:-${B}}``: docker-compose 1.29 renders it wrongly (FIELD-NOTES.md)."""
    return [f"nested default {match.group(0)!r}" for match in re.finditer(r"\$\{[^}]*\$\{[^}]*\}", text)]


def env_example_problems(text: str, example: str) -> list[str]:
    """Every variable the compose file reads is set in docker/.env.example (``$${X}`` is the container's own)."""
    documented = set(re.findall(r"^([A-Z_][A-Z0-9_]*)=", example, re.M))
    used = set(re.findall(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)", text))
    return [f"{name} is not in docker/.env.example" for name in sorted(used - documented)]


def component_problems(spec: dict[str, Any]) -> list[str]:
    """The local cluster's components, each one service running that Airflow command, on the Celery executor."""
    services = spec["services"]
    problems = [f"no service {name!r}" for name in (*components.BACKING_SERVICES, *components.AIRFLOW_SERVICES,
                                                     *components.WORKERS) if name not in services]
    airflow = airflow_services(spec)
    for name in components.AIRFLOW_SERVICES:
        if name in services and command_of(services[name])[:1] != [name]:
            problems.append(f"{name}: command {command_of(services[name])} is not `airflow {name}`")
    workers = {name for name, service in airflow.items() if command_of(service)[:2] == ["celery", "worker"]}
    if workers != set(components.WORKERS):
        problems.append(f"Celery workers {sorted(workers)}, expected {list(components.WORKERS)}")
    for name in workers & set(components.WORKERS):
        command, service = command_of(services[name]), services[name]
        if f"{name}@%h" not in command or service.get("hostname") != name:
            problems.append(f"{name}: not named {name} (hostname and --celery-hostname)")
        if not any(str(volume).startswith(CONFIG_MOUNT) for volume in service.get("volumes", [])):
            problems.append(f"{name}: docker/drills.yaml is not mounted")
    for name, service in airflow.items():
        executor = service["environment"]["AIRFLOW__CORE__EXECUTOR"]
        if executor != components.EXECUTOR:
            problems.append(f"{name}: executor {executor}, expected {components.EXECUTOR}")
        celery_config = service["environment"].get("AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS")
        if celery_config != components.CELERY_CONFIG_OPTIONS:
            problems.append(f"{name}: celery_config_options {celery_config}, expected {components.CELERY_CONFIG_OPTIONS}")
    return problems


def connection_problems(spec: dict[str, Any], config: DrillConfig) -> list[str]:
    """Every connection the drills config names is an AIRFLOW_CONN_* of the right type in each Airflow service;
    a MariaDB one reaches a compose service with a login mariadb-setup creates."""
    problems = []
    needed = {conn_id: CONN_TYPES[CONNECTION_KEYS[key] or "mysql"]
              for target in config.targets for key, conn_id in target.connections().items()}
    for name, service in airflow_services(spec).items():
        environment = service["environment"]
        for conn_id, conn_type in needed.items():
            variable = f"AIRFLOW_CONN_{conn_id.upper()}"
            if variable not in environment:
                problems.append(f"{name}: no {variable} for connection {conn_id!r}")
                continue
            connection = json.loads(_VARIABLE.sub("x", environment[variable]))
            if connection.get("conn_type") != conn_type:
                problems.append(f"{name}: {variable} is {connection.get('conn_type')!r}, expected {conn_type!r}")
            if conn_type == "mysql" and (connection.get("host") not in spec["services"]
                                         or connection.get("login") not in LOGIN_GRANTS):
                problems.append(f"{name}: {variable} reaches no compose server with a drdrill login")
    return problems


def login_problems(spec: dict[str, Any]) -> list[str]:
    """mariadb-setup creates each login with exactly the sandbox's grants, on both servers, unlogged."""
    script = "\n".join(command_of_text(spec["services"]["mariadb-setup"]))
    problems = [] if "SET SESSION sql_log_bin = 0;" in script else ["logins are created with the binlog on"]
    if "for server in mariadb-primary mariadb-replica;" not in script:
        problems.append("logins are not created on both servers")
    granted: dict[str, list[str]] = {}
    for privileges, user in re.findall(r"GRANT (.+?) TO '(\w+)'@'%';", script):
        granted.setdefault(user, []).append(privileges)
    for user, grants in LOGIN_GRANTS.items():
        if granted.get(user) != grants:
            problems.append(f"{user}: grants {granted.get(user)}, expected {grants}")
    return problems + [f"{user}: not a drdrill login" for user in granted if user not in LOGIN_GRANTS]


def command_of_text(service: dict[str, Any]) -> list[str]:
    command = service.get("command") or []
    return [command] if isinstance(command, str) else [str(part) for part in command]


def database_problems(spec: dict[str, Any], config: DrillConfig, postgres_init: str) -> list[str]:
    """Airflow's metadata and the drill history in the compose's Postgres, the history database created there."""
    problems = []
    history = config.settings.history_url
    if not history.startswith("postgresql") or not history.endswith(f"@postgres/{components.HISTORY_DB}"):
        problems.append(f"history_url {history!r} is not the compose's Postgres database {components.HISTORY_DB}")
    if f"CREATE DATABASE {components.HISTORY_DB} " not in postgres_init:
        problems.append(f"docker/postgres-init.sh does not create {components.HISTORY_DB}")
    for name, service in airflow_services(spec).items():
        metadata = service["environment"]["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        if not metadata.endswith(f"@postgres/{components.METADATA_DB}") or "PGPASSWORD" not in service["environment"]:
            problems.append(f"{name}: metadata database or history password missing")
    return problems


def mariadb_version_problems(spec: dict[str, Any], dockerfile: str) -> list[str]:
    """The workers' MariaDB (scratch servers, mariabackup) is the servers' version, and has what drills run."""
    wanted = re.search(r"^ARG MARIADB_VERSION=(\S+)$", dockerfile, re.M)
    problems = [] if wanted else ["the Dockerfile has no ARG MARIADB_VERSION"]
    for name in ("mariadb-primary", "mariadb-replica"):
        image = spec["services"][name]["image"]
        if not wanted or image != f"mariadb:{wanted.group(1)}":
            problems.append(f"{name}: image {image} is not the workers' MariaDB")
    problems += [f"the worker image lacks {package}" for package in ("mariadb-server", "mariadb-backup",
                                                                     "mariadb-client", "mydumper", "zstd")
                 if not re.search(rf"\s{package}\s", dockerfile)]
    return problems


def install_problems(spec: dict[str, Any], dockerfile: str) -> list[str]:
    """drdrill installed as the README deploys it: the package's DAG file and plugin, nothing from the checkout."""
    problems = [f"{name}: mounts the checkout's {volume.split(':')[0]}" for name, service in spec["services"].items()
                for volume in map(str, service.get("volumes", [])) if volume.startswith(("./dags", "./plugins"))]
    if not re.search(r"^RUN .*drdrill dags install /opt/airflow/dags$", dockerfile, re.M):
        problems.append("the image does not run `drdrill dags install`")
    if "drdrill config check" not in " ".join(command_of(spec["services"]["airflow-init"])):
        problems.append("airflow-init does not run `drdrill config check`")
    return problems


def stack_problems(spec: dict[str, Any], config: DrillConfig) -> list[str]:
    """What the drills rely on beside Airflow: the bucket, the heartbeat, the streamer, the failover's restart."""
    services = spec["services"]
    target = config.targets[0]
    problems = []
    if f"BUCKET: ${{DRDRILL_S3_BUCKET:-{target.storage.bucket}}}" not in COMPOSE_FILE.read_text() \
            or "mc mb --ignore-existing" not in command_of_text(services["minio-init"])[0]:
        problems.append(f"minio-init does not create bucket {target.storage.bucket}")
    if "drdrill.sandbox.heartbeat" not in command_of_text(services["shop-heartbeat"])[0]:
        problems.append("no heartbeat writer")
    if "drdrill.sandbox.sample_data" not in command_of_text(services["mariadb-setup"])[0]:
        problems.append("no sample data")
    if services["binlog-streamer-shop"]["entrypoint"][-1:] != ["stream"]:
        problems.append("no binlog streamer")
    request = (target.failover_drill.restart_command or "").split()[-1:]
    watched = "/control/restart-primary" in command_of_text(services["mariadb-primary"])[0]
    shared = all(any(str(volume) == "drdrill-control:/opt/airflow/control" for volume in services[worker]["volumes"])
                 for worker in components.WORKERS)
    if request != ["/opt/airflow/control/restart-primary"] or not watched or not shared:
        problems.append("the failover drill's restart_command does not reach mariadb-primary")
    return problems


# -- the tests ---------------------------------------------------------------------------------------------------

def test_the_compose_file_is_valid_by_the_compose_specification(tmp_path: Path) -> None:
    assert schema_problems(COMPOSE_FILE) == []
    broken = compose()
    broken["services"]["redis"]["restart"] = "sometimes"
    broken["services"]["redis"]["healthcheck"]["interval"] = ["10s"]
    (tmp_path / "broken.yaml").write_text(yaml.safe_dump(broken))
    assert schema_problems(tmp_path / "broken.yaml")


def test_every_image_is_pinned_and_no_default_nests() -> None:
    spec, text = compose(), COMPOSE_FILE.read_text()
    assert unpinned_images(spec) == [] and nested_defaults(text) == []
    spec["services"]["minio"]["image"] = "quay.io/minio/minio:latest"
    spec["services"]["redis"]["image"] = "redis"
    assert len(unpinned_images(spec)) == 2
    assert nested_defaults('login: "${DRDRILL_S3_ACCESS_KEY:-${MINIO_ROOT_USER}}"')


def test_every_variable_the_compose_file_reads_is_in_the_env_example() -> None:
    text, example = COMPOSE_FILE.read_text(), (DOCKER_DIR / ".env.example").read_text()
    assert env_example_problems(text, example) == []
    assert env_example_problems(text, example.replace("\nSHOP_APP_PASSWORD=", "\n# SHOP_APP_PASSWORD=")) == [
        "SHOP_APP_PASSWORD is not in docker/.env.example"]


def test_the_airflow_components_are_the_local_clusters() -> None:
    spec = compose()
    assert component_problems(spec) == []
    no_second_worker, local = copy.deepcopy(spec), copy.deepcopy(spec)
    del no_second_worker["services"]["drdrill-worker-2"]
    local["services"]["scheduler"]["environment"] = {**local["services"]["scheduler"]["environment"],
                                                     "AIRFLOW__CORE__EXECUTOR": "LocalExecutor"}
    assert any("drdrill-worker-2" in problem for problem in component_problems(no_second_worker))
    assert any("LocalExecutor" in problem for problem in component_problems(local))


def test_every_connection_the_drills_config_names_is_in_every_airflow_service() -> None:
    spec, config = compose(), drills_config()
    assert {"drdrill_shop_canary", "drdrill_shop_replication"} <= set(config.targets[0].connection_ids())
    assert connection_problems(spec, config) == []
    worker = spec["services"]["drdrill-worker-2"]
    worker["environment"] = {key: value for key, value in worker["environment"].items()
                             if key != "AIRFLOW_CONN_DRDRILL_SHOP_CANARY"}
    assert connection_problems(spec, config) == [
        "drdrill-worker-2: no AIRFLOW_CONN_DRDRILL_SHOP_CANARY for connection 'drdrill_shop_canary'"]


def test_the_logins_get_the_sandboxs_least_privilege_grants() -> None:
    spec = compose()
    assert login_problems(spec) == []
    setup = spec["services"]["mariadb-setup"]
    setup["command"] = [setup["command"][0].replace("EXECUTE ON shop.* TO 'shop_app'", "EXECUTE, SUPER ON *.* TO "
                                                                                          "'shop_app'")]
    assert login_problems(spec) == [f"shop_app: grants ['SELECT, INSERT, UPDATE, DELETE, EXECUTE, SUPER ON *.*'], "
                                    f"expected {APP_GRANTS}"]


def test_metadata_and_history_live_in_the_compose_postgres() -> None:
    spec, config = compose(), drills_config()
    init = (DOCKER_DIR / "postgres-init.sh").read_text()
    assert database_problems(spec, config, init) == []
    sqlite = load_config(ROOT / "include" / "drills.yaml")
    assert database_problems(spec, sqlite, init.replace("drdrill_history OWNER", "history OWNER")) != []


def test_the_worker_image_has_the_servers_mariadb() -> None:
    spec, dockerfile = compose(), (DOCKER_DIR / "airflow.Dockerfile").read_text()
    assert mariadb_version_problems(spec, dockerfile) == []
    spec["services"]["mariadb-replica"]["image"] = "mariadb:11.4"
    assert mariadb_version_problems(spec, dockerfile.replace(" mariadb-server", "")) == [
        "mariadb-replica: image mariadb:11.4 is not the workers' MariaDB", "the worker image lacks mariadb-server"]


def test_drdrill_is_installed_as_the_readme_deploys_it() -> None:
    spec, dockerfile = compose(), (DOCKER_DIR / "airflow.Dockerfile").read_text()
    assert install_problems(spec, dockerfile) == []
    spec["services"]["scheduler"]["volumes"] = ["./dags:/opt/airflow/dags", *spec["services"]["scheduler"]["volumes"]]
    assert install_problems(spec, dockerfile.replace("drdrill dags install", "true")) == [
        "scheduler: mounts the checkout's ./dags", "the image does not run `drdrill dags install`"]


def test_bucket_heartbeat_sample_data_streamer_and_restart_are_wired() -> None:
    spec, config = compose(), drills_config()
    assert stack_problems(spec, config) == []
    del spec["services"]["drdrill-worker-1"]["volumes"][-1]
    spec["services"]["shop-heartbeat"]["command"] = ["sleep infinity"]
    assert stack_problems(spec, config) == [
        "no heartbeat writer", "the failover drill's restart_command does not reach mariadb-primary"]


def test_the_pools_the_config_names_are_created_with_the_local_clusters_slots() -> None:
    init = " ".join(compose()["services"]["airflow-init"]["command"])
    created = {name: int(slots) for name, slots in re.findall(r"airflow pools set (\S+) (\d+) ", init)}
    assert created == dict(components.POOLS.values())
    assert drills_config().settings.pools == Pools(**{key: name for key, (name, _) in components.POOLS.items()})
