"""``drdrill stack``: a local Airflow 3 Celery cluster on 127.0.0.1 that drills the sandbox's target.

Postgres (Airflow's metadata and the drill history) and Redis (Celery's broker) of its own, the API server,
scheduler, DAG processor, triggerer and two Celery workers, everything under ``<project>/.stack`` with pid and
log files there. Each worker has its own drdrill config (own ``work_dir``) and names itself through
``[core] hostname_callable``, so the two behave like two machines. ``up`` and ``down`` are idempotent.
"""

from __future__ import annotations

import base64
import configparser
import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from drdrill.airflow.connections import import_connections
from drdrill.airflow.rest_api import api_token
from drdrill.airflow.worker_name import WORKER_NAME_ENV_VAR
from drdrill.daemon import Daemon
from drdrill.errors import DrdrillError, ServerStartError
from drdrill.locations import CONFIG_ENV_VAR, default_config_path, project_root
from drdrill.ports import ensure_port_free, port_open
from drdrill.sandbox.components import AIRFLOW_SERVICES, CELERY_CONFIG_OPTIONS, EXECUTOR, HISTORY_DB, METADATA_DB, POOLS, WORKERS
from drdrill.sandbox.spread import LOCAL_SETTINGS, QUEUES_VARIABLE
from drdrill.sandbox.cluster.postgres import LocalPostgres

DEFAULT_PORT_BASE = 23090  # the sandbox uses 23071..23074
PORT_FIX = "move the whole stack with DRDRILL_STACK_PORT_BASE=<n> (it uses ports n+1..n+3)"
ADMIN_USER = "admin"
API_CONN_ID = "drdrill_airflow_api"
# Short intervals keep the stack quick to react: a dead worker's task is failed ~15 s after its last heartbeat
# (a live task heartbeats every few seconds).
HEARTBEAT_TIMEOUT_SECONDS = 15


@dataclass(frozen=True)
class StackPorts:
    """The TCP ports the stack listens on."""

    postgres: int
    redis: int
    api: int

    @classmethod
    def from_base(cls, base: int) -> StackPorts:
        return cls(base + 1, base + 2, base + 3)


