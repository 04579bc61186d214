import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from whoosh import query as wq
from whoosh.analysis import Tokenizer
from whoosh.fields import TEXT
from whoosh.filedb.filestore import RamStorage

from search.analysis import analyze, french_analyzer, term
from search.errors import QuerySyntaxError
from search.query import (
    MAX_NESTING,
    PARAGRAPH_STRIDE,
    filter_query,
    normalize_query,
    parse_query,
)
from search.schema import build_schema

SCHEMA = build_schema()
NOTHING_TO_SEARCH = ("The query has no word to search for, only very common ones (le, la, de...) "
                     "or symbols: add a more specific word.")
DEFAULT = {"title", "lead", "dateline", "body"}  # the fields searched when none is named
FIELDS_ARE = "Fields are: title:, lead:, body:, dateline:, category:, author:."


def fuzzy(word: str) -> str:
    return ("Fuzzy words are written word~, word~2 (at most 2 edits) or word~2/3 (the first 3 "
            f"letters kept), not '{word}'.")


def truncation(word: str) -> str:
    return f"Truncation needs at least 3 letters before * or ?: '{word}'."


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
        # a colon inside a word is not a field: the word is searched as the analyzer cuts it
        ("x.title:foo", "x.title:foo"),
        ("foo.url:bar", "foo.url:bar"),
        ("title:body:x", "title:body:x"),
        ("12:30", "12:30"),
        # a truncated word joined by punctuation: its pieces, as the analyzer would cut them
        ("sud-coop*", "(sud coop*)"),
        ("title:x.coop*", "title:(x coop*)"),
        ("-sud-coop*", "NOT (sud coop*)"),
        # Whoosh knows an operator only between spaces
        ("maroc AND(rabat)", "maroc AND (rabat)"),
        ("(maroc)OR(rabat)", "(maroc) OR (rabat)"),
        ('"x"-rabat', '"x" NOT rabat'),
        ("-(a b)", "NOT (a b)"),
        # Whoosh's operators that are not ours are words
        ("a ANDNOT b", "a andnot b"),
        ("a ANDMAYBE b", "a andmaybe b"),
        ("a REQUIRE b", "a require b"),
        # fuzzy words as Whoosh writes them; a symbol's ~ goes with the symbol
        ("maroc~2/3 title:Maroc~", "maroc~2/3 title:Maroc~"),
        ("maroc ★~ ~", "maroc ★"),
        # question marks that Whoosh would take for wildcards
        ("ab\u061f cd\u055e \u1367", "ab cd"),
        # one form of each accented letter
        ("e\u0301te\u0301", "\u00e9t\u00e9"),
        # a phrase's words at most N words apart
        ('"maroc rabat"~2', '"maroc rabat"~2'),
        ('("maroc rabat"~05)', '("maroc rabat"~5)'),
        # `=word`: the word as written, a one-word phrase
        ("=Maroc", '"Maroc"'),
        ("title:=Maroc -=Rabat", 'title:"Maroc" NOT "Rabat"'),
        ("=sud-sud", '"sud-sud"'),
        ("=visit*", "visit*"),
        ("maroc = ★ =★", "maroc = ★ =★"),
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
        ("~ ★~2 (~)", NOTHING_TO_SEARCH),
        # fuzzy words: at most 2 edits, a prefix of 1 to the word's length, nothing else
        ("word~3", fuzzy("word~3")),
        ("word~99999", fuzzy("word~99999")),
        ("word~0", fuzzy("word~0")),
        ("word~1/abc", fuzzy("word~1/abc")),
        ("word~/", fuzzy("word~/")),
        ("word~2/-1", fuzzy("word~2/-1")),
        ("word~2/0", fuzzy("word~2/0")),
        ("word~/03", fuzzy("word~/03")),
        ("word~/5", fuzzy("word~/5")),
        ("maroc~/99999999999999999999999", fuzzy("maroc~/99999999999999999999999")),
        ("word~1.5", fuzzy("word~1.5")),
        ("word~~", fuzzy("word~~")),
        ("word~1~2", fuzzy("word~1~2")),
        ("wo~rd", fuzzy("wo~rd")),
        ("~maroc", fuzzy("~maroc")),
        ('"maroc rabat"~2x', fuzzy("~2x")),
        ('"maroc rabat"~0', 'A phrase\'s words are 1 to 50 words apart: write "a b"~5, '
                            'not \'"maroc rabat"~0\'.'),
        ('"maroc rabat"~51', 'A phrase\'s words are 1 to 50 words apart: write "a b"~5, '
                             'not \'"maroc rabat"~51\'.'),
        ("=maroc~", "A word is exact (=) or fuzzy (~), not both: '=maroc~'."),
        ("=co*", truncation("co*")),
        ("sud-sud~", fuzzy("sud-sud~")),
        ("title:word~9", fuzzy("word~9")),
        ("-word~3", fuzzy("word~3")),
        ("(maroc OR word~٢)", fuzzy("word~٢")),
        ("word\x1b~3", fuzzy("word\\x1b~3")),
        ("coop*~", "A word is truncated (*) or fuzzy (~), not both: 'coop*~'."),
        ("a" * 41 + "~", "A fuzzy word has at most 40 letters: write this one without ~."),
        ("maroc~ rabat~1 title:(Tokaiev~2 OR paix~) -Kazakhstan~2/3 Astana~",
         "A query has at most 5 fuzzy words (~): keep the ~ on the words you are least sure of."),
        # fields: a name and a colon at a word's start, one of ours
        ("category_key:monde", f"Unknown field 'category_key:'. {FIELDS_ARE}"),
        ("url:example", f"Unknown field 'url:'. {FIELDS_ARE}"),
        ("PATH:x", f"Unknown field 'PATH:'. {FIELDS_ARE}"),
        ("id:1", f"Unknown field 'id:'. {FIELDS_ARE}"),
        ("date:2020", f"Unknown field 'date:'. {FIELDS_ARE}"),
        ("maroc (source:afp)", f"Unknown field 'source:'. {FIELDS_ARE}"),
        # truncation: wherever a wildcard can be
        ("a,body:b*", truncation("a,body:b*")),
        ("x.title:co*", truncation("x.title:co*")),
        ("foo.url:ba*", truncation("foo.url:ba*")),
        ("title:co*", truncation("co*")),
        ("title:(maroc co*)", truncation("co*")),
        ("(maroc OR co*)", truncation("co*")),
        ("-co*", truncation("co*")),
        ("maroc.co*", truncation("maroc.co*")),
        ("co?", truncation("co?")),
        ("c?op*", truncation("c?op*")),
        ("?", truncation("?")),
        ("*", truncation("*")),
        ("**", truncation("**")),
        ("maroc *", truncation("*")),
        ("*maroc*", truncation("*maroc*")),
        ("l'a?", truncation("l'a?")),
        ("œ*", truncation("œ*")),
        ('"co* bilatérale"', truncation("co*")),
        ('title:"union co*"', truncation("co*")),
        # nesting
        ("(" * (MAX_NESTING + 1) + "maroc" + ")" * (MAX_NESTING + 1),
         "Parentheses nest too deep: at most 32 levels, one inside another."),
        ("(" * 400 + "maroc" + ")" * 400,
         "Parentheses nest too deep: at most 32 levels, one inside another."),
        # the length counts the composed form: the decomposed twin of a query that fits, fits
        ("é" * 1001, "The query is too long (1001 characters; at most 1000)."),
        ("e\u0301" * 1001, "The query is too long (1001 characters; at most 1000)."),
    ],
)
def test_bad_queries_say_what_to_do(text, message):
    with pytest.raises(QuerySyntaxError) as error:
        parse_query(text, SCHEMA)
    assert str(error.value) == message


