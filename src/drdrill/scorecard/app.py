"""The scorecard's web app: a JSON API over the drill history and the one HTML page that draws it.

It imports neither Airflow nor its auth: the caller passes the dependencies that guard every route (drdrill's
Airflow plugin passes the API server's own, so the Airflow login is the scorecard's login) and a function that
returns where the history is and which targets the drills YAML declares.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import datetime, timezone
from importlib.resources import files
from typing import Any

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse

import drdrill
from drdrill.errors import DrdrillError
from drdrill.drill_kinds import drill_names
from drdrill.scorecard.queries import TargetInfo, fleet, history_page, target_summary

Source = Callable[[], tuple[str, list[TargetInfo]]]
DESCRIPTION = """What drdrill's drill history says about each target's recoverability.

Verdicts are `passed`, `failed` and `could_not_verify` (a drill that could not check something: never green).
Times are ISO 8601 in UTC, durations in seconds. The page at this app's root draws the same data."""


def create_app(source: Source, dependencies: Sequence[Any] = ()) -> FastAPI:
    """The app; every route, the page included, runs ``dependencies`` first (``Depends(...)`` objects)."""
    app = FastAPI(title="drdrill DR scorecard", version=drdrill.__version__, description=DESCRIPTION,
                  dependencies=list(dependencies))

    @app.exception_handler(DrdrillError)
    def unavailable(request: Request, exc: DrdrillError) -> JSONResponse:
        """The drills YAML or the history cannot be read: say why and what to do, as the CLI would."""
        return JSONResponse({"detail": exc.problem, "fix": exc.fix}, status_code=503)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> str:
        return files("drdrill.scorecard").joinpath("page.html").read_text()

    @app.get("/api/fleet", summary="One row per target")
    def get_fleet(tag: str | None = Query(None, description="only targets with this tag"),
                  owner: str | None = Query(None, description="only targets of this owner")) -> dict[str, Any]:
        """Per target: per drill kind the last run (verdict, when, RTO/RPO and their objectives, the Airflow run),
        the open findings with their fix, the newest valid and proven backups with their age, the last archive
        lag sample (the predicted RPO)."""
        url, targets = source()
        rows = [row for row in fleet(url, targets) if (tag is None or tag in row["tags"])
                and (owner is None or row["owner"] == owner)]
        return {"generated_at": datetime.now(timezone.utc).isoformat(), "drill_kinds": list(drill_names()),
                "targets": rows}

    @app.get("/api/targets/{target}", summary="A target's pass rate, MTTR and measured runs")
    def get_target(target: str) -> dict[str, Any]:
        """Pass rate and MTTR (mean time from a red run to the next green one) overall and per drill kind; the
        configured objectives; the newest measured runs (RTO, RPO, objectives, stage seconds) for the charts."""
        url, targets = source()
        summary = target_summary(url, target)
        info = next((item for item in targets if item.name == target), None)
        if info is None and not summary["runs"]:
            raise HTTPException(404, f"No target {target!r} in the drills YAML or the history.")
        return {**summary, "info": asdict(info or TargetInfo(target))}

    @app.get("/api/targets/{target}/runs", summary="A target's drill history, newest first (paginated)")
    def get_runs(target: str, offset: int = Query(0, ge=0), limit: int = Query(50, ge=1, le=500),
                 drill: str | None = Query(None, description="only this drill kind")) -> dict[str, Any]:
        """``limit`` runs from ``offset`` with ``total``; each run as recorded, plus ``airflow_run`` (the run's
        path in the Airflow UI; null for a command-line run)."""
        return asdict(history_page(source()[0], target, offset, limit, drill))

    return app


def config_source() -> tuple[str, list[TargetInfo]]:
    """The history URL and targets of the drills YAML (read on each request, so an edited file shows at once)."""
    from drdrill.config import load_config

    config = load_config()
    return config.settings.history_url, [TargetInfo.of(target) for target in config.targets]
