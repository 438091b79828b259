"""Airflow's public REST API, as a task reaches Airflow on Airflow 3 (never its metadata database): a token for a
login, and a connection pointed at another server."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from drdrill.errors import DrdrillError

TIMEOUT = 30.0


def api_token(base_url: str, username: str, password: str) -> str:
    """A JWT for the public API (``POST /auth/token``: the simple and FAB auth managers both serve it)."""
    answer = _call("POST", f"{base_url}/auth/token", {"username": username, "password": password}, token=None)
    return str(answer["access_token"])


def point_connection_at(api_conn_id: str, conn_id: str, conn_type: str, host: str, port: int) -> None:
    """Change only the host and port of Airflow connection ``conn_id`` (``PATCH /api/v2/connections`` with an
    update mask: its login and password are never sent), through the API ``api_conn_id`` names."""
    from drdrill.airflow.connections import get_connection

    api = get_connection(api_conn_id, "failover redirect through Airflow's REST API (settings.airflow_api_conn_id)")
    base = base_url(api.host or "", api.port, api.schema)
    token = api_token(base, api.login or "", api.password or "")
    mask = urllib.parse.urlencode([("update_mask", "host"), ("update_mask", "port")])
    _call("PATCH", f"{base}/api/v2/connections/{urllib.parse.quote(conn_id, safe='')}?{mask}",
          {"connection_id": conn_id, "conn_type": conn_type, "host": host, "port": int(port)}, token=token)


def base_url(host: str, port: int | None, scheme: str | None) -> str:
    """The API's base URL from an http connection: its host as a URL, or scheme://host:port."""
    if host.startswith(("http://", "https://")):
        return host.rstrip("/")
    return f"{scheme or 'http'}://{host}{f':{port}' if port else ''}"


def _call(method: str, url: str, body: dict[str, Any], *, token: str | None) -> Any:
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return json.load(response)
    except urllib.error.HTTPError as exc:
        path = urllib.parse.urlsplit(url).path
        raise DrdrillError(f"Airflow's REST API answered {exc.code} {exc.reason} to {method} {path}.",
                           "Check settings.airflow_api_conn_id: its host must be the API's base URL and its login "
                           "a user allowed to edit connections.") from exc
    except OSError as exc:
        raise DrdrillError(f"Airflow's REST API at {urllib.parse.urlsplit(url).netloc} cannot be reached: {exc}.",
                           "Check settings.airflow_api_conn_id's host and that the API server runs.") from exc
