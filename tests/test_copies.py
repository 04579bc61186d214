"""Copies of one dispatch: signatures, groups, and groups in the index as it is updated."""

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from search import copies
from search.cli import cli
from search.copies import (
    BANDS,
    COPY_THRESHOLD,
    MIN_WORDS,
    ROWS,
    SEED,
    SIGNATURE_SIZE,
    are_copies,
    band_terms,
    copy_pairs,
    earliest_first,
    group,
    shown_similarity,
    signature,
    similarity,
)
from search.errors import UnknownArticleError
from search.index import update
from search.models import Filters
from search.searcher import copies_of, open_searcher, search

from .conftest import write_export

# A wire dispatch of 13 sentences (about 230 words).
DISPATCH = (
    "Le ministre marocain des Affaires étrangères a reçu mardi à Rabat son homologue "
    "mauritanien pour une visite de travail de deux jours. Les deux responsables ont passé en "
    "revue l'état de la coopération bilatérale et les moyens de la renforcer dans les domaines "
    "de l'énergie, de la pêche et des transports. Ils ont également évoqué la situation "
    "sécuritaire au Sahel, où plusieurs groupes armés multiplient les attaques depuis le début "
    "de l'année. Selon un communiqué du ministère publié dans la soirée, les deux pays sont "
    "convenus de tenir la prochaine commission mixte à Nouakchott avant la fin de l'année. "
    "Le volume des échanges commerciaux entre le Maroc et la Mauritanie a atteint l'an dernier "
    "près de trois cents millions de dollars, en hausse de douze pour cent. Une nouvelle route "
    "reliant les deux pays doit être inaugurée au printemps prochain, a précisé le ministre "
    "mauritanien lors d'une conférence de presse. Les entreprises marocaines sont de plus en "
    "plus présentes dans les secteurs de la banque et des télécommunications en Mauritanie. "
    "Les deux ministres ont aussi signé un accord sur la formation des diplomates. Cette visite "
    "intervient quelques semaines après celle du chef du gouvernement marocain à Nouakchott. "
    "Les relations entre les deux voisins ont connu des hauts et des bas au cours des dernières "
    "décennies. Elles se sont nettement améliorées depuis deux ans, selon les observateurs. "
    "La question du Sahara occidental reste toutefois un sujet sensible entre les deux capitales. "
    "Le ministre mauritanien doit être reçu mercredi par le chef du gouvernement."
)
# The same dispatch, one sentence rewritten (an update of its figures).
UPDATED = DISPATCH.replace(
    "a atteint l'an dernier près de trois cents millions de dollars, en hausse de douze pour "
    "cent.",
    "a dépassé l'an dernier les trois cent vingt millions de dollars, selon l'office des changes.")
# Another article on the same country.
OTHER = (
    "Le gouvernement a présenté mercredi en Conseil des ministres un projet de loi sur la "
    "réforme des retraites, qui prévoit un relèvement progressif de l'âge légal de départ et "
    "une revalorisation des petites pensions. Les syndicats ont aussitôt appelé à une journée "
    "de grève et de manifestations dans tout le Maroc, dénonçant un texte préparé sans "
    "concertation. Le ministre de l'Économie a défendu une réforme indispensable à l'équilibre "
    "des caisses, dont le déficit devrait atteindre quatre milliards de dirhams cette année. "
    "Le texte sera examiné par le Parlement à partir du mois prochain."
)


# A chain: BRIDGE is a copy of FIRST and of LAST, which are not copies of each other.
def _sentence(n: int) -> str:
    return f"La délégation numéro {n} a rencontré les ministres {n} pour parler de l'accord {n}."


def _other(n: int) -> str:
    return f"Un autre texte {n} sans aucun rapport {n} avec le premier, écrit ailleurs {n}."


FIRST = " ".join(_sentence(n) for n in range(30))
BRIDGE = " ".join(_other(n) if n < 3 else _sentence(n) for n in range(30))
LAST = " ".join(_other(n) if n < 6 else _sentence(n) for n in range(30))