@pytest.mark.parametrize(
    "text",
    ["(" * MAX_NESTING + "maroc" + ")" * MAX_NESTING, "e\u0301" * 600, "é" * 1000,
     "NOT " * 248 + "maroc", "maroc " + "-a " * 330, "maroc~ ★~ rabat~ b~2 paix~ ~ c~ ~", " OR ".join(["maroc"] * 200)[:1000].strip(),
     "maroc " + "AND rabat " * 99, " ".join(["coop" * 10 + "~2"] * 5), "maroc " * 142 + "rabat~"],
)
def test_long_and_nested_queries_within_the_limits_parse(text):
    """Up to the limits, a query parses: no RecursionError, nothing unbounded."""
    try:
        parse_query(text, SCHEMA)
    except QuerySyntaxError as error:
        assert str(error) in (NOTHING_TO_SEARCH, "The query ends with an operator: add a word after it.")


@pytest.mark.parametrize(
    "text, fields",
    [("x.url:bar", DEFAULT), ("a.id:b", DEFAULT), ("foo.date:2020", DEFAULT),
     ("x.source:afp", DEFAULT), ("x.category_key:monde", DEFAULT), ("x.path:y", DEFAULT),
     ("(a.url:bar*)", DEFAULT), ("-x.url:bar maroc", DEFAULT), ("x.title:foo", DEFAULT),
     ("title:x.url:y", {"title"}), ("author:(x.date:y)", {"author"})],
)
def test_only_searchable_fields_are_ever_searched(text, fields):
    assert {fieldname for fieldname, _ in parse_query(text, SCHEMA).iter_all_terms()} == fields


