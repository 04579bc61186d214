"""`.jsonl` and `.json` exports: one article per line, or a list of articles.

Fields are found under their usual names (the OrangeSum export's `title`, `heading`,
`article`, and `text`, `body`, `content`, `lead`, `summary`, `published`...); a field map
(`--map body=texte`) names the others. A malformed line or a record with no text is
reported and skipped; the other records are read.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping

from search.dates import normalize_date
from search.formats import complete
from search.models import Article, Skipped, Unchanged

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
    """A field's value under the name the map gives it, else under its usual names: a map
    given for one export never makes another one's records unreadable."""
    names = (field_map[field], *FIELD_NAMES[field]) if field in field_map else FIELD_NAMES[field]
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


def _lines(text: str) -> Iterator[str]:
    """The lines of `text`, one at a time: an export can be a few hundred megabytes."""
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        yield text[start:end].rstrip("\r")
        start = end + 1


def _records(text: str, json_list: bool) -> Iterator[tuple[int, Mapping | None, str, str]]:
    """(line or position, record or None, its source text, why it is unusable)."""
    if json_list:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            yield error.lineno, None, "", f"malformed JSON ({error.msg})"
            return
        items = data if isinstance(data, list) else [data]
        for number, item in enumerate(items, start=1):
            yield number, item, json.dumps(item, sort_keys=True, ensure_ascii=False), ""
        return
    for number, line in enumerate(_lines(text), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line), line, ""
        except json.JSONDecodeError as error:
            yield number, None, line, f"malformed JSON line ({error.msg})"


def parse_records(
    text: str, *, id: str, path: str, json_list: bool, field_map: Mapping[str, str],
    known: Mapping[str, str] = {}, fingerprint: Callable[[str], str] = lambda raw: "",
) -> Iterator[tuple[Article | Skipped | Unchanged, str]]:
    """Every record of a JSON export as an `Article`, or `Skipped` with where and why,
    with the fingerprint of its source text; `Unchanged` if `known` has that fingerprint
    for its id (an export of 36,000 articles with one changed parses one)."""
    for number, record, raw, problem in _records(text, json_list):
        where = f"{path}:{number}" if not json_list else f"{path}[{number}]"
        if record is None:
            yield Skipped(where, problem), ""
            continue
        if not isinstance(record, Mapping):
            yield Skipped(where, "not a JSON object"), ""
            continue
        article_id = f"{id}#{_pick(record, 'id', field_map) or number}"
        print_ = fingerprint(raw)
        if known.get(article_id) == print_:
            yield Unchanged(article_id), print_
            continue
        article = record_article(record, id=article_id, path=path, field_map=field_map)
        if not article.body:
            yield Skipped(where, "no article text", article_id), ""
        else:
            yield article, print_
