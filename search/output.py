r"""Everything the CLI prints, as strings: hits, JSON, the index report, stats, error lines.

Text from articles and file names is data, never terminal commands: every such field goes
through `visible` before it is styled, on a terminal and in a pipe alike.

- Control characters are made visible as their Python escape, so that none acts on the
  terminal and each can be seen: C0 (ESC, BEL, backspace, carriage return, and newline and
  tab too, since every field is printed on one line), DEL, C1 (U+0080-U+009F, among them the
  8-bit CSI U+009B), lone surrogates (file names decoded with surrogateescape), the line and
  paragraph separators U+2028/U+2029, and the bidi embeddings, overrides and isolates
  (U+202A-U+202E, U+2066-U+2069) that reorder the text around them. `\x1b[2J` prints as
  the seven characters `\x1b[2J`, a file name byte 0xE9 as `\udce9`.
- Other format characters (Unicode category Cf: soft hyphens, zero-width spaces and joiners,
  byte-order marks, direction marks, tag characters) are removed: they are invisible anyway,
  common in scraped pages, and once removed they can neither hide nor disguise text.

A backslash in the data prints as itself: the escapes make output safe, not reversible.
`--json` keeps every value exact instead (see `results_json`).
"""

from __future__ import annotations

import csv
import io
import json
import os
import unicodedata
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import TextIO

from search.models import (
    ArticleView,
    Copy,
    Count,
    CountTable,
    ExplainedTerm,
    Explanation,
    Facet,
    Hit,
    IndexCheck,
    IndexReport,
    IndexStats,
    SearchResults,
    Snippet,
)

SKIPPED_SHOWN = 10
FORMS_SHOWN = 10  # the surface forms of a term that `search explain` prints
STATS_SHOWN = 20

_ESCAPED_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})
_BIDI_CONTROLS = frozenset(map(chr, [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]))
_UNSAFE_CATEGORIES = _ESCAPED_CATEGORIES | {"Cf"}


class _Translation(dict):
    """A `str.translate` table that works out each character's replacement on first sight."""

    def __init__(self, replace: Callable[[str], str]) -> None:
        super().__init__()
        self.replace = replace

    def __missing__(self, code: int) -> str:
        replacement = self[code] = self.replace(chr(code))
        return replacement


def _shown(char: str) -> str:
    category = unicodedata.category(char)
    if category in _ESCAPED_CATEGORIES or char in _BIDI_CONTROLS:
        return char.encode("unicode_escape").decode("ascii")
    return "" if category == "Cf" else char


def _json_escaped(char: str) -> str:
    if unicodedata.category(char) in _UNSAFE_CATEGORIES:
        return json.dumps(char)[1:-1]  # `\u009b`; a surrogate pair for a character beyond U+FFFF
    return char


_VISIBLE = _Translation(_shown)
_JSON_SAFE = _Translation(_json_escaped)


def _translated(text: str, table: _Translation) -> str:
    """`text.translate(table)`, replacing only the distinct characters that change:
    `str.translate` through a dict subclass costs ~1 us a character (4 ms an article body)."""
    for char in set(text):
        replacement = table[ord(char)]
        if replacement != char:
            text = text.replace(char, replacement)
    return text


def visible(text: str) -> str:
    """`text` safe to print on one line: controls escaped, invisible format characters removed."""
    return _translated(text, _VISIBLE)


def error_line(error: Exception) -> str:
    """An error's message as one safe line (it may quote a file name or the query)."""
    return visible(str(error))


class PlainStyle:
    """Highlights as visible markers, for pipes and NO_COLOR."""

    def mark(self, text: str) -> str:
        return f"**{text}**"

    def dim(self, text: str) -> str:
        return text

    def bold(self, text: str) -> str:
        return text


class TerminalStyle(PlainStyle):
    """Highlights in bold yellow, metadata dimmed."""

    def mark(self, text: str) -> str:
        return f"\x1b[1;33m{text}\x1b[0m"

    def dim(self, text: str) -> str:
        return f"\x1b[2m{text}\x1b[0m"

    def bold(self, text: str) -> str:
        return f"\x1b[1m{text}\x1b[0m"