def bad_form(name: str, value: str) -> str:
    return f"--{name} takes a date written 2020, 2020-06 or 2020-06-15, not '{value}'."


def not_real(name: str, value: str) -> str:
    return (f"--{name} takes a real date (years 1800 to 2200) written 2020, 2020-06 or "
            f"2020-06-15, not '{value}'.")


@pytest.mark.parametrize(
    "dates, message",
    [
        ({"since": "2020-02-30"}, not_real("since", "2020-02-30")),
        ({"until": "2021-02-29"}, not_real("until", "2021-02-29")),
        ({"since": "1900-02-29"}, not_real("since", "1900-02-29")),
        ({"since": "2020-13"}, not_real("since", "2020-13")),
        ({"until": "2020-00"}, not_real("until", "2020-00")),
        ({"since": "2020-06-00"}, not_real("since", "2020-06-00")),
        ({"since": "2020-04-31"}, not_real("since", "2020-04-31")),
        ({"since": "0000"}, not_real("since", "0000")),
        ({"since": "٢٠٢٠"}, bad_form("since", "٢٠٢٠")),
        ({"until": "２０２０"}, bad_form("until", "２０２０")),
        ({"since": "2020-0６"}, bad_form("since", "2020-0６")),
        ({"since": "2020\n"}, bad_form("since", "2020\\n")),
        ({"since": "2020-6"}, bad_form("since", "2020-6")),
        ({"since": "2020-06-15T10:00"}, bad_form("since", "2020-06-15T10:00")),
        ({"since": "2021", "until": "2020-12"},
         "--since 2021 is after --until 2020-12: no date is in that range; swap them or widen it."),
        ({"since": "2020-06-16", "until": "2020-06-15"},
         "--since 2020-06-16 is after --until 2020-06-15: no date is in that range; "
         "swap them or widen it."),
    ],
)
def test_bad_date_filters_say_what_is_accepted(dates, message):
    with pytest.raises(QuerySyntaxError) as error:
        filter_query(SCHEMA, **dates)
    assert str(error.value) == message


@pytest.mark.parametrize(
    "since, until, lowest, highest",
    [("2020-02-29", None, "2020-02-29", None), ("2000-02-29", "2000-02-29", "2000-02-29", "2000-02-29~"),
     ("2020-06-15", "2020-06", "2020-06-15", "2020-06~"), ("2020", "2020", "2020", "2020~"),
     ("2019-12", "2020", "2019-12", "2020~")],
)
def test_date_filters_take_real_dates_in_order(since, until, lowest, highest):
    found = filter_query(SCHEMA, since=since, until=until)
    assert (found.fieldname, found.start, found.end) == ("date", lowest, highest)


def _terms(query) -> set[str]:
    return {term.decode() if isinstance(term, bytes) else term for _, term in query.iter_all_terms()}


@pytest.mark.parametrize(
    "text, terms",
    [("Est", {"est"}), ("est", {"est"}), ("été", {"ete"}), ("son", {"son"}),
     ("sommes", {"somm", "%somes"}),  # and its transliteration key, as any word of 4 letters
     ("pas", {"pas"})],
)
def test_content_words_that_look_like_stop_words_are_kept(text, terms):
    assert _terms(parse_query(text, SCHEMA)) == terms


@pytest.mark.parametrize(
    "text, expected_terms",
    [
        ("sud-sud", {"sud"}),
        ("l’ambassadrice", {"ambassadeur", "%ambasadrice"}),
        # a word also searches the names spelt like it (`analysis.name_key`)
        ("Tokaiev", {"@tokaiev"}),  # a lexicon name: its entity only
        ("Chevardnadze", {"chevardnadz", "%chevardnadze"}),
        ("shevardnadze", {"shevardnadz", "%chevardnadze"}),
        ("zelenskyy", {"@zelensky"}),
        ("mirziyoyev", {"@mirziyoyev"}),
        ("Kouznetsov", {"kouznetsov", "%kuznetsov"}),
        ("G20", {"@g20"}),
        ("F16", {"f16"}),
        ("maroco-kazakh", {"maroco", "kazakh", "kazakhe", "kazakhes", "kazakhs"}),
    ],
)
def test_terms_searched(text, expected_terms):
    assert _terms(parse_query(text, SCHEMA)) == expected_terms


