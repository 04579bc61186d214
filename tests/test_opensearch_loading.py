"""search.opensearch.loading: one writer at a time on a cluster index, on a real node."""

import time

import pytest
from click.testing import CliRunner

from search.cli import cli

from .conftest import SEEDS

opensearchpy = pytest.importorskip(
    "opensearchpy", reason="opensearch-py is not installed: pip install -e '.[opensearch]'")

from search.opensearch import loading  # noqa: E402
from search.opensearch.loading import LOCK_ID, manifests_index, write_lock  # noqa: E402


@pytest.fixture
def seeded(cluster_url, request):
    """A cluster index of the seeds: (client, alias, the CLI's options for it)."""
    alias = f"lock-{request.node.name.lower().replace('[', '-').strip(']')}"
    options = ["--backend", "opensearch", "--url", f"{cluster_url}/{alias}"]
    assert run(options, "rebuild", str(SEEDS)).exit_code == 0
    client = opensearchpy.OpenSearch(cluster_url)
    yield client, alias, options
    client.indices.delete(index=f"{alias}*", ignore_unavailable=True)


def run(options, *args):
    return CliRunner().invoke(cli, [*args, *options], catch_exceptions=False)


def held(client, alias) -> bool:
    return client.exists(index=manifests_index(alias), id=LOCK_ID)


@pytest.mark.parametrize("command", ["index", "rebuild"])
def test_a_second_writer_is_refused_in_one_line_and_nothing_changes(seeded, command):
    client, alias, options = seeded
    with write_lock(client, alias, "elsewhere", wait=0):
        result = run(options, command, str(SEEDS / "000_69f7196542c3eaa4.txt"))
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"Error: Another process is writing to the index at {options[-1]}; try again when it "
        "has finished."]
    assert run(options, "query", "maroc").output.startswith("2 articles match «maroc».")


def test_the_lock_is_released_after_a_load_that_worked_or_failed(seeded, tmp_path):
    client, alias, options = seeded
    assert run(options, "index", str(SEEDS)).exit_code == 0
    assert not held(client, alias)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "blank.txt").write_text("", encoding="utf-8")
    assert run(options, "rebuild", str(empty)).exit_code == 1
    assert not held(client, alias)


def test_a_lapsed_lease_is_taken_over(seeded):
    """A writer that died holding the lock stops holding it when its lease runs out."""
    client, alias, options = seeded
    client.index(index=manifests_index(alias), id=LOCK_ID, refresh=True,
                 body={"holder": "a process that died", "expires_at": time.time() - 1})
    assert run(options, "index", str(SEEDS)).exit_code == 0
    assert not held(client, alias)


def test_a_live_writer_keeps_its_lease(seeded, monkeypatch):
    """The holder renews its lease while it writes, however long the writing takes."""
    client, alias, _ = seeded
    monkeypatch.setattr(loading, "LEASE_SECONDS", 2.0)
    with write_lock(client, alias, "here", wait=0):
        time.sleep(3.0)
        with pytest.raises(loading.IndexLockedError):
            with write_lock(client, alias, "elsewhere", wait=0):
                pass
    assert not held(client, alias)


def test_a_lease_taken_over_is_neither_renewed_nor_released_by_its_old_holder(
        seeded, monkeypatch):
    """A writer that stalled past its lease and lost the lock leaves the new holder's."""
    client, alias, _ = seeded
    monkeypatch.setattr(loading, "LEASE_SECONDS", 1.5)
    with write_lock(client, alias, "here", wait=0):
        client.index(index=manifests_index(alias), id=LOCK_ID, refresh=True,
                     body={"holder": "another writer", "expires_at": time.time() + 60})
        time.sleep(1.2)  # past a renewal
        assert client.get(index=manifests_index(alias), id=LOCK_ID)["_source"]["holder"] == (
            "another writer")
    assert held(client, alias)


@pytest.mark.parametrize("backend", ["whoosh", "opensearch"])
def test_a_file_moved_between_the_folders_indexed_keeps_its_article(backend, tmp_path,
                                                                   request):
    """The old path's article is removed and the new path's written under the same id in
    one load: the cluster sends writes as they come and removals at the end, so the
    removal must not take the article written again."""
    if backend == "whoosh":
        options = ["--index", str(tmp_path / "index")]
    else:
        url = request.getfixturevalue("cluster_url")
        options = ["--backend", "opensearch", "--url", f"{url}/moved-{time.time_ns()}"]
    inbox, archive = tmp_path / "inbox", tmp_path / "archive"
    inbox.mkdir()
    archive.mkdir()
    (inbox / "x.jsonl").write_text(
        '{"title": "Visite à Rabat", "article": "Le ministre a visité Rabat."}\n', "utf-8")
    (archive / "y.txt").write_text("Autre\n\nUn autre article sur Tachkent.\n", "utf-8")
    assert run(options, "index", str(inbox), str(archive)).exit_code == 0
    (inbox / "x.jsonl").rename(archive / "x.jsonl")
    result = run(options, "index", str(inbox), str(archive))
    assert (result.exit_code, result.output.splitlines()[0].split(": ", 1)[1]) == (
        0, "1 added, 0 updated, 1 removed, 1 unchanged, 0 skipped.")
    assert run(options, "query", "Rabat").output.startswith("1 article matches «Rabat».")


@pytest.mark.parametrize("backend", ["whoosh", "opensearch"])
def test_an_export_is_read_again_in_stretches_on_both_backends(backend, tmp_path, request,
                                                               monkeypatch):
    """The cluster's manifest keeps the export's stretches as the index folder's does: a
    line added before them and one changed, only what changed is read and written."""
    from search import index as index_module
    from search import stretches

    monkeypatch.setattr(stretches, "STRETCH_BYTES", 150)  # about two records
    if backend == "whoosh":
        options = ["--index", str(tmp_path / "index")]
    else:
        url = request.getfixturevalue("cluster_url")
        options = ["--backend", "opensearch", "--url", f"{url}/stretches-{time.time_ns()}"]
    cities = ["Rabat", "Tunis", "Dakar", "Lomé", "Niamey", "Bamako", "Accra", "Lagos"]
    export = tmp_path / "export.jsonl"

    def write(names):
        export.write_text("".join(
            f'{{"id": "{name}", "article": "Le ministre a visité {name}."}}\n'
            for name in names), "utf-8")

    write(cities)
    assert run(options, "index", str(export)).exit_code == 0
    reused = []
    real = index_module._Stretches.reuse
    monkeypatch.setattr(index_module._Stretches, "reuse",
                        lambda self, mark, *args: reused.append(mark) or real(self, mark, *args))
    write(["Tachkent", *cities[:5], "Niamey-Est", *cities[6:]])
    result = run(options, "index", str(export))
    assert result.output.splitlines()[0].split(": ", 1)[1] == (
        "2 added, 0 updated, 1 removed, 7 unchanged, 0 skipped.")
    assert len(reused) >= 2
    assert run(options, "query", "Tachkent").output.startswith("1 article matches")
    assert run(options, "query", "Lagos").output.startswith("1 article matches")
    assert run(options, "query", "visité").output.startswith("9 articles match")
