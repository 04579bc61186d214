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


@pytest.fixture(scope="module")
def readme_index(tmp_path_factory):
    """The seeds indexed from the repository root, as the README's set-up command does."""
    index_dir = tmp_path_factory.mktemp("readme") / "index"
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(REPO)
        assert CliRunner().invoke(cli, ["rebuild", "--index", str(index_dir)]).exit_code == 0
    return index_dir


def test_the_readme_has_examples():
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("args, output", EXAMPLES, ids=[args for args, _ in EXAMPLES])
def test_readme_example(readme_index, args, output, monkeypatch):
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("SEARCH_INDEX", str(readme_index))
    result = CliRunner().invoke(cli, shlex.split(args))
    status = 1 if output.startswith("Error: ") else 0
    assert (result.exit_code, result.output) == (status, output)
