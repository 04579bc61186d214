"""The `search` command: parse options, call one library function, print."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from search.errors import SearchError
from search.models import Hit, RebuildReport, SearchResults
from search.searcher import SORT_ORDERS, search
from search.snippets import PlainStyle, TerminalStyle, render

DEFAULT_INDEX = "index"
DEFAULT_CORPUS = "seeds"

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


@cli.command()
@click.argument("corpus", nargs=-1, type=click.Path(path_type=Path))
@index_option
def rebuild(corpus: tuple[Path, ...], index_dir: Path) -> None:
    """Rebuild the index from scratch from CORPUS folders or files (default: seeds).

    The new index replaces the old one only when it is complete.
    """
    from search.index import rebuild as rebuild_index

    paths = list(corpus) or [Path(DEFAULT_CORPUS)]
    bar = _ProgressBar() if sys.stderr.isatty() else None
    try:
        report = rebuild_index(
            paths,
            index_dir,
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
    _print_report(report)


class _ProgressBar:
    """click's progress bar on stderr, opened once the number of files is known."""

    def __init__(self) -> None:
        self.bar = None

    def start(self, total: int) -> None:
        self.bar = click.progressbar(length=total, label="Indexing", file=sys.stderr)
        self.bar.__enter__()

    def advance(self, count: int) -> None:
        self.bar.update(count)

    def finish(self) -> None:
        if self.bar:
            self.bar.__exit__(None, None, None)


def _print_report(report: RebuildReport) -> None:
    articles = "article" if report.indexed == 1 else "articles"
    click.echo(
        f"Indexed {report.indexed} {articles} into {report.index_dir}; "
        f"skipped {len(report.skipped)} file{'' if len(report.skipped) == 1 else 's'}."
    )
    for skipped in report.skipped:
        click.echo(f"  skipped {skipped.path}: {skipped.reason}")


@cli.command()
@click.argument("words", nargs=-1, required=True)
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 1000),
              help="How many hits to show.")
@click.option("--sort", type=click.Choice(SORT_ORDERS), default="relevance", show_default=True,
              help="Rank by relevance, or newest first.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@index_option
def query(words: tuple[str, ...], limit: int, sort: str, as_json: bool, index_dir: Path) -> None:
    """Search the index. Words are ANDed; also "phrases", OR, NOT, -word, (groups),
    title:/lead:/body:/dateline:/category:/author: fields, word* truncation and word~ fuzzy terms.

    \b
    Examples:
      search query cooperation bilaterale
      search query '"Union interparlementaire"'
      search query 'Tokaiev~ -Rabat'
    """
    try:
        results = search(index_dir, " ".join(words), limit=limit, sort=sort)
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
    about = [hit.date or "undated", hit.dateline, hit.category, hit.path, score]
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