def style_for(stream: TextIO) -> PlainStyle:
    """Colours on a terminal unless NO_COLOR is set; plain markers in a pipe."""
    if stream.isatty() and not os.environ.get("NO_COLOR"):
        return TerminalStyle()
    return PlainStyle()


def render(snippet: Snippet, style: PlainStyle) -> str:
    """The snippet's text with each highlight marked in `style`.

    Each piece between highlight boundaries is made `visible` on its own, so the marks stay
    on the words the offsets point to even where escaping changes the text's length.
    """
    out, position = [], 0
    for start, end in snippet.highlights:
        out.append(visible(snippet.text[position:start]))
        out.append(style.mark(visible(snippet.text[start:end])))
        position = end
    out.append(visible(snippet.text[position:]))
    return "".join(out)


def results_text(results: SearchResults, style: PlainStyle) -> str:
    """What `search query` prints: a count line, then each hit's title, metadata and snippet."""
    query = visible(results.query)
    if not results.total:
        empty = (f"No article matches «{query}».\n" if query.strip()
                 else "No article matches the filters.\n")
        return empty + _did_you_mean(results)
    if results.facets:
        return _without_facets(results, style) + "\n" + facets_text(results.facets)
    lines = []
    if results.partial:
        lines.append("No article contains all the words; showing the best partial matches.")
    noun = "article matches" if results.total == 1 else "articles match"
    about = f"«{query}»" if query.strip() else "the filters, newest first"
    notes = [f"showing {len(results.hits)}"] if len(results.hits) < results.total else []
    if any(hit.copies for hit in results.hits):
        notes.append("copies of a dispatch shown once, --copies shows each")
    at_least = "" if results.total_exact else "at least "  # counting them all costs too much
    lines.append(f"{at_least}{results.total} {noun} {about}"
                 + (f" ({'; '.join(notes)})." if notes else "."))
    if results.suggestions:
        lines.append(_did_you_mean(results).rstrip("\n"))
    for hit in results.hits:
        lines.extend(["", *_hit_lines(hit, style)])
    return "\n".join(lines) + "\n"


def _did_you_mean(results: SearchResults) -> str:
    """`Did you mean: ambassadeur?`, or nothing without suggestions."""
    if not results.suggestions:
        return ""
    return "Did you mean: " + " or ".join(map(visible, results.suggestions)) + "?\n"


def _without_facets(results: SearchResults, style: PlainStyle) -> str:
    return results_text(replace(results, facets=()), style)


def _hit_lines(hit: Hit, style: PlainStyle) -> list[str]:
    score = f"score {hit.score:.2f}" if hit.score is not None else None
    about = [hit.date or "undated", hit.source_name or hit.source, hit.dateline, hit.category,
             hit.url or hit.path, score, hit.copies and f"+{_copies_count(len(hit.copies))}"]
    shown = [visible(part) if part else "" for part in about]
    if shown[2]:  # labelled: a place where the source usually stands would read as one
        shown[2] = f"dateline {shown[2]}"
    # A title that matched when the body did not has its words marked.
    title = render(Snippet(hit.title, hit.title_highlights), style)
    return [
        f"{hit.rank}. {style.bold(title)}",
        "   " + style.dim(" · ".join(part for part in shown if part)),
        "   " + render(hit.snippet, style),
    ]


def _copies_count(count: int) -> str:
    return f"{count:,} cop{'y' if count == 1 else 'ies'}"


