"""Which stored objects belong to one drill run: its evidence page and JSON, its GX results and Data Docs.

Every key comes from the run's record in the drill history (``details``), never from a request: a request names
an artifact (``evidence.html``) or, for the Data Docs site, a page that must be one of the objects listed under
the record's own Data Docs folder. An ``s3://`` URI of another bucket than the target's store is no artifact of
the run (nothing in another bucket is read).
"""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from drdrill.storage.evidence import EVIDENCE_HTML, EVIDENCE_JSON
from drdrill.storage.objectstore import ObjectStore

VALIDATION = "validation.json"
DATA_DOCS = "data-docs/"
DATA_DOCS_INDEX = "index.html"
RECORD_KEYS = {EVIDENCE_HTML: "evidence_html_key", EVIDENCE_JSON: "evidence_key"}  # artifact -> the details key naming it
RECORD_URIS = {VALIDATION: "results_uri"}
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".json": "application/json", ".css": "text/css; charset=utf-8",
                 ".js": "text/javascript; charset=utf-8"}


@dataclass(frozen=True)
class Artifact:
    """One stored object of a run and how to serve it."""

    key: str
    content_type: str


def content_type(key: str) -> str:
    """The Content-Type a browser needs for ``key`` (by its suffix; binary when unknown)."""
    suffix = key[key.rfind("."):].lower() if "." in key.rsplit("/", 1)[-1] else ""
    return CONTENT_TYPES.get(suffix) or mimetypes.guess_type(key)[0] or "application/octet-stream"


def _key_of(uri: Any, bucket: str) -> str | None:
    """The key of ``s3://<bucket>/<key>`` when it is in ``bucket``; None for any other value."""
    head = f"s3://{bucket}/"
    return uri[len(head):] if isinstance(uri, str) and uri.startswith(head) and len(uri) > len(head) else None


def named_artifact(details: Mapping[str, Any], name: str, bucket: str) -> Artifact | None:
    """The run's ``evidence.html``, ``evidence.json`` or ``validation.json`` (the GX results), as its record names it."""
    if name in RECORD_KEYS:
        key = details.get(RECORD_KEYS[name])
        key = key if isinstance(key, str) and key else None
    elif name in RECORD_URIS:
        key = _key_of(details.get(RECORD_URIS[name]), bucket)
    else:
        return None
    return Artifact(key, content_type(name)) if key else None


def data_docs_folder(details: Mapping[str, Any], bucket: str) -> str | None:
    """The run's Data Docs folder (``.../data-docs/``), from the index page's URI its record keeps."""
    key = _key_of(details.get("data_docs_uri"), bucket)
    return key[:-len(DATA_DOCS_INDEX)] if key and key.endswith(DATA_DOCS + DATA_DOCS_INDEX) else None


def data_docs_page(details: Mapping[str, Any], page: str, store: ObjectStore) -> Artifact | None:
    """``page`` of the run's Data Docs site: only an object listed under the record's Data Docs folder."""
    folder = data_docs_folder(details, store.bucket)
    if folder is None:
        return None
    wanted = folder + (page or DATA_DOCS_INDEX)
    listed = {stored.key for stored in store.list_objects(folder)}
    return Artifact(wanted, content_type(wanted)) if wanted in listed else None


def artifact_links(target: str, record_id: int, details: Mapping[str, Any]) -> dict[str, str]:
    """The app-relative paths of the artifacts the record names (``evidence_html``, ``evidence_json``,
    ``gx_results``, ``data_docs``); the bucket is checked when one is fetched."""
    base = f"api/targets/{quote(target, safe='')}/runs/{record_id}/"
    wanted = {"evidence_html": (RECORD_KEYS[EVIDENCE_HTML], EVIDENCE_HTML),
              "evidence_json": (RECORD_KEYS[EVIDENCE_JSON], EVIDENCE_JSON),
              "gx_results": (RECORD_URIS[VALIDATION], VALIDATION), "data_docs": ("data_docs_uri", DATA_DOCS)}
    return {name: base + path for name, (detail, path) in wanted.items() if details.get(detail)}
