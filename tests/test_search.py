import unicodedata

import pytest

from search.errors import FilterError, IndexCorruptError, QueryTooBroadError
from search.index import rebuild, update
from search.models import Filters
from search.searcher import explain, search

from .conftest import RABAT, TACHKENT, index_of, without_forms_files

BOTH = {RABAT, TACHKENT}


def found(index_dir, text, **options):
    return {hit.id for hit in search(index_dir, text, **options).hits}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("coopération bilatérale", BOTH),
        ("cooperation bilaterale", BOTH),
        ("COOPÉRATION BILATÉRALE", BOTH),
        ('"Union interparlementaire"', {TACHKENT}),
        ('"union inter-parlementaire"', set()),
        ("l'ambassadrice", {RABAT}),
        ("L’ambassadrice", {RABAT}),
        ("ambassadrice", {RABAT}),
        ("Kénitra", set()),
        ('"adresse e-mail"', set()),
        ("Mohammedia", set()),
        ("securite alimentaire", {TACHKENT}),
        ('"sécurité alimentaire"', {TACHKENT}),
        ("sud-sud", {TACHKENT}),
        ('"sud sud"', {TACHKENT}),
        ("sud", {TACHKENT}),
        ("Azerbaïdjan", {TACHKENT}),
        ("azerbaidjan", {TACHKENT}),
        ("Tokaiev~", BOTH),
        ("Tokaiev~2/2", BOTH),
        ("Kazakhstanais~/13", BOTH),  # a prefix longer than the word's stem, kazakhstan
        ("parlementaires~/14", {TACHKENT}),
        ("Tokaiev", BOTH),  # the lexicon's spellings of Tokayev
        ("Farabi", {RABAT}),
        ("kazakhes", BOTH),
        ("aout 2024", {TACHKENT}),
        ("150e", {TACHKENT}),
        ("oeuvre", {RABAT}),
        ("coopér*", BOTH),
        ("parlementair*", {TACHKENT}),
        ('"président de la République"', {RABAT}),
        ("maroc -Tachkent", {RABAT}),
        ("maroc NOT Tachkent", {RABAT}),
        ("Azoulay OR Errachid", BOTH),
        ("(Azoulay OR Errachid) Farabi", {RABAT}),
        ("title:Maroc", {RABAT}),
        ("title:Mazhilis", {TACHKENT}),
        ("body:Tokayev", BOTH),
        ("dateline:Tachkent", {TACHKENT}),
        ("category:politique", {RABAT}),
    ],
)
def test_finds(seed_index, text, expected):
    results = search(seed_index, text)
    assert {hit.id for hit in results.hits} == expected
    assert results.total == len(expected)
    assert not results.partial


def test_partial_matches_when_no_article_has_every_word(seed_index):
    results = search(seed_index, "Azoulay Errachid")
    assert results.partial
    assert {hit.id for hit in results.hits} == BOTH


def test_no_partial_matches_for_a_single_missing_word(seed_index):
    results = search(seed_index, "Kénitra")
    assert (results.total, results.partial, results.hits) == (0, False, ())


def test_title_weighs_more_than_body(tmp_path):
    (tmp_path / "a.txt").write_text("Rencontre à Rabat\n\nLe sommet sur le climat s'est tenu.",
                                    encoding="utf-8")
    (tmp_path / "b.txt").write_text("Sommet sur le climat\n\nUne rencontre s'est tenue à Rabat.",
                                    encoding="utf-8")
    rebuild([tmp_path], tmp_path / "index")
    assert [hit.id for hit in search(tmp_path / "index", "climat").hits] == ["b.txt", "a.txt"]


def test_ranked_by_relevance(seed_index):
    hits = search(seed_index, "coopération bilatérale").hits
    assert [hit.id for hit in hits] == [RABAT, TACHKENT]
    assert hits[0].score > hits[1].score > 0
    assert [hit.rank for hit in hits] == [1, 2]


def test_sort_by_date_puts_dated_articles_first(seed_index):
    hits = search(seed_index, "coopération bilatérale", sort="date").hits
    assert [hit.id for hit in hits] == [TACHKENT, RABAT]
    assert [hit.score for hit in hits] == [None, None]


