import csv
import io
import json
import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from click.testing import CliRunner

from search import output
from search.cli import cli
from search.index import build
from search.models import Article

from .conftest import RABAT, SEEDS, TACHKENT, write_export


@pytest.fixture
def run():
    def invoke(*args: str):
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return invoke


@pytest.fixture
def built(run, isolated_index):
    assert run("rebuild", str(SEEDS)).exit_code == 0
    return isolated_index


def test_every_command_has_help(run):
    for name, command in cli.commands.items():
        assert command.help, name
        assert run(name, "--help").exit_code == 0


def test_rebuild_reports_what_it_did(run, isolated_index):
    result = run("rebuild", str(SEEDS))
    assert result.exit_code == 0
    assert result.output == (
        f"Index {isolated_index}: 2 added, 0 updated, 0 removed, 0 unchanged, 0 skipped.\n"
    )


def test_rebuild_lists_skipped_files(run, tmp_path, isolated_index):
    (tmp_path / "good.txt").write_text("Un titre\n\nUn article sur Lomé.", encoding="utf-8")
    (tmp_path / "image.txt").write_bytes(b"\x89PNG\x00\x00")
    result = run("rebuild", str(tmp_path))
    assert result.exit_code == 0
    assert result.output == (
        f"Index {isolated_index}: 1 added, 0 updated, 0 removed, 0 unchanged, 1 skipped.\n"
        f"  skipped {tmp_path / 'image.txt'}: binary file\n"
    )


def test_query_prints_ranked_hits_with_marked_snippets(run, built):
    result = run("query", "cooperation", "bilaterale")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == "2 articles match «cooperation bilaterale»."
    assert lines[2].startswith("1. Le Maroc et le Kazakhstan renforcent")
    assert lines[3].startswith(f"   undated · Politique · {SEEDS / RABAT} · score ")
    assert "**coopération** **bilatérale**" in lines[4]
    assert lines[6].startswith("2. Le président du Mazhilis")
    assert lines[7].startswith(f"   2025-04 · dateline Tachkent · {SEEDS / TACHKENT} · score ")
    assert "\x1b[" not in result.output  # not a terminal: plain markers, no colour codes


def test_query_partial_matches_say_so(run, built):
    result = run("query", "Azoulay", "Errachid")
    assert result.output.splitlines()[0] == (
        "No article contains all the words; showing the best partial matches."
    )


def test_query_limit(run, built):
    result = run("query", "--limit", "1", "coopération")
    assert result.output.splitlines()[0] == "2 articles match «coopération» (showing 1)."


def test_query_with_no_match(run, built):
    result = run("query", "Kénitra")
    assert (result.exit_code, result.output) == (0, "No article matches «Kénitra».\n")


def test_query_json(run, built):
    result = run("query", "--json", "cooperation")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert (data["query"], data["total"], data["partial"]) == ("cooperation", 2, False)
    for hit in data["hits"]:
        assert {"id", "path", "title", "date", "score", "snippet", "highlights"} <= set(hit)
        words = {hit["snippet"][start:end] for start, end in hit["highlights"]}
        assert words == {"coopération"}


@pytest.mark.parametrize(
    "args, message",
    [
        (["query", '"Union'], 'Error: Unbalanced quote: close the phrase with another ".'),
        (["query", "maroc", "AND"], "Error: The query ends with an operator: add a word after it."),
        (["query", "title:"],
         "Error: The field 'title:' has no value: write title:word or title:\"a phrase\"."),
        (["query", " "], "Error: The query is empty: give one or more words to search for."),
        (["query", "x" * 5000], "Error: The query is too long (5000 characters; at most 1000)."),
        (["rebuild", "nowhere"], "Error: No such file or folder: nowhere"),
    ],
)
def test_bad_input_gets_one_line_and_exit_1(run, built, args, message):
    result = run(*args)
    assert (result.exit_code, result.output) == (1, message + "\n")


def test_missing_index_says_how_to_build_it(run, isolated_index):
    result = run("query", "maroc")
    assert (result.exit_code, result.output) == (
        1, f"Error: No index in {isolated_index}/: run `search index PATH...` first.\n"
    )


