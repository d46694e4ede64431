"""The HTTP API through Starlette's test client on the demo archive: every endpoint, success and
error, the shared JSON envelope, headers, and paths that must never reach the file system."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path
from urllib.parse import quote

import pytest
from starlette.testclient import TestClient

from archive import Archive, Filters
from archive.web.app import create_app
from tests.test_crash import ingest_later_letter

QUESTION = "Wat doet de werkgever voor de veiligheid van ambtenaren?"


@pytest.fixture(scope="module")
def archive(demo_path: Path) -> Archive:
    with Archive.open(demo_path, create=False) as opened:
        yield opened


@pytest.fixture(scope="module")
def client(archive: Archive) -> TestClient:
    return TestClient(create_app(archive))


def pdf_key(archive: Archive) -> str:
    return next(d.key for d in archive.store.documents() if d.format == "pdf")


def text_key(archive: Archive) -> str:
    return next(d.key for d in archive.store.documents() if d.format == "txt")


def test_api_search_gives_the_librarys_hits_in_the_cli_envelope(client: TestClient, archive: Archive) -> None:
    body = client.get("/api/search", params={"q": QUESTION, "k": 5}).json()
    expected = archive.search(QUESTION, 5)
    assert body["ok"] is True and body["query"] == QUESTION
    assert [(h["document"], h["passage_id"], h["rank"]) for h in body["hits"]] == [
        (h.document, h.passage_id, h.rank) for h in expected
    ]
    assert body["hits"][0]["citation"]["text"] == expected[0].citation.text


def test_api_search_pages_continue_the_ranking(client: TestClient, archive: Archive) -> None:
    first = client.get("/api/search", params={"q": QUESTION, "k": 3}).json()
    second = client.get(first["next"]).json()
    whole = archive.search(QUESTION, 6)
    assert [h["passage_id"] for h in first["hits"] + second["hits"]] == [h.passage_id for h in whole]
    assert [h["rank"] for h in second["hits"]] == [4, 5, 6]
    assert second["page"] == 2


def test_api_search_sorts_by_date_newest_first(client: TestClient) -> None:
    hits = client.get("/api/search", params={"q": "brief", "k": 20, "per_doc": "1", "sort": "date"}).json()["hits"]
    dates = [h["citation"]["date"] or "" for h in hits]
    assert len(hits) > 2 and dates == sorted(dates, reverse=True)


def test_filters_narrow_the_results(client: TestClient, archive: Archive) -> None:
    facets = client.get("/api/facets", params={"q": QUESTION}).json()
    assert facets["ok"] is True
    doc_type = facets["facets"]["doc_type"][0]
    hits = client.get("/api/search", params={"q": QUESTION, "type": doc_type["value"], "k": 50, "per_doc": 1}).json()["hits"]
    assert {h["citation"]["doc_type"] for h in hits} == {doc_type["value"]}
    assert len(hits) == doc_type["count"]
    dated = client.get("/api/search", params={"q": QUESTION, "from": "2023", "k": 50}).json()["hits"]
    assert dated and all(h["citation"]["date"] >= "2023" for h in dated)


def test_facets_count_the_best_matching_documents(client: TestClient, archive: Archive) -> None:
    facets = client.get("/api/facets", params={"q": QUESTION}).json()["facets"]
    keys = {h.document for h in archive.query(QUESTION, Filters(), k=100, per_doc=True)}
    rows = [d for d in archive.store.documents() if d.key in keys]
    assert set(facets) == {"doc_type", "sender", "dossier", "vergaderjaar"}
    for name, values in facets.items():
        assert {v["value"]: v["count"] for v in values} == {
            value: sum(getattr(r, name) == value for r in rows) for value in {getattr(r, name) for r in rows} if value
        }


@pytest.mark.parametrize(
    "params",
    [{"q": "x", "from": "gisteren"}, {"q": "x", "type": "roman"}, {"q": "x", "sort": "alfabet"},
     {"q": "x", "page": "0"}, {"q": "x", "page": "twee"}, {"q": "x", "from": "2024", "to": "2023"}, {"q": ""}],
)
def test_bad_search_parameters_are_400_with_the_error_envelope(client: TestClient, params: dict[str, str]) -> None:
    for path in ("/api/search", "/search.json", "/api/facets", "/search.csv"):
        response = client.get(path, params=params)
        assert response.status_code == 400, (path, params)
        body = response.json()
        assert body["ok"] is False and body["kind"] == "BadQuery" and body["error"]


def test_bad_k_is_400(client: TestClient) -> None:
    for k in ("veel", "0", "101"):
        response = client.get("/api/search", params={"q": "brief", "k": k})
        assert response.status_code == 400 and response.json()["kind"] == "BadQuery"


def test_bad_filter_on_the_html_page_shows_the_form_with_the_message(client: TestClient) -> None:
    response = client.get("/search", params={"q": "brief", "from": "gisteren"})
    assert response.status_code == 400
    assert "is not a date" in response.text and 'id="q"' in response.text


def test_document_endpoints(client: TestClient, archive: Archive) -> None:
    key = pdf_key(archive)
    view = archive.show(key)
    document = client.get(f"/api/documents/{key}").json()
    assert document["ok"] and document["document"]["document"]["key"] == key
    assert [p["page"] for p in document["document"]["pages"]] == [p.page for p in view.pages]
    page = client.get(f"/api/documents/{key}/pages/2").json()
    assert page["page"]["text"] == view.pages[1].text
    related = client.get(f"/api/documents/{key}/related").json()
    assert [(r["kind"], r["target"]) for r in related["relations"]] == [(r.kind, r.target) for r in archive.related(key)]
    twin = client.get(f"/documents/{key}.json").json()
    assert twin["ok"] and twin["document"]["document"]["key"] == key and twin["citation"]
    html = client.get(f"/documents/{key}")
    assert html.status_code == 200 and 'id="p2"' in html.text and twin["citation"] in html.text


@pytest.mark.parametrize(
    "path",
    ["/api/documents/{missing}", "/api/documents/{missing}/related", "/api/documents/{missing}/pages/1",
     "/api/documents/{key}/pages/999", "/documents/{missing}.json"],
)
def test_unknown_documents_and_pages_are_404_json(client: TestClient, archive: Archive, path: str) -> None:
    response = client.get(path.format(missing="geen-zo-document", key=pdf_key(archive)))
    assert response.status_code == 404
    assert response.json() == {"ok": False, "error": response.json()["error"], "kind": "DocumentNotFound"}


def test_unknown_document_page_is_404_html(client: TestClient) -> None:
    for path in ("/documents/geen-zo-document", "/documents/geen-zo-document/original"):
        response = client.get(path)
        assert response.status_code == 404 and response.headers["content-type"].startswith("text/html")


def test_originals_are_served_from_the_recorded_path(client: TestClient, archive: Archive) -> None:
    key = pdf_key(archive)
    pdf = client.get(f"/documents/{key}/original")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"].startswith("inline")
    assert pdf.content == Path(archive.original(key)[0]).read_bytes()
    text = client.get(f"/documents/{text_key(archive)}/original")
    assert text.headers["content-type"] == "text/plain; charset=utf-8"
    assert text.text == Path(archive.original(text_key(archive))[0]).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "path",
    ["/api/documents/../../etc/passwd", "/api/documents/..%2F..%2Fetc%2Fpasswd", "/documents/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
     "/documents/%2e%2e%2f%2e%2e%2fetc%2fpasswd/original", "/documents/..%2f..%2f..%2fetc%2fpasswd/original",
     "/documents/%2Fetc%2Fpasswd/original", "/static/../../../etc/passwd", "/static/..%2f..%2f..%2fetc%2fpasswd",
     "/static/%2e%2e/app.py", "/static/", "/static", "/documents/", "/api/documents/"],
)
def test_paths_from_the_url_never_reach_the_file_system(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404, path
    assert "root:" not in response.text and "create_app" not in response.text


def test_a_stored_path_named_in_the_url_serves_nothing(client: TestClient, archive: Archive) -> None:
    """`resolve` takes a file path; the original route must still serve only what the store names."""
    response = client.get("/documents/" + quote("/etc/passwd", safe="") + "/original")
    assert response.status_code == 404


def test_get_only(client: TestClient, archive: Archive) -> None:
    for path in ("/search", "/api/search", f"/api/documents/{pdf_key(archive)}", "/healthz"):
        assert client.post(path).status_code == 405
        assert client.delete(path).status_code == 405


def test_security_headers_on_every_response(client: TestClient) -> None:
    for path in ("/", "/search?q=brief", "/api/search?q=brief", "/static/style.css", "/nergens", "/api/documents/x"):
        headers = client.get(path).headers
        assert headers["content-security-policy"].startswith("default-src 'self'"), path
        assert headers["x-content-type-options"] == "nosniff"


def test_search_page_twins_and_csv(client: TestClient, archive: Archive) -> None:
    params = {"q": QUESTION, "sort": "relevance"}
    html = client.get("/search", params=params).text
    twin = client.get("/search.json", params=params).json()
    assert twin["ok"] is True
    keys = [g["best"]["document"] for g in twin["result"]["groups"]]
    assert keys and all(f'/documents/{quote(k)}"' in html for k in keys)
    assert "<mark>" in html and "#page=" in html
    rows = list(csv.reader(io.StringIO(client.get("/search.csv", params=params).text)))
    assert rows[0][:3] == ["rank", "document", "title"]
    assert [r[1] for r in rows[1:]][: len(keys)][0] == keys[0]
    assert {r[1] for r in rows[1:]} == set(keys)


def test_search_page_keeps_its_state_in_links(client: TestClient) -> None:
    html = client.get("/search", params={"q": "brief", "sort": "date", "from": "2022"}).text
    facet_links = [line for line in html.splitlines() if 'href="/search?' in line and "count" in line]
    assert facet_links and all("q=brief" in line and "sort=date" in line and "from=2022" in line for line in facet_links)
    assert 'value="brief"' in html and '<option value="date" selected>' in html


def test_healthz(client: TestClient, archive: Archive) -> None:
    body = client.get("/healthz").json()
    assert body == {"ok": True, "check": "ok", "documents": archive.store.counts()["documents"]}


def test_the_server_shows_documents_another_process_ingests_without_a_restart(demo_path: Path, tmp_path: Path) -> None:
    served = tmp_path / "archive"
    shutil.copytree(demo_path, served)
    with Archive.open(served) as archive:
        client = TestClient(create_app(archive))
        question = {"q": "stoombrug Kornwerderzand", "k": 3, "mode": "lexical"}
        assert client.get("/api/search", params=question).json()["hits"] == []
        ingest_later_letter(tmp_path / "later", served)
        hits = client.get("/api/search", params=question).json()["hits"]
        assert hits and hits[0]["document"] == "stoombrug"
        assert client.get("/api/documents/stoombrug").json()["ok"] is True