def results_json(results: SearchResults) -> str:
    """`search query --json`: one object whose values are exactly the index's text.

    json.dumps escapes C0 controls; DEL, C1, the line separators, every format character
    (bidi controls included) and lone surrogates are written as `\\uXXXX` escapes too, so the
    output is valid UTF-8 that cannot act on a terminal; other non-ASCII characters stay
    readable. A consumer parses back the article's own strings (a lone surrogate, from a
    file name that is not UTF-8, as `\\udcff`: strict parsers may refuse it), and
    `highlights` index into the snippet as parsed.
    """
    data = {
        "query": results.query,
        "total": results.total,
        **({} if results.total_exact else {"total_exact": False}),  # `total` is a lower bound
        "partial": results.partial,
        "suggestions": list(results.suggestions),
        **({"explain": _explanation_data(results.explanation)["words"]}
           if results.explanation is not None else {}),
        "hits": [
            {
                "rank": hit.rank,
                "id": hit.id,
                "path": hit.path,
                "title": hit.title,
                "title_highlights": [list(span) for span in hit.title_highlights],
                "date": hit.date,
                "dateline": hit.dateline,
                "category": hit.category,
                "source": hit.source,
                "source_name": hit.source_name,
                "url": hit.url,
                "score": hit.score,
                "snippet": hit.snippet.text,
                "highlights": [list(span) for span in hit.snippet.highlights],
                "copies": list(hit.copies),
            }
            for hit in results.hits
        ],
    }
    if results.facets:  # `--facets`: {"source": {"counts": [{"label", "count"}], "others"}...}
        data["facets"] = facets_data(results.facets)
    return _json(data)


def explanation_text(explanation: Explanation) -> str:
    """What `search explain` prints: each query word and the fields it searches, then one
    line per index term: its origin, its articles, and the words as written it stands for."""
    lines = []
    for word in explanation.words:
        fields = f" (in {', '.join(word.fields)})" if word.fields else ""
        lines.append(f"{visible(word.word)}{fields}")
        if not word.terms:
            lines.append("  nothing to search for: a very common word or a symbol"
                         if not word.fields else "  no term of the index")
        lines.extend(f"  {_term_line(term)}" for term in word.terms)
    return "\n".join(lines) + "\n"


def _term_line(term: ExplainedTerm) -> str:
    origin = f"{term.origin} {visible(term.entity)}" if term.entity else term.origin
    noun = "article" if term.documents == 1 else "articles"
    line = f"{visible(term.term)}: {origin}, {term.documents:,} {noun}"
    if term.origin in ("stem", "lexicon", "fuzzy") and term.forms:
        shown = ", ".join(f"{visible(form.form)} {form.documents:,}"
                          for form in term.forms[:FORMS_SHOWN])
        more = len(term.forms) - FORMS_SHOWN
        line += f"; as written: {shown}" + (f" and {more:,} more" if more > 0 else "")
    return line


def explanation_json(explanation: Explanation) -> str:
    """`search explain --json`: the query and each word's terms, every form listed."""
    return _json(_explanation_data(explanation))


def _explanation_data(explanation: Explanation) -> dict:
    return {
        "query": explanation.query,
        "words": [
            {"word": word.word, "fields": list(word.fields), "terms": [
                {"term": term.term, "origin": term.origin, "entity": term.entity,
                 "documents": term.documents,
                 "forms": [{"form": form.form, "documents": form.documents}
                           for form in term.forms]}
                for term in word.terms]}
            for word in explanation.words
        ],
    }


def _json(data: dict) -> str:
    """`data` as one line of JSON that prints safely (see `results_json`)."""
    return _translated(json.dumps(data, ensure_ascii=False), _JSON_SAFE) + "\n"


def copies_text(article_id: str, group: tuple[Copy, ...], style: PlainStyle) -> str:
    """The group of copies of one article (`search show ID --copies`), the earliest first,
    each with its estimated similarity to the article asked about."""
    if len(group) <= 1:
        return f"Article {visible(article_id)} has no copy in the index.\n"
    count = len(group) - 1
    lines = [f"Article {visible(article_id)} and its {_copies_count(count)}, "
             "the earliest first:"]
    for rank, copy in enumerate(group, start=1):
        about = [copy.date or "undated", copy.source, copy.category, copy.id,
                 "this article" if copy.id == article_id else
                 f"similarity {copy.similarity:.2f}"]
        lines.extend(["", f"{rank}. {style.bold(visible(copy.title))}",
                      "   " + style.dim(" · ".join(visible(part) for part in about if part))])
    return "\n".join(lines) + "\n"


