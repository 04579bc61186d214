"""The web page of `search serve`: the same search as the CLI, in a browser, in French.

Every answer comes from the backend's `Reader` (search, count, stream, article,
copies_of), borrowed from a `ReaderPool` for the length of one request. Only GET (and
HEAD) are served; our errors are shown in the page with status 400, anything else as a
generic page with status 500, never a traceback.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import jinja2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from search import output
from search.backend import Backend
from search.errors import SearchError, UnknownArticleError
from search.models import CountTable, SearchResults, Snippet
from search.web import render
from search.web.form import (
    MAX_PAGE,
    PAGE_SIZE,
    PARAMETERS,
    SORT_LABELS,
    FormError,
    SearchForm,
    read_form,
)
from search.web.pool import ReaderPool

HERE = Path(__file__).parent
EXPORT_FIELDS = output.DEFAULT_EXPORT_FIELDS
# No script runs on the page, and nothing is loaded from elsewhere.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; "
                               "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
FACET_TITLES = {"source": "Sources", "category": "Rubriques", "year": "Années"}
DATE_PRESETS = (("today", "aujourd’hui"), ("yesterday", "hier"), ("7d", "7 jours"),
                ("30d", "30 jours"), ("3m", "3 mois"), ("1y", "1 an"))

log = logging.getLogger("search.web")


def create_app(backend: Backend) -> Starlette:
    """The application serving `backend`'s index, read-only."""
    pool = ReaderPool(backend)
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"),
                                     autoescape=True, trim_blocks=True, lstrip_blocks=True)
    environment.globals.update(
        pieces=render.pieces, snippet=Snippet, shown=render.shown, link=render.link,
        number=render.number, query_string=render.query_string, unplaced=render.UNPLACED,
        facet_titles=FACET_TITLES, date_presets=DATE_PRESETS, sort_labels=SORT_LABELS)
    templates = Jinja2Templates(env=environment)

    def page(request: Request, name: str, context: dict, status: int = 200) -> Response:
        return templates.TemplateResponse(request, name, context, status_code=status,
                                          headers=SECURITY_HEADERS)

    def home(request: Request) -> Response:
        try:
            form = read_form(request.query_params)
        except FormError as error:
            return page(request, "search.html", {"form": SearchForm(q=request.query_params
                                                                    .get("q", "")[:1000]),
                                                 "error": str(error)}, 400)
        if not form.asked:
            return page(request, "search.html", {"form": form})
        first = (form.page - 1) * PAGE_SIZE + 1  # the rank of the page's first hit
        try:
            with pool.reader() as reader:
                results = reader.search(form.q, limit=PAGE_SIZE, sort=form.sort,
                                        filters=form.filters, facets=True,
                                        copies=form.copies, offset=first - 1)
                table = _counts(reader, form, results)
        except SearchError as error:
            return page(request, "search.html", {"form": form, "error": output.visible(
                str(error))}, 400)
        if not results.hits and form.page > 1:
            return page(request, "search.html", {"form": form, "error": (
                f"Page {form.page} impossible : cette recherche n’a pas autant de pages de "
                "résultats.")}, 400)
        return page(request, "search.html", {
            "form": form, "results": results, "hits": results.hits, "first_rank": first,
            # copies shown once can make the last page shorter than `total` says
            "more": len(results.hits) == PAGE_SIZE and form.page < MAX_PAGE
            and results.total > form.page * PAGE_SIZE,
            "chart": render.chart(table) if table else None})

    def article(request: Request) -> Response:
        article_id = request.query_params.get("id", "")
        highlight = request.query_params.get("q", "")
        back = {name: request.query_params.get(name, "") for name in PARAMETERS}
        if not article_id:
            return page(request, "error.html", {"error": "Aucun article demandé : l’adresse "
                                                         "doit donner ?id=..."}, 400)
        try:
            with pool.reader() as reader:
                view = reader.article(article_id, highlight or None)
                group = reader.copies_of(article_id)
        except UnknownArticleError as error:
            return page(request, "error.html", {"error": output.visible(str(error))}, 404)
        except SearchError as error:
            return page(request, "error.html", {"error": output.visible(str(error))}, 400)
        return page(request, "article.html", {"view": view, "copies": group,
                                              "back": back, "highlight": highlight})

    def export(request: Request) -> Response:
        """Every hit as CSV, streamed: the reader is held until the last row is sent."""
        try:
            form = read_form(request.query_params)
            if not form.asked:
                raise FormError("Rien à exporter : donnez des mots ou un filtre.")
        except SearchError as error:
            return page(request, "search.html", {"form": SearchForm(), "error": str(error)},
                        400)
        # A reader of its own, not one of the pool's: a long download never holds up
        # the searches of others (an export needs nothing a pooled reader keeps).
        try:
            reader = backend.reader()
        except SearchError as error:
            return page(request, "search.html", {"form": form, "error": output.visible(
                str(error))}, 400)
        try:
            hits = reader.stream(form.q, sort=form.sort, filters=form.filters,
                                 snippets=False)
            first = list(itertools.islice(hits, 1))  # a bad query fails before the header
        except BaseException as error:
            reader.close()
            if isinstance(error, SearchError):
                return page(request, "search.html", {"form": form, "error": output.visible(
                    str(error))}, 400)
            raise

        def rows() -> Iterator[str]:
            try:
                yield output.hits_csv_header(EXPORT_FIELDS)
                for hit in itertools.chain(first, hits):
                    yield output.hit_csv(hit, EXPORT_FIELDS)
            finally:
                hits.close()
                reader.close()

        return StreamingResponse(rows(), media_type="text/csv; charset=utf-8", headers={
            **SECURITY_HEADERS,
            "Content-Disposition": 'attachment; filename="recherche.csv"'})

    def not_found(request: Request, _error: HTTPException) -> Response:
        return page(request, "error.html", {"error": "Cette page n’existe pas."}, 404)

    def not_allowed(request: Request, _error: HTTPException) -> Response:
        response = page(request, "error.html", {
            "error": "Cette adresse ne se lit qu’en GET : elle ne modifie rien."}, 405)
        response.headers["Allow"] = "GET, HEAD"
        return response

    def server_error(request: Request, error: Exception) -> Response:
        log.error("Error serving %s", request.url.path, exc_info=error)
        return page(request, "error.html", {
            "error": "Une erreur inattendue est survenue ; elle est consignée dans le journal "
                     "du serveur. Réessayez, ou signalez-la."}, 500)

    app = Starlette(
        routes=[
            Route("/", home, methods=["GET"]),
            Route("/article", article, methods=["GET"]),
            Route("/export.csv", export, methods=["GET"]),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        ],
        exception_handlers={404: not_found, 405: not_allowed, 500: server_error},
        lifespan=_closing(pool),
    )
    app.state.pool = pool
    return app


def _closing(pool: ReaderPool):
    """The app's lifespan: the pool's idle readers are closed when the server stops."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            pool.close()

    return lifespan


def _counts(reader, form: SearchForm, results: SearchResults) -> CountTable | None:
    """The hit set counted by month, for the chart; None when nothing matched every word
    (a count has no partial matches)."""
    if not results.total or results.partial:
        return None
    return reader.count([form.q], by="month", filters=form.filters)
