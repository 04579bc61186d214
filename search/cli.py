"""The `search` command: parse options, call one library function, print."""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path

import click

from search.errors import SearchError
from search.models import Hit, IndexReport, IndexStats, SearchResults
from search.searcher import SORT_ORDERS, Filters, search
from search.snippets import PlainStyle, TerminalStyle, render

DEFAULT_INDEX = "index"
DEFAULT_CORPUS = "seeds"
SKIPPED_SHOWN = 10
STATS_SHOWN = 20

index_option = click.option(
    "--index",
    "index_dir",
    default=DEFAULT_INDEX,
    show_default=True,
    envvar="SEARCH_INDEX",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of the index (or set SEARCH_INDEX).",
)


@click.group()
@click.version_option(package_name="search")
def cli() -> None:
    """Full-text search for French-language diplomatic press."""


def _field_map(_ctx, _param, values: tuple[str, ...]) -> dict[str, str]:
    pairs = {}
    for value in values:
        field, sep, name = value.partition("=")
        if not sep or not field.strip() or not name.strip():
            raise click.BadParameter(f"'{value}': write FIELD=NAME, e.g. body=texte.")
        pairs[field.strip()] = name.strip()
    return pairs


def corpus_command(function):
    """The arguments and options `index` and `rebuild` share."""
    for decorator in reversed([
        cli.command(),
        click.argument("corpus", nargs=-1, type=click.Path(path_type=Path)),
        index_option,
        click.option("--map", "field_map", multiple=True, callback=_field_map,
                     metavar="FIELD=NAME",
                     help="Read FIELD from the JSON key NAME (fields: id, title, body, lead, "
                          "date, source, author, category, url, dateline)."),
        click.option("--verbose", "-v", is_flag=True, help="List every skipped file and why."),
    ]):
        function = decorator(function)
    return function


@corpus_command
def index(corpus: tuple[Path, ...], index_dir: Path, field_map: dict, verbose: bool) -> None:
    """Bring the index up to date with CORPUS folders or files (default: seeds).

    New articles are added, changed ones updated, and those whose files left an indexed
    folder removed; unchanged files are not read again. Formats: .txt, .html, .jsonl, .json.
    """
    from search.index import update

    _write(update, corpus, index_dir, field_map, verbose)


@corpus_command
def rebuild(corpus: tuple[Path, ...], index_dir: Path, field_map: dict, verbose: bool) -> None:
    """Rebuild the index from scratch from CORPUS folders or files (default: seeds).

    The new index replaces the old one only when it is complete.
    """
    from search.index import rebuild as rebuild_index

    _write(rebuild_index, corpus, index_dir, field_map, verbose)


def _write(function, corpus, index_dir: Path, field_map: dict, verbose: bool) -> None:
    paths = list(corpus) or [Path(DEFAULT_CORPUS)]
    bar = _ProgressBar() if sys.stderr.isatty() else None
    try:
        report = function(
            paths,
            index_dir,
            field_map=field_map,
            progress=bar.advance if bar else None,
            on_start=bar.start if bar else None,
        )
    except SearchError as error:
        raise click.ClickException(str(error)) from None
    except KeyboardInterrupt:
        raise click.ClickException("Interrupted: the previous index is unchanged.") from None
    finally:
        if bar:
            bar.finish()
    _print_report(report, verbose)


class _ProgressBar:
    """click's progress bar on stderr, with the rate, opened once the work is known."""

    def __init__(self) -> None:
        self.bar = None
        self.started = 0.0
        self.done = 0

    def start(self, total: int) -> None:
        self.started = time.monotonic()
        self.bar = click.progressbar(length=total, label="Indexing", file=sys.stderr,
                                     show_pos=True, item_show_func=lambda rate: rate)
        self.bar.__enter__()

    def advance(self, count: int) -> None:
        self.done += count
        elapsed = time.monotonic() - self.started
        rate = f"{self.done / elapsed:,.0f} articles/s" if elapsed > 0.5 else None
        self.bar.update(count, rate)

    def finish(self) -> None:
        if self.bar:
            self.bar.__exit__(None, None, None)


def _print_report(report: IndexReport, verbose: bool) -> None:
    click.echo(
        f"Index {report.index_dir}: {report.added:,} added, {report.updated:,} updated, "
        f"{report.removed:,} removed, {report.unchanged:,} unchanged, "
        f"{len(report.skipped):,} skipped."
    )
    shown = report.skipped if verbose else report.skipped[:SKIPPED_SHOWN]
    for skipped in shown:
        click.echo(f"  skipped {skipped.path}: {skipped.reason}")
    if len(shown) < len(report.skipped):
        click.echo(f"  ... and {len(report.skipped) - len(shown):,} more (--verbose lists them).")