@pytest.mark.parametrize("first, second, expected", [
    (DISPATCH, DISPATCH, True),
    (DISPATCH, UPDATED, True),
    (DISPATCH, DISPATCH.replace("’", "'").upper(), True),  # case, apostrophes
    (DISPATCH, DISPATCH.replace(". ", ".\n\n"), True),  # paragraphs
    (DISPATCH, DISPATCH + " " + OTHER, False),  # the dispatch with a second story after it
    (DISPATCH, OTHER, False),
    (DISPATCH, "", False),
    ("", "", False),  # empty bodies are not all copies of each other
    ("Vidéo.", "Vidéo.", False),  # nor are stock lines
], ids=["identical", "a sentence changed", "case and apostrophes", "paragraphs",
        "another story added", "another article", "an empty body", "two empty bodies",
        "a stock line"])
def test_which_bodies_are_copies(first, second, expected):
    assert are_copies(signature(first), signature(second)) is expected


@pytest.mark.parametrize("first, second, shown", [
    (DISPATCH, DISPATCH, 1.0),
    (DISPATCH, UPDATED, round(similarity(signature(DISPATCH), signature(UPDATED)), 3)),
    (DISPATCH, "Trop court.", 1.0),  # no signature: nothing to compare
])
def test_a_copys_similarity_is_shown_to_three_decimals(first, second, shown):
    found = shown_similarity(signature(first), signature(second))
    assert found == shown
    assert found == round(found, 3)


@pytest.mark.parametrize("body, has_signature", [
    (" ".join(["mot"] * (MIN_WORDS - 1)), False),
    (" ".join(["mot"] * MIN_WORDS), True),
    ("Vidéo : le discours du ministre, en direct.", False),
    (DISPATCH, True),
])
def test_a_body_needs_min_words_for_a_signature(body, has_signature):
    assert (signature(body) is not None) is has_signature


def test_similarity_estimates_the_shingles_jaccard():
    """One sentence of 13 rewritten: about 17 of some 230 shingles differ."""
    assert similarity(signature(DISPATCH), signature(UPDATED)) == pytest.approx(0.85, abs=0.07)
    assert similarity(signature(DISPATCH), signature(OTHER)) < 0.1


@given(values=st.lists(st.integers(0, 2**32 - 1), min_size=SIGNATURE_SIZE,
                       max_size=SIGNATURE_SIZE),
       changed=st.sets(st.integers(0, SIGNATURE_SIZE - 1)))
def test_similarity_is_the_share_of_equal_values(values, changed):
    """The stored values are compared in place: the share of equal ones, as datasketch's
    `MinHash.jaccard` counts them on the values themselves."""
    import struct

    other = [(value + 1) % 2**32 if at in changed else value for at, value in enumerate(values)]
    stored = struct.Struct(f"<{SIGNATURE_SIZE}I")
    assert similarity(stored.pack(*values), stored.pack(*other)) == (
        (SIGNATURE_SIZE - len(changed)) / SIGNATURE_SIZE)


def test_the_band_figures_of_the_module_doc():
    """Two bodies at 0.8 share a band term with probability 0.94; at 0.9, 0.995."""
    def shares(s):
        return 1 - (1 - s ** ROWS) ** BANDS
    assert round(shares(COPY_THRESHOLD), 2) == 0.94
    assert round(shares(0.9), 3) == 0.995


@pytest.mark.parametrize("body", [DISPATCH, UPDATED, OTHER, " ".join(["mot"] * MIN_WORDS)])
def test_a_signature_is_datasketchs_minhash_of_the_shingles(body):
    """The shingles passed as one array give what datasketch gives them one by one."""
    import numpy as np
    from datasketch import MinHash

    sketch = MinHash(num_perm=SIGNATURE_SIZE, seed=SEED, hashfunc=int)
    sketch.update_batch(copies.shingles(body))
    assert signature(body) == sketch.hashvalues.astype(np.dtype("<u4")).tobytes()


