"""`search.whoosh_fast.queries`, `.matchers` and `.collector`: our matchers give the
documents, scores, order and totals that Whoosh's own classes give."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from search.query import parse_query

from .test_whoosh_fast_postings import _word_index, built_blocks_index


@pytest.fixture(scope="module")
def blocks_index(tmp_path_factory):
    return built_blocks_index(tmp_path_factory.mktemp("blocks") / "index")


def _scores(ix, query) -> dict[int, float]:
    """Every document `query` matches in `ix`, with its score."""
    with ix.searcher() as searcher:
        return {hit.docnum: hit.score for hit in searcher.search(query, limit=None)}


ARRAYS = [0, 10**9]  # postings from which lists are matched as numpy arrays: always / never


def _arrays_from(monkeypatch, postings: int) -> None:
    """Lists of `postings` or more matched as numpy arrays, numpy loaded or not."""
    import search.whoosh_fast.matchers

    for name in ("ARRAY_POSTINGS", "LOADING_POSTINGS"):
        monkeypatch.setattr(search.whoosh_fast.matchers, name, postings)


@pytest.mark.parametrize("array_postings", ARRAYS)
@pytest.mark.parametrize("probe_ratio", [0, 16, 10**9])  # look up always / as built / never
@pytest.mark.parametrize(
    "text",
    ["sommet climat", "climat sommet sud", "gazier sommet", "climat kazakhstan accord",
     "title:climat sud", "climat introuvable"],
)
def test_all_words_score_as_whoosh_s_and(blocks_index, monkeypatch, probe_ratio,
                                         array_postings, text):
    from whoosh import query as wq

    import search.whoosh_fast.queries

    monkeypatch.setattr(search.whoosh_fast.queries, "PROBE_RATIO", probe_ratio)
    _arrays_from(monkeypatch, array_postings)
    ours = parse_query(text, blocks_index.schema)
    assert type(ours) is search.whoosh_fast.queries.AllWords
    found = _scores(blocks_index, ours)
    assert found == pytest.approx(_scores(blocks_index, wq.And(ours.subqueries)))
    assert bool(found) == (text != "climat introuvable")


@given(counts=st.lists(st.tuples(st.integers(1, 4), st.integers(0, 30)), min_size=1,
                       max_size=40),
       segments=st.integers(1, 2), boost=st.sampled_from([1.0, 0.5, 2.5]))
def test_a_term_s_scores_are_whoosh_s(counts, segments, boost):
    """`TermScorer`'s scores from a document's frequency (a posting at a time, a block at
    once), as Whoosh's matcher of the boosted term scores it, over fields of every length."""
    from whoosh import query as wq

    from search.whoosh_fast.matchers import TermScorer
    from search.whoosh_fast.postings import Block

    ix = _word_index([{"body": "Climat. " * count + "Sommet. " * other}
                      for count, other in counts], segments)
    with ix.searcher() as searcher:
        for leaf, _ in searcher.leaf_searchers():
            # a boosted term's matcher boosts its frequencies too: read them unboosted
            matcher = wq.Term("body", "climat").matcher(leaf)
            boosted = wq.Term("body", "climat", boost=boost).matcher(leaf)
            ids, frequencies, expected = [], [], []
            while matcher.is_active():
                ids.append(matcher.id())
                frequencies.append(matcher.weight())
                expected.append(boosted.score())
                matcher.next()
                boosted.next()
            scorer = TermScorer(leaf, "body", b"climat", boost)
            assert scorer.block_scores(Block(ids, frequencies)) == expected
            assert [score for _, score in scorer.each(zip(ids, frequencies, strict=True))] == expected


def _as_whoosh_matches(query):
    """`query` with our matchers replaced by Whoosh's own, every expanded term scored."""
    from whoosh import query as wq

    from search.whoosh_fast.queries import AllWords, Expansion, OneWord, SummedOr

    if isinstance(query, Expansion):
        if isinstance(query, wq.FuzzyTerm):
            return wq.FuzzyTerm(query.fieldname, query.text, query.boost, query.maxdist,
                                query.prefixlength, constantscore=False)
        whoosh_class = wq.Prefix if isinstance(query, wq.Prefix) else wq.Wildcard
        return whoosh_class(query.fieldname, query.text, query.boost, constantscore=False)
    if isinstance(query, wq.CompoundQuery):
        whoosh_class = {AllWords: wq.And, SummedOr: wq.Or, OneWord: wq.Or}.get(type(query),
                                                                              type(query))
        return whoosh_class([_as_whoosh_matches(child) for child in query.subqueries],
                            boost=query.boost)
    return query