def copies_json(article_id: str, group: tuple[Copy, ...]) -> str:
    """`search show ID --copies --json`: the article's group, each value exact (see
    `results_json`)."""
    return _json({"id": article_id, "group": [
        {"id": copy.id, "path": copy.path, "title": copy.title, "date": copy.date,
         "source": copy.source, "category": copy.category, "url": copy.url,
         "similarity": copy.similarity}
        for copy in group
    ]})


def report_text(report: IndexReport, verbose: bool) -> str:
    """What `search index` and `rebuild` print: a summary, then one line per skipped file."""
    lines = [
        f"Index {visible(report.index_dir)}: {report.added:,} added, {report.updated:,} updated, "
        f"{report.removed:,} removed, {report.unchanged:,} unchanged, "
        f"{len(report.skipped):,} skipped."
    ]
    shown = report.skipped if verbose else report.skipped[:SKIPPED_SHOWN]
    lines.extend(f"  skipped {visible(skipped.path)}: {visible(skipped.reason)}"
                 for skipped in shown)
    if len(shown) < len(report.skipped):
        lines.append(f"  ... and {len(report.skipped) - len(shown):,} more (--verbose lists them).")
    return "\n".join(lines) + "\n"


def progress_text(done: int, total: int, seconds: float) -> str:
    """What the progress bar of `search index` shows beside it: `12.3 of 94.4 MB, 2.1 MB/s`."""
    rate = f", {done / seconds / 1e6:,.1f} MB/s" if seconds > 0.5 else ""
    return f"{done / 1e6:,.1f} of {total / 1e6:,.1f} MB{rate}"


def stage_text(what: str) -> str:
    """One stage of an index write after its last article: `Merging segments…`."""
    return f"{what}…"


def stats_text(found: IndexStats) -> str:
    """What `search stats` prints."""
    updated = datetime.fromtimestamp(found.updated_at).isoformat(sep=" ", timespec="seconds")
    lines = [
        f"Index:       {visible(found.index_dir)}",
        f"Documents:   {found.documents:,}",
        f"Dates:       {visible(found.first_date or '-')} to {visible(found.last_date or '-')}",
        f"Size:        {found.size_bytes / 1e6:,.1f} MB",
        f"Updated:     {updated}",
    ]
    for title, counts in (("Sources", found.sources), ("Categories", found.categories)):
        lines.append(f"{title}:" + ("" if counts else " none"))
        width = max((len(visible(count.label)) for count in counts[:STATS_SHOWN]), default=0)
        lines.extend(_count_line(count, width) for count in counts[:STATS_SHOWN])
        if len(counts) > STATS_SHOWN:
            more = " (`search stats --sources` lists them)" if title == "Sources" else ""
            lines.append(f"  ... and {len(counts) - STATS_SHOWN:,} more{more}")
    if found.field_maps:
        lines.append("Field maps:")
        lines.extend(f"  {visible(file)}: "
                     + ", ".join(f"{field}={visible(name)}"
                                 for field, name in sorted(mapping.items()))
                     for file, mapping in found.field_maps)
    return "\n".join(lines) + "\n"


def _count_line(count: Count, width: int) -> str:
    """`   1,234  actu.orange.fr`, and a source's display name after its key (padded to
    `width`) if it differs."""
    if not count.name or count.name == count.label:
        return f"  {count.documents:>8,}  {visible(count.label)}"
    return f"  {count.documents:>8,}  {visible(count.label):<{width}}  {visible(count.name)}"


def sources_text(found: IndexStats) -> str:
    """What `search stats --sources` prints: every source, its key, display name and count."""
    if not found.sources:
        return f"Index {visible(found.index_dir)}: no article has a source.\n"
    width = max(len(visible(count.label)) for count in found.sources)
    lines = [f"{'articles':>10}  {'source':<{width}}  name"]
    lines.extend(f"  {count.documents:>8,}  {visible(count.label):<{width}}  "
                 f"{visible(count.name or count.label)}" for count in found.sources)
    return "\n".join(lines) + "\n"


