"""Copies of one dispatch on both backends: the cluster collapses on a group key that each
load keeps right (search.opensearch.groups); the index folder groups the hits it reads."""

import itertools

import pytest

from search.backend import open_backend, reading
from search.copies import COPY_THRESHOLD, are_copies, signature
from search.errors import IndexOutdatedError
from search.models import Filters

from .conftest import write_export
from .test_copies import BRIDGE, DISPATCH, FIRST, LAST, OTHER, UPDATED, record

pytest.importorskip("opensearchpy", reason="opensearch-py is not installed: "
                                           "pip install -e '.[opensearch]'")

_aliases = itertools.count()


@pytest.fixture(params=["whoosh", "opensearch"])
def backend(request, tmp_path):
    if request.param == "whoosh":
        return open_backend("whoosh", index_dir=tmp_path / "index")
    url = request.getfixturevalue("cluster_url")
    return open_backend("opensearch", url=f"{url}/groups{next(_aliases)}")


@pytest.fixture
def export(tmp_path):
    return tmp_path / "export.jsonl"


def load(backend, export, records):
    write_export(export, records)
    return backend.update([export])


def grouped(backend, text="Mauritanie", **options):
    """(id, copies) of each hit of `text`, one a group."""
    with reading(backend) as reader:
        return [(hit.id, hit.copies) for hit in reader.search(text, **options).hits]


def group_of(backend, article_id):
    with reading(backend) as reader:
        return [copy.id for copy in reader.copies_of(article_id)]


def e(n):
    return f"export.jsonl#{n}"


@pytest.mark.parametrize("records, expected", [
    ([record(1, DISPATCH), record(2, DISPATCH, category="societe/sante")],
     [(e(1), (e(2),))]),
    ([record(1, DISPATCH), record(2, UPDATED, date="2020-04-30")], [(e(2), (e(1),))]),
    ([record(1, DISPATCH), record(2, OTHER + " Le Maroc et la Mauritanie.")],
     [(e(1), ()), (e(2), ())]),
    # The later copy ranks first (its title has the word): the group shows the earliest.
    ([record(1, OTHER + " Mauritanie.", title="Retraites"),
      record(2, DISPATCH, date="2020-05-03", title="Mauritanie"),
      record(3, DISPATCH, date="2020-05-01", title="Visite")],
     [(e(3), (e(2),)), (e(1), ())]),
], ids=["another category", "a sentence changed, earlier", "another article",
        "earliest at the rank of its best"])
def test_copies_are_one_hit_showing_the_earliest(backend, export, records, expected):
    load(backend, export, records)
    assert grouped(backend) == expected
    assert len(grouped(backend, copies=True)) == len(records)


def test_many_copies_are_one_hit_among_others(backend, export):
    load(backend, export, [
        *(record(n, DISPATCH, title="Mauritanie Mauritanie", date=f"2020-05-{n:02}")
          for n in range(1, 26)), record(30, OTHER + " Mauritanie.")])
    hits = grouped(backend, limit=2)
    assert [id for id, _ in hits] == [e(1), e(30)]
    assert hits[0][1] == tuple(e(n) for n in range(2, 26))
    assert [id for id, _ in grouped(backend, limit=1, offset=1)] == [e(30)]
    assert len(grouped(backend, limit=2, sort="date")) == 2


def test_a_listing_without_words_shows_a_group_at_its_newest(backend, export):
    load(backend, export, [record(1, DISPATCH, date="2020-05-04"),
                           record(2, OTHER, date="2020-05-03"),
                           record(3, DISPATCH, date="2020-05-01")])
    assert grouped(backend, "", filters=Filters(since="2020")) == [(e(3), (e(1),)), (e(2), ())]


def test_groups_follow_additions_changes_and_removals(backend, export):
    load(backend, export, [record(1, DISPATCH), record(2, OTHER)])
    assert group_of(backend, e(1)) == [e(1)]
    # An earlier copy joins: it now shows the group.
    load(backend, export, [record(1, DISPATCH), record(2, OTHER),
                           record(3, UPDATED, date="2020-05-01")])
    assert group_of(backend, e(1)) == [e(3), e(1)]
    assert grouped(backend) == [(e(3), (e(1),))]
    # Its body changes to another story: it leaves the group.
    load(backend, export, [record(1, DISPATCH), record(2, OTHER),
                           record(3, FIRST + " Mauritanie.", date="2020-05-01")])
    assert group_of(backend, e(1)) == [e(1)]
    assert group_of(backend, e(3)) == [e(3)]
    # Back as a copy, then removed.
    load(backend, export, [record(1, DISPATCH), record(2, OTHER),
                           record(3, UPDATED, date="2020-05-01")])
    assert group_of(backend, e(1)) == [e(3), e(1)]
    load(backend, export, [record(1, DISPATCH), record(2, OTHER)])
    assert group_of(backend, e(1)) == [e(1)]
    assert grouped(backend) == [(e(1), ())]


def test_the_chain_is_what_the_tests_say():
    first, bridge, last = map(signature, (FIRST, BRIDGE, LAST))
    assert are_copies(first, bridge) and are_copies(bridge, last)
    assert not are_copies(first, last)