EXPANDED = ["kazak*", "sud*", "coopérat*", "coop?r*", "climat~", "ambasadrice~", "title:somm*",
            "sommet clim*", "(sommet OR kazak*) sud"]


@pytest.mark.parametrize("array_postings", ARRAYS)
@pytest.mark.parametrize("text", EXPANDED)
def test_truncated_and_fuzzy_words_score_as_whoosh_s_or(blocks_index, monkeypatch,
                                                       array_postings, text):
    _arrays_from(monkeypatch, array_postings)
    ours = parse_query(text, blocks_index.schema)
    found = _scores(blocks_index, ours)
    assert found == pytest.approx(_scores(blocks_index, _as_whoosh_matches(ours)))
    assert found


@pytest.mark.parametrize("probe_ratio", [0, 10**9])
@pytest.mark.parametrize(("text", "ranked"), [  # ranked: any word, ranked (`SummedOr`)
    *[(text, ranked) for text in ["sommet climat", "climat sommet sud", "title:climat sud",
                                  "climat kazakhstan accord gazier"] for ranked in (False, True)],
    *[(text, False) for text in EXPANDED]])
def test_arrays_score_as_python_to_the_last_bit(blocks_index, monkeypatch, probe_ratio, text,
                                                ranked):
    """Matched as numpy arrays or in Python, every document has the same score, bit for
    bit: the ranking of equal scores (copies of one dispatch) cannot change."""
    import search.whoosh_fast.queries
    from search.query import parse_words

    monkeypatch.setattr(search.whoosh_fast.queries, "PROBE_RATIO", probe_ratio)
    found = {}
    for array_postings in ARRAYS:
        _arrays_from(monkeypatch, array_postings)
        query = (parse_words if ranked else parse_query)(text, blocks_index.schema)
        found[array_postings] = _scores(blocks_index, query)
    assert found[ARRAYS[0]] == found[ARRAYS[1]]
    assert found[ARRAYS[0]]


@pytest.mark.parametrize("text", ["sommet climat Kazakhstan ambassadrice", "gazier introuvable",
                                  "Sud-Sud coopération, sommet"])
def test_ranked_words_score_as_whoosh_s_or(blocks_index, text):
    from search.query import parse_words
    from search.whoosh_fast.queries import SummedOr

    ours = parse_words(text, blocks_index.schema)
    assert type(ours) is SummedOr
    found = _scores(blocks_index, ours)
    assert found == pytest.approx(_scores(blocks_index, _as_whoosh_matches(ours)))
    assert found


def _best_and_total(ix, query, limit: int):
    """The top `limit` (score, document) and the total, as `Searcher._run` collects them."""
    from whoosh import scoring

    from search.whoosh_fast.collector import CountingTopCollector

    with ix.searcher(weighting=scoring.BM25F()) as searcher:
        collector = CountingTopCollector(limit, usequality=False)
        searcher.search_with_collector(query, collector)
        results = collector.results()
        return results.top_n, len(results)


def _brute_force(ix, query, limit: int):
    """The top `limit` (score, document) of every match of `query` scored by Whoosh, the
    lowest document first among equal scores, and their number."""
    from whoosh import scoring

    with ix.searcher(weighting=scoring.BM25F()) as searcher:
        scored = [(hit.score, hit.docnum) for hit in searcher.search(query, limit=None)]
    scored.sort(key=lambda pair: (-pair[0], pair[1]))
    return scored[:limit], len(scored)


def _skewed(count: int) -> list[dict[str, str]]:
    """`climat` in most bodies, as often as the article's number modulo 7, more rarely in
    titles, leads and datelines, `sommet` in every sixth body, `gazier` in a few."""
    return [{"title": f"Visite {n}" + (" climat" if n % 10 == 3 else ""),
             "lead": "Le climat." if n % 3 == 0 else "Une rencontre.",
             "dateline": "CLIMAT" if n % 45 == 0 else "Rabat",
             "body": f"Visite {n}. " + "Le climat change. " * (n % 7) + "Une phrase. " * (n % 11)
                     + ("Le sommet. " if n % 6 == 0 else "") + ("Gazier." if n % 97 == 0 else "")}
            for n in range(count)]