def test_signing_imports_neither_scipy_nor_datasketchs_lsh():
    """A fresh process, as indexing is: only datasketch's MinHash module is imported."""
    program = ("import sys; from search.copies import signature; "
               f"assert signature({DISPATCH!r}); "
               "print(sorted(name for name in sys.modules "
               "if name.startswith(('scipy', 'datasketch'))))")
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          check=True)
    assert done.stdout == "['datasketch.hashfunc', 'datasketch.minhash']\n"


def test_band_terms_are_one_a_band_and_equal_for_equal_bodies():
    terms = band_terms(signature(DISPATCH))
    assert len(terms) == BANDS == len(set(terms))
    assert [term.split(".")[0] for term in terms] == [str(band) for band in range(BANDS)]
    assert terms == band_terms(signature(DISPATCH.upper()))
    assert not set(terms) & set(band_terms(signature(OTHER)))


@pytest.mark.parametrize("bodies, expected", [
    ([DISPATCH, OTHER, DISPATCH], [[0, 2], [1]]),
    ([OTHER, DISPATCH, UPDATED, ""], [[0], [1, 2], [3]]),
    (["", ""], [[0], [1]]),
    ([], []),
])
def test_groups_keep_the_order_given(bodies, expected):
    assert group([signature(body) for body in bodies]) == expected


def test_copies_of_copies_join_one_group(monkeypatch):
    """a ~ b and b ~ c make one group, even when a and c are not copies."""
    pairs = {frozenset("ab"), frozenset("bc")}
    monkeypatch.setattr(copies, "band_terms", lambda signature: ["one band"])
    monkeypatch.setattr(copies, "are_copies", lambda x, y: frozenset((x, y)) in pairs)
    monkeypatch.setattr(copies, "usable", lambda signature: True)
    assert group(["a", "c", "b", "d"]) == [[0, 1, 2], [3]]


@pytest.mark.parametrize("articles, earliest", [
    ([("2020-05-02", "a"), ("2020-05-01", "b")], "b"),
    ([("2020-05-01", "b"), ("2020-05-01", "a")], "a"),  # same day: the lower id
    ([(None, "a"), ("2021", "b")], "b"),  # undated last
    ([("2020", "a"), ("2020-01-01", "b")], "a"),  # a year before any day of it
])
def test_a_group_shows_its_earliest_article(articles, earliest):
    fields = [{"date": date, "id": article_id} for date, article_id in articles]
    assert min(fields, key=earliest_first)["id"] == earliest


@given(st.text(min_size=0, max_size=400))
def test_a_signature_is_its_own_copy_and_the_same_each_time(body):
    found = signature(body)
    assert found == signature(body)
    if found is not None:
        assert similarity(found, found) == 1.0
        assert group([found, found]) == [[0, 1]]


def _components(count: int, pairs) -> list[list[int]]:
    """The connected parts of `pairs` over range(count), by a plain search of the graph."""
    linked: dict[int, set[int]] = {at: set() for at in range(count)}
    for first, second in pairs:
        linked[first].add(second)
        linked[second].add(first)
    seen: set[int] = set()
    parts = []
    for start in range(count):
        if start not in seen:
            part, todo = set(), [start]
            while todo:
                at = todo.pop()
                if at not in part:
                    part.add(at)
                    todo.extend(linked[at])
            seen |= part
            parts.append(sorted(part))
    return parts


_BODIES = [DISPATCH, UPDATED, OTHER, "", OTHER[:200], FIRST, BRIDGE, LAST]


@given(st.lists(st.sampled_from(_BODIES), max_size=12))
def test_groups_are_the_connected_parts_of_the_copy_pairs(bodies):
    signatures = [signature(body) for body in bodies]
    assert group(signatures) == _components(len(signatures), copy_pairs(signatures))


