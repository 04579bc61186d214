"""The CLI on both backends: the same cases, the same output, on a real OpenSearch node.

The node is started once per session by opensearch/node (Java 17 and Maven needed: the
server is fetched from Maven Central); without them these tests are skipped, and the
warnings summary says why.
"""

import itertools
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from search.backend import open_backend, reading
from search.cli import cli

from .conftest import RABAT, SEEDS, TACHKENT

opensearchpy = pytest.importorskip(
    "opensearchpy", reason="opensearch-py is not installed: pip install -e '.[opensearch]'")

BACKENDS = ("whoosh", "opensearch")
_aliases = itertools.count()


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path):
    """The options that point a command at a fresh index of the backend."""
    if request.param == "whoosh":
        return ["--index", str(tmp_path / "index")]
    url = request.getfixturevalue("cluster_url")
    return ["--backend", "opensearch", "--url", f"{url}/test{next(_aliases)}"]


def where(backend: list[str]) -> str:
    return backend[-1]


def run(backend: list[str], *args: str):
    return CliRunner().invoke(cli, [*args, *backend], catch_exceptions=False)


@pytest.fixture
def seeded(backend):
    result = run(backend, "rebuild", str(SEEDS))
    assert (result.exit_code, result.output) == (
        0, f"Index {where(backend)}: 2 added, 0 updated, 0 removed, 0 unchanged, 0 skipped.\n")
    return backend


def test_an_unchanged_corpus_is_not_read_again(seeded):
    assert run(seeded, "index", str(SEEDS)).output == (
        f"Index {where(seeded)}: 0 added, 0 updated, 0 removed, 2 unchanged, 0 skipped.\n")


@pytest.mark.parametrize(("query", "first_line", "titles"), [
    (["cooperation", "bilaterale"], "2 articles match «cooperation bilaterale».", 2),
    (["Azoulay", "Errachid"],
     "No article contains all the words; showing the best partial matches.", 2),
    (["--limit", "1", "coopération"], "2 articles match «coopération» (showing 1).", 1),
    (["Kénitra"], "No article matches «Kénitra».", 0),
    (['"président de la République"'], "1 article matches «\"président de la République\"».", 1),
    (['"République de la président"'], "No article matches «\"République de la président\"».", 0),
    (["maroc NOT tachkent"], "1 article matches «maroc NOT tachkent».", 1),
    (["visit*"], "2 articles match «visit*».", 2),
    (["Tokaiev~"], "2 articles match «Tokaiev~».", 2),
    (["maroc NEAR/5 kazakhstan"], "2 articles match «maroc NEAR/5 kazakhstan».", 2),
    (["maroc SAME azoulay"], "1 article matches «maroc SAME azoulay».", 1),
    (["title:maroc"], "1 article matches «title:maroc».", 1),
    (["marocaines", "--since", "2025"], "1 article matches «marocaines».", 1),
    (["kazakhes"], "2 articles match «kazakhes».", 2),
])
def test_queries_find_the_same_articles(seeded, query, first_line, titles):
    result = run(seeded, "query", *query)
    lines = result.output.splitlines()
    assert (result.exit_code, lines[0]) == (0, first_line)
    assert len([line for line in lines if re.match(r"\d+\. ", line)]) == titles


def both_built(tmp_path, cluster_url, corpus: Path = SEEDS) -> list[list[str]]:
    """The options of both backends, each pointed at a fresh index of `corpus`."""
    backends = [["--index", str(tmp_path / "index")],
                ["--backend", "opensearch", "--url", f"{cluster_url}/test{next(_aliases)}"]]
    for backend in backends:
        assert run(backend, "rebuild", str(corpus)).exit_code == 0
    return backends


def both_readers(tmp_path, cluster_url, corpus: Path = SEEDS) -> list:
    """Both backends, each holding a fresh index of `corpus`."""
    backends = [open_backend("whoosh", index_dir=tmp_path / "index"),
                open_backend("opensearch", url=f"{cluster_url}/test{next(_aliases)}")]
    for backend in backends:
        backend.update([corpus], fresh=True)
    return backends


@pytest.mark.parametrize("query", ["cooperation", "maroc kazakhstan", '"Sud-Sud"', "visit*",
                                   "Tokaev", "Tokaev NEAR/3 Kassym", "Mohammed VI"])
def test_both_backends_return_the_same_ids(query, tmp_path, cluster_url):
    found = []
    for backend in both_built(tmp_path, cluster_url):
        data = json.loads(run(backend, "query", "--json", query).output)
        found.append((data["total"], data["partial"], sorted(hit["id"] for hit in data["hits"])))
    assert found[0] == found[1]