@pytest.mark.parametrize(
    "text, expected",
    [
        # truncation completes what was typed, over the words as written
        ("coopera*", {("surface_" + field, "coopera*") for field in DEFAULT}),
        ("Coopéra*", {("surface_" + field, "coopera*") for field in DEFAULT}),
        ("title:l'ambassa*", {("surface_title", "ambassa*")}),
        ("title:coop?r*", {("surface_title", "coop?r*")}),
        # quoted phrases and =word: the words as written, stop words in place
        ('title:"Président de la République"',
         {("surface_title", ("president", "de", "la", "republique"))}),
        ('"L\'ambassadrice"', {("surface_" + field, "ambassadrice") for field in DEFAULT}),
        ("title:=Maroc", {("surface_title", "maroc")}),
        ('author:"Le Monde"', {("surface_author", ("le", "monde"))}),
        # unquoted words: their word families
        ("title:présidents", {("title", term("présidents")), ("title", "%presidents")}),
        # a compound of countries' forms: as written, its last word in any gender and number
        ("title:indo-pakistanais", {("surface_title", ("indo", form)) for form in
                                    ("pakistanais", "pakistanaise", "pakistanaises")}),
    ],
)
def test_what_each_word_searches(text, expected):
    def searched(leaf):
        if isinstance(leaf, wq.Phrase):
            return leaf.fieldname, tuple(leaf.words)
        return leaf.fieldname, leaf.text + ("*" if isinstance(leaf, wq.Prefix) else "")

    assert {searched(leaf) for leaf in parse_query(text, SCHEMA).leaves()} == expected


def test_a_phrase_s_distance_is_its_slop():
    assert {leaf.slop for leaf in parse_query('"maroc rabat"~7', SCHEMA).leaves()} == {7}


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
    fuzzy = [leaf for leaf in parse_query("Tokaiev~", SCHEMA).leaves()
             if isinstance(leaf, wq.FuzzyTerm)]
    assert fuzzy and all((leaf.maxdist, leaf.prefixlength) == (1, 1) for leaf in fuzzy)


@pytest.mark.parametrize("whole_blocks", [False, True])  # decoded by Whoosh, positions too
@pytest.mark.parametrize("deleted", [False, True])
@pytest.mark.parametrize(
    "term",  # frequencies all 1, all 2, mixed; in every document, every 7th, the 3000th
    [analyze("Kazakhstan")[0], "cooper", "sud", "ambassadeur", "visit", "3000"])