@pytest.mark.parametrize("array_postings", ARRAYS)  # a limit of 1000 scores all of them
@pytest.mark.parametrize("word", ["climat", "sommet", "gazier", "visite", "introuvable"])
@pytest.mark.parametrize("limit", [1, 10, 30, 1000])
@pytest.mark.parametrize(
    "segments, deleted, blocklimit",
    [(1, (), 128), (3, (), 128), (2, (0, 3, 97, 130, 291, 599), 128),
     (3, (0, 3, 194, 300, 301, 302, 400), 16)],
)
def test_one_word_ranks_and_counts_as_scoring_every_posting(monkeypatch, array_postings, word,
                                                            limit, segments, deleted,
                                                            blocklimit):
    from whoosh import query as wq

    from search.whoosh_fast.queries import OneWord

    _arrays_from(monkeypatch, array_postings)

    ix = _word_index(_skewed(600), segments, deleted, blocklimit)
    ours = parse_query(word, ix.schema)
    assert type(ours) is OneWord
    whoosh = wq.Or(ours.subqueries)
    assert _best_and_total(ix, ours, limit) == _brute_force(ix, whoosh, limit)
    assert _best_and_total(ix, ours, limit) == _best_and_total(ix, whoosh, limit)


@given(bodies=st.lists(st.sampled_from(["climat sommet", "climat sommet sommet",
                                         "climat climat sommet", "sommet"]),
                       min_size=1, max_size=60),
       segments=st.integers(1, 3), limit=st.integers(1, 12))
def test_ties_at_a_segment_s_kth_score_rank_lowest_document_first(bodies, segments, limit):
    """Copies of one text score alike by the dozen: of those tied at the k-th best score,
    the lowest numbers make the top, as Whoosh's collector keeps them."""
    from whoosh import query as wq

    ix = _word_index([{"body": body} for body in bodies], segments)
    ours = parse_query("climat sommet", ix.schema)
    assert _best_and_total(ix, ours, limit) == _brute_force(ix, wq.And(ours.subqueries), limit)


@pytest.mark.parametrize("segments, blocklimit", [(1, 16), (2, 16), (1, 128)])
@pytest.mark.parametrize("limit, expected", [(1, [250]), (5, [250, 0, 1, 2, 3])])
def test_one_word_s_equal_scores_rank_lowest_document_first(segments, blocklimit, limit,
                                                            expected):
    """Articles alike score alike: the block of the best one is scored first, and the
    lower numbers of the earlier blocks still take the ties from its neighbours."""
    articles = [{"body": "Le sommet sommet sommet." if n == 250 else "Le sommet, une phrase."}
                for n in range(300)]
    ix = _word_index(articles, segments, blocklimit=blocklimit)
    best, total = _best_and_total(ix, parse_query("sommet", ix.schema), limit)
    assert ([docnum for _, docnum in best], total) == (expected, 300)


@pytest.mark.parametrize("word, most_scored", [("climat", 0.2)])
def test_one_word_scores_only_the_documents_that_can_make_the_top(monkeypatch, word,
                                                                  most_scored):
    """`climat` is in 546 articles, in the title of 60: only those can make the top 30."""
    from search.whoosh_fast.matchers import BestOfFields

    ix = _word_index(_skewed(600), segments=2, deleted=(3, 130))
    scored = []
    real_score = BestOfFields._score
    monkeypatch.setattr(BestOfFields, "_score",
                        lambda self, docnum: scored.append(docnum) or real_score(self, docnum))
    _, total = _best_and_total(ix, parse_query(word, ix.schema), 30)
    assert total > 400
    assert len(scored) < most_scored * total


@pytest.mark.parametrize("segments, deleted", [(1, ()), (2, (0, 6, 12, 299))])
@pytest.mark.parametrize("word", ["climat", "sommet", "visite", "gazier"])
def test_one_word_scored_whole_as_arrays_or_in_python_alike(monkeypatch, segments, deleted,
                                                            word):
    """Every document of one word scored at once (an export asks for all of them), as
    numpy arrays or in Python: the same scores, bit for bit."""
    ix = _word_index(_skewed(300), segments, deleted)
    found = {}
    for array_postings in ARRAYS:
        _arrays_from(monkeypatch, array_postings)
        found[array_postings] = _scores(ix, parse_query(word, ix.schema))
    assert found[ARRAYS[0]] == found[ARRAYS[1]]
    assert found[ARRAYS[0]]


