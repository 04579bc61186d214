"""The `search` command: parse options, call one library function, print."""

from __future__ import annotations

import io
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from search import output
from search.errors import SearchError
from search.searcher import SORT_ORDERS, Filters, search


def _index_dir(_ctx, _param, value: Path | None) -> Path:
    """The folder named by --index or SEARCH_INDEX, else the user's (`default_index_dir`)."""
    from search.store import default_index_dir

    return value if value and str(value) else default_index_dir()


index_option = click.option(
    "--index",
    "index_dir",
    envvar="SEARCH_INDEX",
    callback=_index_dir,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of the index (or set SEARCH_INDEX); default $XDG_DATA_HOME/search/index, "
         "else ~/.local/share/search/index.",
)


class _OneLineErrors(click.Group):
    """click's group, whose usage errors (a bad option value, a missing argument) are one
    line on stderr, as our own errors are, instead of click's usage block."""

    def main(self, *args, standalone_mode: bool = True, **kwargs):
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            status = super().main(*args, standalone_mode=False, **kwargs)
        except click.UsageError as error:
            where = error.ctx.command_path if error.ctx else "search"
            click.echo(f"Error: {output.visible(error.format_message())} "
                       f"See `{where} --help`.", err=True)
            sys.exit(error.exit_code)
        except click.ClickException as error:
            error.show()
            sys.exit(error.exit_code)
        except (click.Abort, KeyboardInterrupt):
            click.echo("Aborted.", err=True)
            sys.exit(1)
        sys.exit(status if isinstance(status, int) else 0)


@click.group(cls=_OneLineErrors, name="search")
@click.version_option(package_name="search")
def cli() -> None:
    """Full-text search for French-language diplomatic press."""


def _field_map(_ctx, _param, values: tuple[str, ...]) -> dict[str, str]:
    pairs = {}
    for value in values:
        field, sep, name = value.partition("=")
        if not sep or not field.strip() or not name.strip():
            raise click.BadParameter(
                f"'{output.visible(value)}': write FIELD=NAME, e.g. body=texte."
            )
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
        click.option("--yes", "allow_removal", is_flag=True,
                     help="Remove many articles at once if the write would (more than 1,000, "
                          "or more than 10 % of the index): refused without it."),
    ]):
        function = decorator(function)
    return function


@corpus_command
def index(corpus: tuple[Path, ...], index_dir: Path, field_map: dict, verbose: bool,
          allow_removal: bool) -> None:
    """Bring the index up to date with CORPUS folders or files.

    New articles are added, changed ones updated, and those whose files left an indexed
    folder removed; unchanged files are not read again. Formats: .txt, .html, .jsonl, .json.
    A --map is remembered for the exports it is given with.

    \b
    Examples:
      search index archive/ exports/afp.jsonl
      search index exports/lemonde.jsonl --map body=texte_integral --map title=titre
    """
    from search.index import update

    _write(update, corpus, index_dir, field_map, verbose, allow_removal)


@corpus_command
def rebuild(corpus: tuple[Path, ...], index_dir: Path, field_map: dict, verbose: bool,
            allow_removal: bool) -> None:
    """Rebuild the index from scratch from CORPUS folders or files.

    The new index replaces the old one only when it is complete; the old one is not read,
    so this also repairs a damaged index.

    \b
    Examples:
      search rebuild archive/ exports/afp.jsonl
    """
    from search.index import rebuild as rebuild_index

    _write(rebuild_index, corpus, index_dir, field_map, verbose, allow_removal)


def _write(function, corpus, index_dir: Path, field_map: dict, verbose: bool,
           allow_removal: bool) -> None:
    if not corpus:
        command = click.get_current_context().info_name
        raise click.UsageError(
            f"Name the folders or files of articles to index: `search {command} PATH...`, "
            "e.g. `search index seeds/` in the source folder for the bundled examples.")
    paths = list(corpus)
    bar = _ProgressBar() if sys.stderr.isatty() else None
    try:
        with _one_line_errors():
            report = function(
                paths,
                index_dir,
                field_map=field_map,
                allow_removal=allow_removal,
                progress=bar.advance if bar else None,
                on_start=bar.start if bar else None,
                on_stage=bar.stage if bar else None,
            )
    except KeyboardInterrupt:
        raise click.ClickException("Interrupted: the previous index is unchanged.") from None
    finally:
        if bar:
            bar.finish()
    click.echo(output.report_text(report, verbose), nl=False)


