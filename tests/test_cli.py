import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from search.cli import cli

from .conftest import RABAT, SEEDS, TACHKENT


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
    assert lines[7].startswith(f"   2025-04 · Tachkent · {SEEDS / TACHKENT} · score ")
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
        1, f"Error: No index in {isolated_index}/. Run `search rebuild` first.\n"
    )


def test_index_option_overrides_the_environment(run, built, tmp_path):
    result = run("query", "--index", str(tmp_path / "other"), "maroc")
    assert result.exit_code == 1
    assert "No index in" in result.output


def test_corrupt_index_gets_one_line_and_exit_1(run, built):
    (built / "CURRENT").write_text("gen-gone\n")
    result = run("query", "maroc")
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: The index in {built}/ is damaged")
    assert result.output.endswith("Run `search rebuild` to rebuild it.\n")
    assert result.output.count("\n") == 1


def test_python_dash_m_runs_the_cli_and_errors_go_to_stderr(built):
    process = subprocess.run([sys.executable, "-m", "search", "query", '"Union'],
                             capture_output=True, text=True)
    assert process.returncode == 1
    assert process.stdout == ""
    assert process.stderr == 'Error: Unbalanced quote: close the phrase with another ".\n'