@pytest.mark.parametrize("word", ["climat", "sommet", "visite"])
def test_one_word_under_a_filter_scores_as_whoosh_s_or(word):
    """Inside a larger query, every document is scored, as Whoosh's tree adds them."""
    from whoosh import query as wq

    ix = _word_index(_skewed(300), segments=2, deleted=(0, 6, 12))
    ours = parse_query(word, ix.schema)
    only = wq.ConstantScoreQuery(wq.Term("id", "12") | wq.TermRange("id", "1", "2"), 0.0)
    assert (_scores(ix, wq.And([ours, only]))
            == _scores(ix, wq.And([wq.Or(ours.subqueries), only])))
    assert _scores(ix, ours) == _scores(ix, wq.Or(ours.subqueries))


_FIELD_TEXT = st.lists(st.sampled_from(["climat", "climat", "sommet", "visite", "accord"]),
                       max_size=8).map(" ".join)


@given(articles=st.lists(st.fixed_dictionaries(
           {"title": _FIELD_TEXT, "lead": _FIELD_TEXT, "dateline": _FIELD_TEXT,
            "body": _FIELD_TEXT}), min_size=1, max_size=40),
       segments=st.integers(1, 3), deleted=st.sets(st.integers(0, 39), max_size=8),
       limit=st.integers(1, 12), word=st.sampled_from(["climat", "sommet"]))
def test_one_word_is_ranked_and_counted_as_by_brute_force(articles, segments, deleted, limit,
                                                          word):
    from whoosh import query as wq

    ix = _word_index(articles, segments, [n for n in deleted if n < len(articles)],
                     blocklimit=3)
    ours = parse_query(word, ix.schema)
    assert _best_and_total(ix, ours, limit) == _brute_force(ix, wq.Or(ours.subqueries), limit)


@pytest.mark.parametrize("word", ["climat", "visite", "sommet"])
@pytest.mark.parametrize("limit", [1, 10, 1000])
@pytest.mark.parametrize("segments, deleted", [(1, ()), (2, (0, 3, 97, 130, 291, 599))])
def test_a_word_past_the_exact_count_is_ranked_alike_and_counted_at_least(
        monkeypatch, word, limit, segments, deleted):
    """Past `EXACT_COUNT_POSTINGS`, the same best documents; the total is marked inexact
    and lies between the largest field's documents (less the deleted ones, which the
    document frequencies still count) and the true total, unless every block was decoded
    anyway (then it is exact and marked so)."""
    from whoosh import query as wq

    import search.whoosh_fast.queries

    ix = _word_index(_skewed(600), segments, deleted, blocklimit=16)
    ours = parse_query(word, ix.schema)
    best, total = _brute_force(ix, wq.Or(ours.subqueries), limit)
    monkeypatch.setattr(search.whoosh_fast.queries, "EXACT_COUNT_POSTINGS", 0)
    (found_best, found_total), exact = _best_total_and_exactness(ix, ours, limit)
    assert found_best == best
    with ix.searcher() as searcher:
        largest = max(len(list(searcher.docs_for_query(field))) for field in ours.subqueries)
    assert (found_total == total) if exact else (
        largest - len(deleted) <= found_total <= total)
    assert exact or limit < total


def _best_total_and_exactness(ix, query, limit: int):
    from whoosh import scoring

    from search.whoosh_fast.collector import CountingTopCollector

    with ix.searcher(weighting=scoring.BM25F()) as searcher:
        collector = CountingTopCollector(limit, usequality=False)
        searcher.search_with_collector(query, collector)
        results = collector.results()
        return (results.top_n, len(results)), results.total_exact