def check_text(found: IndexCheck) -> str:
    """What `search check` prints: that the index is whole, or each problem and the fix."""
    if not found.problems:
        return (f"Index {visible(found.index_dir)}: {found.documents:,} articles; "
                f"{found.files_checked:,} files match their checksums; every article and "
                "posting could be read. No damage found.\n")
    lines = [f"Index {visible(found.index_dir)}: damaged."]
    lines.extend(f"  {visible(problem)}" for problem in found.problems)
    lines.append(found.advice)
    return "\n".join(lines) + "\n"


# Views: counts, facets, exports, one article.

BAR_WIDTH = 40  # characters of the longest bar of `search count`
_EIGHTHS = " ▏▎▍▌▋▊▉"
EXPORT_FIELDS = ("id", "date", "source", "category", "title", "url", "path", "score",
                 "snippet", "body")
DEFAULT_EXPORT_FIELDS = ("id", "date", "source", "category", "title", "url", "score")


def bar(value: int, largest: int, width: int = BAR_WIDTH) -> str:
    """`value` as a bar of Unicode blocks, `width` characters for `largest`, in eighths."""
    if largest <= 0 or value <= 0:
        return ""
    eighths = max(1, round(value * width * 8 / largest))
    full, rest = divmod(eighths, 8)
    return "█" * full + (_EIGHTHS[rest] if rest else "")


def count_text(table: CountTable) -> str:
    """What `search count` prints: one row per bucket, each query's count and its bar."""
    several = len(table.series) > 1
    names = [visible(series.query) or "(all)" for series in table.series]
    head = "; ".join(f"«{name}» {series.total:,}" for name, series in zip(
        names, table.series, strict=True))
    noun = "article" if not several and table.series[0].total == 1 else "articles"
    lines = [f"{head} {noun}, by {table.by}."]
    if not table.labels:
        return lines[0] + "\n"
    label_width = max(len(table.by), *(len(visible(label)) for label in table.labels))
    widths = [max(len(name) if several else 0, len(f"{max(series.counts, default=0):,}"))
              for name, series in zip(names, table.series, strict=True)]
    largest = max((max(series.counts, default=0) for series in table.series), default=0)
    width = BAR_WIDTH // len(table.series)
    if several:
        lines.append(" ".join([table.by.ljust(label_width),
                               *(name.rjust(w) for name, w in zip(names, widths, strict=True))]))
    for row, label in enumerate(table.labels):
        counts = [series.counts[row] for series in table.series]
        cells = [f"{n:,}".rjust(w) for n, w in zip(counts, widths, strict=True)]
        bars = [bar(n, largest, width).ljust(width) for n in counts]
        lines.append(" ".join([visible(label).ljust(label_width), *cells, " ".join(bars)])
                     .rstrip())
    return "\n".join(lines) + "\n"


def count_csv(table: CountTable) -> str:
    """`search count --csv`: a header (the bucket kind, then each query), a row per bucket."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([table.by, *(_csv_safe(series.query) or "all" for series in table.series)])
    for row, label in enumerate(table.labels):
        writer.writerow([_csv_safe(label), *(series.counts[row] for series in table.series)])
    return out.getvalue()


def count_json(table: CountTable) -> str:
    """`search count --json`: {"by", "queries": [{"query", "total"}], "buckets": [{"label",
    "counts"}]}, a bucket's counts in the order of the queries."""
    data = {
        "by": table.by,
        "queries": [{"query": series.query, "total": series.total} for series in table.series],
        "buckets": [{"label": label, "counts": [series.counts[row] for series in table.series]}
                    for row, label in enumerate(table.labels)],
    }
    return _json(data)


def facets_text(facets: tuple[Facet, ...]) -> str:
    """The facets under a query's hits: one line per facet, its labels with their counts."""
    lines = []
    for facet in facets:
        parts = [f"{visible(count.label)} {count.documents:,}" for count in facet.counts]
        if facet.others:
            parts.append(f"others {facet.others:,}")
        lines.append(f"{_FACET_NAMES[facet.name]}: " + (" · ".join(parts) or "none"))
    return "\n".join(lines) + "\n"


