"""The README's example commands on `seeds/` (its `console` blocks) print what it shows,
and end with status 0, or 1 for one that shows an error."""

import re
import shlex

import pytest
from click.testing import CliRunner

from search.cli import cli

from .conftest import REPO

EXAMPLE = re.compile(r"```console\n\$ search (?P<args>[^\n]*)\n(?P<output>.*?)```", re.S)
EXAMPLES = [(m["args"], m["output"]) for m in EXAMPLE.finditer((REPO / "README.md").read_text("utf-8"))]


SET_UP = re.search(r"## Set up[^\n]*\n+```sh\n(?P<line>[^\n]*)\n```",
                   (REPO / "README.md").read_text("utf-8"))["line"]
# The set-up line's `search` commands, as argument lists: `.venv/bin/search index seeds/`.
SET_UP_COMMANDS = [shlex.split(command)[1:] for command in SET_UP.split("&&")
                   if shlex.split(command)[0].endswith("/search")]


def run_set_up(index_dir):
    """The set-up line's `search` commands, run from the repository root."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(REPO)
        patch.setenv("SEARCH_INDEX", str(index_dir))
        return [CliRunner().invoke(cli, args) for args in SET_UP_COMMANDS]


@pytest.fixture(scope="module")
def readme_index(tmp_path_factory):
    """The seeds indexed from the repository root, as the README's set-up command does."""
    index_dir = tmp_path_factory.mktemp("readme") / "index"
    assert [result.exit_code for result in run_set_up(index_dir)] == [0] * len(SET_UP_COMMANDS)
    return index_dir


def test_the_set_up_line_indexes_the_seeds_and_searches():
    assert SET_UP_COMMANDS[0] == ["index", "seeds/"]
    assert SET_UP_COMMANDS[-1][0] == "query"


def test_running_the_set_up_line_again_keeps_an_index_already_there(tmp_path):
    """An archive indexed before the set-up line is run (once, or again to reinstall)
    stays whole: the line adds the seeds, it never replaces the index."""
    archive = tmp_path / "archive"
    archive.mkdir()
    (archive / "lome.txt").write_text("Sommet de Lomé\n\nLe sommet de Lomé s'est ouvert.", "utf-8")
    index_dir = tmp_path / "index"
    assert CliRunner().invoke(cli, ["index", str(archive), "--index", str(index_dir)]).exit_code == 0
    for _ in range(2):
        assert [result.exit_code for result in run_set_up(index_dir)] == [0] * len(SET_UP_COMMANDS)
        found = CliRunner().invoke(cli, ["query", "Lomé", "--index", str(index_dir)])
        assert found.output.startswith("1 article matches «Lomé».")


def test_the_readme_has_examples():
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("args, output", EXAMPLES, ids=[args for args, _ in EXAMPLES])
def test_readme_example(readme_index, args, output, monkeypatch):
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("SEARCH_INDEX", str(readme_index))
    result = CliRunner().invoke(cli, shlex.split(args))
    status = 1 if output.startswith("Error: ") else 0
    assert (result.exit_code, result.output) == (status, output)
