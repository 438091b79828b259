"""drdrill's Airflow plugin: the DR scorecard (``drdrill.scorecard``) in Airflow's API server and UI.

The scorecard's app is mounted at ``/drdrill`` behind the API server's own authentication (a JWT as a bearer token
or the UI's session cookie, and read access to DAG runs); the UI shows its page as the "DR scorecard" view in the
navigation. The app is built on its first request: every Airflow process loads plugins (each task does, for
macros), and only the API server should pay for FastAPI and Airflow's security module.

An installed drdrill registers it through the ``airflow.plugins`` entry point. A checkout's Airflow also has
``plugins/drdrill_plugin.py`` in its plugins folder, which registers it only when no entry point does (Airflow
would load it twice and report the second as an import error); the library is an installed package that
Airflow's plugin loader never walks.
"""

from __future__ import annotations

from importlib.metadata import distributions
from typing import Any

from airflow.plugins_manager import AirflowPlugin

import drdrill

ENTRY_POINT_GROUP = "airflow.plugins"
URL_PREFIX = "/drdrill"


class ScorecardApp:
    """An ASGI app that builds the scorecard's FastAPI app, guarded by Airflow's auth, on its first call."""

    def __init__(self) -> None:
        self._app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self._app is None:
            self._app = build_scorecard_app()
        await self._app(scope, receive, send)


def build_scorecard_app() -> Any:
    """The scorecard app, each route requiring what reading DAG runs requires in Airflow's own API."""
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
    from airflow.api_fastapi.core_api.security import requires_access_dag
    from fastapi import Depends

    from drdrill.scorecard.app import config_source, create_app

    return create_app(config_source, [Depends(requires_access_dag("GET", DagAccessEntity.RUN))], config_store)


def config_store(target: str) -> Any:
    """The object store of a target of the drills YAML, through the connection its drills use."""
    from drdrill.airflow.connections import object_store
    from drdrill.config import load_config

    return object_store(load_config().target(target).storage)


class DrdrillPlugin(AirflowPlugin):
    """drdrill in ``airflow plugins``: the scorecard's app and its view in the UI's navigation."""

    name = "drdrill"
    version = drdrill.__version__
    fastapi_apps = [{"app": ScorecardApp(), "url_prefix": URL_PREFIX, "name": "drdrill DR scorecard"}]
    external_views = [{"name": "DR scorecard", "href": URL_PREFIX.lstrip("/") + "/", "destination": "nav",
                       "url_route": "drdrill-scorecard", "category": "browse"}]


def registered_by_entry_point() -> bool:
    """Whether an installed distribution registers :class:`DrdrillPlugin` through the ``airflow.plugins`` entry
    point, looked up as Airflow's loader does (every distribution on ``sys.path``)."""
    wanted = f"{__name__}:{DrdrillPlugin.__name__}"
    return any(entry.group == ENTRY_POINT_GROUP and entry.value == wanted
               for distribution in distributions() for entry in distribution.entry_points)