def test_snippets_mark_the_words_found(seeded):
    data = json.loads(run(seeded, "query", "--json", "cooperation").output)
    assert (data["total"], data["partial"]) == (2, False)
    for hit in data["hits"]:
        words = {hit["snippet"][start:end] for start, end in hit["highlights"]}
        assert words == {"coopération"}


@pytest.mark.parametrize(("args", "message"), [
    (["query", ""], "Error: The query is empty: give one or more words to search for."),
    (["query", " ", "--all", "--csv"],
     "Error: The query is empty: give one or more words to search for."),
    (["query", '"Union'], 'Error: Unbalanced quote: close the phrase with another ".'),
    (["query", "maroc", "AND"], "Error: The query ends with an operator: add a word after it."),
    (["query", "co*"], "Error: Truncation needs at least 3 letters before * or ?: 'co*'."),
    (["query", "maroc", "--since", "2025-13"],
     "Error: --since takes a real date (years 1800 to 2200) written 2020, 2020-06 or "
     "2020-06-15, not '2025-13'."),
    (["show", TACHKENT[:-1]], f"Error: No article has the id '{TACHKENT[:-1]}'. Closest: "
                              f"{TACHKENT}. `search query --json` shows the ids."),
])
def test_bad_input_is_the_same_one_line(seeded, args, message):
    result = run(seeded, *args)
    assert (result.exit_code, result.output) == (1, message + "\n")


@pytest.mark.parametrize("args", [
    ["count", "maroc", "--by", "year"],
    ["count", "maroc", "--compare", "tachkent", "--by", "year", "--csv"],
    ["count", "", "--by", "category", "--json"],
    ["show", TACHKENT, "--highlight", "alimentaire"],
    ["show", TACHKENT, "--json", "--highlight", "Maroc"],
    ["query", "--facets", "--json", "maroc"],
])
def test_counts_and_articles_print_the_same(args, tmp_path, cluster_url):
    outputs = []
    for backend in both_built(tmp_path, cluster_url):
        result = run(backend, *args)
        assert result.exit_code == 0
        outputs.append(result.output)
    if args[0] == "query":  # scores differ between engines; the facets do not
        outputs = [json.loads(output)["facets"] for output in outputs]
    assert outputs[0] == outputs[1]


# Articles alike in every count of the query's words and in length, so that BM25 ties
# them (and their fillers differ, so they are not copies of one dispatch): only where the
# words stand sets them apart. "z" has them side by side at its start, "b" far apart at
# its end; "b" comes first in the order of ids that breaks ties.
def _filler(name: str) -> str:
    return " ".join(f"{name}{n}" for n in range(80))


_PLACED = {
    "b": f"{_filler('mb')} accord au loin, puis {_filler('nb')} enfin commercial signé.",
    "z": f"L'accord commercial signé. {_filler('mz')} au loin, puis {_filler('nz')} enfin.",
    "c": f"{_filler('mc')} accord et {_filler('nc')} commerce.",
}


@pytest.fixture
def placed(tmp_path) -> Path:
    """A corpus of the `_PLACED` articles."""
    corpus = tmp_path / "placed"
    corpus.mkdir()
    for name, body in _PLACED.items():
        (corpus / f"{name}.txt").write_text(f"title: Note {name}\n\n{body}\n", encoding="utf-8")
    return corpus


@pytest.mark.parametrize("args", [
    ["query", "--json", "--limit", "3", "accord commercial"],
    ["query", "--json", "--copies", "--limit", "2", "accord commercial"],
    ["query", "--all", "--jsonl", "--fields", "id", "accord commercial"],
])
def test_both_backends_rank_by_where_the_words_stand(args, placed, tmp_path, cluster_url):
    ranked = []
    for backend in both_built(tmp_path, cluster_url, placed):
        output = run(backend, *args).output
        lines = (json.loads(output)["hits"] if "--json" in args
                 else [json.loads(line) for line in output.splitlines()])
        ranked.append([Path(hit["id"]).stem.split("#")[0] for hit in lines])
    assert ranked[0] == ranked[1]
    assert ranked[0][0] == "z"


def test_a_fuzzy_word_finds_all_its_neighbours_on_both(tmp_path, cluster_url):
    """More words within two letters of `salut` than OpenSearch's default 50 expansions:
    each in an article of its own, all found on both backends."""
    corpus = tmp_path / "neighbours"
    corpus.mkdir()
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = [f"salut{c}" for c in letters] + [f"salu{c}" for c in letters if c != "t"]
    words += [f"sal{c}t" for c in letters if c != "u"]
    for number, word in enumerate(words):
        (corpus / f"{number:03}.txt").write_text(f"title: {word}\n\nUn mot : {word}.\n",
                                                 encoding="utf-8")
    totals = []
    for backend in both_built(tmp_path, cluster_url, corpus):
        totals.append(json.loads(run(backend, "query", "--json", "salut~2").output)["total"])
    assert totals == [len(words), len(words)]


