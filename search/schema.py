"""The index's fields: what each holds, how it is analyzed, and an `Article` as fields."""

from __future__ import annotations

from unidecode import unidecode
from whoosh.fields import ID, KEYWORD, STORED, TEXT, Schema

from search.analysis import FrenchPositions, french_analyzer
from search.copies import band_terms, signature
from search.models import Article
from search.surface import SurfacePositions, surface_analyzer, surface_field

# Fields searched when a query names none, with their query-time boosts.
DEFAULT_FIELDS = {"title": 2.0, "lead": 1.5, "dateline": 1.0, "body": 1.0}


SEARCHABLE_FIELDS = ("title", "lead", "body", "dateline", "category", "author")

# Each searchable field's words as written (`search.surface`), for exact phrases, `=word`
# and truncation: `title` → `surface_title`. Not stored: the text is the field's own.
SURFACE_FIELDS = {name: surface_field(name) for name in SEARCHABLE_FIELDS}


def build_schema() -> Schema:
    analyzer = french_analyzer()

    def text() -> TEXT:
        # Words that the analyzer splits (`sud-sud`, `Al-Farabi`) are searched as phrases.
        field = TEXT(analyzer=analyzer, stored=True, multitoken_query="phrase")
        field.format = FrenchPositions()  # Whoosh's postings, computed faster
        return field

    surface = surface_analyzer()

    def exact() -> TEXT:
        field = TEXT(analyzer=surface, stored=False)
        field.format = SurfacePositions()
        return field

    return Schema(
        **{name: exact() for name in SURFACE_FIELDS.values()},
        id=ID(stored=True, unique=True),
        path=ID(stored=True),
        title=text(),
        lead=text(),
        body=text(),
        dateline=text(),
        category=text(),
        author=text(),
        # Exact labels, for filters and counts: `actu.orange.fr`, `societe/education`; a
        # column each, read per hit by `search count` and `--facets` (search/views.py).
        source=ID(stored=True, sortable=True),
        category_key=ID(sortable=True),
        url=STORED(),
        date=ID(stored=True, sortable=True),
        # Copies of one dispatch (search.copies): the body's MinHash signature, and the
        # terms its bands are found under.
        copy_signature=STORED(),
        copy_bands=KEYWORD(),
    )


def category_key(label: str) -> str:
    """A category label as filters and counts know it: `Société/Éducation` → `societe/education`."""
    return " ".join(unidecode(label).lower().split())


def document_fields(article: Article) -> dict[str, str]:
    fields = {
        "id": article.id,
        "path": article.path,
        "title": article.title,
        "lead": article.lead,
        "body": article.body,
        "dateline": article.dateline,
        "category": article.category,
        "category_key": category_key(article.category) if article.category else None,
        "author": article.author,
        "source": article.source.lower() if article.source else None,
        "url": article.url,
        "date": article.date,
    }
    fields.update({surface: fields[name] for name, surface in SURFACE_FIELDS.items()})
    return {name: value for name, value in fields.items() if value}


def copy_fields(article: Article) -> dict[str, object]:
    """The fields by which an article's copies find it: none for a body too short to have
    a signature."""
    found = signature(article.body)
    if found is None:
        return {}
    return {"copy_signature": found, "copy_bands": " ".join(band_terms(found))}