@cli.command()
@index_option
def stats(index_dir: Path) -> None:
    """What the index holds: documents, dates, sources, categories, size, last update."""
    from search.index import stats as index_stats

    try:
        found = index_stats(index_dir)
    except SearchError as error:
        raise click.ClickException(str(error)) from None
    click.echo(_stats_text(found), nl=False)


def _stats_text(found: IndexStats) -> str:
    updated = datetime.fromtimestamp(found.updated_at).isoformat(sep=" ", timespec="seconds")
    lines = [
        f"Index:       {found.index_dir}",
        f"Documents:   {found.documents:,}",
        f"Dates:       {found.first_date or '-'} to {found.last_date or '-'}",
        f"Size:        {found.size_bytes / 1e6:,.1f} MB",
        f"Updated:     {updated}",
    ]
    for title, counts in (("Sources", found.sources), ("Categories", found.categories)):
        lines.append(f"{title}:" + ("" if counts else " none"))
        lines.extend(f"  {count.documents:>8,}  {count.label}" for count in counts[:STATS_SHOWN])
        if len(counts) > STATS_SHOWN:
            lines.append(f"  ... and {len(counts) - STATS_SHOWN:,} more")
    return "\n".join(lines) + "\n"


@cli.command()
@click.argument("words", nargs=-1, required=True)
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 1000),
              help="How many hits to show.")
@click.option("--sort", type=click.Choice(SORT_ORDERS), default="relevance", show_default=True,
              help="Rank by relevance, or newest first.")
@click.option("--source", help="Only articles from this source (site or agency), e.g. afp.com.")
@click.option("--category", help="Only articles of this category (and its subcategories).")
@click.option("--since", metavar="DATE", help="Only articles dated DATE or later: 2020, 2020-06, 2020-06-15.")
@click.option("--until", metavar="DATE", help="Only articles dated DATE or earlier.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@index_option
def query(words: tuple[str, ...], limit: int, sort: str, source: str | None,
          category: str | None, since: str | None, until: str | None, as_json: bool,
          index_dir: Path) -> None:
    """Search the index. Words are ANDed; also "phrases", OR, NOT, -word, (groups),
    title:/lead:/body:/dateline:/category:/author: fields, word* truncation and word~ fuzzy terms.

    \b
    Examples:
      search query cooperation bilaterale
      search query '"Union interparlementaire"'
      search query 'Tokaiev~ -Rabat'
    """
    try:
        filters = Filters(source=source, category=category, since=since, until=until)
        results = search(index_dir, " ".join(words), limit=limit, sort=sort, filters=filters)
    except SearchError as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        click.echo(json.dumps(_json(results), ensure_ascii=False))
    else:
        click.echo(_text(results, _style()), nl=False)


def _style() -> PlainStyle:
    if sys.stdout.isatty() and not os.environ.get("NO_COLOR"):
        return TerminalStyle()
    return PlainStyle()


def _json(results: SearchResults) -> dict:
    return {
        "query": results.query,
        "total": results.total,
        "partial": results.partial,
        "hits": [
            {
                "rank": hit.rank,
                "id": hit.id,
                "path": hit.path,
                "title": hit.title,
                "date": hit.date,
                "dateline": hit.dateline,
                "category": hit.category,
                "source": hit.source,
                "url": hit.url,
                "score": hit.score,
                "snippet": hit.snippet.text,
                "highlights": [list(span) for span in hit.snippet.highlights],
            }
            for hit in results.hits
        ],
    }


def _text(results: SearchResults, style: PlainStyle) -> str:
    if not results.total:
        return f"No article matches «{results.query}».\n"
    lines = []
    if results.partial:
        lines.append("No article contains all the words; showing the best partial matches.")
    noun = "article matches" if results.total == 1 else "articles match"
    lines.append(f"{results.total} {noun} «{results.query}»"
                 + (f" (showing {len(results.hits)})." if len(results.hits) < results.total else "."))
    for hit in results.hits:
        lines.extend(["", *_hit_lines(hit, style)])
    return "\n".join(lines) + "\n"


def _hit_lines(hit: Hit, style: PlainStyle) -> list[str]:
    score = f"score {hit.score:.2f}" if hit.score is not None else None
    about = [hit.date or "undated", hit.source, hit.dateline, hit.category, hit.url or hit.path,
             score]
    return [
        f"{hit.rank}. {style.bold(hit.title)}",
        "   " + style.dim(" · ".join(part for part in about if part)),
        "   " + render(hit.snippet, style),
    ]


def main() -> None:
    """Entry point; a closed pipe (`search query x | head`) ends quietly."""
    try:
        cli(prog_name="search")
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(1)