@pytest.mark.parametrize("segments", [1, 2])
def test_a_word_ranked_decodes_only_the_blocks_that_can_make_the_top(monkeypatch, segments):
    """`climat` in every body, and in the one-word title of every 50th article: the best
    10 are among those, and the blocks of the bodies of the others are never decoded."""
    from whoosh import query as wq

    from search.whoosh_fast.postings import TermBlocks

    decoded = set()
    real_block = TermBlocks.block
    monkeypatch.setattr(TermBlocks, "block",
                        lambda self, at: decoded.add((id(self), at)) or real_block(self, at))
    monkeypatch.setattr("search.whoosh_fast.queries.EXACT_COUNT_POSTINGS", 0)
    ix = _word_index([{"title": "Climat" if n % 50 == 0 else "Visite",
                       "body": "Le climat change. " + "Une phrase. " * (n % 20)}
                      for n in range(2000)], segments, blocklimit=16)
    query = parse_query("climat", ix.schema)
    (best, total), exact = _best_total_and_exactness(ix, query, 10)
    assert (best, exact) == (_brute_force(ix, wq.Or(query.subqueries), 10)[0], False)
    assert 2000 / segments <= total <= 2000
    assert 0 < len(decoded) < 2000 / 16 / 2


def _planned_sum(plan, scores):
    """The sum of `scores` (None where a document lacks a leaf) added as `plan` says, a
    step at a time: Whoosh's union adds a's score to b's, skipping an absent one."""
    if type(plan) is int:
        return scores[plan]
    if type(plan) is tuple:
        a, b = _planned_sum(plan[0], scores), _planned_sum(plan[1], scores)
        return b if a is None else a if b is None else a + b
    total = None
    for part in plan:
        score = _planned_sum(part, scores)
        if score is not None:
            total = score if total is None else total + score
    return total


def _plans(leaves: int):
    """Plans over the leaves 0..leaves-1, each leaf once, as `sum_plan` makes them."""
    def shaped(order):
        if len(order) == 1:
            return st.just(order[0])
        return st.integers(1, len(order) - 1).flatmap(lambda cut: st.one_of(
            st.tuples(shaped(order[:cut]), shaped(order[cut:])),
            st.just([*order[:cut], *order[cut:]])))
    return st.permutations(range(leaves)).flatmap(shaped)


@given(data=st.data(), leaves=st.integers(1, 6))
def test_a_compiled_sum_adds_as_the_plan_says(data, leaves):
    from search.whoosh_fast.matchers import compiled_sum

    plan = data.draw(_plans(leaves))
    scores = data.draw(st.lists(st.one_of(st.none(), st.floats(1e-6, 50.0)),
                                min_size=leaves, max_size=leaves)
                       .filter(lambda found: any(score is not None for score in found)))
    assert compiled_sum(plan)([0.0 if s is None else s for s in scores]) == _planned_sum(
        plan, scores)


@pytest.mark.parametrize("kind, bounds", [
    ("range", ("1", "2")), ("range", ("25", None)), ("range", (None, "1")),
    ("prefix", ("1",)), ("prefix", ("29",)), ("prefix", ("x",)),
])
@pytest.mark.parametrize("segments, deleted", [(1, ()), (3, (0, 12, 150, 151, 299))])
def test_filters_read_from_id_lists_match_as_whoosh_s_ranges_and_prefixes(
        kind, bounds, segments, deleted):
    """`--since`/`--until` and `--category`'s subcategories, within a query, keep the
    documents and scores Whoosh's own range and prefix give."""
    from whoosh import query as wq

    from search.whoosh_fast.queries import PrefixFilter, TermRangeFilter

    mine, theirs = ((TermRangeFilter, wq.TermRange) if kind == "range"
                    else (PrefixFilter, wq.Prefix))
    mine, theirs = mine("id", *bounds), theirs("id", *bounds)
    ix = _word_index(_skewed(300), segments, deleted)
    words = parse_query("climat", ix.schema)
    with ix.searcher() as searcher:
        assert set(searcher.docs_for_query(mine)) == set(searcher.docs_for_query(theirs))
    assert (_scores(ix, wq.And([words, wq.ConstantScoreQuery(mine, 0.0)]))
            == _scores(ix, wq.And([wq.Or(words.subqueries),
                                   wq.ConstantScoreQuery(theirs, 0.0)])))


@pytest.mark.parametrize("text", ["climat", "clim*", "climat OR sommet", "climat~",
                                  "sommet climat", "title:climat OR gazier", "introuvable",
                                  "vis* OR sommet"])