def test_a_bridging_copy_joins_two_groups_and_its_removal_splits_them(backend, export):
    load(backend, export, [record(1, FIRST, date="2020-05-01"),
                           record(3, LAST, date="2020-05-03")])
    assert grouped(backend, "délégation") == [(e(1), ()), (e(3), ())]
    load(backend, export, [record(1, FIRST, date="2020-05-01"),
                           record(2, BRIDGE, date="2020-05-02"),
                           record(3, LAST, date="2020-05-03")])
    assert grouped(backend, "délégation") == [(e(1), (e(2), e(3)))]
    load(backend, export, [record(1, FIRST, date="2020-05-01"),
                           record(3, LAST, date="2020-05-03")])
    assert grouped(backend, "délégation") == [(e(1), ()), (e(3), ())]


def test_the_cluster_groups_a_chain_whose_bridge_is_not_a_hit(cluster_url, export):
    """The group is the connected part over the whole index: the bridge need not match
    the query (the index folder groups only what its hits connect)."""
    backend = open_backend("opensearch", url=f"{cluster_url}/groups{next(_aliases)}")
    load(backend, export, [record(1, FIRST + " Mauritanie.", date="2020-05-01"),
                           record(2, BRIDGE, date="2020-05-02"),
                           record(3, LAST + " Mauritanie.", date="2020-05-03")])
    assert grouped(backend) == [(e(1), (e(2), e(3)))]


def test_show_copies_lists_the_whole_chain(backend, export):
    """The group of copies of copies, each with its similarity to the article asked for:
    the other end of the chain below the threshold."""
    load(backend, export, [record(1, FIRST, date="2020-05-01"),
                           record(2, BRIDGE, date="2020-05-02"),
                           record(3, LAST, date="2020-05-03")])
    with reading(backend) as reader:
        found = [(copy.id, copy.similarity) for copy in reader.copies_of(e(3))]
    assert [id for id, _ in found] == [e(1), e(2), e(3)]
    assert found[0][1] < COPY_THRESHOLD <= found[1][1] < 1.0 == found[2][1]


def test_a_cluster_index_of_an_earlier_version_asks_for_a_rebuild(cluster_url, export,
                                                                  monkeypatch):
    from search.opensearch import settings

    url = f"{cluster_url}/groups{next(_aliases)}"
    current = settings.mappings

    def earlier() -> dict:
        return {**current(), "_meta": {"version": settings.MAPPING_VERSION - 1}}

    monkeypatch.setattr(settings, "mappings", earlier)
    load(open_backend("opensearch", url=url), export, [record(1, DISPATCH)])
    monkeypatch.setattr(settings, "mappings", current)
    message = (f"The index at {url} was built by an older version of search, which kept "
               "copies differently. Run `search rebuild` to rebuild it.")
    backend = open_backend("opensearch", url=url)
    with pytest.raises(IndexOutdatedError) as raised:
        backend.reader()
    assert str(raised.value) == message
    with pytest.raises(IndexOutdatedError) as raised:
        load(backend, export, [record(1, DISPATCH), record(2, DISPATCH)])
    assert str(raised.value) == message
    assert backend.update([export], fresh=True).added == 2
    assert grouped(backend) == [(e(1), (e(2),))]


def test_the_cli_prints_groups_alike_on_both(tmp_path, cluster_url, export):
    """`search query` and `search show --copies`, in text and JSON, print the same on both
    backends (scores aside)."""
    from click.testing import CliRunner

    from search.cli import cli

    write_export(export, [record(1, DISPATCH, date="2020-05-02"),
                          record(2, UPDATED, date="2020-05-01", category="societe/sante"),
                          record(3, OTHER + " Mauritanie.", date="2020-05-03")])
    outputs = []
    for backend in (["--index", str(tmp_path / "index")],
                    ["--backend", "opensearch", "--url", f"{cluster_url}/groups{next(_aliases)}"]):
        def run(*args, backend=backend):
            result = CliRunner().invoke(cli, [*args, *backend], catch_exceptions=False)
            assert result.exit_code == 0, result.output
            return result.output
        run("rebuild", str(export))
        outputs.append([
            run("query", "Mauritanie", "--sort", "date").splitlines()[0],
            run("query", "Mauritanie", "--sort", "date").count("+1 copy"),
            run("query", "", "--since", "2020", "--json").replace('"score": null', ""),
            run("show", e(1), "--copies"),
            run("show", e(3), "--copies", "--json")])
    assert outputs[0] == outputs[1]
    assert outputs[0][:2] == [
        "3 articles match «Mauritanie» (showing 2; copies of a dispatch shown once, --copies "
        "shows each).", 1]