def test_postings_read_a_block_at_a_time_are_the_postings(tmp_path, monkeypatch, term,
                                                          deleted, whole_blocks):
    import re

    import search.query
    from search.index import build
    from search.models import Article
    from search.query import _weights
    from search.store import open_index

    if whole_blocks:
        monkeypatch.setattr(search.query, "_IDS_AND_WEIGHTS", re.compile(b"never"))
    # Enough documents for several posting blocks (Whoosh: 128 postings a block), numbers
    # far apart for gaps of every size.
    build([Article(id=str(n), path=f"{n}.txt", title="",
                   body=f"Visite {n * 1000} visite : coopération Sud-Sud, {'sud ' * (n % 3)}"
                        "Kazakhstan. " + ("L'ambassadrice." if n % 7 == 0 else ""))
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
        assert len(expected) > (0 if term == "3000" else 10)


@pytest.fixture(scope="module")
def blocks_index(tmp_path_factory):
    """Articles enough for several posting blocks, words in titles and bodies, some
    articles deleted (their postings stay until a merge)."""
    from search.index import build
    from search.models import Article
    from search.store import open_index

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


def _word_index(articles: list[dict[str, str]], segments: int = 1, deleted=(),
                blocklimit: int = 128):
    """An index in memory of `articles` (field → text, `id` their number), written in
    `segments` segments with posting blocks of `blocklimit`, the `deleted` ones removed
    (their postings stay in their segment)."""
    from whoosh.codec.whoosh3 import W3Codec
    from whoosh.filedb.filestore import RamStorage

    ix = RamStorage().create_index(build_schema())
    size = -(-len(articles) // segments)
    for start in range(0, len(articles), size):
        writer = ix.writer(codec=W3Codec(blocklimit=blocklimit))
        for number in range(start, min(start + size, len(articles))):
            writer.add_document(id=str(number), **articles[number])
        writer.commit(merge=False)
    if deleted:
        writer = ix.writer()
        for number in deleted:
            writer.delete_by_term("id", str(number))
        writer.commit(merge=False)
    return ix


def _best_and_total(ix, query, limit: int):
    """The top `limit` (score, document) and the total, as `Searcher._run` collects them."""
    from whoosh import scoring

    from search.searcher import _CountingTopCollector

    with ix.searcher(weighting=scoring.BM25F()) as searcher:
        collector = _CountingTopCollector(limit, usequality=False)
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


@pytest.mark.parametrize("word", ["climat", "sommet", "gazier", "visite", "introuvable"])
@pytest.mark.parametrize("limit", [1, 10, 30, 1000])
@pytest.mark.parametrize(
    "segments, deleted, blocklimit",
    [(1, (), 128), (3, (), 128), (2, (0, 3, 97, 130, 291, 599), 128),
     (3, (0, 3, 194, 300, 301, 302, 400), 16)],
)
def test_one_word_ranks_and_counts_as_scoring_every_posting(word, limit, segments, deleted,
                                                            blocklimit):
    from whoosh import query as wq

    from search.query import _OneWord

    ix = _word_index(_skewed(600), segments, deleted, blocklimit)
    ours = parse_query(word, ix.schema)
    assert type(ours) is _OneWord
    whoosh = wq.Or(ours.subqueries)
    assert _best_and_total(ix, ours, limit) == _brute_force(ix, whoosh, limit)
    assert _best_and_total(ix, ours, limit) == _best_and_total(ix, whoosh, limit)


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
    from search.query import BestOfFields

    ix = _word_index(_skewed(600), segments=2, deleted=(3, 130))
    scored = []
    real_score = BestOfFields._score
    monkeypatch.setattr(BestOfFields, "_score",
                        lambda self, docnum: scored.append(docnum) or real_score(self, docnum))
    _, total = _best_and_total(ix, parse_query(word, ix.schema), 30)
    assert total > 400
    assert len(scored) < most_scored * total


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


@given(counts=st.lists(st.integers(0, 4), min_size=1, max_size=60),
       blocklimit=st.integers(1, 9), segments=st.integers(1, 2))
def test_postings_read_without_their_positions_are_whoosh_s(counts, blocklimit, segments):
    """Blocks of every size, with frequencies all 1, all alike, or mixed."""
    from search.query import _weights

    ix = _word_index([{"body": "Visite. " + "Climat. " * count} for count in counts],
                     segments, blocklimit=blocklimit)
    with ix.reader() as reader:
        for leaf, _ in reader.leaf_readers():
            if not leaf.doc_frequency("body", "climat"):
                continue
            expected = []
            postings = leaf.postings("body", "climat")
            while postings.is_active():
                expected.append((postings.id(), postings.weight()))
                postings.next()
            assert list(_weights(leaf, "body", b"climat")) == expected


# Proximity: NEAR/n, w/n and SAME (issue 12, point 8).

@pytest.mark.parametrize("query, expected", [
    ("maroc NEAR/5 rabat", "maroc NEAR/5 rabat"),
    ("maroc NEAR rabat", "maroc NEAR/10 rabat"),
    ("maroc w/3 rabat", "maroc NEAR/3 rabat"),
    ("maroc W/03 rabat", "maroc NEAR/3 rabat"),
    ("maroc SAME rabat", "maroc SAME rabat"),
    ("maroc near rabat", "maroc near rabat"),  # lower case: a word, as `and` is
    ("maroc same rabat", "maroc same rabat"),
    ("(maroc)NEAR/2 rabat", "(maroc) NEAR/2 rabat"),
])
def test_proximity_operators_are_kept(query, expected):
    assert normalize_query(query) == expected


@pytest.mark.parametrize("query, message", [
    ("maroc NEAR/0 rabat", "NEAR takes a distance of 1 to 1000 words, written NEAR/5 or w/5 "
                           "(NEAR alone is NEAR/10), not 'NEAR/0'."),
    ("maroc w/x rabat", "NEAR takes a distance of 1 to 1000 words, written NEAR/5 or w/5 "
                        "(NEAR alone is NEAR/10), not 'w/x'."),
    ("maroc NEAR/1001 rabat", "NEAR takes a distance of 1 to 1000 words, written NEAR/5 or "
                              "w/5 (NEAR alone is NEAR/10), not 'NEAR/1001'."),
    ("NEAR/5 rabat", "NEAR/5 needs a word on each side."),
    ("maroc SAME", "The query ends with an operator: add a word after it."),
])
def test_proximity_mistakes(query, message):
    with pytest.raises(QuerySyntaxError) as raised:
        normalize_query(query)
    assert str(raised.value) == message


class _ParagraphPositions(Tokenizer):
    """Stand-in for the analyzer's paragraph contract: paragraph k's words from
    k * PARAGRAPH_STRIDE on, characters as in the whole text."""

    def __call__(self, value, start_pos=0, start_char=0, **kwargs):
        analyzer = french_analyzer()
        offset = 0
        for k, paragraph in enumerate(re.split(r"(\n\s*\n)", value)[::2]):
            yield from analyzer(paragraph, start_pos=k * PARAGRAPH_STRIDE,
                                start_char=start_char + offset, **kwargs)
            offset += len(paragraph) + len(re.search(r"\n\s*\n|$", value[offset +
                                                                         len(paragraph):])[0])


PROXIMITY_DOCS = {
    "two paragraphs": "Le Maroc.\n\nRabat.",
    "one paragraph": "Le Maroc et Rabat.\n\nAutre chose.",
    "third paragraph": "Rabat seul.\n\nEncore.\n\nLe Maroc puis Rabat.",
    "maroc alone": "Le Maroc.",
    "six apart": "Maroc deux trois quatre cinq six Rabat.",
    "six apart, reversed": "Rabat deux trois quatre cinq six Maroc.",
}


@pytest.fixture(scope="module")
def paragraph_searcher():
    schema = build_schema()
    schema.remove("body")
    schema.add("body", TEXT(analyzer=_ParagraphPositions(), stored=True))
    ix = RamStorage().create_index(schema)
    with ix.writer() as writer:
        for name, body in PROXIMITY_DOCS.items():
            writer.add_document(id=name, body=body, surface_body=body)
    with ix.searcher() as searcher:
        yield searcher


@pytest.mark.parametrize("query, expected", [
    ("maroc SAME rabat", {"one paragraph", "third paragraph", "six apart",
                          "six apart, reversed"}),
    ("maroc NEAR/6 rabat", {"one paragraph", "third paragraph", "six apart",
                            "six apart, reversed"}),
    ("maroc NEAR/5 rabat", {"one paragraph", "third paragraph"}),
    ("maroc w/2 rabat", {"one paragraph", "third paragraph"}),
    ("maroc NEAR/1 rabat", {"one paragraph"}),  # a stop word (`et`) is not counted
    ('"maroc puis" SAME rabat', {"third paragraph"}),
    ('"maroc" SAME rabat', {"one paragraph", "third paragraph", "six apart",
                            "six apart, reversed"}),
    ("=maroc NEAR/1 =rabat", {"one paragraph"}),
    ("(maroc OR autre) SAME chose", {"one paragraph"}),
    ("mar* SAME rab*", {"one paragraph", "third paragraph", "six apart",
                        "six apart, reversed"}),
    ("maroc SAME rabat SAME cinq", {"six apart", "six apart, reversed"}),
    ("maroc SAME rabat SAME encore", set()),
    ("maroc SAME rabat -puis", {"one paragraph", "six apart", "six apart, reversed"}),
    ("seul OR maroc NEAR/2 rabat", {"one paragraph", "third paragraph"}),
])
def test_proximity_matches(paragraph_searcher, query, expected):
    parsed = parse_query(query, paragraph_searcher.schema)
    found = {paragraph_searcher.stored_fields(docnum)["id"]
             for docnum in paragraph_searcher.docs_for_query(parsed)}
    assert found == expected


@pytest.mark.parametrize("query", ["maroc NEAR/3 -rabat", "maroc SAME (rabat autre)",
                                   "(maroc NEAR/2 rabat) SAME autre",
                                   "maroc NEAR/6 rabat NEAR/6 cinq"])
def test_proximity_takes_words_phrases_and_ors(paragraph_searcher, query):
    with pytest.raises(QuerySyntaxError) as raised:
        list(paragraph_searcher.docs_for_query(parse_query(query, paragraph_searcher.schema)))
    assert str(raised.value) == ('NEAR and SAME take a word, a "phrase", a truncated or fuzzy '
                                 "word or (a OR b) on each side.")
