import pytest
from hypothesis import given
from hypothesis import strategies as st

from search.errors import QuerySyntaxError
from search.index import build_schema
from search.query import normalize_query, parse_query

SCHEMA = build_schema()
NOTHING_TO_SEARCH = ("The query has no word to search for, only very common ones (le, la, de...) "
                     "or symbols: add a more specific word.")


@pytest.mark.parametrize(
    "text, whoosh_text",
    [
        ("coopération bilatérale", "coopération bilatérale"),
        ("maroc -rabat", "maroc NOT rabat"),
        ('maroc -"union interparlementaire"', 'maroc NOT "union interparlementaire"'),
        ("maroc ET (rabat OU astana) SAUF kenitra", "maroc AND (rabat OR astana) NOT kenitra"),
        ("« Union interparlementaire »", '" Union interparlementaire "'),
        ("“Union interparlementaire”", '"Union interparlementaire"'),
        ("TITLE:Maroc", "title:Maroc"),
        ('title:"Union interparlementaire"', 'title:"Union interparlementaire"'),
        ("title:(maroc kazakhstan)", "title:(maroc kazakhstan)"),
        ("coopér* Tokaiev~", "coopér* Tokaiev~"),
        ("a AND NOT b", "a AND NOT b"),
        ("Sommet de Paris: accord", "Sommet de Paris accord"),
    ],
)
def test_rewrites_into_whoosh_syntax(text, whoosh_text):
    assert normalize_query(text) == whoosh_text


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "The query is empty: give one or more words to search for."),
        ("   ", "The query is empty: give one or more words to search for."),
        ("x" * 5000, "The query is too long (5000 characters; at most 1000)."),
        ('"Union interparlementaire', 'Unbalanced quote: close the phrase with another ".'),
        ("« Union interparlementaire", 'Unbalanced quote: close the phrase with another ".'),
        ("(maroc OR rabat", "Unbalanced parentheses: a '(' is never closed."),
        ("maroc)", "Unbalanced parentheses: a ')' has no '(' before it."),
        ("()", "Empty parentheses: put words inside them or remove them."),
        ("maroc AND", "The query ends with an operator: add a word after it."),
        ("maroc NOT", "The query ends with an operator: add a word after it."),
        ("OR maroc", "OR needs a word on each side."),
        ("maroc AND OR rabat", "OR needs a word on each side."),
        ("(AND maroc)", "AND needs a word on each side."),
        ("(maroc OR)", "An operator needs a word after it, not ')'."),
        ("maroc - rabat", "A '-' must touch the word it excludes: write -word."),
        ("title:", "The field 'title:' has no value: write title:word or title:\"a phrase\"."),
        ("maroc body: rabat", "The field 'body:' has no value: write body:word or body:\"a phrase\"."),
        ("auteur:Dupont", "Unknown field 'auteur:'. Fields are: title:, lead:, body:, dateline:, category:, author:."),
        ("co*", "Truncation needs at least 3 letters before * or ?: 'co*'."),
        ("*tion", "Truncation needs at least 3 letters before * or ?: '*tion'."),
        ("l'a*", "Truncation needs at least 3 letters before * or ?: 'l'a*'."),
        ("le la de", NOTHING_TO_SEARCH),
        ("\x1b~ ★", NOTHING_TO_SEARCH),
    ],
)
def test_bad_queries_say_what_to_do(text, message):
    with pytest.raises(QuerySyntaxError) as error:
        parse_query(text, SCHEMA)
    assert str(error.value) == message


def _terms(query) -> set[str]:
    return {term.decode() if isinstance(term, bytes) else term for _, term in query.iter_all_terms()}


@pytest.mark.parametrize(
    "text, term",
    [("Est", "est"), ("est", "est"), ("été", "ete"), ("son", "son"), ("sommes", "somm"),
     ("pas", "pas")],
)
def test_content_words_that_look_like_stop_words_are_kept(text, term):
    assert _terms(parse_query(text, SCHEMA)) == {term}


@pytest.mark.parametrize(
    "text, expected_terms",
    [
        ("sud-sud", {"sud"}),
        ("l’ambassadrice", {"ambassadric"}),
        ("coopera*", {"cooper", "coope"}),
    ],
)
def test_terms_searched(text, expected_terms):
    assert _terms(parse_query(text, SCHEMA)) == expected_terms


@given(st.text(max_size=300))
def test_no_query_string_crashes_the_parser(text):
    try:
        parse_query(text, SCHEMA)
    except QuerySyntaxError:
        pass


@given(st.lists(st.sampled_from(['maroc', 'AND', 'OR', 'NOT', '-', '(', ')', '"', 'title:',
                                 'rabat*', 'tokaiev~', '-paix', ' ', 'OU', 'SAUF']), max_size=12))
def test_no_combination_of_operators_crashes_the_parser(parts):
    try:
        parse_query(" ".join(parts), SCHEMA)
    except QuerySyntaxError:
        pass


def test_fuzzy_terms_keep_their_first_letter():
    """A prefix of 0 would compare the word with every term of the index."""
    fuzzy = [leaf for leaf in parse_query("Tokaiev~", SCHEMA).leaves()]
    assert fuzzy and all((leaf.maxdist, leaf.prefixlength) == (1, 1) for leaf in fuzzy)


