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
from typing import Any, Literal

from fastapi import FastAPI, HTTPException, Path, Query, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse

import drdrill
from drdrill.errors import DrdrillError
from drdrill.drill_kinds import drill_names
from drdrill.scorecard import models
from drdrill.scorecard.artifacts import Artifact, artifact_links, data_docs_page, named_artifact
from drdrill.scorecard.queries import TargetInfo, fleet, history_page, run_record, target_summary
from drdrill.storage.objectstore import ObjectStore

Source = Callable[[], tuple[str, list[TargetInfo]]]
Stores = Callable[[str], ObjectStore]  # a target's name -> the store its drills write to
# Stored pages are served with scripts off (a page planted in the bucket cannot act with the viewer's Airflow login)
STORED_PAGE_HEADERS = {"Content-Security-Policy": "sandbox allow-same-origin allow-popups",
                       "X-Content-Type-Options": "nosniff"}
DESCRIPTION = """What drdrill's drill history says about each target's recoverability.

Verdicts are `passed`, `failed` and `could_not_verify` (a drill that could not check something: never green).
Times are ISO 8601 in UTC, durations in seconds. The page at this app's root draws the same data."""


def create_app(source: Source, dependencies: Sequence[Any] = (), stores: Stores | None = None) -> FastAPI:
    """The app; every route, the page included, runs ``dependencies`` first (``Depends(...)`` objects); ``stores``
    opens a target's object store for a run's evidence and GX results (without it they answer 404)."""
    app = FastAPI(title="drdrill DR scorecard", version=drdrill.__version__, description=DESCRIPTION,
                  dependencies=list(dependencies), openapi_url=None, docs_url=None, redoc_url=None,
                  responses={503: {"description": "the drills YAML or the history cannot be read (detail and fix)"}})

    # FastAPI's own document and docs routes skip the app's dependencies: these two are ordinary, guarded routes
    @app.get("/openapi.json", include_in_schema=False)
    def openapi_document() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False)
    def openapi_docs(request: Request) -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=f"{request.scope.get('root_path', '')}/openapi.json",
                                   title=f"{app.title} API")

    @app.exception_handler(DrdrillError)
    def unavailable(request: Request, exc: DrdrillError) -> JSONResponse:
        """The drills YAML or the history cannot be read: say why and what to do, as the CLI would."""
        return JSONResponse({"detail": exc.problem, "fix": exc.fix}, status_code=503)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> str:
        return files("drdrill.scorecard").joinpath("page.html").read_text()

    @app.get("/api/fleet", summary="One row per target", response_model=models.Fleet)
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

    @app.get("/api/targets/{target}", summary="A target's pass rate, MTTR and measured runs",
             response_model=models.TargetSummary, responses={404: {"description": "no such target"}})
    def get_target(target: str) -> dict[str, Any]:
        """Pass rate and MTTR (mean time from a red run to the next green one) overall and per drill kind; the
        configured objectives; the newest measured runs (RTO, RPO, objectives, stage seconds) for the charts."""
        url, targets = source()
        summary = target_summary(url, target)
        info = next((item for item in targets if item.name == target), None)
        if info is None and not summary["runs"]:
            raise HTTPException(404, f"No target {target!r} in the drills YAML or the history.")
        return {**summary, "info": asdict(info or TargetInfo(target))}

    @app.get("/api/targets/{target}/runs", summary="A target's drill history, newest first (paginated)",
             response_model=models.RunsPage)
    def get_runs(target: str, offset: int = Query(0, ge=0), limit: int = Query(50, ge=1, le=500),
                 drill: str | None = Query(None, description="only this drill kind")) -> dict[str, Any]:
        """``limit`` runs from ``offset`` with ``total``; each run as recorded, plus ``airflow_run`` (the run's
        path in the Airflow UI; null for a command-line run)."""
        page = asdict(history_page(source()[0], target, offset, limit, drill))
        for run in page["runs"]:
            run["links"] = artifact_links(target, run["id"], run["details"])
        return page

    def stream(target: str, record_id: int, find: Callable[[dict[str, Any], ObjectStore], Artifact | None]
               ) -> StreamingResponse:
        """The object ``find`` picks from the run's record, streamed from the target's store; 404 when the record,
        its artifact or the object is not there."""
        record = run_record(source()[0], target, record_id)
        if record is None:
            raise HTTPException(404, f"No drill run {record_id} of target {target!r} in the history.")
        if stores is None:
            raise HTTPException(404, "This scorecard reads no object store.")
        store = stores(target)
        artifact = find(record["details"], store)
        if artifact is None or store.head(artifact.key) is None:
            raise HTTPException(404, f"Drill run {record_id} of {target!r} has no such stored artifact.")
        return StreamingResponse(store.iter_object(artifact.key), media_type=artifact.content_type,
                                 headers=STORED_PAGE_HEADERS)

    artifact_responses: dict[int | str, dict[str, Any]] = {
        200: {"content": {"text/html": {}, "application/json": {}}, "description": "the stored object"},
        404: {"description": "no such run, or the run's record names no such artifact"}}

    @app.get("/api/targets/{target}/runs/{record_id}/{artifact}", response_class=StreamingResponse,
             responses=artifact_responses, summary="A drill run's evidence page, evidence JSON or GX results")
    def get_artifact(target: str, record_id: int = Path(description="the run's ``id`` in the history"),
                     artifact: Literal["evidence.html", "evidence.json", "validation.json"] = Path(
                         description="the evidence bundle's page or JSON, or the Great Expectations results")
                     ) -> StreamingResponse:
        """Streamed from the target's S3 store, at the key the run's record names (never a key from the request)."""
        return stream(target, record_id, lambda details, store: named_artifact(details, artifact, store.bucket))

    @app.get("/api/targets/{target}/runs/{record_id}/data-docs/{page:path}", response_class=StreamingResponse,
             responses=artifact_responses, summary="A page of a drill run's Great Expectations Data Docs")
    def get_data_docs(target: str, record_id: int, page: str = Path(description="empty: the index page")
                      ) -> StreamingResponse:
        """Only an object stored under the Data Docs folder the run's record names."""
        return stream(target, record_id, lambda details, store: data_docs_page(details, page, store))

    return app


def config_source() -> tuple[str, list[TargetInfo]]:
    """The history URL and targets of the drills YAML (read on each request, so an edited file shows at once)."""
    from drdrill.config import load_config

    config = load_config()
    return config.settings.history_url, [TargetInfo.of(target) for target in config.targets]