def test_many_copies_are_grouped_without_checking_every_pair(monkeypatch):
    """Each signature is checked against another group once it has found a copy there."""
    checked = []
    are_copies = copies.are_copies
    monkeypatch.setattr(copies, "are_copies",
                        lambda first, second: checked.append(1) or are_copies(first, second))
    found = signature(DISPATCH)
    assert group([found] * 300) == [list(range(300))]
    assert len(checked) == 299


@given(st.lists(st.sampled_from([DISPATCH, UPDATED, OTHER, "", OTHER[:200]]), max_size=8))
def test_groups_partition_the_positions(bodies):
    groups = group([signature(body) for body in bodies])
    assert sorted(at for members in groups for at in members) == list(range(len(bodies)))
    assert [members[0] for members in groups] == sorted(members[0] for members in groups)


# In the index

def record(n, body, date="2020-05-02", category="monde", title=None):
    return {"id": n, "url": f"https://actu.orange.fr/{category}/{n}.html", "category": category,
            "date": date, "title": title or f"Dépêche {n}", "article": body}


def ids(results):
    return [hit.id for hit in results.hits]


@pytest.fixture
def export(tmp_path):
    return tmp_path / "export.jsonl"


@pytest.mark.parametrize("second, grouped", [
    (record(2, DISPATCH, category="societe/sante"), True),
    (record(2, UPDATED), True),
    (record(2, OTHER + " Le Maroc et la Mauritanie."), False),
], ids=["the same body under another category", "a sentence changed", "another article"])
def test_copies_in_the_index_are_one_hit(export, isolated_index, second, grouped):
    write_export(export, [record(1, DISPATCH), second])
    update([export], isolated_index)
    results = search(isolated_index, "Mauritanie")
    assert results.total == 2
    if grouped:
        assert [(hit.id, hit.copies) for hit in results.hits] == [
            ("export.jsonl#1", ("export.jsonl#2",))]
    else:
        assert sorted((hit.id, hit.copies) for hit in results.hits) == [
            ("export.jsonl#1", ()), ("export.jsonl#2", ())]
    assert len(search(isolated_index, "Mauritanie", copies=True).hits) == 2


@pytest.mark.parametrize("copies, expected", [
    (False, [("export.jsonl#3", ("export.jsonl#1",)), ("export.jsonl#2", ())]),
    (True, [("export.jsonl#1", ()), ("export.jsonl#2", ()), ("export.jsonl#3", ())]),
])
def test_a_listing_without_words_groups_copies_too(export, isolated_index, copies, expected):
    """Newest first; the group of 1 and 3 shows its earliest, 3, at the rank of its
    newest, as a query's groups show at the rank of their best."""
    write_export(export, [record(1, DISPATCH, date="2020-05-04"),
                          record(2, OTHER, date="2020-05-03"),
                          record(3, DISPATCH, date="2020-05-01")])
    update([export], isolated_index)
    results = search(isolated_index, "", filters=Filters(since="2020"), copies=copies)
    assert results.total == 3
    assert [(hit.id, hit.copies) for hit in results.hits] == expected


def test_a_group_shows_its_earliest_at_the_rank_of_its_best(export, isolated_index):
    """The later copy has the query's word in its title and ranks first; the group shows
    the earliest, first."""
    write_export(export, [record(1, OTHER + " Mauritanie.", title="Retraites"),
                          record(2, DISPATCH, date="2020-05-03", title="Mauritanie"),
                          record(3, DISPATCH, date="2020-05-01", title="Visite")])
    update([export], isolated_index)
    every = search(isolated_index, "Mauritanie", copies=True)
    assert ids(every)[0] == "export.jsonl#2"
    results = search(isolated_index, "Mauritanie")
    assert [(hit.rank, hit.id, hit.copies) for hit in results.hits] == [
        (1, "export.jsonl#3", ("export.jsonl#2",)), (2, "export.jsonl#1", ())]