@pytest.mark.parametrize("segments, deleted", [(1, ()), (3, (0, 6, 12, 150, 299))])
def test_documents_without_scores_are_whoosh_s(text, segments, deleted):
    """Counts and facets ask for the documents only (Whoosh's boolean context): they are
    read from id lists, unscored, and are those Whoosh's own matchers give."""
    from whoosh import query as wq

    ix = _word_index(_skewed(300), segments, deleted)
    ours = parse_query(text, ix.schema)
    only = wq.ConstantScoreQuery(wq.TermRange("id", "1", "2"), 0.0)
    with ix.searcher() as searcher:
        for query, whoosh in ((ours, _as_whoosh_matches(ours)),
                              (wq.And([ours, only]), wq.And([_as_whoosh_matches(ours), only]))):
            assert (sorted(searcher.docs_for_query(query))
                    == sorted(searcher.docs_for_query(whoosh)))


_PHRASE_TEXT = st.lists(st.sampled_from(["climat", "sommet", "visite", "accord", "le", "le"]),
                        max_size=14).map(" ".join)
_PHRASE_FIELDS = st.sampled_from(["body", "surface_body"])  # stop words removed / kept


@given(bodies=st.lists(_PHRASE_TEXT, min_size=1, max_size=40),
       segments=st.integers(1, 3), deleted=st.sets(st.integers(0, 39), max_size=8),
       words=st.one_of(
           st.lists(st.sampled_from(["climat", "sommet", "visite", "le", "absent"]),
                    min_size=2, max_size=4),
           # Three words or more, the commonest read last (`le`, or `climat` in body).
           st.permutations(["climat", "sommet", "visite", "le"]).map(lambda w: w[:3]),
           st.permutations(["climat", "sommet", "le", "le"])),
       slop=st.integers(1, 3), boost=st.sampled_from([1.0, 1.5]), field=_PHRASE_FIELDS,
       compact=st.booleans(), as_arrays=st.booleans())
def test_a_phrase_matches_and_scores_as_whoosh_s(bodies, segments, deleted, words, slop,
                                                 boost, field, compact, as_arrays):
    """`PhraseWords`: the documents and scores of Whoosh's `Phrase`, repeated words,
    slop, several segments and deleted documents included, scored and unscored, on
    blocks pickled by Whoosh's codec or by ours (their positions read with them); an
    exact phrase checked and scored in Python or as numpy arrays."""
    from unittest import mock

    from whoosh import query as wq

    from search.whoosh_fast import matchers
    from search.whoosh_fast.queries import PhraseWords

    ix = _word_index([{"body": body, "surface_body": body} for body in bodies], segments,
                     [n for n in deleted if n < len(bodies)], blocklimit=3, compact=compact)
    words = [word[:5] if field == "body" else word for word in words]  # visite: visit
    whoosh = wq.Phrase(field, words, slop=slop, boost=boost)
    ours = PhraseWords(field, words, slop=slop, boost=boost)
    from_postings = 0 if as_arrays else 10**9
    with mock.patch.multiple(matchers, ARRAY_POSTINGS=from_postings,
                             LOADING_POSTINGS=from_postings):
        assert _scores(ix, ours) == _scores(ix, whoosh)
        with ix.searcher() as searcher:
            assert set(searcher.docs_for_query(ours)) == set(searcher.docs_for_query(whoosh))


@pytest.mark.parametrize("text, matched", [
    ('"climat le sommet"', {3}),
    ('"climat le sommet"~2', {3, 4}),
    ('"climat sommet"', {0}),
    ('"sommet climat"', {1}),
    ('"climat sommet"~2', {0, 2, 3}),
    ('"climat visite"', set()),
])
@pytest.mark.parametrize("array_postings", ARRAYS)
def test_quoted_phrases_are_matched_in_order_within_their_slop(monkeypatch, array_postings,
                                                               text, matched):
    bodies = ["Climat sommet le", "Sommet climat le", "Climat accord sommet le",
              "le Climat le sommet", "climat le le sommet le", "le accord", "le visite"]
    # `le` is the commonest word, read last
    ix = _word_index([{"body": body, "surface_body": body} for body in bodies])
    _arrays_from(monkeypatch, array_postings)
    query = parse_query(text, ix.schema)
    assert "PhraseWords" in repr(query)
    assert set(_scores(ix, query)) == matched


