"""The HTTP app: each route parses the URL, makes one `Archive` call and renders JSON (the CLI's
envelope, archive.wire), CSV or a server-rendered page. GET only; nothing is written.

Every bit of page state lives in the query string (q, mode, sort, page and the filters), so a
link can be shared and the back button works.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from archive.archive import Archive
from archive.errors import ArchiveError, BadQuery, DocumentNotFound
from archive.related import KINDS
from archive.search import MAX_K, MODES, SORTS, Filters
from archive.web.citation import official_citation
from archive.web.text import highlight, linkify
from archive.wire import failure, success, to_json
from indexer.records import DOC_TYPES

HERE = Path(__file__).parent
PER_PAGE = 10
FILTER_PARAMS = {"from": "date_from", "to": "date_to", "type": "doc_type", "sender": "sender",
                 "dossier": "dossier", "vergaderjaar": "vergaderjaar", "kenmerk": "kenmerk"}
"""URL parameter → `Filters` field."""
FACET_PARAMS = {"doc_type": "type", "sender": "sender", "dossier": "dossier", "vergaderjaar": "vergaderjaar"}
FACET_TITLES = {"doc_type": "Soort document", "sender": "Afzender", "dossier": "Dossier", "vergaderjaar": "Vergaderjaar"}
RELATION_TITLES = {
    "answers": "Is een antwoord op", "answered_by": "Beantwoord door", "question": "Beantwoordt deze Kamervragen",
    "answer": "Antwoord op deze Kamervragen", "same_dossier": "Tijdlijn van het dossier", "cites": "Verwijst naar",
    "cited_by": "Wordt aangehaald door", "similar": "Vergelijkbare inhoud",
}
SECURITY_HEADERS = [
    (b"content-security-policy",
     b"default-src 'self'; img-src 'self' data:; object-src 'self'; base-uri 'none'; form-action 'self'; "
     b"frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


class SecurityHeaders:
    """Adds the headers above to every response, errors and static files included."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)