@pytest.mark.parametrize("text, expected", [
    ("coopération bilatérale", [TACHKENT, RABAT]),
    ("Kazakhstan", [TACHKENT, RABAT]),
    ("coop*", [TACHKENT, RABAT]),
    ('"Union interparlementaire"', [TACHKENT]),
    ("Maroc OR Tachkent", [TACHKENT, RABAT]),
])
def test_a_search_by_date_scores_no_posting(seed_index, monkeypatch, text, expected):
    """The dates order the hits: BM25, ours or Whoosh's, is never computed."""
    from whoosh import scoring

    def scored(*args):
        raise AssertionError("a posting was scored")

    monkeypatch.setattr(scoring, "bm25", scored)
    assert [hit.id for hit in search(seed_index, text, sort="date").hits] == expected


def test_limit(seed_index):
    results = search(seed_index, "coopération", limit=1)
    assert (results.total, len(results.hits)) == (2, 1)


def highlighted(hit):
    return [hit.snippet.text[start:end] for start, end in hit.snippet.highlights]


def test_snippet_highlights_the_article_spelling(seed_index):
    [hit, _] = search(seed_index, "cooperation bilaterale").hits
    assert set(highlighted(hit)) == {"coopération", "bilatérale"}


@pytest.mark.parametrize(
    "text, words",
    [
        ("L'ambassadrice", {"l’ambassadrice"}),
        ("securite alimentaire", {"sécurité", "alimentaire"}),
        ("Tokaiev~", {"Tokayev"}),
        ("parlementair*", {"parlementaire", "parlementaires"}),
        ("con*", {"conceptuelle", "conflits", "conjointe", "contexte", "convergence"}),
        ("con* bilatérale", {"bilatéral", "bilatérales", "concordance", "conflits", "conseil",
                             "conseillers", "contexte"}),
        ("azerbaidjan", {"l'Azerbaïdjan", "azerbaïdjanais"}),
    ],
)
def test_snippet_highlights_every_kind_of_match(seed_index, text, words):
    hits = search(seed_index, text).hits
    assert {word for hit in hits for word in highlighted(hit)} == words


def test_snippet_is_one_line_with_ellipses(seed_index):
    [hit] = search(seed_index, '"sécurité alimentaire"').hits
    assert "\n" not in hit.snippet.text
    assert hit.snippet.text.startswith("… ") and hit.snippet.text.endswith(" …")


def test_snippet_without_a_body_match_shows_the_opening(seed_index):
    [hit] = search(seed_index, "title:Mazhilis").hits
    assert hit.snippet.highlights == ()
    assert hit.snippet.text.startswith("Le président du Mazhilis, assemblée nationale")


def test_hit_fields(seed_index):
    [hit] = search(seed_index, "Tachkent Mazhilis").hits
    assert (hit.id, hit.date, hit.dateline, hit.category) == (TACHKENT, "2025-04", "Tachkent", None)
    assert hit.path.endswith(f"seeds/{TACHKENT}")


@pytest.mark.parametrize(
    "text, ranked",
    [
        ("con*", [RABAT, TACHKENT]),
        ("body:con*", [RABAT, TACHKENT]),
        ("con* bilatérale", [RABAT, TACHKENT]),
        ("pre* -Tachkent", [RABAT]),
        ("coop?r*", [RABAT, TACHKENT]),
        ("Tokaiev~", [RABAT, TACHKENT]),
    ],
)
def test_truncated_and_fuzzy_words_rank_by_relevance(seed_index, text, ranked):
    hits = search(seed_index, text).hits
    assert [hit.id for hit in hits] == ranked
    # strictly decreasing: not the constant score Whoosh gives them on a small index
    assert [hit.score for hit in hits] == sorted({hit.score for hit in hits}, reverse=True)


