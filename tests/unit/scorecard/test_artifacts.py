"""Which objects belong to a run: only the keys its record names, in the target's bucket, served with their type."""

from __future__ import annotations

import pytest

from drdrill.scorecard.artifacts import artifact_links, content_type, data_docs_page, named_artifact
from drdrill.storage.memory import MemoryObjectStore

pytestmark = pytest.mark.unit
DETAILS = {"evidence_html_key": "t/evidence.html", "results_uri": "s3://mine/t/validation.json",
           "data_docs_uri": "s3://mine/t/data-docs/index.html"}


def test_the_record_names_the_key_and_another_bucket_is_no_artifact() -> None:
    page = named_artifact(DETAILS, "evidence.html", "mine")
    assert page is not None and (page.key, page.content_type) == ("t/evidence.html", "text/html; charset=utf-8")
    results = named_artifact(DETAILS, "validation.json", "mine")
    assert results is not None and (results.key, results.content_type) == ("t/validation.json", "application/json")
    assert named_artifact(DETAILS, "validation.json", "theirs") is None  # the URI is of another bucket
    assert named_artifact(DETAILS, "evidence.json", "mine") is None  # the record names none
    assert named_artifact(DETAILS, "manifest.json", "mine") is None  # not an artifact name
    assert named_artifact({"results_uri": "s3://mine/"}, "validation.json", "mine") is None


def test_a_data_docs_page_must_be_stored_under_the_records_folder() -> None:
    store = MemoryObjectStore("mine")
    for key in ("t/data-docs/index.html", "t/data-docs/static/styles.css", "t/manifest.json"):
        store.put_bytes(key, b"x")
    index = data_docs_page(DETAILS, "", store)
    assert index is not None and index.key == "t/data-docs/index.html"
    styles = data_docs_page(DETAILS, "static/styles.css", store)
    assert styles is not None and styles.content_type == "text/css; charset=utf-8"
    assert data_docs_page(DETAILS, "../manifest.json", store) is None
    assert data_docs_page(DETAILS, "missing.html", store) is None
    assert data_docs_page({"data_docs_uri": "s3://mine/t/manifest.json"}, "", store) is None  # not a Data Docs index


def test_links_name_only_what_the_record_has_and_types_fall_back_to_binary() -> None:
    assert artifact_links("a b", 7, DETAILS) == {"evidence_html": "api/targets/a%20b/runs/7/evidence.html",
                                                 "gx_results": "api/targets/a%20b/runs/7/validation.json",
                                                 "data_docs": "api/targets/a%20b/runs/7/data-docs/"}
    assert content_type("t/data-docs/x.unknownsuffix") == "application/octet-stream"
    assert content_type("t/noextension") == "application/octet-stream"
