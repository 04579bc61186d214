import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from whoosh import query as wq
from whoosh.analysis import Tokenizer
from whoosh.fields import TEXT
from whoosh.filedb.filestore import RamStorage

from search.analysis import french_analyzer, term
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
    return (f"--{name} takes a date written 2020, 2020-06 or 2020-06-15, or today, yesterday, "
            f"or days, weeks, months or years before today (7d, 2w, 3m, 1y; at most 100 "
            f"years), not '{value}'.")


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


@pytest.mark.parametrize(
    "text, matched_as_all_words",
    [("sommet climat", True), ("sommet", False), ("(sommet climat) OR sud", True),
     ('sommet "accord gazier"', False), ("sommet clim*", False), ("sommet -climat", False)],
)
def test_which_queries_are_matched_as_all_words(text, matched_as_all_words):
    from search.whoosh_fast.queries import AllWords

    query = parse_query(text, SCHEMA)
    assert any(type(q) is AllWords for q in [query, *query.children()]) == matched_as_all_words


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