@pytest.mark.parametrize(
    "text, total",
    [
        ("climat", 40),
        ("climat sommet", 40),
        ("clim*", 40),
        ('"le climat"', 40),
        ("climat Rabat", 20),
        ("climat OR Rabat", 40),
    ],
)
def test_total_counts_every_match_beyond_the_hits_shown(tmp_path, text, total):
    for number in range(20):
        (tmp_path / f"t{number}.txt").write_text(
            f"Sommet sur le climat numéro {number}\n\nLe sommet sur le climat s'est tenu.",
            encoding="utf-8")
        (tmp_path / f"b{number}.txt").write_text(
            f"Rencontre {number}\n\nÀ Rabat, un sommet. " + "Une longue phrase. " * number
            + "Le climat.", encoding="utf-8")
    rebuild([tmp_path], tmp_path / "index")
    results = search(tmp_path / "index", text, limit=3)
    assert (results.total, len(results.hits)) == (total, 3)


@pytest.mark.parametrize("text", ["climat sommet", "clim*", "climat~", "sommet", "climat -Rabat"])
def test_lists_scored_at_once_are_collected_as_whoosh_collects(tmp_path, monkeypatch, text):
    """Forty equal scores across two segments: the collector keeps the 35 that Whoosh's
    document-by-document collection keeps (the lowest document numbers)."""
    import json

    from whoosh import collectors

    from search.index import update
    from search.whoosh_fast.collector import CountingTopCollector

    for part in (1, 2):
        records = [{"id": f"{part}-{n}", "title": f"Sommet {n % 3}",
                    "text": "Le sommet sur le climat." + " Le climat." * (n % 2)}
                   for n in range(20)]
        (path := tmp_path / f"{part}.jsonl").write_text(
            "\n".join(json.dumps(record) for record in records) + "\n", "utf-8")
        update([path], tmp_path / "index")
    taken_whole = search(tmp_path / "index", text, limit=35)
    monkeypatch.setattr(CountingTopCollector, "collect_matches",
                        collectors.Collector.collect_matches)
    one_by_one = search(tmp_path / "index", text, limit=35)
    assert taken_whole == one_by_one
    assert (taken_whole.total, len(taken_whole.hits)) == (40, 35)


def test_a_word_whose_only_postings_in_a_field_are_deleted(tmp_path):
    """An edited article's old version stays in its segment, deleted: `zorglub` keeps a
    title posting there that no live article has, while `gazier` leaves few articles to
    look `zorglub` up in."""
    import json

    from search.index import update

    def write(title_of_7: str) -> None:
        records = [{"id": str(n), "title": title_of_7 if n == 7 else f"Visite {n}",
                    "text": "Le président Zorglub en visite."
                            + (" Accord gazier." if n % 50 == 0 else "")}
                   for n in range(400)]
        (tmp_path / "a.jsonl").write_text("\n".join(map(json.dumps, records)) + "\n", "utf-8")
        update([tmp_path / "a.jsonl"], tmp_path / "index")

    write("Zorglub à Rabat")
    write("Visite à Rabat")
    assert search(tmp_path / "index", "gazier zorglub").total == 8


@pytest.fixture(scope="module")
def labelled_index(tmp_path_factory):
    """Articles with sources and categories, subcategories included."""
    from search.index import build
    from search.models import Article

    folder = tmp_path_factory.mktemp("labelled") / "index"
    labels = [("afp.com", "Monde"), ("actu.orange.fr", "Société/Justice"),
              ("actu.orange.fr", "Société/Éducation"), ("reuters.com", "Politique")]
    build([Article(id=str(n), path=f"{n}.txt", title=f"Sommet {n}", body="Le ministre au sommet.",
                   source=source, category=category)
           for n, (source, category) in enumerate(labels)], folder)
    return folder


@pytest.mark.parametrize(
    "filters, expected",
    [
        ({"source": "afp.com"}, {"0"}),
        ({"source": " ACTU.Orange.fr "}, {"1", "2"}),
        ({"category": "Société"}, {"1", "2"}),
        ({"category": "societe/justice"}, {"1"}),
        ({"category": "MONDE"}, {"0"}),
        ({"source": "reuters.com", "category": "politique"}, {"3"}),
        ({"source": "reuters.com", "category": "monde"}, set()),
    ],
)
def test_known_sources_and_categories_filter(labelled_index, filters, expected):
    assert found(labelled_index, "ministre", filters=Filters(**filters)) == expected


STATS_SOURCES = "`search stats` lists the sources."
STATS_CATEGORIES = "`search stats` lists the categories."


