"""The whole query path fuzzed: any query text, through parsing, matching, ranking,
highlighting and the CLI's text and JSON output, ends in hits or in one of our errors."""

import json
import unicodedata
from unittest import mock

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh import query as wq

from search.cli import cli
from search.errors import SearchError
from search.models import Filters
from search.query import MAX_FUZZY_CHARS, MAX_FUZZY_EDITS, parse_query
from search.schema import SEARCHABLE_FIELDS, SURFACE_FIELDS
from search.searcher import open_searcher
from search.store import open_index

WORDS = ["maroc", "Tokaïev", "Tokaiev", "coopération", "cooper", "sud-sud", "l'ambassadrice",
         "L’Union", "le", "de", "x", "été", "Azerbaïdjan", "parlementaire", "★", "12:30",
         "aujourd'hui", "Œuvre", "150e", "ANDNOT", "ANDMAYBE", "REQUIRE", "AND", "and", "ou"]
FIELDS = ["title:", "body:", "lead:", "dateline:", "category:", "author:", "TITLE:", "Body:",
          # unknown and stored-only fields, and fields inside a word
          "url:", "path:", "id:", "date:", "source:", "category_key:", "auteur:", "x.title:",
          "a,body:", "foo.url:", "x.category_key:", "title:body:", "12:"]
SUFFIXES = ["", "", "*", "?", "**", "*x", "?*", "~", "~1", "~2", "~3", "~9", "~99999", "~0",
            "~1/abc", "~/", "~2/-1", "~1.5", "~/2", "~2/1", "~/03", "~/99999999999999999999999",
            "~/5", "~2/6", "~1/9", "~/12",
            "*~", "~~", "~1~2", "\u061f", "\u055e", ":", "-"]
OPERATORS = ["AND", "OR", "NOT", "ET", "OU", "SAUF", "-", "ANDNOT", "ANDMAYBE", "REQUIRE"]
QUOTES = [('"', '"'), ("«", "»"), ("« ", " »"), ("“", "”"), ("„", "“"), ('"', ""), ("»", "«")]
# Control, combining, invisible and other odd characters, which the syntax ignores...
ODD = ["\x00", "\x1b", "\x7f", "\x85", "\u0301", "\u0308", "\u0327", "\u200b", "\u00ad",
       "\ufeff", "\n", "\r", "\t", "\x0b", "\u2028", "\u00a0", "٢", "٠", "Ⅻ", "ǅ", "ß", "İ",
       "\U0001f600", "'", "^", "[", "]", "{", "}", "\\", "+", "!", "&", "|", "é", "e", "/"]
# ... and every character of the syntax.
SYNTAX = [":", "(", ")", "*", "?", "~", "-", '"', "«", "»", "“", "”"]

odd_text = st.text(alphabet=st.sampled_from(ODD), max_size=6)
syntax_text = st.text(alphabet=st.sampled_from(ODD + SYNTAX), min_size=1, max_size=6)
word = st.builds(lambda prefix, field, text, suffix, odd: prefix + field + text + suffix + odd,
                 st.sampled_from(["", "", "", "", "-", "--"]),
                 st.sampled_from([""] * len(FIELDS) + FIELDS),
                 st.sampled_from(WORDS) | st.text(alphabet="abcdéèçœ", min_size=1, max_size=6),
                 st.sampled_from([""] * len(SUFFIXES) + SUFFIXES),
                 st.sampled_from([""] * 6) | odd_text)
phrase = st.builds(lambda field, quotes, words: field + quotes[0] + " ".join(words) + quotes[1],
                   st.sampled_from(["", "", "-", "title:", "url:", "x.body:"]),
                   st.sampled_from(QUOTES), st.lists(word, max_size=4))
atom = word | word | phrase | odd_text | syntax_text


def _combined(inner):
    return (
        st.builds(lambda parts: " ".join(parts), st.lists(inner, min_size=1, max_size=4))
        | st.builds(lambda a, op, b: f"{a} {op} {b}", inner, st.sampled_from(OPERATORS), inner)
        | st.builds(lambda a, op, b: f"{a}{op}{b}", inner, st.sampled_from(OPERATORS + [""]),
                    inner)
        | st.builds(lambda prefix, a: f"{prefix}({a})",
                    st.sampled_from(["", "", "-", "title:", "NOT ", "x.url:"]), inner)
    )


# Long and deeply nested queries, up to the length limit and a little beyond.
nested = st.builds(lambda depth, a, unbalanced: "(" * depth + a + ")" * (depth - unbalanced),
                   st.integers(0, 40) | st.integers(0, 600), atom,
                   st.sampled_from([0, 0, 0, 1]))
repeated = st.builds(lambda a, op, times: f" {op} ".join([a] * times),
                     word, st.sampled_from(OPERATORS + ["", "("]),
                     st.integers(1, 40) | st.integers(1, 400))
queries = st.recursive(atom, _combined, max_leaves=12) | nested | repeated


@pytest.fixture(scope="module")
def seed_searcher(seed_index):
    with open_searcher(seed_index) as searcher:
        yield searcher


def _outcome(searcher, text: str, filters: Filters = Filters()):
    """What a search gives: its hits, or our error's message (anything else propagates)."""
    try:
        results = searcher.search(text, filters=filters)
    except SearchError as error:
        return type(error).__name__, str(error)
    assert results.total >= len(results.hits)
    return results.total, results.partial, results.hits