@contextmanager
def _one_line_errors() -> Iterator[None]:
    """Our errors become click's one-line `Error: ...`, made safe to print."""
    try:
        yield
    except SearchError as error:
        raise click.ClickException(output.error_line(error)) from None


class _ProgressBar:
    """click's progress bar on stderr, counted in bytes of files read (an article's cost
    grows with its size, so the time left is estimated from bytes, not files), opened
    once the work is known; then one line for each stage of the work after the last
    article."""

    def __init__(self) -> None:
        self.bar = None
        self.started = 0.0
        self.done = 0
        self.total = 0

    def start(self, total: int) -> None:
        self.started = time.monotonic()
        self.total = total
        self.bar = click.progressbar(length=max(total, 1), label="Indexing", file=sys.stderr,
                                     item_show_func=lambda shown: shown)
        self.bar.__enter__()

    def advance(self, count: int) -> None:
        self.done += count
        self.bar.update(count, output.progress_text(self.done, self.total,
                                                    time.monotonic() - self.started))

    def stage(self, what: str) -> None:
        self.finish()
        click.echo(output.stage_text(what), err=True)

    def finish(self) -> None:
        if self.bar:
            self.bar.__exit__(None, None, None)
            self.bar = None


@cli.command()
@click.option("--sources", "all_sources", is_flag=True,
              help="List every source: its key, display name and number of articles.")
@index_option
def stats(all_sources: bool, index_dir: Path) -> None:
    """What the index holds: documents, dates, sources, categories, size, last update.

    A source is known by one key: the domain of its articles' URLs without `www.`
    (`actu.orange.fr`), else the name their metadata gives, in lower case; its display
    name is the name most of its articles give (`Orange Actu`), else the key.

    \b
    Examples:
      search stats
      search stats --sources
    """
    from search.store import stats as index_stats

    with _one_line_errors():
        found = index_stats(index_dir)
    click.echo(output.sources_text(found) if all_sources else output.stats_text(found), nl=False)


@cli.command()
@index_option
def check(index_dir: Path) -> None:
    """Verify the index: every file against its checksum, every article and posting read.

    Exits with status 1 and says what to do if anything is damaged.
    """
    from search.store import check as check_index

    with _one_line_errors():
        found = check_index(index_dir)
    click.echo(output.check_text(found), nl=False)
    if found.problems:
        sys.exit(1)


@cli.command()
@click.argument("words", nargs=-1, required=True)
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 1000),
              help="How many hits to show.")
@click.option("--sort", type=click.Choice(SORT_ORDERS), default="relevance", show_default=True,
              help="Rank by relevance, or newest first.")
@click.option("--source", help="Only articles from this source: a domain, with its subdomains "
                                "(orange.fr takes actu.orange.fr), or a name (\"Orange Actu\").")
@click.option("--category", help="Only articles of this category (and its subcategories).")
@click.option("--since", metavar="DATE",
              help="Only articles dated DATE or later: 2020, 2020-06, 2020-06-15.")
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
    with _one_line_errors():
        filters = Filters(source=source, category=category, since=since, until=until)
        results = search(index_dir, " ".join(words), limit=limit, sort=sort, filters=filters)
    if as_json:
        click.echo(output.results_json(results), nl=False)
    else:
        click.echo(output.results_text(results, output.style_for(sys.stdout)), nl=False)


def main() -> None:
    """Entry point; a closed pipe (`search query x | head`) ends quietly, and a terminal
    that cannot show a character (a Latin-1 locale) gets its escape instead of a crash."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    try:
        cli(prog_name="search")
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(1)