@pytest.mark.parametrize(
    "filters, message",
    [
        ({"source": "afp"}, f"No article has the source 'afp'. Closest: afp.com. {STATS_SOURCES}"),
        ({"source": "actu.orange"},
         f"No article has the source 'actu.orange'. Closest: actu.orange.fr. {STATS_SOURCES}"),
        ({"source": "afp.co"}, f"No article has the source 'afp.co'. Closest: afp.com. {STATS_SOURCES}"),
        ({"source": "lemonde.fr"}, f"No article has the source 'lemonde.fr'. {STATS_SOURCES}"),
        ({"source": "a\nb\x1b"}, f"No article has the source 'a\\nb\\x1b'. {STATS_SOURCES}"),
        ({"category": "societ"},
         f"No article has the category 'societ'. Closest: societe. {STATS_CATEGORIES}"),
        ({"category": "Société/Justic"},
         "No article has the category 'Société/Justic'. Closest: societe/justice, "
         f"societe/education, societe. {STATS_CATEGORIES}"),
        ({"category": "mondes"},
         f"No article has the category 'mondes'. Closest: monde. {STATS_CATEGORIES}"),
        ({"category": "sport"}, f"No article has the category 'sport'. {STATS_CATEGORIES}"),
        ({"category": "justice"},
         f"No article has the category 'justice'. Closest: societe/justice. {STATS_CATEGORIES}"),
    ],
)
def test_unknown_sources_and_categories_name_the_closest(labelled_index, filters, message):
    with pytest.raises(FilterError) as error:
        search(labelled_index, "ministre", filters=Filters(**filters))
    assert str(error.value) == message


@pytest.mark.parametrize(
    "composed",
    ["Azerbaïdjan", "coopération bilatérale", '"sécurité alimentaire"', "title:Tokaïev~",
     "coopér*", "président -Tachkent", "Côte d'Ivoire OR été"],
)
def test_decomposed_queries_find_what_composed_ones_find(seed_index, composed):
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    assert search(seed_index, decomposed).hits == search(seed_index, composed).hits


def test_a_truncation_standing_for_too_many_terms_is_stopped(seed_index, monkeypatch):
    most = _expanded(seed_index, "con*", max, _terms)  # con*'s terms in its largest field
    assert _expanded(seed_index, "parlementair*", max, _terms) < most - 1
    monkeypatch.setattr("search.query.MAX_EXPANDED_TERMS", most - 1)
    assert search(seed_index, "parlementair*").total == 1
    with pytest.raises(QueryTooBroadError) as error:
        search(seed_index, "con*")
    assert str(error.value) == ("'con*' stands for too many words to search them all: make it "
                                "more specific (more letters before * or ?, or fewer edits after ~).")
    monkeypatch.setattr("search.query.MAX_EXPANDED_TERMS", most)
    assert search(seed_index, "con*").total == 2


def test_the_words_of_a_query_share_one_budget_checked_before_reading(seed_index, monkeypatch):
    def read(*args):
        raise AssertionError("postings read over the budget")

    needed = _expanded(seed_index, "coopér* Tokaiev~2 parlementair*", sum, _postings)
    monkeypatch.setattr("search.query.MAX_EXPANDED_POSTINGS", needed)
    assert search(seed_index, "coopér* Tokaiev~2 parlementair*").total == 1
    monkeypatch.setattr("search.query.MAX_EXPANDED_POSTINGS", needed - 1)
    monkeypatch.setattr("search.whoosh_fast.queries.blocks", read)
    with pytest.raises(QueryTooBroadError) as error:
        search(seed_index, "coopér* Tokaiev~2 parlementair*")
    assert str(error.value) == (
        "'coopér*', 'Tokaiev~2' and 'parlementair*' stand for too many words to search them "
        "all: make them more specific (more letters before * or ?, or fewer edits after ~), "
        "or use fewer of them.")


def _expanded(index_dir, text: str, total, measure) -> int:
    """`total` of `measure(segment, field, terms)` over the truncated and fuzzy words of
    `text` in each field and segment of the index."""
    from search.query import _Expansion, parse_query
    from search.store import open_index

    ix = open_index(index_dir)
    with ix.reader() as reader:
        return total(measure(segment, leaf.field(), leaf.words(segment))
                     for segment, _ in reader.leaf_readers()
                     for leaf in parse_query(text, ix.schema).leaves()
                     if isinstance(leaf, _Expansion))


