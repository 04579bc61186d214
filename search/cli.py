"""The `search` command: parse options, call one library function, print."""

from __future__ import annotations

import functools
import io
import itertools
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from click.core import ParameterSource

from search import output
from search.backend import BACKENDS, Backend, open_backend, reading
from search.errors import SearchError
from search.models import BUCKETS, SORT_ORDERS, Filters


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


def backend_options(function):
    """--index, --backend and --url, given to the command as one `backend`."""

    @functools.wraps(function)
    def with_backend(*args, index_dir: Path, backend_name: str | None, url: str | None,
                     **kwargs):
        with _one_line_errors():
            backend = open_backend(backend_name, index_dir=index_dir, url=url)
        return function(*args, backend=backend, **kwargs)

    for decorator in reversed([
        index_option,
        click.option("--backend", "backend_name", envvar="SEARCH_BACKEND",
                     type=click.Choice(BACKENDS),
                     help="Where the index lives: whoosh (a folder, the default) or "
                          "opensearch (a cluster; or set SEARCH_BACKEND)."),
        click.option("--url", envvar="SEARCH_URL", metavar="URL",
                     help="The OpenSearch cluster, e.g. http://localhost:9200 (or set "
                          "SEARCH_URL)."),
    ]):
        with_backend = decorator(with_backend)
    return with_backend


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
        backend_options,
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
def index(corpus: tuple[Path, ...], backend: Backend, field_map: dict, verbose: bool,
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
    _write(backend, corpus, False, field_map, verbose, allow_removal)


@corpus_command
def rebuild(corpus: tuple[Path, ...], backend: Backend, field_map: dict, verbose: bool,
            allow_removal: bool) -> None:
    """Rebuild the index from scratch from CORPUS folders or files, or, given none, from
    the files the index lists (what an index written by an older version needs).

    The new index replaces the old one only when it is complete; the old one is not read
    beyond its list of files, so this also repairs a damaged index.

    \b
    Examples:
      search rebuild archive/ exports/afp.jsonl
      search rebuild
    """
    _write(backend, corpus, True, field_map, verbose, allow_removal)


def _write(backend: Backend, corpus, fresh: bool, field_map: dict, verbose: bool,
           allow_removal: bool) -> None:
    if not corpus and not fresh:
        command = click.get_current_context().info_name
        raise click.UsageError(
            f"Name the folders or files of articles to index: `search {command} PATH...`, "
            "e.g. `search index seeds/` in the source folder for the bundled examples.")
    paths = list(corpus)
    bar = _ProgressBar() if sys.stderr.isatty() else None
    try:
        with _one_line_errors():
            report = backend.update(
                paths,
                fresh=fresh,
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
@backend_options
def stats(all_sources: bool, backend: Backend) -> None:
    """What the index holds: documents, dates, sources, categories, size, last update.

    A source is known by one key: the domain of its articles' URLs without `www.`
    (`actu.orange.fr`), else the name their metadata gives, in lower case; its display
    name is the name most of its articles give (`Orange Actu`), else the key.

    \b
    Examples:
      search stats
      search stats --sources
    """
    with _one_line_errors():
        found = backend.stats()
    click.echo(output.sources_text(found) if all_sources else output.stats_text(found), nl=False)


@cli.command()
@backend_options
def check(backend: Backend) -> None:
    """Verify the index: every file against its checksum, every article and posting read.

    Exits with status 1 and says what to do if anything is damaged.
    """
    with _one_line_errors():
        found = backend.check()
    click.echo(output.check_text(found), nl=False)
    if found.problems:
        sys.exit(1)


_DATE_HELP = ("2020, 2020-06, 2020-06-15, or today, yesterday, 7d, 30d, 3m, 1y (days, "
              "weeks, months or years before today)")


def filter_options(function):
    """The filters `query` and `count` share."""
    for decorator in reversed([
        click.option("--source", help="Only articles from this source: a domain, with its "
                                      "subdomains (orange.fr takes actu.orange.fr), or a name "
                                      "(\"Orange Actu\")."),
        click.option("--category", help="Only articles of this category (and its "
                                        "subcategories)."),
        click.option("--since", metavar="DATE", help=f"Only articles dated DATE or later: "
                                                      f"{_DATE_HELP}."),
        click.option("--until", metavar="DATE", help="Only articles dated DATE or earlier."),
    ]):
        function = decorator(function)
    return function


def _filters(source: str | None, category: str | None, since: str | None,
             until: str | None) -> Filters:
    """The filter options as `Filters`; one given empty is a usage error, not no filter."""
    given = {"source": source, "category": category, "since": since, "until": until}
    for name, value in given.items():
        if value is not None and not value.strip():
            raise click.ClickException(f"--{name} is empty: give a value, or leave --{name} "
                                       "out.")
    return Filters(**given)


def _given(ctx: click.Context, name: str) -> bool:
    """Whether the option `name` was given on the command line (or by the environment)."""
    return ctx.get_parameter_source(name) is not ParameterSource.DEFAULT


@cli.command()
@click.argument("words", nargs=-1)
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 1000),
              help="How many hits to show.")