@pytest.mark.parametrize("text", ["climat sommet", '"climat sommet"', '"climat le sommet"',
                                  "clim*", "climat~", "body:clim*"])
def test_a_query_asked_again_in_a_segment_reads_no_posting_again(monkeypatch, text):
    """Deeper hits of the same query (copies filling the first ones) reuse its matches."""
    from search.whoosh_fast import queries

    bodies = ["Climat sommet le", "Sommet climat le", "le Climat le sommet", "le accord"]
    ix = _word_index([{"body": body, "surface_body": body} for body in bodies], segments=2)
    query = parse_query(text, ix.schema)
    with ix.searcher() as searcher:
        first = {hit.docnum: hit.score for hit in searcher.search(query, limit=None)}
        assert first

        def unread(*args):
            raise AssertionError("postings read again")

        monkeypatch.setattr(queries, "blocks", unread)
        monkeypatch.setattr(queries, "looked_up", unread)
        assert {hit.docnum: hit.score for hit in searcher.search(query, limit=2)} == dict(
            sorted(first.items(), key=lambda item: -item[1])[:2])


@pytest.mark.parametrize("segments, deleted", [(1, ()), (2, (0, 3, 97, 130, 291))])
def test_one_word_asked_again_decodes_no_block_again(monkeypatch, segments, deleted):
    """A deeper read of one word (copies filling the first hits) ranks and counts as a
    first read would, from the blocks the first decoded (all of them, for an exact total)."""
    from search.whoosh_fast import postings
    from search.whoosh_fast.collector import CountingTopCollector

    ix = _word_index(_skewed(600), segments, deleted, blocklimit=16)
    query = parse_query("climat", ix.schema)
    expected = _best_and_total(ix, parse_query("climat", ix.schema), 30)
    with ix.searcher() as searcher:

        def ranked(limit):
            collector = CountingTopCollector(limit, usequality=False)
            searcher.search_with_collector(query, collector)
            results = collector.results()
            return results.top_n, len(results)

        first = ranked(10)
        monkeypatch.setattr(postings, "_decoded",
                            lambda *args: pytest.fail("a block decoded again"))
        deeper = ranked(30)
    assert deeper == expected
    assert first == (expected[0][:10], expected[1])


@pytest.mark.parametrize("kind, bounds", [("range", ("1", "2")), ("prefix", ("1",))])
def test_a_filter_asked_again_in_a_segment_reads_no_posting_again(monkeypatch, kind, bounds):
    """A listing without words reads deeper with the same filter (copies filling the
    first hits): the filter's documents are not read again."""
    from search.whoosh_fast import queries

    ix = _word_index(_skewed(300), segments=2)
    query = (queries.TermRangeFilter if kind == "range" else queries.PrefixFilter)("id", *bounds)
    with ix.searcher() as searcher:
        first = set(searcher.docs_for_query(query))
        assert first
        monkeypatch.setattr(queries, "blocks", lambda *args: pytest.fail("postings read again"))
        assert set(searcher.docs_for_query(query)) == first


def _matched_and_expected(ix, text: str) -> tuple[set[int] | None, set[int]]:
    """What the collector of a top 10 says each document of `ix` is (matched or not), and
    what Whoosh's `docs_for_query` says."""
    from whoosh import scoring

    from search.query import expand_first
    from search.whoosh_fast.collector import CountingTopCollector

    query = parse_query(text, ix.schema)
    with ix.searcher(weighting=scoring.BM25F()) as searcher:
        expand_first(query, searcher.reader())
        collector = CountingTopCollector(10, usequality=False)
        searcher.search_with_collector(query, collector)
        expected = set(searcher.docs_for_query(query))
        assert 0 < len(expected) < searcher.doc_count()
        return collector.matched(range(searcher.doc_count_all())), expected


@pytest.mark.parametrize("text", ["climat", "sommet clim*", "ambassad*", "climat~", '"le climat"',
                                  "sommet climat", "gazier OR ambassadrice", "sommet -climat"])
def test_the_collector_knows_every_document_it_counted(blocks_index, text):
    """What the copies of a hit ask (`CountingTopCollector.matched`), whichever way the
    query's documents were counted."""
    matched, expected = _matched_and_expected(blocks_index, text)
    assert matched == expected


