"""search.opensearch.dsl: our parsed queries and filters as OpenSearch's query DSL."""

import pytest

pytest.importorskip("opensearchpy",
                    reason="opensearch-py is not installed: pip install -e '.[opensearch]'")

from search.errors import QuerySyntaxError  # noqa: E402
from search.models import Filters  # noqa: E402
from search.opensearch.dsl import SCHEMA, restriction, to_dsl  # noqa: E402
from search.query import parse_query  # noqa: E402

_NO_BREAK = {"not_containing": {"match": {"query": "zzparagraphzz", "analyzer": "terms"}}}


@pytest.mark.parametrize(("query", "dsl"), [
    ("title:maroc", {"term": {"title": {"value": "@maroc"}}}),
    ('title:"sud sud"', {"match_phrase": {"title.exact": {
        "query": "sud sud", "slop": 0, "analyzer": "terms"}}}),
    ("title:visit*", {"prefix": {"title.exact": {"value": "visit"}}}),
    ("title:vis?te", {"wildcard": {"title.exact": {"value": "vis?te"}}}),
    ("title:Tokaiev~", {"bool": {"should": [
        {"term": {"title": {"value": "@tokaiev"}}},
        {"fuzzy": {"title.exact": {"value": "tokaiev", "fuzziness": 1, "prefix_length": 1,
                                   "transpositions": False, "max_expansions": 1024,
                                   "boost": 0.25}}}],
        "minimum_should_match": 1}}),
    ("title:maroc NOT title:rabat", {"bool": {
        "must": [{"term": {"title": {"value": "@maroc"}}}],
        "must_not": [{"bool": {"should": [
            {"term": {"title": {"value": "rabat"}}},
            {"term": {"title": {"value": "%rabat", "boost": 0.25}}}],
            "minimum_should_match": 1}}]}}),
    ("title:maroc NEAR/3 title:rabat", {"bool": {"should": [{"intervals": {"title": {"all_of": {
        "intervals": [{"match": {"query": "@maroc", "analyzer": "terms"}},
                      {"any_of": {"intervals": [
                          {"match": {"query": "rabat", "analyzer": "terms"}},
                          {"match": {"query": "%rabat", "analyzer": "terms"}}]}}],
        "ordered": False, "filter": _NO_BREAK, "max_gaps": 3}}}}],
        "minimum_should_match": 1}}),
    ('title:maroc SAME title:"sud sud"', {"bool": {"should": [{"intervals": {"title": {
        "all_of": {"intervals": [
            {"match": {"query": "@maroc", "analyzer": "terms"}},
            {"match": {"query": "sud sud", "analyzer": "terms", "ordered": True, "max_gaps": 0,
                       "use_field": "title.exact"}}],
            "ordered": False, "filter": _NO_BREAK}}}}], "minimum_should_match": 1}}),
])
def test_queries_become_their_dsl_twins(query, dsl):
    assert to_dsl(parse_query(query, SCHEMA)) == dsl


def test_words_search_the_default_fields_with_their_boosts():
    """Each field's term, and the word's transliteration key ranked below it."""
    assert to_dsl(parse_query("négociations", SCHEMA)) == {"bool": {"should": [
        {"term": {"title": {"value": "negoci", "boost": 2.0}}},
        {"term": {"title": {"value": "%negociations", "boost": 0.5}}},
        {"term": {"lead": {"value": "negoci", "boost": 1.5}}},
        {"term": {"lead": {"value": "%negociations", "boost": 0.375}}},
        {"term": {"dateline": {"value": "negoci"}}},
        {"term": {"dateline": {"value": "%negociations", "boost": 0.25}}},
        {"term": {"body": {"value": "negoci"}}},
        {"term": {"body": {"value": "%negociations", "boost": 0.25}}}],
        "minimum_should_match": 1}}


@pytest.mark.parametrize(("filters", "clauses"), [
    (Filters(), []),
    (Filters(source="www.Orange.fr"), [{"term": {"source_match": "orange.fr"}}]),
    (Filters(category="Société"), [{"bool": {"should": [
        {"term": {"category_key": "societe"}}, {"prefix": {"category_key": "societe/"}}],
        "minimum_should_match": 1}}]),
    (Filters(since="2020", until="2020-06"),
     [{"range": {"date": {"gte": "2020", "lte": "2020-06~"}}}]),
])
def test_filters_become_filter_clauses(filters, clauses):
    assert restriction(filters) == clauses


def test_a_bad_date_is_the_same_error_as_on_whoosh():
    with pytest.raises(QuerySyntaxError) as raised:
        restriction(Filters(since="2021", until="2020"))
    assert str(raised.value) == ("--since 2021 is after --until 2020: no date is in that "
                                 "range; swap them or widen it.")
