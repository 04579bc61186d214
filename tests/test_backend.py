"""The backend seam: which engine answers, and the one-line errors of a bad choice."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from search.backend import WhooshBackend, open_backend, reading
from search.cli import cli
from search.errors import SearchError


@pytest.mark.parametrize(
    ("name", "url", "message"),
    [
        ("opensearch", None, "The OpenSearch backend needs a cluster: give --url "
                             "http://HOST:9200 or set SEARCH_URL."),
        ("solr", None, "Unknown backend 'solr'; use one of whoosh, opensearch."),
    ],
)
def test_a_backend_that_cannot_be_used_is_one_error(name, url, message, monkeypatch):
    monkeypatch.delenv("SEARCH_URL", raising=False)
    with pytest.raises(SearchError) as raised:
        open_backend(name, url=url)
    assert str(raised.value) == message


def test_whoosh_is_the_default_and_reads_its_folder(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("SEARCH_BACKEND", raising=False)
    backend = open_backend(index_dir=tmp_path / "index")
    assert isinstance(backend, WhooshBackend)
    assert backend.version() is None  # nothing indexed yet
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "a.txt").write_text("Visite au Maroc\n\nLe ministre est arrivé à Rabat.\n",
                                 encoding="utf-8")
    report = backend.update([seeds])
    assert (report.added, backend.stats().documents) == (1, 1)
    first = backend.version()
    with reading(backend) as reader:
        assert [hit.title for hit in reader.search("marocain").hits] == ["Visite au Maroc"]
    (seeds / "b.txt").write_text("Sommet\n\nRien.\n", encoding="utf-8")
    backend.update([seeds])
    assert backend.version() not in (None, first)


def test_the_cli_names_a_missing_cluster_in_one_line(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("SEARCH_URL", raising=False)
    result = CliRunner().invoke(cli, ["query", "maroc", "--backend", "opensearch"])
    assert result.exit_code == 1
    assert result.output == ("Error: The OpenSearch backend needs a cluster: give --url "
                             "http://HOST:9200 or set SEARCH_URL.\n")