@pytest.mark.parametrize("text", ["climat", "gazier", "climat sommet", "sommet OR gazier"])
@pytest.mark.parametrize("segments, deleted", [(3, ()), (2, (0, 3, 97, 130, 291))])
def test_the_collector_knows_the_documents_of_each_segment(text, segments, deleted):
    matched, expected = _matched_and_expected(_word_index(_skewed(600), segments, deleted),
                                              text)
    assert matched == expected


@pytest.mark.parametrize("word", ["climat", "sommet"])
@pytest.mark.parametrize("segments, deleted", [(1, ()), (2, (0, 3, 97, 130, 291))])
def test_the_collector_knows_the_documents_of_a_word_counted_at_least(monkeypatch, word,
                                                                       segments, deleted):
    """A word past `EXACT_COUNT_POSTINGS` is counted at least (its best documents found
    without decoding every block): the collector asks its matcher for the documents it
    did not count (the copies of a hit)."""
    from whoosh import scoring

    from search.whoosh_fast.collector import CountingTopCollector

    monkeypatch.setattr("search.whoosh_fast.queries.EXACT_COUNT_POSTINGS", 0)
    ix = _word_index(_skewed(600), segments, deleted, blocklimit=16)
    with ix.searcher(weighting=scoring.BM25F()) as searcher:
        collector = CountingTopCollector(10, usequality=False)
        searcher.search_with_collector(parse_query(word, ix.schema), collector)
        assert not collector.results().total_exact
    matched, expected = _matched_and_expected(ix, word)
    assert matched == expected


@given(texts=st.lists(st.one_of(_PHRASE_TEXT.map(lambda text: (text, text, text)),
                                st.tuples(_PHRASE_TEXT, _PHRASE_TEXT, _PHRASE_TEXT)),
                      min_size=1, max_size=30),
       segments=st.integers(1, 2), deleted=st.sets(st.integers(0, 29), max_size=5),
       words=st.one_of(st.lists(st.sampled_from(["climat", "sommet", "le", "absent"]),
                                min_size=2, max_size=3),
                       st.permutations(["climat", "sommet", "visite", "le"]).map(lambda w: w[:3])),
       boost=st.sampled_from([1.0, 2.0]))
def test_a_phrase_in_its_fields_from_the_long_lists_scores_as_whoosh_s(
        tmp_path_factory, texts, segments, deleted, words, boost):
    """An exact phrase read from the segments' long lists (`lists`, every list written
    here, with its positions), in one field (`PhraseWords`) and in three added up as arrays
    (`PhraseInFields`): the documents and scores of Whoosh's `Phrase` and its OR, to the
    last bit, deleted documents included."""
    from unittest import mock

    from whoosh import query as wq

    from search.whoosh_fast import lists, matchers
    from search.whoosh_fast.queries import PhraseInFields, PhraseWords
    from search.whoosh_fast.reading import MappedStorage

    folder = tmp_path_factory.mktemp("phrases")
    articles = [{"surface_title": title, "surface_lead": lead, "surface_body": body}
                for title, lead, body in texts]  # the same text in each field, or not
    _word_index(articles, segments, [n for n in deleted if n < len(articles)], blocklimit=3,
                compact=True, folder=folder)
    fields = {"surface_title": 2.0 * boost, "surface_lead": 1.5 * boost,
              "surface_body": boost}
    with mock.patch.multiple(matchers, ARRAY_POSTINGS=0, LOADING_POSTINGS=0,
                             SCORED_DOCUMENTS=0), mock.patch.object(lists, "LIST_POSTINGS", 1):
        ix = MappedStorage(str(folder)).open_index()
        with ix.reader() as reader:
            for leaf, _ in reader.leaf_readers():
                lists.write(lists.lists_file(folder, leaf), leaf, list(fields))
        for field, weight in fields.items():
            assert _scores(ix, PhraseWords(field, words, boost=weight)) == _scores(
                ix, wq.Phrase(field, words, boost=weight))
        ours = PhraseInFields([PhraseWords(field, words, boost=weight)
                               for field, weight in fields.items()])
        whoosh = wq.Or([wq.Phrase(field, words, boost=weight) for field, weight in fields.items()])
        assert _scores(ix, ours) == _scores(ix, whoosh)