_FACET_NAMES = {"source": "Sources", "category": "Categories", "year": "Years"}


def facets_data(facets: tuple[Facet, ...]) -> dict:
    return {facet.name: {"counts": [{"label": c.label, "count": c.documents}
                                    for c in facet.counts], "others": facet.others}
            for facet in facets}


def check_fields(text: str) -> tuple[str, ...]:
    """`--fields id,date,title` as a tuple; an unknown name is a one-line error."""
    fields = tuple(name.strip().lower() for name in text.split(",") if name.strip())
    unknown = [name for name in fields if name not in EXPORT_FIELDS]
    if unknown or not fields:
        raise ValueError(f"Unknown field '{visible(unknown[0]) if unknown else text}'; "
                         f"the fields are: {','.join(EXPORT_FIELDS)}.")
    return fields


def _export_values(hit: Hit, fields: tuple[str, ...]) -> list:
    values = {"id": hit.id, "date": hit.date, "source": hit.source, "category": hit.category,
              "title": hit.title, "url": hit.url, "path": hit.path, "score": hit.score,
              "snippet": hit.snippet.text, "body": hit.body}
    return [values[name] for name in fields]


def hits_csv_header(fields: tuple[str, ...]) -> str:
    return ",".join(fields) + "\n"


def hit_csv(hit: Hit, fields: tuple[str, ...]) -> str:
    """One hit as a CSV row: quoted as spreadsheets read it, paragraphs kept inside the
    quotes, control characters made visible."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(
        ["" if value is None else _csv_safe(str(value)) for value in
         _export_values(hit, fields)])
    return out.getvalue()


def hit_jsonl(hit: Hit, fields: tuple[str, ...]) -> str:
    """One hit as one JSON line, with the chosen fields (and `highlights` with `snippet`)."""
    data = dict(zip(fields, _export_values(hit, fields), strict=True))
    if "snippet" in fields:
        data["highlights"] = [list(span) for span in hit.snippet.highlights]
    return _json(data)


# A cell a spreadsheet would read as a formula (`=HYPERLINK(...)`, `+cmd|...`, `@SUM`).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_safe(text: str) -> str:
    """`text` for a CSV cell: line breaks and tabs kept (the cell is quoted), every other
    control or invisible character as in `visible`, and a cell that a spreadsheet would
    run as a formula led by `'` (OWASP's advice against CSV injection)."""
    if text.startswith(_FORMULA_START):
        text = "'" + text
    return "\n".join("\t".join(visible(piece) for piece in line.split("\t"))
                     for line in text.split("\n"))


def article_text(view: ArticleView, style: PlainStyle) -> str:
    """What `search show` prints: the title, a line of metadata, then each paragraph."""
    about = [view.date or "undated", view.source_name or view.source, view.dateline,
             view.category, view.author]
    lines = [style.bold(render(Snippet(view.title, view.title_highlights), style)),
             style.dim(" · ".join(visible(part) for part in about if part)),
             style.dim(f"{visible(view.id)} · {visible(view.url or view.path)}")]
    for paragraph in view.paragraphs:
        lines.extend(["", render(paragraph, style)])
    return "\n".join(lines) + "\n"


def article_json(view: ArticleView) -> str:
    """`search show --json`: the article's fields, and its paragraphs each with the
    `[start, end]` offsets of its highlights."""
    data = {
        "id": view.id, "path": view.path, "title": view.title,
        "title_highlights": [list(span) for span in view.title_highlights],
        "date": view.date, "dateline": view.dateline, "category": view.category,
        "source": view.source, "source_name": view.source_name, "url": view.url,
        "author": view.author, "lead": view.lead,
        "paragraphs": [{"text": p.text, "highlights": [list(span) for span in p.highlights]}
                       for p in view.paragraphs],
    }
    return _json(data)