@pytest.mark.parametrize("then", [
    [record(1, FIRST, date="2020-05-01"), record(3, LAST, date="2020-05-03")],
    [record(1, FIRST, date="2020-05-01"), record(2, OTHER, date="2020-05-02"),
     record(3, LAST, date="2020-05-03")],
], ids=["the bridge removed", "the bridge rewritten"])
def test_a_load_that_stopped_before_regrouping_is_regrouped_by_the_next(
        cluster_url, export, monkeypatch, then):
    """The chain's bridge goes, and the load stops once it has written and removed, before
    it regroups: the next load of the same export splits the group all the same."""
    from opensearchpy.exceptions import OpenSearchException

    from search.errors import IndexWriteError
    from search.opensearch import loading

    backend = open_backend("opensearch", url=f"{cluster_url}/groups{next(_aliases)}")
    load(backend, export, [record(1, FIRST, date="2020-05-01"),
                           record(2, BRIDGE, date="2020-05-02"),
                           record(3, LAST, date="2020-05-03")])
    assert grouped(backend, "délégation") == [(e(1), (e(2), e(3)))]

    def lost(*args, **kwargs):
        raise OpenSearchException("the cluster went away")

    monkeypatch.setattr(loading, "regrouped", lost)
    with pytest.raises(IndexWriteError) as raised:
        load(backend, export, then)
    assert str(raised.value) == (
        f"Could not write the index at {backend.location}: OpenSearchException. The next "
        "`search index` of the same paths finishes the update.")
    monkeypatch.undo()
    load(backend, export, then)
    assert grouped(backend, "délégation") == [(e(1), ()), (e(3), ())]
    assert group_of(backend, e(3)) == [e(3)]


def test_a_load_that_stopped_leaves_nothing_lost_when_the_file_comes_back(
        cluster_url, export, monkeypatch):
    """The load removed the bridge and stopped before its manifest; the export is then put
    back as it was: the next load writes the bridge again (the manifest, from before,
    still says the index has it) and the chain is one group again."""
    from opensearchpy.exceptions import OpenSearchException

    from search.errors import IndexWriteError
    from search.opensearch import loading

    backend = open_backend("opensearch", url=f"{cluster_url}/groups{next(_aliases)}")
    chain = [record(1, FIRST, date="2020-05-01"), record(2, BRIDGE, date="2020-05-02"),
             record(3, LAST, date="2020-05-03")]
    load(backend, export, chain)

    def lost(*args, **kwargs):
        raise OpenSearchException("the cluster went away")

    monkeypatch.setattr(loading, "regrouped", lost)
    with pytest.raises(IndexWriteError):
        load(backend, export, [chain[0], chain[2]])
    monkeypatch.undo()
    report = load(backend, export, chain)
    assert (report.added, report.removed) == (0, 0)
    assert grouped(backend, "délégation") == [(e(1), (e(2), e(3)))]
    assert load(backend, export, chain).unchanged == 3


def _filler(name: str) -> str:
    return " ".join(f"{name}{n}" for n in range(80))


def test_a_group_ranks_at_its_best_article_after_the_re_ranking(backend, export):
    """Two copies tie on BM25; one has the words in its opening, side by side, the other
    far apart at its end; another article has them side by side, past its opening. The
    re-ranking puts the first copy before the other article, and the group with it (the
    cluster collapses on BM25's best, which here is the other copy)."""
    load(backend, export, [
        record(1, f"{_filler('ma')} accord {_filler('mb')} enfin commercial signé.",
               title="Note"),
        record(2, f"L'accord commercial signé. {_filler('ma')} ici {_filler('mb')} enfin.",
               title="Note"),
        record(3, f"{_filler('mc')} ici {_filler('md')} accord commercial signé.",
               title="Note")])
    assert grouped(backend, "accord commercial") == [(e(1), (e(2),)), (e(3), ())]


def test_each_group_of_a_page_lists_its_members_however_many_the_others_have(
        cluster_url, export, monkeypatch):
    """The members are asked for group by group: a page's earlier groups, listed up to
    the cap, leave the later ones theirs."""
    from search.opensearch import backend as cluster

    monkeypatch.setattr(cluster, "_GROUP_MEMBERS", 3)
    backend = open_backend("opensearch", url=f"{cluster_url}/groups{next(_aliases)}")
    load(backend, export, [
        *(record(n, DISPATCH, date=f"2020-06-0{n}") for n in (1, 2, 3)),
        *(record(n, OTHER, date=f"2020-05-0{n - 3}") for n in (4, 5, 6))])
    assert sorted(grouped(backend, "Maroc")) == [(e(1), (e(2), e(3))), (e(4), (e(5), e(6)))]


def test_a_new_index_reads_its_shared_bands_in_as_many_partitions_as_it_takes(
        cluster_url, export, monkeypatch):
    """Partitions of the band terms too large for the buckets are split again."""
    from search.opensearch import groups

    monkeypatch.setattr(groups, "SHARED_PARTITION", 10_000)
    monkeypatch.setattr(groups, "SHARED_BUCKETS", 2)
    backend = open_backend("opensearch", url=f"{cluster_url}/groups{next(_aliases)}")
    load(backend, export, [record(1, DISPATCH), record(2, DISPATCH), record(3, OTHER),
                           record(4, OTHER), record(5, FIRST), record(6, FIRST)])
    assert sorted(grouped(backend, "Maroc")) == [(e(1), (e(2),)), (e(3), (e(4),))]
    assert group_of(backend, e(6)) == [e(5), e(6)]