class ClusterStack:
    """The stack's components and their lifecycle.

    ``connections``: the Airflow connections to import (default: the running sandbox's); ``base_config``: the
    drdrill config the stack's copies start from (default: ``$DRDRILL_CONFIG`` or ``include/drills.yaml``).
    """

    def __init__(self, directory: Path | None = None, port_base: int | None = None,
                 connections: dict[str, dict[str, Any]] | None = None, base_config: Path | None = None,
                 spread: bool = False) -> None:
        self.directory = (directory or Path(os.environ.get("DRDRILL_STACK_DIR") or project_root() / ".stack")).resolve()
        self.ports = StackPorts.from_base(port_base or int(os.environ.get("DRDRILL_STACK_PORT_BASE") or DEFAULT_PORT_BASE))
        self._connections = connections
        self.base_config = base_config or default_config_path()
        self.spread = spread  # consecutive drill tasks on alternating workers (``drdrill.sandbox.spread``)
        self.dags_folder = Path(os.environ.get("AIRFLOW__CORE__DAGS_FOLDER") or project_root() / "dags").resolve()
        self.plugins_folder = Path(os.environ.get("AIRFLOW__CORE__PLUGINS_FOLDER") or
                                   self.dags_folder.parent / "plugins").resolve()
        self.postgres = LocalPostgres(self.directory / "postgres", self.ports.postgres)
        run = self.directory / "run"
        self.redis = Daemon("redis", run, self.ports.redis, start_fix="run 'drdrill stack up' again")
        self.components = {name: Daemon(name, run, start_fix="run 'drdrill stack up' again")
                           for name in (*AIRFLOW_SERVICES, *WORKERS)}

    # -- paths, secrets, settings ------------------------------------------------------------------------

    @property
    def airflow_home(self) -> Path:
        return self.directory / "airflow"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.api}"

    @property
    def history_url(self) -> str:
        return self.postgres.url(HISTORY_DB)

    def secrets(self) -> dict[str, str]:
        """Generated once into a 0600 file: Airflow's JWT secret and Fernet key, the API admin's password."""
        path = self.directory / "secrets.json"
        if path.exists():
            return json.loads(path.read_text())
        self.directory.mkdir(parents=True, exist_ok=True)
        values = {"jwt_secret": secrets.token_urlsafe(32), "admin_password": secrets.token_urlsafe(18),
                  "fernet_key": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()}
        _write_private(path, json.dumps(values))
        return values

    def work_dir(self, component: str) -> Path:
        """Scratch space of one component: each worker its own, like separate machines."""
        return self.directory / "work" / component

    def config_path(self, component: str) -> Path:
        return self.directory / "config" / f"{component}.yaml"

    def write_configs(self) -> None:
        """A copy of the base drdrill config per component: history in the stack's Postgres, own work_dir."""
        base = yaml.safe_load(self.base_config.read_text()) or {}
        for component in ("services", *WORKERS):
            config = dict(base)
            config["settings"] = {**(base.get("settings") or {}), "history_url": self.history_url,
                                  "work_dir": str(self.work_dir(component)), "airflow_api_conn_id": API_CONN_ID,
                                  "pools": {key: name for key, (name, _) in POOLS.items()}}
            self.config_path(component).parent.mkdir(parents=True, exist_ok=True)
            self.config_path(component).write_text(yaml.safe_dump(config, sort_keys=False))

    def airflow_settings(self) -> dict[str, dict[str, str]]:
        """``airflow.cfg`` of the stack (the secrets in it: the file is 0600)."""
        keys = self.secrets()
        metadata = self.postgres.url(METADATA_DB)
        return {
            "core": {"executor": EXECUTOR, "dags_folder": str(self.dags_folder),
                     "plugins_folder": str(self.plugins_folder), "load_examples": "False",
                     "fernet_key": keys["fernet_key"], "parallelism": "8",
                     "hostname_callable": "drdrill.airflow.worker_name.worker_hostname",
                     "execution_api_server_url": f"{self.api_url}/execution/",
                     "simple_auth_manager_users": f"{ADMIN_USER}:admin",
                     "simple_auth_manager_passwords_file": str(self.directory / "api-passwords.json")},
            "database": {"sql_alchemy_conn": metadata},
            "api": {"host": "127.0.0.1", "port": str(self.ports.api), "workers": "1", "base_url": self.api_url},
            "api_auth": {"jwt_secret": keys["jwt_secret"]},
            "celery": {"broker_url": f"redis://127.0.0.1:{self.ports.redis}/0", "result_backend": f"db+{metadata}",
                       "worker_concurrency": "2", "celery_config_options": CELERY_CONFIG_OPTIONS},
            "scheduler": {"scheduler_heartbeat_sec": "1",
                          "task_instance_heartbeat_timeout": str(HEARTBEAT_TIMEOUT_SECONDS),
                          "task_instance_heartbeat_timeout_detection_interval": "2"},
            "dag_processor": {"refresh_interval": "5", "parsing_processes": "1"},
            "logging": {"base_log_folder": str(self.directory / "logs" / "tasks")},
        }

    def write_airflow_cfg(self) -> None:
        parser = configparser.ConfigParser(interpolation=None)
        parser.read_dict(self.airflow_settings())
        self.airflow_home.mkdir(parents=True, exist_ok=True)
        with open(_open_private(self.airflow_home / "airflow.cfg"), "w") as handle:
            parser.write(handle)
        local_settings = self.airflow_home / "config" / "airflow_local_settings.py"  # Airflow puts config/ on sys.path
        local_settings.parent.mkdir(exist_ok=True)
        local_settings.write_text(LOCAL_SETTINGS if self.spread else "")
        _write_private(self.directory / "api-passwords.json", json.dumps({ADMIN_USER: self.secrets()["admin_password"]}))

    def environment(self, component: str = "services") -> dict[str, str]:
        """The component's environment: this one's minus any Airflow setting or connection (airflow.cfg rules),
        the virtualenv's bin first on PATH (Airflow starts its own parts by the bare name ``airflow``)."""
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_"))}
        env.update(AIRFLOW_HOME=str(self.airflow_home), PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}",
                   **{CONFIG_ENV_VAR: str(self.config_path(component if component in WORKERS else "services"))})
        # project_root() reads the DAGs folder from here, so "{root}" in the config means the same everywhere
        env["AIRFLOW__CORE__DAGS_FOLDER"] = str(self.dags_folder)
        if component in WORKERS:
            env[WORKER_NAME_ENV_VAR] = component
        else:
            env.pop(WORKER_NAME_ENV_VAR, None)
        env.pop(QUEUES_VARIABLE, None)
        if self.spread:
            env[QUEUES_VARIABLE] = ",".join(WORKERS)  # each worker's own queue is named after it
        return env

    def _argv(self, component: str) -> list[str]:
        airflow = str(Path(sys.executable).parent / "airflow")
        if component in WORKERS:
            return [airflow, "celery", "worker", "--celery-hostname", f"{component}@%h", "--concurrency", "2",
                    "--queues", f"default,{component}" if self.spread else "default", "--skip-serve-logs", "--without-mingle", "--without-gossip"]
        return [airflow, component, *(["--skip-serve-logs"] if component == "triggerer" else [])]

    # -- lifecycle ---------------------------------------------------------------------------------------

    def up(self, timeout: float = 120) -> dict[str, Any]:
        """Start what is not running; return once the API answers healthy and both workers are registered."""
        self.check_ports()
        connections = self._connections if self._connections is not None else _sandbox_connections()
        (self.directory / "logs").mkdir(parents=True, exist_ok=True)
        self.postgres.initialize()
        self.postgres.start()
        for database in (METADATA_DB, HISTORY_DB):
            self.postgres.ensure_database(database)
        self.redis.start([shutil.which("redis-server") or "/usr/bin/redis-server", "--port", str(self.ports.redis),
                          "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                          "--dir", str(self.redis.directory)],
                         ready=lambda: port_open(self.ports.redis))
        self.write_configs()
        self.write_airflow_cfg()
        self._migrate()
        import_connections({**connections, **self.api_connection()}, env=self.environment())  # before the components take both cores
        self._create_pools()
        for name, daemon in self.components.items():
            daemon.start(self._argv(name), ready=lambda: True, env=self.environment(name))
        self._wait_ready(timeout)
        return self.status()

    def check_ports(self) -> None:
        """Every port of a component that is not running must be free."""
        for who, running, port in (("Postgres", self.postgres.pid() is not None, self.ports.postgres),
                                   ("Redis", self.redis.pid() is not None, self.ports.redis),
                                   ("API server", self.components["api-server"].pid() is not None, self.ports.api)):
            if not running:
                ensure_port_free(port, f"the stack's {who}", PORT_FIX)

    def _migrate(self) -> None:
        """``airflow db migrate`` once per Airflow version (a stamp in the Airflow home)."""
        from importlib.metadata import version

        stamp = self.airflow_home / "migrated"
        wanted = version("apache-airflow-core")
        if stamp.exists() and stamp.read_text() == wanted:
            return
        done = subprocess.run([str(Path(sys.executable).parent / "airflow"), "db", "migrate"], capture_output=True,
                              text=True, env=self.environment())
        if done.returncode != 0:
            raise ServerStartError(f"airflow db migrate failed on the stack's Postgres: {done.stderr[-2000:]}",
                                   f"Fix the cause; Postgres's log is {self.postgres.log_file}.")
        stamp.write_text(wanted)

    def _create_pools(self) -> None:
        """The pools of ``settings.pools`` (``components.POOLS``), as README says to make them: a task in a pool
        that does not exist is never scheduled."""
        for key, (name, slots) in POOLS.items():
            done = subprocess.run([str(Path(sys.executable).parent / "airflow"), "pools", "set", name, str(slots),
                                   f"drdrill {key} tasks (settings.pools.{key})"],
                                  capture_output=True, text=True, env=self.environment())
            if done.returncode != 0:
                raise ServerStartError(f"airflow pools set {name} failed: {done.stderr[-1500:]}",
                                       f"Fix the cause; Postgres's log is {self.postgres.log_file}.")

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            dead = [name for name, daemon in self.components.items() if daemon.pid() is None]
            if dead:
                raise ServerStartError(f"stack component(s) {', '.join(dead)} exited. " + self._log_tails(dead),
                                       "Fix the cause shown in the log and run 'drdrill stack up' again.")
            if self.api_healthy() and set(self.registered_workers()) >= set(WORKERS):
                return
            time.sleep(0.5)
        raise ServerStartError(f"the stack was not ready within {timeout:.0f}s (API healthy: {self.api_healthy()}, "
                               f"workers registered: {self.registered_workers()}). " + self._log_tails(list(self.components)),
                               "Fix the cause shown in the logs and run 'drdrill stack up' again.")

    def _log_tails(self, names: list[str]) -> str:
        tails = [f"{self.components[name].log_file} ends:\n{_tail(self.components[name].log_file)}" for name in names]
        return "\n".join(tails)

    def down(self, purge: bool = False) -> None:
        """Stop every component the stack started (by pid file, all at once); ``purge`` also deletes its data."""
        with ThreadPoolExecutor(len(self.components)) as pool:
            # workers get time to finish their tasks; the triggerer would take ~12 s to stop on SIGTERM alone
            list(pool.map(lambda name: self.components[name].stop(timeout=15 if name in WORKERS else 5, group=True),
                          self.components))
        self.redis.stop()
        self.postgres.stop()
        if purge:
            shutil.rmtree(self.directory, ignore_errors=True)

    # -- state -------------------------------------------------------------------------------------------

    def api_healthy(self) -> bool:
        """The API answers and reports the metadata DB, scheduler, triggerer and DAG processor healthy."""
        try:
            with urllib.request.urlopen(f"{self.api_url}/api/v2/monitor/health", timeout=2) as response:
                health = json.load(response)
        except (OSError, ValueError):
            return False
        return all((health.get(part) or {}).get("status") == "healthy"
                   for part in ("metadatabase", "scheduler", "triggerer", "dag_processor"))

    def registered_workers(self) -> list[str]:
        """The stack's worker names that answer a Celery ping through the broker."""
        if self.redis.pid() is None:
            return []
        from celery import Celery

        app = Celery(broker=f"redis://127.0.0.1:{self.ports.redis}/0")
        try:
            replies = app.control.ping(timeout=1.0)
        except Exception:
            return []
        finally:
            app.close()
        answered = {name.split("@", 1)[0] for reply in replies for name in reply}
        return [worker for worker in WORKERS if worker in answered]

    def api_connection(self) -> dict[str, dict[str, Any]]:
        """The connection a failover drill's task redirects the source through (Airflow's REST API as the admin)."""
        return {API_CONN_ID: {"conn_type": "http", "host": self.api_url, "login": ADMIN_USER,
                              "password": self.secrets()["admin_password"]}}

    def api_token(self) -> str:
        """A JWT for the public API, from the admin's generated password."""
        return api_token(self.api_url, ADMIN_USER, self.secrets()["admin_password"])

    def status(self) -> dict[str, Any]:
        """What runs where: ports, pids, logs, the API's health and the registered workers."""
        components: list[dict[str, Any]] = [
            {"component": "postgres", "running": self.postgres.pid() is not None, "pid": self.postgres.pid(),
             "address": f"127.0.0.1:{self.ports.postgres} (socket in {self.postgres.socket_dir})",
             "log": str(self.postgres.log_file)},
            {"component": "redis", "running": self.redis.pid() is not None, "pid": self.redis.pid(),
             "address": f"127.0.0.1:{self.ports.redis}", "log": str(self.redis.log_file)}]
        for name, daemon in self.components.items():
            components.append({"component": name, "running": daemon.pid() is not None, "pid": daemon.pid(),
                               "address": self.api_url if name == "api-server" else "", "log": str(daemon.log_file),
                               **({"work_dir": str(self.work_dir(name))} if name in WORKERS else {})})
        return {"directory": str(self.directory), "api_url": self.api_url, "api_user": ADMIN_USER,
                "api_password_file": str(self.directory / "secrets.json"), "api_healthy": self.api_healthy(),
                "workers_registered": self.registered_workers(), "history_url": self.history_url,
                "airflow_home": str(self.airflow_home), "components": components}


def _sandbox_connections() -> dict[str, dict[str, Any]]:
    """The running sandbox's Airflow connections; an error when the sandbox is not up."""
    from drdrill.sandbox.stack import Sandbox

    sandbox = Sandbox()
    if not (sandbox.primary.is_running() and sandbox.s3.pid()):
        raise DrdrillError(f"The sandbox in {sandbox.directory} is not running: the stack drills its target.",
                           "Start it first: drdrill sandbox up (or make sandbox-up).")
    return sandbox.airflow_connections()


def _open_private(path: Path) -> int:
    """A file descriptor on ``path``, truncated, mode 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    return fd


def _write_private(path: Path, text: str) -> None:
    with os.fdopen(_open_private(path), "w") as handle:
        handle.write(text)


def _tail(path: Path, size: int = 1500) -> str:
    with contextlib.suppress(FileNotFoundError):
        return path.read_text(errors="replace")[-size:]
    return "(no log)"