@click.option("--sort", type=click.Choice(SORT_ORDERS), default="relevance", show_default=True,
              help="Rank by relevance, or newest first.")
@filter_options
@click.option("--copies", is_flag=True,
              help="Show every copy of a dispatch as a hit of its own (by default, a group of "
                   "near-identical articles shows once, by its earliest that the query finds, "
                   "with \"+N copies\").")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--explain", "with_explain", is_flag=True,
              help="With --json: what each word searched (see `search explain`).")
@click.option("--facets", is_flag=True,
              help="Add the top sources, categories and years of all the hits.")
@click.option("--all", "every_hit", is_flag=True,
              help="Every hit, however many (with --csv or --jsonl), streamed as found.")
@click.option("--csv", "as_csv", is_flag=True, help="Print the hits as CSV, a header first.")
@click.option("--jsonl", "as_jsonl", is_flag=True, help="Print one JSON object per hit.")
@click.option("--fields", default=",".join(output.DEFAULT_EXPORT_FIELDS), show_default=True,
              help="Columns of --csv and --jsonl, among: "
                   + ",".join(output.EXPORT_FIELDS) + ".")
@backend_options
@click.pass_context
def query(ctx: click.Context, words: tuple[str, ...], limit: int, sort: str,
          source: str | None, category: str | None, since: str | None, until: str | None,
          copies: bool, as_json: bool, with_explain: bool, facets: bool, every_hit: bool,
          as_csv: bool, as_jsonl: bool, fields: str, backend: Backend) -> None:
    """Search the index. Words are ANDed and find their word family (cooperation finds
    coopérer); also "phrases", OR, NOT, -word, (groups), title:/lead:/body:/dateline:/
    category:/author: fields, word* truncation and word~ fuzzy terms.

    A "quoted phrase" and a word marked = (=Maroc) find the words as written (case,
    accents and l' d' aside), stop words in their place; "a b"~5: a and b as written, at
    most 5 words apart. word* completes what was typed (visit*: visite, visiteurs); word~
    ranks the word itself above the words one edit away. A query that finds at most 2
    articles suggests close words of the archive.

    a NEAR/5 b: at most 5 words apart in any order (NEAR alone is NEAR/10, w/5 is NEAR/5;
    stop words are not counted); a SAME b: in the same paragraph (paragraphs are separated
    by a blank line, and a text without one, as JSONL exports often are, is one paragraph:
    SAME then means in the same field of the article). Both sides of NEAR and SAME are in
    one field.

    With no words, the filters list their articles, newest first.

    \b
    Examples:
      search query cooperation bilaterale
      search query '"Union interparlementaire"'
      search query '"renforcer la coopération"' =Maroc
      search query 'Tokaiev~ -Rabat'
      search query 'coop*' --json --explain
      search query 'Maroc NEAR/5 Kazakhstan'
      search query maroc --facets
      search query --source afp.com --since 7d
      search query maroc --all --csv --fields id,date,title,url > maroc.csv
      search query maroc --copies
    """
    text = " ".join(words)
    filters = _filters(source, category, since, until)
    if not words and not any(vars(filters).values()):
        raise click.UsageError("Missing argument 'WORDS...'.", ctx=ctx)
    if not text.strip() and sort == "relevance" and _given(ctx, "sort"):
        raise click.ClickException("--sort relevance ranks the articles by their words: give "
                                   "words, or leave --sort out to list the filters' articles "
                                   "newest first.")
    if with_explain and not as_json:
        raise click.UsageError("--explain goes with --json; `search explain` prints it as text.")
    if as_csv + as_jsonl + as_json > 1:
        raise click.UsageError("Choose one of --json, --csv and --jsonl.")
    if every_hit and not (as_csv or as_jsonl):
        raise click.UsageError("--all prints every hit as --csv or --jsonl: add one of them.")
    exported = as_csv or as_jsonl
    if _given(ctx, "fields") and not exported:
        raise click.UsageError("--fields chooses the columns of --csv or --jsonl: add one of them.")
    if facets and exported:
        raise click.UsageError("--facets goes with the text or --json output, not with --csv or "
                               "--jsonl; `search count --by source` counts in CSV.")
    if as_csv or as_jsonl:
        _export(text, sort, filters, fields, as_csv, limit=None if every_hit else limit,
                backend=backend)
        return
    with _one_line_errors(), reading(backend) as reader:
        results = reader.search(text, limit=limit, sort=sort, filters=filters,
                         facets=facets, explain=with_explain, copies=copies)
    if as_json:
        click.echo(output.results_json(results), nl=False)
    else:
        click.echo(output.results_text(results, output.style_for(sys.stdout)), nl=False)