def test_more_copies_than_the_first_hits_read(export, isolated_index):
    """25 copies of one dispatch rank above another article: `limit` groups are still
    found, read deeper."""
    records = [record(n, DISPATCH, title="Mauritanie Mauritanie", date=f"2020-05-{n:02}")
               for n in range(1, 26)]
    write_export(export, [*records, record(30, OTHER + " Mauritanie.")])
    update([export], isolated_index)
    results = search(isolated_index, "Mauritanie", limit=2)
    assert results.total == 26
    assert ids(results) == ["export.jsonl#1", "export.jsonl#30"]
    assert len(results.hits[0].copies) == 24
    assert len(search(isolated_index, "Mauritanie", limit=2, sort="date").hits) == 2


@pytest.mark.parametrize("sort", ["relevance", "date"])
@pytest.mark.parametrize("limit", [3, 30])
def test_the_article_shown_does_not_depend_on_how_deep_the_hits_were_read(
        export, isolated_index, sort, limit):
    """The group's earliest article that the query matches (#40) ranks below 25 other
    hits, past the first hits read for 3; its earliest (#41) lacks the word. However
    many hits are asked for, the group shows #40 with the same copies."""
    shorts = [record(n, f"Les télécommunications {n} et le reste.", title=f"Note {n}",
                     date="2020-05-05") for n in range(2, 27)]
    write_export(export, [
        record(1, DISPATCH, title="Télécommunications télécommunications", date="2020-05-10"),
        *shorts,
        record(40, DISPATCH, title="Visite", date="2020-05-01"),
        record(41, DISPATCH.replace("télécommunications", "assurances"), date="2020-04-01")])
    update([export], isolated_index)
    every = search(isolated_index, "télécommunications", limit=30, copies=True, sort=sort)
    assert ids(every)[0] == "export.jsonl#1" and ids(every)[-1] == "export.jsonl#40"
    assert "export.jsonl#41" not in ids(every)
    results = search(isolated_index, "télécommunications", limit=limit, sort=sort)
    assert (results.hits[0].id, results.hits[0].copies) == (
        "export.jsonl#40", ("export.jsonl#41", "export.jsonl#1"))
    assert [hit.id for hit in results.hits[1:]] == ids(every)[1:-1][:limit - 1]


@pytest.mark.parametrize(("read", "groups", "wanted", "next_read"), [
    (30, 3, 10, 125),   # most hits are copies (wire dispatches): one guess, not 60 then 120
    (30, 9, 10, 60),    # nearly there: at least twice as deep
    (22, 1, 2, 55),
    (20, 19, 20, 40),
    (1, 1, 1000, 8),    # one large group first: at most eight times deeper
    (30, 1, 1000, 240),
])
def test_reading_deeper_guesses_from_the_copies_seen(read, groups, wanted, next_read):
    from search.searcher import _deeper
    assert _deeper(read, groups, wanted) == next_read


def test_each_article_is_read_once_however_deep_the_copies_go(export, isolated_index,
                                                               monkeypatch):
    """Grouping reads deeper hits and each group's copies: an article's stored fields
    (decompressed) are read once for all of it; a hit shown is read once more."""
    from whoosh.codec.whoosh3 import W3PerDocReader

    records = [record(n, DISPATCH, title="Mauritanie Mauritanie", date=f"2020-05-{n:02}")
               for n in range(1, 26)]
    write_export(export, [*records, record(30, OTHER + " Mauritanie.")])
    update([export], isolated_index)
    read = []
    whoosh_stored_fields = W3PerDocReader.stored_fields
    monkeypatch.setattr(W3PerDocReader, "stored_fields",
                        lambda self, docnum: read.append(docnum) or whoosh_stored_fields(
                            self, docnum))
    results = search(isolated_index, "Mauritanie", limit=2)
    assert ids(results) == ["export.jsonl#1", "export.jsonl#30"]
    assert len(results.hits[0].copies) == 24
    assert len(set(read)) == 26
    assert len(read) == len(set(read)) + len(results.hits)