def test_both_readers_rank_plain_words_alike(placed, tmp_path, cluster_url):
    """`rank_words`, the evaluations' path, re-ranks on a cluster as on the index folder."""
    ranked = []
    for backend in both_readers(tmp_path, cluster_url, placed):
        with reading(backend) as reader:
            ranked.append([id for id, _ in reader.rank_words("accord commercial", limit=3)])
    assert ranked[0] == ranked[1] == ["z.txt", "b.txt", "c.txt"]


@pytest.mark.parametrize("args", [
    ["query", "maroc", "--all", "--csv", "--fields", "id,score"],
    ["query", "maroc", "--json"],
])
def test_scores_are_shown_to_four_decimals(seeded, args):
    output = run(seeded, *args).output
    scores = ([line.split(",")[1] for line in output.splitlines()[1:]] if "--csv" in args
              else [str(hit["score"]) for hit in json.loads(output)["hits"]])
    assert len(scores) == 2
    assert all(re.fullmatch(r"\d+(\.\d{1,4})?", score) for score in scores), scores


@pytest.mark.parametrize(("path", "linked"), [
    ("/?q=maroc", 2), ("/?q=maroc+kazakhstan&facets=1", 2), ("/?q=visit*&sort=date", 2),
    ("/?q=Tokaev", 2), ("/?q=&source=kazinform", 0), ("/?q=((((", 0),
    ("/?q=maroc&since=2030", 0), (f"/article?id={TACHKENT}&q=maroc", 0),
    ("/article?id=nope", 0), ("/export.csv?q=maroc", 0),
])
def test_the_web_page_answers_alike(path, linked, tmp_path, cluster_url):
    """The web page reads either backend through the same interface: the same status, the
    same articles linked in the same order, the same export."""
    from starlette.testclient import TestClient

    from search.web import create_app
    answers = []
    for backend in both_readers(tmp_path, cluster_url):
        answer = TestClient(create_app(backend)).get(path)
        answers.append((answer.status_code, re.findall(r"[?;]id=([^&\"]+)", answer.text),
                        # the export's rows, less their scores, which differ between engines
                        [row.rsplit(",", 1)[0] for row in answer.text.splitlines()]
                        if path.startswith("/export") else None))
    assert answers[0] == answers[1]
    assert len(answers[0][1]) == linked