@cli.command()
@click.argument("words", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@backend_options
def explain(words: tuple[str, ...], as_json: bool, backend: Backend) -> None:
    """Show what each word of a query searches: its index terms, where each came from
    (lexicon, stem, exact, truncated, fuzzy), how many articles have it, and the words as
    written in the archive that it stands for, to see why an article matched and which
    form to exclude.

    \b
    Examples:
      search explain Maroc
      search explain 'coop* "renforcer la coopération" Tokaiev~'
      search explain --json ambassadrice
    """
    with _one_line_errors(), reading(backend) as reader:
        found = reader.explain(" ".join(words))
    click.echo(output.explanation_json(found) if as_json else output.explanation_text(found),
               nl=False)


def _export(text: str, sort: str, filters: Filters, fields: str, as_csv: bool,
            limit: int | None, backend: Backend) -> None:
    """Hits printed as they are read from the index, never all held at once."""
    try:
        columns = output.check_fields(fields)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="'--fields'") from None
    with _one_line_errors(), reading(backend) as reader:
        hits = reader.stream(text, sort=sort, filters=filters,
                          snippets="snippet" in columns, bodies="body" in columns,
                          limit=limit)
        first = list(itertools.islice(hits, 1))  # a bad filter fails before the header
        if as_csv:
            click.echo(output.hits_csv_header(columns), nl=False)
        for hit in itertools.chain(first, hits):
            click.echo(output.hit_csv(hit, columns) if as_csv
                       else output.hit_jsonl(hit, columns), nl=False)
        hits.close()


@cli.command()
@click.argument("words", nargs=-1)
@click.option("--by", type=click.Choice(BUCKETS), default="month", show_default=True,
              help="Count by month, ISO week, year, source or category.")
@filter_options
@click.option("--compare", "others", multiple=True, metavar="QUERY",
              help="Count another query on the same buckets, side by side (repeatable).")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV: the bucket, then one column "
                                                    "per query.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@backend_options