def create_app(archive: Archive) -> Starlette:
    """The app over one open `Archive`, shared by the threads requests run in: the archive gives
    each thread its own connection and takes up what another process ingests, so pages answer in
    parallel and new documents appear without a restart."""
    pages = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True))
    pages.globals.update(FACET_TITLES=FACET_TITLES, FACET_PARAMS=FACET_PARAMS, RELATION_TITLES=RELATION_TITLES,
                         SORTS=SORTS, MODES=MODES, DOC_TYPES=DOC_TYPES, highlight=highlight, linkify=linkify,
                         official_citation=official_citation)

    def render(name: str, code: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(pages.get_template(name).render(**context), status_code=code)

    def json(payload: dict[str, Any], status: int = 200) -> Response:
        return Response(to_json(payload), status_code=status, media_type="application/json")

    def status_of(error: Exception) -> int:
        return 404 if isinstance(error, DocumentNotFound) else 400 if isinstance(error, BadQuery) else 500

    def answer(request: Request, make: Callable[[], Response]) -> Response:
        """Run a route; library errors become the JSON error envelope or an error page."""
        try:
            return make()
        except ArchiveError as error:
            status = status_of(error)
            if is_machine(request.url.path):
                return json(failure(error), status)
            return render("error.html", status, status=status, message=str(error))

    def is_machine(path: str) -> bool:
        """Paths answered in JSON when they fail: the API and the .json/.csv twins."""
        return path.startswith("/api/") or path.endswith((".json", ".csv")) or path == "/healthz"

    # --- parsing ------------------------------------------------------------------------------

    def number(request: Request, name: str, default: int, low: int, high: int) -> int:
        raw = request.query_params.get(name, "")
        try:
            value = int(raw) if raw.strip() else default
        except ValueError:
            raise BadQuery(f"{name} must be a whole number, got {raw!r}") from None
        if not low <= value <= high:
            raise BadQuery(f"{name} must be between {low} and {high}, got {value}")
        return value

    def filters_of(request: Request) -> Filters:
        values = {field: request.query_params.get(param, "").strip() or None for param, field in FILTER_PARAMS.items()}
        return Filters(**values)

    def choice(request: Request, name: str, options: tuple[str, ...]) -> str:
        value = request.query_params.get(name) or options[0]
        if value not in options:
            raise BadQuery(f"unknown {name} {value!r}; choose one of {', '.join(options)}")
        return value

    def search_state(request: Request) -> dict[str, Any]:
        """Everything a search page shows, from its URL."""
        return {"query": request.query_params.get("q", "").strip(), "filters": filters_of(request),
                "mode": choice(request, "mode", MODES), "sort": choice(request, "sort", SORTS),
                "page": number(request, "page", 1, 1, MAX_K // PER_PAGE)}

    def link(request: Request, path: str = "/search", **changes: Any) -> str:
        """This page's URL with some parameters changed (None drops one); page resets unless given."""
        params = dict(request.query_params)
        params.pop("page", None)
        params.update({k: v for k, v in changes.items() if v is not None})
        for key in [k for k, v in changes.items() if v is None]:
            params.pop(key, None)
        params = {k: v for k, v in params.items() if v not in ("", None) and not k.startswith("_")}
        return f"{path}?{urlencode(params)}" if params else path

    # --- search -------------------------------------------------------------------------------

    def results_of(request: Request) -> tuple[dict[str, Any], Any]:
        state = search_state(request)
        if not state["query"]:
            return state, None
        result = archive.results(state["query"], state["filters"], mode=state["mode"], sort=state["sort"],
                      page=state["page"], per_page=PER_PAGE)
        return state, result

    def search_page(request: Request) -> Response:
        def make() -> Response:
            state, result = results_of(request)
            template = "results.html" if request.query_params.get("_fragment") else "search.html"
            return render(template, request=request, result=result, link=lambda **c: link(request, **c), **state)

        try:
            return make()
        except BadQuery as error:  # a bad filter: show the form again with the message
            return render("search.html", 400, request=request, result=None, error=str(error),
                          link=lambda **c: link(request, **c), query=request.query_params.get("q", ""),
                          filters=Filters(), mode="hybrid", sort="relevance", page=1)

    def search_json(request: Request) -> Response:
        def make() -> Response:
            state, result = results_of(request)
            if result is None:
                raise BadQuery("the query is empty; give q")
            return json(success({"result": result, "next": link(request, "/search.json", page=result.page + 1)
                                 if result.has_next else None}))

        return answer(request, make)

    def search_csv(request: Request) -> Response:
        def make() -> Response:
            state, result = results_of(request)
            if result is None:
                raise BadQuery("the query is empty; give q")
            out = io.StringIO()
            writer = csv.writer(out)
            writer.writerow(["rank", "document", "title", "date", "sender", "type", "kenmerk", "kamerstuk",
                             "page", "citation", "score", "passage"])
            for group in result.groups:
                for hit in [group.best, *group.more]:
                    c = hit.citation
                    writer.writerow([hit.rank, hit.document, c.title, c.date, c.sender, c.doc_type, c.kenmerk,
                                     c.kamerstuk, hit.page_start, c.text, hit.score, hit.snippet])
            return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                            headers={"content-disposition": 'attachment; filename="zoekresultaten.csv"'})

        return answer(request, make)

    def api_search(request: Request) -> Response:
        def make() -> Response:
            state = search_state(request)
            k = number(request, "k", PER_PAGE, 1, 100)
            per_doc = request.query_params.get("per_doc", "") in ("1", "true", "yes")
            hits = archive.query(state["query"], state["filters"], k=k, mode=state["mode"], per_doc=per_doc,
                                 sort=state["sort"], offset=(state["page"] - 1) * k)
            more = len(hits) == k and state["page"] * k < MAX_K
            return json(success({"query": state["query"], "hits": hits, "page": state["page"],
                                 "next": link(request, "/api/search", page=state["page"] + 1) if more else None}))

        return answer(request, make)

    def api_facets(request: Request) -> Response:
        def make() -> Response:
            state = search_state(request)
            return json(success({"query": state["query"],
                                 "facets": archive.facets(state["query"], state["filters"], mode=state["mode"])}))

        return answer(request, make)

    # --- documents ----------------------------------------------------------------------------

    def document_data(key: str) -> dict[str, Any]:
        return {"document": archive.show(key), "related": archive.related(key), "links": archive.reference_targets(key)}

    def document_page(request: Request) -> Response:
        key = request.path_params["key"]

        def make() -> Response:
            data = document_data(key)
            groups: dict[str, list[Any]] = {}
            for relation in data["related"]:
                groups.setdefault(relation.kind, []).append(relation)
            return render("document.html", request=request, view=data["document"], links=data["links"],
                          related=[(kind, groups[kind]) for kind in KINDS if kind in groups],
                          citation=official_citation(data["document"].document))

        return answer(request, make)

    def document_json(request: Request) -> Response:
        key = request.path_params["key"]

        def make() -> Response:
            data = document_data(key)
            return json(success({**data, "citation": official_citation(data["document"].document)}))

        return answer(request, make)

    def api_document(request: Request) -> Response:
        key = request.path_params["key"]
        return answer(request, lambda: json(success({"document": archive.show(key)})))

    def api_related(request: Request) -> Response:
        key = request.path_params["key"]
        return answer(request, lambda: json(success({"document": key, "relations": archive.related(key)})))

    def api_page(request: Request) -> Response:
        key, n = request.path_params["key"], request.path_params["n"]
        return answer(request, lambda: json(success({"document": key, "page": archive.page(key, n)})))

    def original(request: Request) -> Response:
        """The document's file, from the path the store recorded (never from the URL)."""
        key = request.path_params["key"]

        def make() -> Response:
            path, format = archive.original(key)
            if not path.is_file():
                raise DocumentNotFound(f"the file of {key!r} is no longer at its recorded place")
            if format == "pdf":
                return FileResponse(path, media_type="application/pdf", content_disposition_type="inline",
                                    filename=path.name)
            if format == "xml":
                return FileResponse(path, media_type="text/plain; charset=utf-8")
            return PlainTextResponse(path.read_bytes().decode("utf-8", "replace"))

        return answer(request, make)

    def health(request: Request) -> Response:
        return answer(request, lambda: json(success({"check": "ok", "documents": archive.store.counts()["documents"]})))

    def home(request: Request) -> Response:
        return RedirectResponse(link(request), status_code=302) if request.query_params else search_page(request)

    routes = [
        Route("/", home),
        Route("/search", search_page),
        Route("/search.json", search_json),
        Route("/search.csv", search_csv),
        Route("/documents/{key}.json", document_json),
        Route("/documents/{key}/original", original),
        Route("/documents/{key}", document_page),
        Route("/api/search", api_search),
        Route("/api/facets", api_facets),
        Route("/api/documents/{key}/related", api_related),
        Route("/api/documents/{key}/pages/{n:int}", api_page),
        Route("/api/documents/{key}", api_document),
        Route("/healthz", health),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]

    async def not_found(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 404)
        if is_machine(request.url.path):
            return json(failure("no such endpoint or document", "NotFound" if status == 404 else "MethodNotAllowed"), status)
        return render("error.html", status, status=status, message="Deze pagina bestaat niet.")

    return Starlette(routes=routes, middleware=[Middleware(SecurityHeaders)],
                     exception_handlers={404: not_found, 405: not_found})
