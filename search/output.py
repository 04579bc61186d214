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

import json
import os
import unicodedata
from collections.abc import Callable
from datetime import datetime
from typing import TextIO

from search.models import (
    Count,
    Hit,
    IndexCheck,
    IndexReport,
    IndexStats,
    SearchResults,
    Snippet,
)

SKIPPED_SHOWN = 10
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


def visible(text: str) -> str:
    """`text` safe to print on one line: controls escaped, invisible format characters removed."""
    return text.translate(_VISIBLE)


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
        return f"No article matches «{query}».\n"
    lines = []
    if results.partial:
        lines.append("No article contains all the words; showing the best partial matches.")
    noun = "article matches" if results.total == 1 else "articles match"
    lines.append(f"{results.total} {noun} «{query}»"
                 + (f" (showing {len(results.hits)})." if len(results.hits) < results.total
                    else "."))
    for hit in results.hits:
        lines.extend(["", *_hit_lines(hit, style)])
    return "\n".join(lines) + "\n"


def _hit_lines(hit: Hit, style: PlainStyle) -> list[str]:
    score = f"score {hit.score:.2f}" if hit.score is not None else None
    about = [hit.date or "undated", hit.source_name or hit.source, hit.dateline, hit.category,
             hit.url or hit.path, score]
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
        "partial": results.partial,
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
            }
            for hit in results.hits
        ],
    }
    return json.dumps(data, ensure_ascii=False).translate(_JSON_SAFE) + "\n"


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