def test_deeper_reads_reread_no_position(export, isolated_index, monkeypatch):
    """Each deeper read re-ranks its best hits by their words' positions: those the reads
    before it read are not read again (a frequent word's block headers walked again)."""
    from search import searcher

    records = [record(n, DISPATCH, title="Mauritanie Mauritanie", date=f"2020-05-{n:02}")
               for n in range(1, 26)]
    write_export(export, [*records, record(30, OTHER + " Mauritanie.")])
    update([export], isolated_index)
    expected = search(isolated_index, "Mauritanie", limit=2)
    read = []
    positions_across = searcher.positions_across
    monkeypatch.setattr(searcher, "positions_across", lambda reader, field, text, docnums: (
        read.extend((text, docnum) for docnum in docnums)
        or positions_across(reader, field, text, docnums)))
    results = search(isolated_index, "Mauritanie", limit=2)
    assert results == expected
    assert ids(results) == ["export.jsonl#1", "export.jsonl#30"]
    assert read and len(read) == len(set(read))


def test_groups_follow_updates(export, isolated_index):
    """A copy added later joins the group, its removal leaves it, with nothing else
    rewritten."""
    write_export(export, [record(1, DISPATCH), record(2, OTHER)])
    update([export], isolated_index)
    assert [copy.id for copy in copies_of(isolated_index, "export.jsonl#1")] == [
        "export.jsonl#1"]

    write_export(export, [record(1, DISPATCH), record(2, OTHER),
                          record(3, UPDATED, date="2020-05-01", category="societe/sante")])
    report = update([export], isolated_index)
    assert (report.added, report.updated) == (1, 0)
    group = copies_of(isolated_index, "export.jsonl#1")
    assert [(copy.id, copy.category) for copy in group] == [
        ("export.jsonl#3", "societe/sante"), ("export.jsonl#1", "monde")]
    assert group[1].similarity == 1.0 and COPY_THRESHOLD <= group[0].similarity < 1.0
    assert ids(search(isolated_index, "Mauritanie")) == ["export.jsonl#3"]

    write_export(export, [record(1, DISPATCH), record(2, OTHER)])
    assert update([export], isolated_index).removed == 1
    assert [copy.id for copy in copies_of(isolated_index, "export.jsonl#1")] == [
        "export.jsonl#1"]
    results = search(isolated_index, "Mauritanie")
    assert [(hit.id, hit.copies) for hit in results.hits] == [("export.jsonl#1", ())]


def test_a_changed_body_leaves_its_group(export, isolated_index):
    write_export(export, [record(1, DISPATCH), record(2, DISPATCH)])
    update([export], isolated_index)
    assert len(copies_of(isolated_index, "export.jsonl#2")) == 2
    write_export(export, [record(1, DISPATCH), record(2, OTHER)])
    assert update([export], isolated_index).updated == 1
    assert len(copies_of(isolated_index, "export.jsonl#2")) == 1


def test_copies_of_an_unknown_article(seed_index):
    with pytest.raises(UnknownArticleError) as raised:
        copies_of(seed_index, "nowhere.txt")
    assert str(raised.value) == (
        "No article has the id 'nowhere.txt'. `search query --json` shows the ids.")