@pytest.mark.parametrize("data_home, expected", [
    ("{tmp}/data", "{tmp}/data/search/index"),
    ("", "{tmp}/home/.local/share/search/index"),
    ("relative/data", "{tmp}/home/.local/share/search/index"),  # XDG: a relative one is ignored
])
def test_the_default_index_is_the_users_wherever_the_command_runs(
        run, tmp_path, monkeypatch, data_home, expected):
    monkeypatch.delenv("SEARCH_INDEX")
    monkeypatch.setenv("XDG_DATA_HOME", data_home.format(tmp=tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    assert run("index", str(SEEDS)).exit_code == 0
    folder = expected.format(tmp=tmp_path)
    assert (Path(folder) / "CURRENT").is_file()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert run("query", "Tachkent").output.startswith("1 article matches")
    assert not (elsewhere / "index").exists() and not (tmp_path / "index").exists()
    assert run("stats").output.startswith(f"Index:       {folder}\n")


def test_indexing_without_a_path_says_what_to_give(run, isolated_index):
    result = run("index")
    assert (result.exit_code, result.output) == (2, (
        "Error: Name the folders or files of articles to index: `search index PATH...`, "
        "e.g. `search index seeds/` in the source folder for the bundled examples. "
        "See `search index --help`.\n"))
    assert not isolated_index.exists()


def test_rebuilding_without_a_path_an_index_that_is_not_there_says_what_to_give(
        run, isolated_index):
    """`search rebuild` alone reads the files an index lists; there is none to read."""
    result = run("rebuild")
    assert (result.exit_code, result.output) == (1, (
        f"Error: The index in {isolated_index}/ lists no files to rebuild from: name the "
        "folders or files of articles, `search rebuild PATH...`.\n"))
    assert not isolated_index.exists()


def test_index_option_overrides_the_environment(run, built, tmp_path):
    result = run("query", "--index", str(tmp_path / "other"), "maroc")
    assert (result.exit_code, result.output) == (
        1, f"Error: No index in {tmp_path / 'other'}/: run `search index PATH...` first.\n"
    )


def test_corrupt_index_gets_one_line_and_exit_1(run, built):
    (built / "CURRENT").write_text("gen-gone\n")
    result = run("query", "maroc")
    assert (result.exit_code, result.output) == (
        1,
        f"Error: The index in {built}/ is damaged (CURRENT names gen-gone, which is "
        "missing). Run `search rebuild` to rebuild it.\n",
    )


def test_python_dash_m_runs_the_cli_and_errors_go_to_stderr(built):
    process = subprocess.run([sys.executable, "-m", "search", "query", '"Union'],
                             capture_output=True, text=True)
    assert process.returncode == 1
    assert process.stdout == ""
    assert process.stderr == 'Error: Unbalanced quote: close the phrase with another ".\n'


CLEAR, OSC52, OSC0 = "\x1b[2J", "\x1b]52;c;cm0gLXJmIH4=\x07", "\x1b]0;pwned\x1b\\"
BEL, BACKSPACE, CSI8 = "\x07", "\x08", "\x9b"
ATTACK = CLEAR + OSC52 + OSC0 + BEL + BACKSPACE + CSI8 + "31m"
SHOWN = r"\x1b[2J\x1b]52;c;cm0gLXJmIH4=\x07\x1b]0;pwned\x1b\\x07\x08\x9b31m"
OUR_CODES = re.compile(r"\x1b\[(?:1;33|2|1|0)m")


HOSTILE_BODY = "Le ministre évoque la coopération régionale. " * 60


@pytest.fixture
def hostile_index(tmp_path):
    """One article whose every field and body hold terminal escapes and controls, as an
    index written by an earlier version, or by a program through `build`, can hold them
    (reading files now turns them into spaces: see the test below)."""
    article = Article(
        id="a.txt", path=str(tmp_path / "a.txt"), title=f"Sommet{ATTACK} sur la coopération",
        source=f"afp{BEL}.com", url=f"https://afp.com/{OSC0}", category=f"Poli{CSI8}tique",
        dateline=f"Ra{BACKSPACE}bat",
        body=f"La coopération{OSC52} bilatérale{BEL}{BACKSPACE}{CSI8}2J avance.\n\n"
             f"{HOSTILE_BODY}")
    build([article], tmp_path / "index")
    return tmp_path / "index"


def test_controls_in_an_article_file_are_read_as_spaces(run, tmp_path, isolated_index):
    (tmp_path / "a.txt").write_text(
        f"title: Sommet{ATTACK} sur la coopération\n\nLa coopération{OSC52} avance.\n\n"
        f"{HOSTILE_BODY}", "utf-8")
    assert run("rebuild", str(tmp_path / "a.txt")).exit_code == 0
    lines = run("query", "coopération").output.splitlines()
    assert lines[2] == r"1. Sommet [2J ]52;c;cm0gLXJmIH4= ]0;pwned \ 31m sur la coopération"


def _unsafe(text: str) -> list[str]:
    """Controls and format characters of `text`, other than its newlines."""
    return [c for c in text if unicodedata.category(c) in {"Cc", "Cf", "Cs"} and c != "\n"]


def test_hostile_article_prints_safely(run, hostile_index):
    result = run("query", "coopération", "bilatérale")
    assert result.exit_code == 0
    assert _unsafe(result.output) == []
    lines = result.output.splitlines()
    assert lines[:3] == ["1 article matches «coopération bilatérale».", "",
                         rf"1. Sommet{SHOWN} sur la coopération"]
    assert re.fullmatch(r"   undated · afp\\x07\.com · dateline Ra\\x08bat · Poli\\x9btique · "
                        r"https://afp\.com/\\x1b\]0;pwned\\x1b\\ · score \d+\.\d\d", lines[3])
    assert lines[4].startswith(
        r"   La **coopération**\x1b]52;c;cm0gLXJmIH4=\x07 **bilatérale**\x07\x08\x9b2J avance."
    )
    assert len(lines) == 5


def test_hostile_article_on_a_terminal_keeps_only_our_colours(hostile_index, monkeypatch):
    monkeypatch.setattr(output, "style_for", lambda stream: output.TerminalStyle())
    result = CliRunner().invoke(cli, ["query", "coopération", "bilatérale"], color=True)
    assert result.exit_code == 0
    assert "\x1b[1;33mbilatérale\x1b[0m" in result.output
    assert result.output.splitlines()[2] == f"1. \x1b[1mSommet{SHOWN} sur la coopération\x1b[0m"
    assert _unsafe(OUR_CODES.sub("", result.output)) == []


def test_hostile_article_in_json(run, hostile_index):
    result = run("query", "--json", "coopération", "bilatérale")
    assert result.exit_code == 0
    assert _unsafe(result.output) == []
    result.output.encode("utf-8")
    hit, = json.loads(result.output)["hits"]
    # the source's key is its URL's domain; the name it gives is kept exact
    assert (hit["title"], hit["source"], hit["source_name"], hit["url"], hit["category"],
            hit["dateline"]) == (
        f"Sommet{ATTACK} sur la coopération", "afp.com", f"afp{BEL}.com", f"https://afp.com/{OSC0}",
        f"Poli{CSI8}tique", f"Ra{BACKSPACE}bat",
    )
    assert {hit["snippet"][start:end] for start, end in hit["highlights"]} == {
        "coopération", "bilatérale"}
    assert f"{OSC52} bilatérale{BEL}{BACKSPACE}{CSI8}2J" in hit["snippet"]


def test_skipped_files_with_odd_names_take_one_line_each(run, tmp_path, isolated_index):
    (tmp_path / "good.txt").write_text("Un titre\n\nUn article sur Lomé.", encoding="utf-8")
    (tmp_path / f"bad\n{CLEAR}\u202etxt.exe.txt").write_bytes(b"\x89PNG\x00\x00")
    result = run("rebuild", str(tmp_path))
    assert (result.exit_code, result.output) == (0, (
        f"Index {isolated_index}: 1 added, 0 updated, 0 removed, 0 unchanged, 1 skipped.\n"
        f"  skipped {tmp_path}/bad\\n\\x1b[2J\\u202etxt.exe.txt: binary file\n"
    ))


def test_skipped_files_with_non_utf8_names(run, tmp_path, isolated_index):
    (tmp_path / "good.txt").write_text("Un titre\n\nUn article sur Lomé.", encoding="utf-8")
    (tmp_path / os.fsdecode(b"bad\xff.txt")).write_bytes(b"\x89PNG\x00\x00")
    result = run("rebuild", str(tmp_path))
    assert (result.exit_code, result.output) == (0, (
        f"Index {isolated_index}: 1 added, 0 updated, 0 removed, 0 unchanged, 1 skipped.\n"
        f"  skipped {tmp_path}/bad\\xff.txt: binary file\n"
    ))


def test_error_messages_print_safely_on_one_line(run, isolated_index):
    result = run("rebuild", f"no{CLEAR}where\n{OSC0}")
    assert (result.exit_code, result.output) == (
        1, "Error: No such file or folder: no\\x1b[2Jwhere\\n\\x1b]0;pwned\\x1b\\\\\n"
    )


def test_a_bad_field_map_is_quoted_safely(run):
    result = run("rebuild", "--map", f"body{CLEAR}")
    assert result.exit_code == 2
    assert "Invalid value for '--map': 'body\\x1b[2J': write FIELD=NAME" in result.output
    assert _unsafe(result.output) == []


def test_a_terminal_that_cannot_show_a_character_gets_its_escape(built):
    process = subprocess.run(
        [sys.executable, "-m", "search", "query", "securite", "alimentaire"],
        capture_output=True, env=os.environ | {"PYTHONIOENCODING": "latin-1"},
    )
    assert (process.returncode, process.stderr) == (0, b"")
    last_line = process.stdout.decode("latin-1").splitlines()[-1]
    assert last_line.endswith("la santé et le changement climatique. Il a aussi jugé nécessaire \\u2026")


def test_check_says_the_index_is_whole(run, built):
    result = run("check")
    assert (result.exit_code, result.output) == (0, (
        f"Index {built}: 2 articles; 5 files match their checksums; every article and posting "
        "could be read. No damage found.\n"))


def test_check_names_the_damage_and_the_fix(run, built):
    generation = built / (built / "CURRENT").read_text().strip()
    [segment] = generation.glob("*.seg")
    data = bytearray(segment.read_bytes())
    data[len(data) // 2] ^= 1
    segment.write_bytes(bytes(data))
    result = run("check")
    assert (result.exit_code, result.output) == (1, (
        f"Index {built}: damaged.\n"
        f"  {generation.name}/{segment.name} has changed since it was written\n"
        "Run `search rebuild` with the folders and files you indexed: it builds a new index "
        "without reading the damaged one.\n"))
    assert run("rebuild", str(SEEDS)).exit_code == 0
    assert run("check").exit_code == 0


def test_a_mass_removal_needs_yes(run, tmp_path, isolated_index):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for n in range(20):
        (corpus / f"{n:02}.txt").write_text(f"Dépêche {n}\n\nVisite à Lomé {n}.", "utf-8")
    assert run("index", str(corpus)).exit_code == 0
    result = run("rebuild", str(SEEDS))
    assert (result.exit_code, result.output) == (1, (
        f"Error: This would remove 20 of the 20 articles of the index in {isolated_index}/ (a "
        "rebuild keeps only the articles of the paths it is given). Nothing was changed; run "
        "the command again with --yes to remove them.\n"))
    result = run("rebuild", str(SEEDS), "--yes")
    assert (result.exit_code, result.output) == (
        0, f"Index {isolated_index}: 2 added, 0 updated, 0 removed, 0 unchanged, 0 skipped.\n")


def test_stats_show_the_field_maps(run, tmp_path, isolated_index):
    export = tmp_path / "fr.jsonl"
    export.write_text(json.dumps({"id": 1, "texte": "Visite à Lomé."}), "utf-8")
    assert run("index", str(export), "--map", "body=texte").exit_code == 0
    assert run("stats").output.endswith(f"Field maps:\n  {export}: body=texte\n")


@pytest.mark.parametrize("args, message", [
    (["query", "x", "--limit", "0"],
     "Error: Invalid value for '--limit': 0 is not in the range 1<=x<=1000. "
     "See `search query --help`.\n"),
    (["query"], "Error: Missing argument 'WORDS...'. See `search query --help`.\n"),
    (["query", "x", "--sort", "oldest"],
     "Error: Invalid value for '--sort': 'oldest' is not one of 'relevance', 'date'. "
     "See `search query --help`.\n"),
    (["search"], "Error: No such command 'search'. See `search --help`.\n"),
    (["index", "--no-such-option"],
     "Error: No such option '--no-such-option'. See `search index --help`.\n"),
])
def test_usage_errors_are_one_line_too(args, message):
    result = CliRunner().invoke(cli, args)
    assert (result.exit_code, result.output) == (2, message)


def test_explain_prints_each_word_s_terms(run, built):
    result = run("explain", "coop*", '"président de la République"')
    assert result.exit_code == 0
    assert result.output == (
        "coop* (in title, lead, dateline, body)\n"
        "  cooperation: truncated, 2 articles\n"
        '"président de la République" (in title, lead, dateline, body)\n'
        "  president: exact, 2 articles\n"
        "  de: exact, 2 articles\n"
        "  la: exact, 2 articles\n"
        "  republique: exact, 1 article\n"
    )
    data = json.loads(run("explain", "--json", "coop*").output)
    assert data["words"][0]["terms"][0]["term"] == "cooperation"


def test_query_json_explain(run, built):
    data = json.loads(run("query", "--json", "--explain", "coop*").output)
    assert (data["total"], data["explain"][0]["word"]) == (2, "coop*")
    assert "explain" not in json.loads(run("query", "--json", "coop*").output)


def test_explain_without_json_is_a_usage_error(run, built):
    result = CliRunner().invoke(cli, ["query", "--explain", "coop*"])
    assert result.exit_code == 2
    assert result.output == ("Error: --explain goes with --json; `search explain` prints it as "
                             "text. See `search query --help`.\n")


def test_explain_a_bad_query_is_one_line(run, built):
    result = CliRunner().invoke(cli, ["explain", "co*"])
    assert result.exit_code == 1
    assert result.output == "Error: Truncation needs at least 3 letters before * or ?: 'co*'.\n"


# Views (issue 12): count, facets, exports, words-less filters, show.

def test_count_prints_a_table_with_bars(run, built):
    result = run("count", "maroc", "--by", "year")
    assert (result.exit_code, result.output) == (0, (
        "«maroc» 2 articles, by year.\n"
        f"2025      1 {'█' * 40}\n"
        f"(undated) 1 {'█' * 40}\n"))


def test_count_compares_queries_in_csv_and_json(run, built):
    result = run("count", "maroc", "--compare", "tachkent", "--by", "year", "--csv")
    assert (result.exit_code, result.output) == (
        0, "year,maroc,tachkent\n2025,1,1\n(undated),1,0\n")
    data = json.loads(run("count", "maroc", "--compare", "tachkent", "--json").output)
    assert data == {"by": "month",
                    "queries": [{"query": "maroc", "total": 2}, {"query": "tachkent", "total": 1}],
                    "buckets": [{"label": "2025-04", "counts": [1, 1]},
                                {"label": "(undated)", "counts": [1, 0]}]}


@pytest.mark.parametrize("args, message", [
    (["count", "maroc", "--by", "day"],
     "Error: Invalid value for '--by': 'day' is not one of 'month', 'week', 'year', 'source', "
     "'category'. See `search count --help`."),
    (["count", "maroc", "--csv", "--json"],
     "Error: Choose one of --csv and --json. See `search count --help`."),
    (["query", "maroc", "--all"],
     "Error: --all prints every hit as --csv or --jsonl: add one of them. "
     "See `search query --help`."),
    (["query", "maroc", "--csv", "--fields", "id,titre"],
     "Error: Invalid value for '--fields': Unknown field 'titre'; the fields are: "
     "id,date,source,category,title,url,path,score,snippet,body. See `search query --help`."),
    (["query", "maroc", "--csv", "--jsonl"],
     "Error: Choose one of --json, --csv and --jsonl. See `search query --help`."),
    (["query", "maroc", "--fields", "id"],
     "Error: --fields chooses the columns of --csv or --jsonl: add one of them. "
     "See `search query --help`."),
    (["query", "maroc", "--csv", "--facets"],
     "Error: --facets goes with the text or --json output, not with --csv or --jsonl; "
     "`search count --by source` counts in CSV. See `search query --help`."),
    (["count", "maroc", "--compare", " "],
     "Error: --compare takes a query; to count every article, leave the words of the first "
     "one out. See `search count --help`."),
])
def test_view_usage_errors_are_one_line(run, built, args, message):
    result = run(*args)
    assert (result.exit_code, result.output) == (2, message + "\n")


@pytest.mark.parametrize("args, message", [
    (["query", "--since", "2020", "--sort", "relevance"],
     "Error: --sort relevance ranks the articles by their words: give words, or leave "
     "--sort out to list the filters' articles newest first."),
    (["query", "--source", ""],
     "Error: --source is empty: give a value, or leave --source out."),
    (["count", "maroc", "--category", " "],
     "Error: --category is empty: give a value, or leave --category out."),
])
def test_options_that_cannot_filter_or_rank_are_one_error(run, built, args, message):
    result = run(*args)
    assert (result.exit_code, result.output) == (1, message + "\n")


def test_count_since_a_preset(run, built, monkeypatch):
    from datetime import date

    from search import dates
    monkeypatch.setattr(dates, "today", lambda: date(2025, 6, 1))
    result = run("count", "--since", "3m", "--csv")
    assert (result.exit_code, result.output) == (0, "month,all\n2025-03,0\n2025-04,1\n")


def test_query_facets_in_text_and_json(run, built):
    lines = run("query", "maroc", "--facets", "--limit", "1").output.splitlines()
    assert lines[-3:] == ["Sources: (no source) 2", "Categories: (no category) 1 · politique 1",
                          "Years: (undated) 1 · 2025 1"]
    data = json.loads(run("query", "maroc", "--facets", "--json").output)
    assert data["facets"]["category"] == {
        "counts": [{"label": "(no category)", "count": 1}, {"label": "politique", "count": 1}],
        "others": 0}


def test_query_without_words_lists_the_filtered_articles(run, built):
    result = run("query", "--since", "2025")
    assert result.output.splitlines()[:3] == [
        "1 article matches the filters, newest first.", "",
        "1. Le président du Mazhilis, assemblée nationale du Kazakhstan, Koshanov Yerlan "
        "Zhakanovic, a appelé, dimanche à Tachkent…"]


def test_query_all_streams_every_hit_as_csv_and_jsonl(run, built):
    result = run("query", "maroc", "--all", "--csv", "--fields", "id,date,score")
    rows = result.output.splitlines()
    assert rows[0] == "id,date,score" and len(rows) == 3
    assert [row.split(",")[:2] for row in rows[1:]] == [[RABAT, ""], [TACHKENT, "2025-04"]]
    lines = run("query", "maroc", "--all", "--jsonl", "--fields", "id,body").output.splitlines()
    bodies = [json.loads(line) for line in lines]
    assert [set(hit) for hit in bodies] == [{"id", "body"}] * 2
    assert "\n\n" in bodies[1]["body"]


def test_query_csv_without_all_keeps_the_limit(run, built):
    assert len(run("query", "maroc", "--csv", "--limit", "1").output.splitlines()) == 2


def test_hostile_article_in_csv_and_jsonl(run, hostile_index):
    result = run("query", "coopération", "--csv", "--fields", "title,source,snippet,body")
    assert result.exit_code == 0
    assert [c for c in result.output if unicodedata.category(c) in {"Cc", "Cf", "Cs"}
            and c != "\n"] == []
    [row] = list(csv.DictReader(io.StringIO(result.output)))
    assert row["source"] == "afp.com"  # the source's key; its name is not an export column
    lines = run("query", "coopération", "--jsonl", "--fields", "title,body").output
    assert _unsafe(lines) == []
    assert json.loads(lines)["title"] == f"Sommet{ATTACK} sur la coopération"


def test_show_prints_the_whole_article_with_highlights(run, built):
    result = run("show", TACHKENT, "--highlight", "alimentaire")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[1:4] == ["2025-04 · Tachkent", f"{TACHKENT} · {SEEDS / TACHKENT}", ""]
    assert sum("**alimentaire**" in line for line in lines) == 1
    assert len([line for line in lines[3:] if line]) == 17  # the file's paragraphs


def test_show_json_and_an_unknown_id(run, built):
    data = json.loads(run("show", TACHKENT, "--json", "--highlight", "Maroc").output)
    assert data["id"] == TACHKENT and len(data["paragraphs"]) == 17
    first = data["paragraphs"][0]
    assert [first["text"][a:b] for a, b in first["highlights"]] == ["Maroc"]
    result = CliRunner().invoke(cli, ["show", TACHKENT[:-1]])
    assert (result.exit_code, result.output) == (1, (
        f"Error: No article has the id '{TACHKENT[:-1]}'. Closest: {TACHKENT}. "
        "`search query --json` shows the ids.\n"))


def test_show_hostile_article_prints_safely(run, hostile_index):
    result = run("show", "a.txt", "--highlight", "coopération")
    assert result.exit_code == 0 and _unsafe(result.output) == []
    assert result.output.splitlines()[0] == rf"Sommet{SHOWN} sur la **coopération**"


def test_an_export_with_a_bad_filter_prints_only_the_error(built):
    result = CliRunner().invoke(cli, ["query", "maroc", "--all", "--csv", "--source", "afp"])
    assert (result.exit_code, result.output) == (
        1, "Error: No article has the source 'afp'. `search stats` lists the sources.\n")


@pytest.fixture
def sources_index(run, tmp_path, isolated_index):
    write_export(tmp_path / "export.jsonl", [
        {"id": 1, "url": "https://actu.orange.fr/a", "article": "Accord signé à Rabat."},
        {"id": 2, "url": "https://www.orange.fr/b", "article": "Accord signé à Dakar."},
        {"id": 3, "source": "Orange Actu", "article": "Accord signé à Lomé."},
        {"id": 4, "url": "https://sport.orange.fr/c", "source": "orange ACTU",
         "article": "Accord signé à Accra."},
        {"id": 5, "url": "https://lorange.fr/d", "article": "Accord signé à Niamey."},
    ])
    assert run("rebuild", str(tmp_path / "export.jsonl")).exit_code == 0
    return isolated_index


@pytest.mark.parametrize("source, ids", [
    ("orange.fr", ["1", "2", "4"]),  # a domain takes its subdomains, not lorange.fr
    ("www.orange.fr", ["1", "2", "4"]),
    ("https://orange.fr/x", ["1", "2", "4"]),
    ("actu.orange.fr", ["1"]),
    ("ACTU.Orange.FR", ["1"]),
    ("Orange Actu", ["3", "4"]),  # a name: the articles that give it, whatever their domain
    ("orange actu", ["3", "4"]),
    ("lorange.fr", ["5"]),
])
def test_a_source_is_a_domain_with_its_subdomains_or_a_name(run, sources_index, source, ids):
    result = run("query", "accord", "--source", source, "--json")
    assert sorted(hit["id"].split("#")[1] for hit in json.loads(result.output)["hits"]) == ids


def test_stats_sources_lists_every_source_with_its_key_name_and_count(run, sources_index):
    assert run("stats", "--sources").output == (
        "  articles  source           name\n"
        "         1  actu.orange.fr   actu.orange.fr\n"
        "         1  lorange.fr       lorange.fr\n"
        "         1  orange actu      Orange Actu\n"
        "         1  orange.fr        orange.fr\n"
        "         1  sport.orange.fr  orange ACTU\n"
    )


def test_hits_show_the_display_name_and_a_labelled_dateline(run, sources_index):
    lines = run("query", "Lomé").output.splitlines()
    assert lines[3].startswith("   undated · Orange Actu · ")


def test_a_match_in_the_title_alone_is_marked_in_the_title(run, tmp_path, isolated_index):
    (tmp_path / "lome.txt").write_text(
        "title: Sommet de Lomé\n\nLe président a ouvert la réunion des ministres.", "utf-8")
    assert run("index", str(tmp_path)).exit_code == 0
    lines = run("query", "somm*", "lome").output.splitlines()
    assert (lines[2], lines[4]) == ("1. **Sommet** de **Lomé**",
                                    "   Le président a ouvert la réunion des ministres.")
    [hit] = json.loads(run("query", "--json", "lome").output)["hits"]
    assert (hit["title_highlights"], hit["highlights"]) == ([[10, 14]], [])


def test_stats_show_each_sources_name_after_its_key_when_it_differs(run, sources_index):
    output = run("stats").output
    assert output[output.index("Sources:"):output.index("Categories:")] == (
        "Sources:\n"
        "         1  actu.orange.fr\n"
        "         1  lorange.fr\n"
        "         1  orange actu      Orange Actu\n"
        "         1  orange.fr\n"
        "         1  sport.orange.fr  orange ACTU\n"
    )


def test_the_query_side_loads_no_ingest_or_process_machinery():
    """`import search.cli` (every command, queries included) leaves the ingest formats,
    sub-writers and the copies' numerical libraries to the commands that write."""
    code = ("import sys, search.cli; print(sorted(name for name in ('multiprocessing', "
            "'ctypes', 'search.formats', 'search.ingest', 'numpy', 'datasketch') "
            "if name in sys.modules))")
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True)
    assert found.stdout == "[]\n"


@pytest.mark.parametrize("article_id, source, source_name", [
    ("export.jsonl#3", "orange actu", "Orange Actu"),
    ("export.jsonl#1", "actu.orange.fr", "actu.orange.fr"),
])
def test_show_names_the_source_as_query_does(run, sources_index, article_id, source,
                                             source_name):
    data = json.loads(run("show", article_id, "--json").output)
    assert (data["source"], data["source_name"]) == (source, source_name)
    assert run("show", article_id).output.splitlines()[1].split(" · ")[1] == source_name