def _terms(segment, fieldname: str, terms: list[bytes]) -> int:
    return len(terms)


def _postings(segment, fieldname: str, terms: list[bytes]) -> int:
    return sum(segment.doc_frequency(fieldname, term) for term in terms)


def test_a_bug_in_query_code_is_not_reported_as_damage(seed_index, monkeypatch):
    def broken(self, searcher, context=None):
        raise KeyError("a bug")

    monkeypatch.setattr("search.whoosh_fast.queries.AllWords.matcher", broken)
    with pytest.raises(KeyError):
        search(seed_index, "coopération bilatérale")


@pytest.mark.parametrize("error", [ValueError, KeyError, IndexError, TypeError])
@pytest.mark.parametrize("module, owner, function", [
    # Whoosh reading a block's header; ours reading a block's data (`_block_data`)
    ("whoosh.codec.whoosh3", "W3LeafMatcher", "_goto"),
    ("search.whoosh_fast.postings", None, "_block_data"),
])
def test_what_reading_a_file_raises_is_reported_as_damage(seed_index, monkeypatch, error,
                                                          module, owner, function):
    """An error raised where the bytes of the postings are read: Whoosh's codec, or our
    decoding of its blocks."""
    import importlib

    reader = importlib.import_module(module)
    read = {}
    exec(compile(f"def {function}(*args):\n    raise {error.__name__}('garbled')\n",
                 reader.__file__, "exec"), read)
    monkeypatch.setattr(getattr(reader, owner) if owner else reader, function, read[function])
    if error is TypeError:  # not one of the read errors outside Whoosh's byte layer
        with pytest.raises(TypeError):
            search(seed_index, '"coopération bilatérale"')
        return
    with pytest.raises(IndexCorruptError) as raised:
        search(seed_index, '"coopération bilatérale"')
    assert str(raised.value) == (f"The index in {seed_index}/ could not be read "
                                 f"({error.__name__}). Run `search rebuild` to rebuild it.")


@pytest.mark.parametrize("module, read, garbled, asked", [
    # the forms of "did you mean", read for a query of few hits from the term files of a
    # generation written before forms files
    ("store", "_segment_terms", b"\xe0garbled", lambda index: search(index, "Tachkent")),
    # the forms and their counts, which `explain` lists
    ("searcher", "_document_frequencies", (b"\xe0garbled", 1),
     lambda index: explain(index, "Tachkent")),
])
def test_a_term_that_is_not_utf8_is_a_damaged_index(tmp_path, monkeypatch, module, read,
                                                    garbled, asked):
    """A garbled term dictionary can give bytes that are not UTF-8 where the searcher
    decodes terms."""
    import search

    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.txt").write_text("Sommet\n\nLe Maroc à Rabat.", "utf-8")
    rebuild([folder], tmp_path / "index")
    without_forms_files(tmp_path / "index")
    monkeypatch.setattr(getattr(search, module), read,
                        lambda reader, fieldname: iter([garbled]))
    with pytest.raises(IndexCorruptError) as raised:
        asked(tmp_path / "index")
    assert str(raised.value) == (f"The index in {tmp_path / 'index'}/ could not be read "
                                 "(UnicodeDecodeError). Run `search rebuild` to rebuild it.")


EXACT_CORPUS = {
    "a.txt": "Sommet de Rabat\n\nLes ministres veulent renforcer la coopération. Le président "
             "de la République a parlé. La visite officielle du Maroc.",
    "b.txt": "Coopération renforcée\n\nLe renforcement de la coopération est acté. Le président "
             "République est un titre inventé. Des visières pour Sarah Cooper, Cooper. "
             "Les relations maroco-kazakhes.",
    "c.txt": "Les visiteurs marocains\n\nLes visiteurs sont venus renforcer.\n\nLa coopération "
             "attendra.",
}


@pytest.fixture(scope="module")
def exact_index(tmp_path_factory):
    return index_of(tmp_path_factory.mktemp("exact"), EXACT_CORPUS)