def _small_budget(small: bool):
    """Caps so low that the budget's error is met too."""
    if not small:
        return mock.patch.dict({})
    return _patched({"MAX_EXPANDED_TERMS": 2, "MAX_EXPANDED_POSTINGS": 8})


def _patched(values: dict):
    import search.query as query_module

    return mock.patch.multiple(query_module, **values)


@settings(max_examples=300)
@given(text=queries, small_budget=st.booleans())
def test_any_query_gives_hits_or_our_error_and_its_twins_agree(seed_searcher, text,
                                                               small_budget):
    with _small_budget(small_budget):
        found = _outcome(seed_searcher, text)
        for twin in {unicodedata.normalize(form, text) for form in ("NFC", "NFD")}:
            assert _outcome(seed_searcher, twin) == found


@settings(max_examples=150)
@given(text=queries)
def test_parsed_queries_search_our_fields_within_bounds(seed_index, text):
    """Only searchable fields are searched, and nothing that Whoosh would take minutes over
    reaches it (a fuzzy word's automaton grows with its edits and its length)."""
    schema = open_index(seed_index).schema
    try:
        query = parse_query(text, schema)
    except SearchError:
        return
    searchable = {*SEARCHABLE_FIELDS, *SURFACE_FIELDS.values()}  # and their words as written
    assert {fieldname for fieldname, _ in query.iter_all_terms()} <= searchable
    for leaf in query.leaves():
        if isinstance(leaf, wq.FuzzyTerm):
            assert 1 <= leaf.maxdist <= MAX_FUZZY_EDITS
            assert 1 <= leaf.prefixlength <= len(leaf.text) <= MAX_FUZZY_CHARS


SOURCES = [None, "", "afp.com", "AFP", "a\nb", "\x1b[31m", "é" * 300]
CATEGORIES = [None, "", "politique", "Politique", "Société", "politiqu", "\u2028", "societe/"]
DATES = [None, "2020", "2025-04", "2025-04-13", "2020-02-29", "2020-02-30", "2021-02-29",
         "2020-13", "2020-00", "٢٠٢٠", "2020\n", " 2020", "0000", "2025-04-1"]


@settings(max_examples=150)
@given(text=queries, json_output=st.booleans(), sort=st.sampled_from(["relevance", "date"]),
       source=st.sampled_from(SOURCES), category=st.sampled_from(CATEGORIES),
       since=st.sampled_from(DATES), until=st.sampled_from(DATES))
def test_the_cli_prints_results_or_one_error_line(seed_index, text, json_output, sort, source,
                                                  category, since, until):
    options = ["--index", str(seed_index), "--sort", sort]
    for name, value in (("--source", source), ("--category", category), ("--since", since),
                        ("--until", until)):
        if value is not None:
            options += [name, value]
    if json_output:
        options.append("--json")
    result = CliRunner().invoke(cli, ["query", *options, "--", text], catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output
    if result.exit_code == 1:
        assert result.output.startswith("Error: ")
        assert len(result.output.splitlines()) == 1, result.output
    elif json_output:
        found = json.loads(result.output)
        assert found["total"] >= len(found["hits"])
        assert [hit["rank"] for hit in found["hits"]] == list(range(1, len(found["hits"]) + 1))


@pytest.mark.parametrize(
    "text",
    ["(" * 499 + "maroc" + ")" * 499, "NOT " * 248 + "maroc", "-" * 999 + "x",
     "maroc " + "OR " * 330, " AND ".join(["maroc"] * 166), "(" * 500,
     "\u0301" * 1000, "e\u0301" * 999, "\x00" * 1000, "«" * 999, '"' * 1000,
     "coop" * 10 + "~2", "a" * 999 + "*", " ".join(["abcdefghijklm~2"] * 62), "*" * 1000, "?" * 1000, "~" * 1000, ":" * 1000,
     "title:" * 160, "x.url:" * 160,
     # a line break in a phrase once ended it for Whoosh, whose fuzzy~9 took 100 s
     '"a\nmaroc~99999"', '"x\nb*"'],
)
def test_long_and_nested_queries_end_quickly(seed_searcher, text):
    _outcome(seed_searcher, text)


def test_readers_of_one_generation_share_the_vocabulary_of_did_you_mean(tmp_path,
                                                                        isolated_index):
    """A server's readers of one generation read the archive's words once; a new
    generation reads them again."""
    from search.index import update

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Sommet\n\nUne visite à Rabat.\n", encoding="utf-8")
    update([corpus], isolated_index)
    with open_searcher(isolated_index) as first, open_searcher(isolated_index) as second:
        forms = first._surface_forms()  # their counts read when asked, for "did you mean"
        assert forms.keys() is second._surface_forms().keys()
        assert first.surface_vocabulary() is second.surface_vocabulary()
        before = first.surface_vocabulary()
        assert list(forms.keys()) == list(before)
        assert {form: forms[form] for form in forms} == before
    (corpus / "b.txt").write_text("Zanzibar\n\nUne escale à Zanzibar.\n", encoding="utf-8")
    update([corpus], isolated_index)
    with open_searcher(isolated_index) as third:
        assert "zanzibar" in third.surface_vocabulary()
        assert "zanzibar" not in before