def count(words: tuple[str, ...], by: str, source: str | None, category: str | None,
          since: str | None, until: str | None, others: tuple[str, ...], as_csv: bool,
          as_json: bool, backend: Backend) -> None:
    """Count the articles matching a query (all of them, no cap), by month, week, year,
    source or category: a table with bars, or --csv / --json for a spreadsheet or a plot.

    Words are read as by `search query`, every word required (no partial matches). With
    no words, every article the filters let through is counted. Dates in between with no
    article are listed with 0; articles whose date is missing or less precise than the
    bucket (a year alone, counted by month) are counted on rows of their own, so the rows
    always sum to the total.

    \b
    Examples:
      search count maroc
      search count maroc --by year --compare algerie --compare tunisie
      search count --by source --since 1y
      search count 'Macron NEAR/3 Poutine' --by week --since 2020-01 --csv > weeks.csv
    """
    if as_csv and as_json:
        raise click.UsageError("Choose one of --csv and --json.")
    if any(not other.strip() for other in others):
        raise click.UsageError("--compare takes a query; to count every article, leave the "
                               "words of the first one out.")
    filters = _filters(source, category, since, until)
    with _one_line_errors(), reading(backend) as reader:
        table = reader.count([" ".join(words), *others], by=by, filters=filters)
    if as_csv:
        click.echo(output.count_csv(table), nl=False)
    elif as_json:
        click.echo(output.count_json(table), nl=False)
    else:
        click.echo(output.count_text(table), nl=False)


@cli.command()
@click.argument("article_id", metavar="ID")
@click.option("--highlight", metavar="QUERY", help="Mark the words of this query.")
@click.option("--copies", is_flag=True,
              help="List the article's group of copies of one dispatch instead, the earliest "
                   "first, with each one's similarity.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@backend_options
def show(article_id: str, highlight: str | None, copies: bool, as_json: bool,
         backend: Backend) -> None:
    """Print one whole article: its metadata, then its text paragraph by paragraph (where
    the source had paragraphs), with the words of --highlight marked as `query` marks them.
    ID is the `id` of `search query --json` or of an export.

    \b
    Examples:
      search show 004_4f1f39c146262a98.txt --highlight 'securite alimentaire'
      search show 'orangesum.jsonl#18790' --json
      search show 'orangesum.jsonl#18790' --copies
    """
    if copies:
        with _one_line_errors(), reading(backend) as reader:
            group = reader.copies_of(article_id)
        click.echo(output.copies_json(article_id, group) if as_json
                   else output.copies_text(article_id, group, output.style_for(sys.stdout)),
                   nl=False)
        return
    with _one_line_errors(), reading(backend) as reader:
        view = reader.article(article_id, highlight)
    if as_json:
        click.echo(output.article_json(view), nl=False)
    else:
        click.echo(output.article_text(view, output.style_for(sys.stdout)), nl=False)


@cli.command()
@backend_options
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on: 127.0.0.1 serves this machine only; 0.0.0.0 "
                   "every network it is on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535),
              help="Port to listen on.")
def serve(backend: Backend, host: str, port: int) -> None:
    """Serve the search as a web page, in French, for colleagues who do not use a terminal.

    The same queries, filters, facets, counts and CSV export as the commands, over the
    same index, read-only; a new index written by `search index` is picked up without a
    restart. Open http://HOST:PORT/ in a browser; Ctrl-C stops it.

    \b
    Examples:
      search serve
      search serve --index /srv/press/index --host 0.0.0.0 --port 8080
    """
    from search.web.serve import run

    def ready(url: str) -> None:
        click.echo(f"Serving {output.visible(backend.location)} on {url} (Ctrl-C stops).",
                   err=True)

    with _one_line_errors():
        run(backend, host=host, port=port, on_ready=ready)


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