def test_an_index_built_without_copy_fields_still_searches_and_updates(
        export, isolated_index, monkeypatch):
    """An index of an earlier version has no copy fields: each article is its own group
    until it is rebuilt, and updates write none."""
    from whoosh.fields import Schema

    from search import store
    from search.schema import build_schema

    def earlier_schema():
        schema = build_schema()
        return Schema(**{name: schema[name] for name in schema.names()
                         if not name.startswith("copy_")})

    monkeypatch.setattr(store, "build_schema", earlier_schema)
    write_export(export, [record(1, DISPATCH), record(2, DISPATCH)])
    update([export], isolated_index)
    write_export(export, [record(1, DISPATCH), record(2, DISPATCH), record(3, DISPATCH)])
    assert update([export], isolated_index).added == 1
    assert [hit.copies for hit in search(isolated_index, "Mauritanie").hits] == [(), (), ()]
    assert len(copies_of(isolated_index, "export.jsonl#1")) == 1
    with open_searcher(isolated_index) as searcher:
        assert "copy_bands" not in searcher._ix.schema


def test_cli_shows_a_group_once_and_every_copy_with_copies(export, isolated_index):
    write_export(export, [record(1, DISPATCH), record(2, DISPATCH, category="societe/sante"),
                          record(3, OTHER + " Mauritanie.")])
    update([export], isolated_index)
    runner = CliRunner()
    grouped = runner.invoke(cli, ["query", "Mauritanie"])
    assert grouped.exit_code == 0
    assert grouped.output.splitlines()[0] == (
        "3 articles match «Mauritanie» (showing 2; copies of a dispatch shown once, --copies "
        "shows each).")
    assert grouped.output.count("+1 copy") == 1
    every = runner.invoke(cli, ["query", "Mauritanie", "--copies"])
    assert every.exit_code == 0
    assert every.output.splitlines()[0] == "3 articles match «Mauritanie»."
    assert "+1 copy" not in every.output
    assert [line.split(" ", 1)[0] for line in every.output.splitlines() if line[:1].isdigit()
            ][1:] == ["1.", "2.", "3."]
    hits = json.loads(runner.invoke(cli, ["query", "Mauritanie", "--json"]).output)["hits"]
    assert sorted((hit["id"], hit["copies"]) for hit in hits) == [
        ("export.jsonl#1", ["export.jsonl#2"]), ("export.jsonl#3", [])]


@pytest.mark.parametrize("copies, suggested", [(False, ("ambassadeur",)), (True, ())])
def test_a_misspelt_word_in_one_dispatch_and_its_copies_gets_suggestions(
        export, isolated_index, copies, suggested):
    """`ambasadeur` matches only the name key of a capitalised `Ambassadeur`, in three
    copies of one dispatch: three articles, but one hit where copies are shown once, few
    enough for "did you mean" (`suggest.few_hits`)."""
    body = DISPATCH.replace("son homologue", "l'Ambassadeur de Mauritanie et son homologue")
    write_export(export, [record(n, body) for n in (1, 2, 3)])
    update([export], isolated_index)
    results = search(isolated_index, "ambasadeur", copies=copies)
    assert (results.total, len(results.hits)) == (3, 3 if copies else 1)
    assert results.suggestions == suggested


def test_a_group_shows_its_earliest_match_when_the_total_is_a_lower_bound(
        export, isolated_index, monkeypatch):
    """The group of #1 and its earlier copy #700 shows #700, which the query matches,
    though its block is never decoded for the best hits and the total is only a lower
    bound: the word's matcher is asked for it, as the count would have told."""
    body = DISPATCH.replace("son homologue", "son homologue du climat")
    short = [record(n, f"Le climat change à Rabat, note {n}.") for n in range(2, 400)]
    long = [record(n, "Le climat. " + "Une phrase de plus. " * 60 + f"Note {n}.")
            for n in range(400, 900)]
    write_export(export, [record(1, body, title="Climat climat", date="2020-05-10"),
                          *short, *long[:300],
                          record(700, body, title="Visite", date="2020-04-01"), *long[300:]])
    update([export], isolated_index)
    monkeypatch.setattr("search.whoosh_fast.queries.EXACT_COUNT_POSTINGS", 0)
    results = search(isolated_index, "climat", limit=2)
    assert not results.total_exact
    assert (results.hits[0].id, results.hits[0].copies) == (
        "export.jsonl#700", ("export.jsonl#1",))
