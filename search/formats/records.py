"""`.jsonl` and `.json` exports: one article per line, or a list of articles.

Fields are found under their usual names (the OrangeSum export's `title`, `heading`,
`article`, and `text`, `body`, `content`, `lead`, `summary`, `published`...); a field map
(`--map body=texte`) names the others. A malformed line or a record with no text is
reported and skipped; the other records are read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import NamedTuple

from search.dates import normalize_date
from search.formats import complete, decode_line, printable
from search.models import Article, Skipped, Unchanged
from search.stretches import Read, Reused

Mark = Read | Reused  # what `search.stretches` puts between an export's lines

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
    """A field's text, whatever JSON gave: a string or a number as it is, a list or an
    object as its strings and numbers joined by ", " (at any depth, without recursion)."""
    if isinstance(value, str):  # the usual case, made fast
        return value.strip() or None
    texts, pending = [], [value]
    while pending:
        item = pending.pop()
        if isinstance(item, list):
            pending.extend(reversed(item))
        elif isinstance(item, dict):
            pending.extend(reversed(list(item.values())))
        elif item is not None:
            text = str(item).strip()
            if text:
                texts.append(text)
    return ", ".join(texts) or None


def _names(field: str, field_map: Mapping[str, str]) -> tuple[str, ...]:
    """The keys a field is looked for under: the one the map gives it, then its usual
    names, so that a map given for one export never makes another one's records
    unreadable."""
    if field in field_map:
        return (field_map[field], *FIELD_NAMES[field])
    return FIELD_NAMES[field]


def _pick(record: Mapping, field: str, field_map: Mapping[str, str]) -> str | None:
    for name in _names(field, field_map):
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


class RawRecord(NamedTuple):
    """One record of an export as read: where it is, its number (its id if it has none),
    its JSON value and source text (what its fingerprint is made of), or why it is
    unusable. A `.jsonl` line comes as its bytes, `UNDECODED`: `decoded` reads it once
    its fingerprint has said that the index does not already have it."""

    where: str
    number: int
    value: object = None
    text: str | bytes = ""
    problem: str = ""


UNDECODED = object()
_UTF8_BOM = b"\xef\xbb\xbf"
_NOT_SPACE = re.compile(rb"[^ \t\n\r\x0b\x0c]")  # bytes.strip's white space


def jsonl_records(lines: Iterable[bytes | Mark], path: str) -> Iterator[RawRecord | Mark]:
    """The records of a `.jsonl` export, one line at a time (an export can be gigabytes,
    and nothing but the current line is kept), each `UNDECODED`; the marks of stretches
    between the lines are passed on as they come."""
    number = 0
    for line in lines:
        if not isinstance(line, bytes):  # a mark of `search.stretches`: passed on
            number = line.next_line - 1
            yield line
            continue
        number += 1
        # A byte order mark opens every file that `cat` put together.
        line = line.rstrip(b"\r\n").removeprefix(_UTF8_BOM)
        if not _blank(line):
            yield RawRecord(f"{path}:{number}", number, UNDECODED, line)


def _blank(line: bytes) -> bool:
    """Whether a line holds nothing but white space, Unicode's included (a record starts
    with an ASCII character, so only a line that does not is decoded to be sure)."""
    if line[:1] == b"{":  # a record, as almost every line is
        return False
    start = _NOT_SPACE.search(line)
    return start is None or (not start[0].isascii() and not decode_line(line).strip())


def decoded(record: RawRecord) -> RawRecord:
    """The record with its JSON value read (or why it cannot be)."""
    if record.value is not UNDECODED:
        return record
    value, problem = _loads(decode_line(record.text), "malformed JSON line")
    return record._replace(value=value, problem=problem)


def json_records(text: str, path: str) -> Iterator[RawRecord]:
    """The records of a `.json` export: a list of objects, or one object. The text is
    whole in memory (a list is one JSON value), but each element is decoded on its own,
    so that an element nested too deep, or with a number too long, costs only itself;
    a syntax error ends the list there."""
    position = _SPACE.match(text).end()
    if not text.startswith("[", position):
        value, problem = _loads(text, "malformed JSON")
        yield _json_record(f"{path}[1]", 1, value, problem)
        return
    position = _SPACE.match(text, position + 1).end()
    number = 0
    while not text.startswith("]", position):
        number += 1
        where = f"{path}[{number}]"
        try:
            value, end = _DECODER.raw_decode(text, position)
            problem = ""
        except json.JSONDecodeError as error:
            yield RawRecord(where, number, problem=_malformed("malformed JSON", error))
            return
        except (RecursionError, ValueError) as error:
            value, end = None, _value_end(text, position)
            problem = _unusable("malformed JSON", error)
        yield _json_record(where, number, value, problem)
        if end is None:
            return
        position = _SPACE.match(text, end).end()
        if text.startswith(",", position):
            position = _SPACE.match(text, position + 1).end()
            if text.startswith("]", position):  # `[{...},]`
                yield RawRecord(f"{path}[{number + 1}]", number + 1,
                                problem="malformed JSON (Expecting value)")
                return
        elif not text.startswith("]", position):
            line = text.count("\n", 0, position) + 1
            yield RawRecord(f"{path}[{number + 1}]", number + 1,
                            problem=f"malformed JSON (expecting ',' or ']' at line {line})")
            return
    if text[position + 1:].strip(" \t\n\r"):
        yield RawRecord(f"{path}[{number + 1}]", number + 1,
                        problem="malformed JSON (text after the end of the list)")


_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")
# A string, a bracket, or a run of anything else: enough to find where a value ends.
_TOKEN = re.compile(r'"(?:[^"\\]+|\\.)*"|[\[\]{}]|[^"\[\]{}]+', re.S)
_SCALAR = re.compile(r'[^,\]\s]*')


def _value_end(text: str, position: int) -> int | None:
    """Where the JSON value at `position` ends, found without decoding it (it could not be:
    nested too deep, or a number too long); None if the text ends first."""
    if not text.startswith(("[", "{"), position):
        return _SCALAR.match(text, position).end()
    depth = 0
    for token in _TOKEN.finditer(text, position):
        depth += {"[": 1, "{": 1, "]": -1, "}": -1}.get(token[0], 0)
        if depth == 0:
            return token.end()
    return None


def _loads(text: str, malformed: str) -> tuple[object, str]:
    """(the JSON value of `text`, "") or (None, why it cannot be read)."""
    try:
        return json.loads(text), ""
    except json.JSONDecodeError as error:
        return None, _malformed(malformed, error)
    except (RecursionError, ValueError) as error:
        return None, _unusable(malformed, error)


def _malformed(malformed: str, error: json.JSONDecodeError) -> str:
    return f"{malformed} ({error.msg.removesuffix(' at')})"  # `Invalid control character at`


def _unusable(malformed: str, error: Exception) -> str:
    """Valid JSON that Python cannot hold: nested too deep, or a number too long."""
    if isinstance(error, RecursionError):
        return "JSON nested too deep"
    return f"{malformed} ({str(error).split(':')[0]})"


def _json_record(where: str, number: int, value: object, problem: str) -> RawRecord:
    """The record, with its canonical text (what its fingerprint is made of)."""
    if problem:
        return RawRecord(where, number, problem=problem)
    try:
        text = json.dumps(value, sort_keys=True, ensure_ascii=False)
        return RawRecord(where, number, value, text)
    except RecursionError as error:
        return RawRecord(where, number, problem=_unusable("malformed JSON", error))


def parse_records(
    records: Iterable[RawRecord | Mark], *, id: str, path: str, field_map: Mapping[str, str],
    known: Mapping[str, str] = {}, fingerprint: Callable[[str | bytes], str] = lambda raw: "",
) -> Iterator[tuple[Article | Skipped | Unchanged | Mark, str]]:
    """Every record of a JSON export as an `Article`, or `Skipped` with where and why,
    with the fingerprint of its source text; `Unchanged` if `known` (id → fingerprint)
    has that fingerprint: it is neither decoded nor parsed (a changed export of a million
    articles hashes its lines, and parses the few that changed).

    A record without an id is known by its number: its fingerprint is made of its text's
    and its number, so that the same text on another line is another article."""
    # Fingerprint → id, to know a record without decoding it. Made only once more than a
    # few records were read (`MAP_AFTER`): a changed export of a million articles read in
    # stretches reads a few hundred lines, and decoding them costs less than the map.
    known_as: dict[str, str] | None = None if known else {}
    looked_up = 0  # records decoded to look their ids up in `known`
    own = f"{id}#"  # how the ids the file gives its records begin
    for record in records:
        if not isinstance(record, RawRecord):  # a mark of `search.stretches`
            yield record, ""
            continue
        if known_as is None and (looked_up + 1) * MAP_AFTER > len(known):
            known_as = {print_: article_id for article_id, print_ in known.items()}
        text_print = fingerprint(record.text)
        numbered = None
        if known_as is not None:
            article_id = known_as.get(text_print)
            if article_id is None:
                numbered = fingerprint(_numbered(text_print, record.number))
                article_id = known_as.get(numbered)
            # An id the file did not give itself (made of its absolute path when another
            # file had it, or of another root) is read again: it may be given back.
            if article_id is not None and article_id.startswith(own):
                print_ = known[article_id]
                yield Unchanged(article_id), print_ if print_ == text_print else LinePrint(print_)
                continue
        record = decoded(record)
        if record.problem:
            yield Skipped(record.where, record.problem), ""
            continue
        if not isinstance(record.value, Mapping):
            yield Skipped(record.where, "not a JSON object"), ""
            continue
        given_id = _pick(record.value, "id", field_map)
        article_id = f"{id}#{printable(given_id or str(record.number))}"
        if given_id:
            print_ = text_print
        else:
            print_ = LinePrint(numbered or fingerprint(_numbered(text_print, record.number)))
        if known_as is None:
            looked_up += 1
            if known.get(article_id) == print_:
                yield Unchanged(article_id), print_
                continue
        article = record_article(record.value, id=article_id, path=path, field_map=field_map)
        if not article.body:
            yield Skipped(record.where, _no_text(record.value, field_map), article_id), ""
        else:
            yield article, print_


# One record decoded to be looked up by its id for each MAP_AFTER ids `known` has: past
# that, or from the start for fewer, one map of the fingerprints is made instead (decoding
# a record costs about what 60 entries of the map do).
MAP_AFTER = 64


class LinePrint(str):
    """The fingerprint of a record without an id, made of its text's and its number: the
    same text on another line is another article."""


def _numbered(text_print: str, number: int) -> str:
    return f"{text_print}#{number}"


KEYS_SHOWN = 8
KEY_CHARS_SHOWN = 40


def _no_text(record: Mapping, field_map: Mapping[str, str]) -> str:
    """Why a record has no text: its body is empty, or none of its keys names a body (then
    its keys, and how to name one)."""
    if any(name in record for name in _names("body", field_map)):
        return "no article text"
    if not record:
        return "no article text (an empty record)"
    keys = [printable(key)[:KEY_CHARS_SHOWN] for key in list(record)[:KEYS_SHOWN]]
    more = f", … ({len(record)} keys)" if len(record) > KEYS_SHOWN else ""
    return f"no article text (keys: {', '.join(keys)}{more}; name the body with --map body=KEY)"