@pytest.mark.parametrize(
    "text, expected",
    [
        # a quoted phrase: the words as written, stop words in their place, one paragraph
        ('"renforcer la cooperation"', {"a.txt"}),
        ("renforcer cooperation", {"a.txt", "b.txt", "c.txt"}),
        ('"président de la République"', {"a.txt"}),
        ('"président République"', {"b.txt"}),
        ('"PRÉSIDENT DE LA REPUBLIQUE"', {"a.txt"}),
        ('"renforcer coopération"~2', {"a.txt"}),
        ('"renforcer coopération"~1', set()),
        ('"renforcer la"', {"a.txt"}),
        # fields stay the phrase's field
        ('title:"coopération renforcée"', {"b.txt"}),
        ('title:"renforcer la coopération"', set()),
        ('dateline:"coopération renforcée"', set()),
        ('"coopération renforcée" title:"Coopération renforcée"', {"b.txt"}),
        # =word: one word as written
        ("=Maroc", {"a.txt"}),
        ("=marocains", {"c.txt"}),
        ("=maroc OR =maroco", {"a.txt", "b.txt"}),
        ("title:=cooperation", {"b.txt"}),
        ("cooperation -=renforcer", {"b.txt"}),
        # truncation over the words as written
        ("visit*", {"a.txt", "c.txt"}),
        ("visi*", {"a.txt", "b.txt", "c.txt"}),
        ("maroco*", {"b.txt"}),
        ("maroc*", {"a.txt", "b.txt", "c.txt"}),
        ("renforc?", set()),
        ("renforce?", {"a.txt", "b.txt", "c.txt"}),  # renforcer, renforcée
        ("renforcer?", set()),
        ("title:coop*", {"b.txt"}),
    ],
)
def test_exact_when_asked(exact_index, text, expected):
    assert found(exact_index, text) == expected


@pytest.mark.parametrize(
    "text, words",
    [
        # the phrase's stop words where they are part of it, not elsewhere
        ('"renforcer la coopération"', ["renforcer", "la", "coopération"]),
        ('"président de la République"', ["président", "de", "la", "République"]),
        ("=Maroc", ["Maroc"]),
        ("visit* Rabat", ["Rabat", "visite"]),
        ('"renforcer coopération"~2 Rabat', ["Rabat", "renforcer", "coopération"]),
        # a word's family, and the same word as written
        ("coopération =renforcer Rabat", ["Rabat", "renforcer", "coopération"]),
    ],
)
def test_snippets_highlight_exact_matches(exact_index, text, words):
    [hit] = search(exact_index, text).hits
    assert highlighted(hit) == words


def test_fuzzy_ranks_the_word_itself_above_its_neighbours(tmp_path):
    (tmp_path / "exact.txt").write_text("Visite\n\nLe président Tokayev est arrivé.", "utf-8")
    (tmp_path / "near.txt").write_text(
        "Procès\n\nUn pistolet Tokarev, le Tokarev du procès, un Tokarev.", "utf-8")
    rebuild([tmp_path], tmp_path / "index")
    assert [hit.id for hit in search(tmp_path / "index", "Tokayev~").hits] == [
        "exact.txt", "near.txt"]
    assert [hit.id for hit in search(tmp_path / "index", "Tokarev~").hits] == [
        "near.txt", "exact.txt"]


@pytest.fixture(scope="module")
def suggest_index(tmp_path_factory):
    folder = tmp_path_factory.mktemp("suggest")
    for number in range(4):
        (folder / f"a{number}.txt").write_text(
            f"Visite {number}\n\nL'ambassadeur du Maroc à Rabat. Un ambassadeur parle.", "utf-8")
    (folder / "b.txt").write_text("Les ambassadeurs\n\nDes ambassadeurs réunis à Rabat.", "utf-8")
    (folder / "c.txt").write_text("Rareté\n\nUn ambasadeur mal écrit, une fois.", "utf-8")
    rebuild([folder], folder / "index")
    return folder / "index"


