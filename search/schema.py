"""The index's fields: what each holds, how it is analyzed, and an `Article` as fields."""

from __future__ import annotations

from unidecode import unidecode
from whoosh.columns import CompressedBytesColumn, VarBytesColumn
from whoosh.fields import COLUMN, ID, KEYWORD, STORED, TEXT, Schema

from search.analysis import FrenchPositions, french_analyzer
from search.copies import band_terms, signature
from search.models import Article
from search.sources import domain_of
from search.surface import SurfacePositions, surface_analyzer, surface_field

# Bumped when the fields change, or what they hold (3: copy bands of three values; 4:
# the body and the copy signature in columns of their own): an index with other fields
# is rebuilt, not updated.
SCHEMA_VERSION = 4

# Fields searched when a query names none, with their query-time boosts.
DEFAULT_FIELDS = {"title": 2.0, "lead": 1.5, "dateline": 1.0, "body": 1.0}


SEARCHABLE_FIELDS = ("title", "lead", "body", "dateline", "category", "author")

# Each searchable field's words as written (`search.surface`), for exact phrases, `=word`
# and truncation: `title` → `surface_title`. Not stored: the text is the field's own.
SURFACE_FIELDS = {name: surface_field(name) for name in SEARCHABLE_FIELDS}


def build_schema() -> Schema:
    analyzer = french_analyzer()

    def text(stored: bool = True, sortable=False) -> TEXT:
        # Words that the analyzer splits (`sud-sud`, `Al-Farabi`) are searched as phrases.
        field = TEXT(analyzer=analyzer, stored=stored, sortable=sortable,
                     multitoken_query="phrase")
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
        # Kept in a column of its own, compressed: the other stored fields are read for
        # every hit listed or exported (and for the copies of each), the body only for a
        # snippet or the whole article. In the stored fields, each hit's body was
        # decompressed with them: 45-55 µs a hit, most of an export's time.
        body=text(stored=False, sortable=CompressedBytesColumn()),
        dateline=text(),
        category=text(),
        author=text(),
        # Exact labels, for filters and counts: `actu.orange.fr`, `societe/education`; a
        # column each, read per hit by `search count` and `--facets` (search/views.py).
        source=ID(stored=True, sortable=True),  # the source's canonical key (`source_key`)
        source_name=STORED(),  # its display name: `Orange Actu`, else the domain
        # What `--source` matches: the key, the domains it is under, the folded name.
        source_match=KEYWORD(commas=True, scorable=False),
        # `key<TAB>display name`, to list each key with its names (`search stats`).
        source_label=ID(),
        category_key=ID(sortable=True),
        url=STORED(),
        date=ID(stored=True, sortable=True),
        # Copies of one dispatch (search.copies): the body's MinHash signature, and the
        # terms its bands are found under. The signature, 700 bytes that do not compress,
        # is read for each hit grouped, in a column of its own: in the stored fields, it
        # was half of what each hit listed or exported decompressed.
        copy_signature=COLUMN(VarBytesColumn()),
        copy_bands=KEYWORD(),
    )


def category_key(label: str) -> str:
    """A category label as filters and counts know it: `Société/Éducation` → `societe/education`."""
    return " ".join(unidecode(label).lower().split())


def source_key(name: str | None, url: str | None = None) -> str | None:
    """A source's one canonical key: the domain of its URL when it has one, else its name's
    (`www.AFP.com` → `afp.com`), else the name folded like a category (`Agence
    France-Presse` → `agence france-presse`): one key per source, whatever the format
    that gave it, the case or the `www.`."""
    return domain_of(url) or domain_of(name) or (category_key(name) if name else None) or None


def source_terms(key: str, name: str | None) -> list[str]:
    """What `--source` matches an article by: its key, every domain its key is under
    (`orange.fr` for `actu.orange.fr`, but not the bare `fr`), and its name folded."""
    terms = [key]
    if domain_of(key) == key:
        labels = key.split(".")
        terms.extend(".".join(labels[start:]) for start in range(1, len(labels) - 1))
    if name:
        terms.append(category_key(name))
    return list(dict.fromkeys(term.replace(",", " ") for term in terms))


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
        **_source_fields(article),
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


def _source_fields(article: Article) -> dict[str, str | None]:
    key = source_key(article.source, article.url)
    if key is None:
        return {}
    # A name that is a domain shows as the key (`www.AFP.com` → `afp.com`).
    name = article.source if article.source and not domain_of(article.source) else key
    return {"source": key, "source_name": name, "source_label": f"{key}\t{name}",
            "source_match": ",".join(source_terms(key, name))}
