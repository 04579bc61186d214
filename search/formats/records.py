"""`.jsonl` and `.json` exports: one article per line, or a list of articles.

Fields are found under their usual names (the OrangeSum export's `title`, `heading`,
`article`, and `text`, `body`, `content`, `lead`, `summary`, `published`...); a field map
(`--map body=texte`) names the others. A malformed line or a record with no text is
reported and skipped; the other records are read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping

from search.dates import normalize_date
from search.formats import complete
from search.models import Article, Skipped

# Our field → the names it goes by in exports, most usual first.
FIELD_NAMES: dict[str, tuple[str, ...]] = {
    "id": ("id", "doc_id", "docid", "uuid", "guid"),
    "title": ("title", "headline", "titre"),
    "body": ("article", "text", "body", "content", "contenu", "texte", "article_text"),
    "lead": ("heading", "lead", "summary", "description", "chapo", "chapeau", "abstract",
             "standfirst"),
    "date": ("date", "published", "published_at", "publication_date", "pubdate", "datetime",
             "date_published"),
    "source": ("source", "site", "sitename", "site_name", "publisher", "agency", "media"),
    "author": ("author", "authors", "byline", "auteur", "auteurs"),
    "category": ("category", "categories", "section", "rubrique"),
    "url": ("url", "link", "href", "canonical_url"),
    "dateline": ("dateline", "lieu", "location"),
}
FIELDS = tuple(FIELD_NAMES)


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        return ", ".join(str(v) for v in value if v not in (None, "")) or None
    return str(value).strip() or None


def _pick(record: Mapping, field: str, field_map: Mapping[str, str]) -> str | None:
    names = (field_map[field],) if field in field_map else FIELD_NAMES[field]
    for name in names:
        if name in record:
            return _text(record[name])
    return None


def record_article(record: Mapping, *, id: str, path: str, field_map: Mapping[str, str]) -> Article:
    value = {field: _pick(record, field, field_map) for field in FIELDS}
    date = normalize_date(value["date"]) if value["date"] else None
    return complete(
        id=id, path=path, body=value["body"] or "", title=value["title"], date=date,
        dateline=value["dateline"], category=value["category"], source=value["source"],
        url=value["url"], author=value["author"], lead=value["lead"],
    )


def _records(text: str, json_list: bool) -> Iterator[tuple[int, Mapping | None, str]]:
    """(line or position, record or None, why it is unusable) for each record."""
    if json_list:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            yield error.lineno, None, f"malformed JSON ({error.msg})"
            return
        items = data if isinstance(data, list) else [data]
        for number, item in enumerate(items, start=1):
            yield number, item, ""
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line), ""
        except json.JSONDecodeError as error:
            yield number, None, f"malformed JSON line ({error.msg})"


def parse_records(
    text: str, *, id: str, path: str, json_list: bool, field_map: Mapping[str, str]
) -> Iterator[Article | Skipped]:
    """Every record of a JSON export as an `Article`, or `Skipped` with where and why."""
    for number, record, problem in _records(text, json_list):
        where = f"{path}:{number}" if not json_list else f"{path}[{number}]"
        if record is None:
            yield Skipped(where, problem)
            continue
        if not isinstance(record, Mapping):
            yield Skipped(where, "not a JSON object")
            continue
        key = _pick(record, "id", field_map) or str(number)
        article = record_article(record, id=f"{id}#{key}", path=path, field_map=field_map)
        if not article.body:
            yield Skipped(where, "no article text")
        else:
            yield article