@pytest.mark.parametrize(
    "text, suggested",
    [
        # in one article, as frequent as "ambassadeurs": few hits, one suggestion
        ("ambasadeur", ("ambassadeur",)),
        # one edit from a word of one article, two from one of four
        ("ambasadeurr", ("ambasadeur", "ambassadeur", "ambassadeurs")),
        ("ambassadeur", ()),  # found in 4 articles
        ("ambasadeur Rabatt", ("ambassadeur rabat",)),
        ("xyzzy", ()),
        ('"ambassadeur du Marok"', ('"ambassadeur du maroc"',)),
    ],
)
def test_did_you_mean(suggest_index, text, suggested):
    assert search(suggest_index, text).suggestions == suggested


def test_a_total_that_would_cost_too_much_is_shown_as_a_lower_bound(tmp_path, monkeypatch):
    """A word with more postings than `EXACT_COUNT_POSTINGS` is counted at least: the
    total says so, in the text and in the JSON, and the hits are those of an exact count."""
    import json

    from search.index import build
    from search.models import Article
    from search.output import PlainStyle, results_json, results_text

    # the best 30 have it in their title: the first 40; the blocks of the others are
    # never decoded
    build([Article(id=str(n), path=f"{n}.txt", title="Climat" if n < 40 else "Visite",
                   body="Le climat change. " + "Une phrase. " * (n % 20))
           for n in range(1000)], tmp_path / "index")
    exact = search(tmp_path / "index", "climat")
    monkeypatch.setattr("search.whoosh_fast.queries.EXACT_COUNT_POSTINGS", 0)
    at_least = search(tmp_path / "index", "climat")
    assert (exact.total, exact.total_exact, at_least.total_exact) == (1000, True, False)
    assert at_least.total <= 1000 and at_least.hits == exact.hits
    assert results_text(at_least, PlainStyle()).splitlines()[0] == (
        f"at least {at_least.total} articles match «climat» (showing 10).")
    assert json.loads(results_json(at_least))["total_exact"] is False
    assert "total_exact" not in json.loads(results_json(exact))


@pytest.mark.parametrize("forms_files", [True, False], ids=["forms files", "term files"])
def test_the_forms_of_did_you_mean_are_whoosh_s_terms_across_segments(tmp_path, forms_files):
    """The forms "did you mean" draws on, from each segment's forms file or, in a
    generation written before them, its term files: every term of the default fields'
    surface twins as Whoosh's reader of the whole index lists them, fields in order."""
    from search.searcher import open_searcher
    from search.store import FORM_FIELDS

    folder, index_dir = tmp_path / "corpus", tmp_path / "index"
    folder.mkdir()
    for number in range(9):
        (folder / f"{number}.txt").write_text(
            f"Escale {number}\n\nLe ministre à Zanzibar{number % 4}, puis Rabat"
            f"{'ie' * number}.", "utf-8")
        if number == 7:
            (folder / "2.txt").unlink()
        update([folder], index_dir)
    if not forms_files:
        without_forms_files(index_dir)
    with open_searcher(index_dir) as searcher:
        reader = searcher._searcher.reader()
        assert len(reader.leaf_readers()) > 1
        expected = tuple(dict.fromkeys(text.decode() for name in FORM_FIELDS
                                       for text, _ in reader.iter_field(name)))
        assert tuple(searcher._surface_forms().keys()) == expected
    assert "zanzibar3" in expected and "rabatieieieieieieieie" in expected


@pytest.mark.parametrize("segments, deleted", [(1, ()), (3, (0, 5, 6, 29))])
def test_document_frequencies_read_segment_by_segment_are_whoosh_s(segments, deleted):
    """The vocabulary of "did you mean", read segment by segment and merged: the terms in
    Whoosh's order, each with the articles Whoosh counts."""
    from search.searcher import _document_frequencies

    from .test_whoosh_fast_postings import _word_index

    ix = _word_index([{"title": f"Visite {n % 7}", "body": f"Le climat {n} à Rabat {n % 3}."}
                      for n in range(30)], segments, deleted)
    with ix.reader() as reader:
        for fieldname in ("title", "body"):
            expected = [(text, info.doc_frequency())
                        for text, info in reader.iter_field(fieldname)]
            assert list(_document_frequencies(reader, fieldname)) == expected
            assert len(expected) > 5