@pytest.mark.parametrize("deleted", [False, True])
@pytest.mark.parametrize("term", ["kazakhstan", "cooper", "sud", "ambassadric"])
def test_postings_read_a_block_at_a_time_are_the_postings(tmp_path, term, deleted):
    from search.index import build, open_index
    from search.models import Article
    from search.query import _weights

    # Enough documents for several posting blocks (Whoosh: 128 postings a block).
    build([Article(id=str(n), path=f"{n}.txt", title="",
                   body=f"Visite {n} : coopération Sud-Sud, {'sud ' * (n % 3)}Kazakhstan. "
                        + ("L'ambassadrice." if n % 7 == 0 else ""))
           for n in range(300)], tmp_path / "index")
    ix = open_index(tmp_path / "index")
    if deleted:  # the segment keeps their postings, filtered out when read
        with ix.writer() as writer:
            for n in (0, 7, 130, 299):
                writer.delete_by_term("id", str(n))
    with ix.reader() as reader:
        assert reader.has_deletions() == deleted
        expected = []
        postings = reader.postings("body", term)
        while postings.is_active():
            expected.append((postings.id(), postings.weight()))
            postings.next()
        assert list(_weights(reader, "body", term.encode())) == expected
        assert len(expected) > 10


@pytest.fixture(scope="module")
def blocks_index(tmp_path_factory):
    """Articles enough for several posting blocks, words in titles and bodies, some
    articles deleted (their postings stay until a merge)."""
    from search.index import build, open_index
    from search.models import Article

    folder = tmp_path_factory.mktemp("blocks") / "index"
    build([Article(id=str(n), path=f"{n}.txt",
                   title=f"Sommet {n}" + (" sur le climat" if n % 5 == 0 else ""),
                   body=f"Visite {n} : coopération Sud-Sud, {'sud ' * (n % 3)}Kazakhstan. "
                        + ("Le climat, l'ambassadrice. " if n % 7 == 0 else "")
                        + ("Accord gazier." if n % 50 == 0 else ""))
           for n in range(400)], folder)
    ix = open_index(folder)
    with ix.writer() as writer:
        for n in (0, 7, 35, 350):
            writer.delete_by_term("id", str(n))
    return ix


def _scores(ix, query) -> dict[int, float]:
    """Every document `query` matches in `ix`, with its score."""
    with ix.searcher() as searcher:
        return {hit.docnum: hit.score for hit in searcher.search(query, limit=None)}


@pytest.mark.parametrize("probe_ratio", [0, 16, 10**9])  # look up always / as built / never
@pytest.mark.parametrize(
    "text",
    ["sommet climat", "climat sommet sud", "gazier sommet", "climat kazakhstan accord",
     "title:climat sud", "climat introuvable"],
)
def test_all_words_score_as_whoosh_s_and(blocks_index, monkeypatch, probe_ratio, text):
    from whoosh import query as wq

    import search.query

    monkeypatch.setattr(search.query, "PROBE_RATIO", probe_ratio)
    ours = parse_query(text, blocks_index.schema)
    assert type(ours) is search.query._AllWords
    found = _scores(blocks_index, ours)
    assert found == pytest.approx(_scores(blocks_index, wq.And(ours.subqueries)))
    assert bool(found) == (text != "climat introuvable")


@pytest.mark.parametrize(
    "text, matched_as_all_words",
    [("sommet climat", True), ("sommet", False), ("(sommet climat) OR sud", True),
     ('sommet "accord gazier"', False), ("sommet clim*", False), ("sommet -climat", False)],
)
def test_which_queries_are_matched_as_all_words(text, matched_as_all_words):
    from search.query import _AllWords

    query = parse_query(text, SCHEMA)
    assert any(type(q) is _AllWords for q in [query, *query.children()]) == matched_as_all_words


def _as_whoosh_matches(query):
    """`query` with our matchers replaced by Whoosh's own, every expanded term scored."""
    from whoosh import query as wq

    from search.query import _AllWords, _Expansion, _SummedOr

    if isinstance(query, _Expansion):
        if isinstance(query, wq.FuzzyTerm):
            return wq.FuzzyTerm(query.fieldname, query.text, query.boost, query.maxdist,
                                query.prefixlength, constantscore=False)
        whoosh_class = wq.Prefix if isinstance(query, wq.Prefix) else wq.Wildcard
        return whoosh_class(query.fieldname, query.text, query.boost, constantscore=False)
    if isinstance(query, wq.CompoundQuery):
        whoosh_class = {_AllWords: wq.And, _SummedOr: wq.Or}.get(type(query), type(query))
        return whoosh_class([_as_whoosh_matches(child) for child in query.subqueries],
                            boost=query.boost)
    return query


@pytest.mark.parametrize(
    "text",
    ["kazak*", "sud*", "coopérat*", "coop?r*", "climat~", "ambasadrice~", "title:somm*",
     "sommet clim*", "(sommet OR kazak*) sud"],
)
def test_truncated_and_fuzzy_words_score_as_whoosh_s_or(blocks_index, text):
    ours = parse_query(text, blocks_index.schema)
    found = _scores(blocks_index, ours)
    assert found == pytest.approx(_scores(blocks_index, _as_whoosh_matches(ours)))
    assert found


def test_field_lengths_read_at_once_are_whoosh_s(blocks_index):
    from search.query import _field_lengths

    with blocks_index.reader() as reader:
        for leaf, _ in reader.leaf_readers():
            for fieldname in ("title", "body", "dateline"):
                length = _field_lengths(leaf, fieldname)
                assert [length(docnum) for docnum in range(leaf.doc_count_all())] == [
                    leaf.doc_field_length(docnum, fieldname, 1) or 1
                    for docnum in range(leaf.doc_count_all())]


@pytest.mark.parametrize("text", ["sommet climat Kazakhstan ambassadrice", "gazier introuvable",
                                  "Sud-Sud coopération, sommet"])
def test_ranked_words_score_as_whoosh_s_or(blocks_index, text):
    from search.query import _SummedOr, parse_words

    ours = parse_words(text, blocks_index.schema)
    assert type(ours) is _SummedOr
    found = _scores(blocks_index, ours)
    assert found == pytest.approx(_scores(blocks_index, _as_whoosh_matches(ours)))
    assert found