def test_a_file_turned_unreadable_keeps_its_article(backend, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for seed in SEEDS.iterdir():
        (corpus / seed.name).write_bytes(seed.read_bytes())
    assert run(backend, "index", str(corpus)).exit_code == 0
    (corpus / TACHKENT).write_bytes(b"\x00\x01\x02\xff" * 9)
    result = run(backend, "index", str(corpus))
    assert (result.exit_code, result.output.splitlines()) == (0, [
        f"Index {where(backend)}: 0 added, 0 updated, 0 removed, 2 unchanged, 1 skipped.",
        f"  skipped {corpus / TACHKENT}: binary file; its indexed article is kept"])
    assert run(backend, "query", "maroc").output.startswith("2 articles match «maroc».")


def test_stats(seeded):
    lines = run(seeded, "stats").output.splitlines()
    assert lines[0] == f"Index:       {where(seeded)}"
    assert lines[1:3] == ["Documents:   2", "Dates:       2025-04 to 2025-04"]


def test_a_rebuild_given_no_paths_reads_the_files_the_index_lists(backend, tmp_path):
    """The one command an index written by an older version needs, on both backends: a
    file gone since is told and left out."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in (RABAT, TACHKENT):
        (corpus / name).write_bytes((SEEDS / name).read_bytes())
    assert run(backend, "rebuild", str(corpus)).exit_code == 0
    (corpus / TACHKENT).unlink()
    result = run(backend, "rebuild")
    assert (result.exit_code, result.output) == (0, (
        f"Index {where(backend)}: 1 added, 0 updated, 0 removed, 0 unchanged, 1 skipped.\n"
        f"  skipped {corpus / TACHKENT}: no longer there; its articles are left out of the "
        "rebuilt index\n"))
    assert run(backend, "query", "maroc").output.startswith("1 article matches «maroc».")


def test_a_rebuild_given_no_paths_of_an_index_that_lists_none(backend):
    result = CliRunner().invoke(cli, ["rebuild", *backend])
    index = f"in {where(backend)}/" if backend[0] == "--index" else f"at {where(backend)}"
    assert (result.exit_code, result.output) == (1, (
        f"Error: The index {index} lists no files to rebuild from: name the "
        "folders or files of articles, `search rebuild PATH...`.\n"))


def test_a_rebuild_replaces_the_index_only_when_it_is_complete(seeded, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "blank.txt").write_text("", encoding="utf-8")
    failed = run(seeded, "rebuild", str(empty))
    assert failed.exit_code == 1
    assert run(seeded, "query", "maroc").output.startswith("2 articles match «maroc».")
    one = tmp_path / "one"
    one.mkdir()
    (one / TACHKENT).write_bytes((SEEDS / TACHKENT).read_bytes())
    assert run(seeded, "rebuild", str(one)).exit_code == 0
    assert run(seeded, "query", "maroc").output.startswith("1 article matches «maroc».")


@pytest.mark.parametrize(("args", "message"), [
    (["query", "maroc"], "Error: The OpenSearch cluster at http://127.0.0.1:9/x does not "
                         "answer: is it running, and is the URL right?"),
    (["index", str(SEEDS)], "Error: Could not write the index at http://127.0.0.1:9/x: the "
                            "cluster does not answer. The previous index is unchanged."),
])
def test_an_unreachable_cluster_is_one_line(args, message):
    result = run(["--backend", "opensearch", "--url", "http://127.0.0.1:9/x"], *args)
    assert (result.exit_code, result.output) == (1, message + "\n")


@pytest.mark.parametrize("query", [
    "maroc visit*",  # a lexicon term's forms; the words a truncation stands for
    "Tokaev marocaines",  # a name's spellings; a demonym
    "coopératon~ Tokaiev~2",  # fuzzy words
    "bilatérales =coopération",  # a stem's forms; a word as written
    "ambassadeur~ ambassadeurs",  # a feminine form that does not start as its stem
    '"Sud-Sud" coop*',
])
def test_explain_prints_the_same(query, tmp_path, cluster_url):
    """Terms, counts, forms as written and the words of truncated and fuzzy words: the
    cluster lists them (its rewritten queries, its stems' likely forms) as the index
    folder does from its vocabulary."""
    outputs = []
    for backend in both_built(tmp_path, cluster_url):
        result = run(backend, "explain", query)
        assert result.exit_code == 0
        outputs.append(result.output)
    assert outputs[0] == outputs[1]


@pytest.mark.parametrize("copies", [False, True])
def test_a_page_of_hits_is_the_slice_of_the_hits_before_it(seeded, copies):
    """The web page's pages (`offset`), on both backends."""
    from search.backend import open_backend, reading

    options = dict(zip(seeded[::2], seeded[1::2], strict=True))
    index = options.get("--index")
    backend = open_backend(options.get("--backend", "whoosh"),
                           index_dir=Path(index) if index else None, url=options.get("--url"))
    with reading(backend) as reader:
        every = reader.search("coopération", limit=10, copies=copies).hits
        page = reader.search("coopération", limit=1, offset=1, copies=copies).hits
    assert len(every) == 2
    assert [(hit.rank, hit.id) for hit in page] == [(hit.rank, hit.id) for hit in every[1:]]


@pytest.fixture
def misspelt(tmp_path, cluster_url) -> list[list[str]]:
    """Both backends on articles with a word in four, its plural in one, and a misspelling
    of it in one (the corpus of test_search's "did you mean")."""
    folder = tmp_path / "misspelt"
    folder.mkdir()
    for number in range(4):
        (folder / f"a{number}.txt").write_text(
            f"Visite {number}\n\nL'ambassadeur du Maroc à Rabat. Un ambassadeur parle.", "utf-8")
    (folder / "b.txt").write_text("Les ambassadeurs\n\nDes ambassadeurs réunis à Rabat.", "utf-8")
    (folder / "c.txt").write_text("Rareté\n\nUn ambasadeur mal écrit, une fois.", "utf-8")
    backends = [["--index", str(tmp_path / "index")],
                ["--backend", "opensearch", "--url", f"{cluster_url}/test{next(_aliases)}"]]
    for backend in backends:
        assert run(backend, "rebuild", str(folder)).exit_code == 0
    return backends


@pytest.mark.parametrize("text, suggested", [
    ("ambasadeur", ["ambassadeur"]),
    ("ambasadeurr", ["ambasadeur", "ambassadeur", "ambassadeurs"]),
    ("ambassadeur", []),
    ("ambasadeur Rabatt", ["ambassadeur rabat"]),
    ("xyzzy", []),
    ('"ambassadeur du Marok"', ['"ambassadeur du maroc"']),
])
def test_both_backends_suggest_the_same_words(misspelt, text, suggested):
    found = [json.loads(run(backend, "query", "--json", text).output)["suggestions"]
             for backend in misspelt]
    assert found == [suggested, suggested]
