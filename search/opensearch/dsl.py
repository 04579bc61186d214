"""Our query language as OpenSearch's query DSL.

The query is parsed by search.query exactly as for Whoosh (so its words get our terms, the
lexicon's, fuzzy and truncation rules, and its errors), then each node of the parsed tree
becomes its DSL twin: AND/OR/NOT as `bool`, a term as `term`, an exact phrase as
`match_phrase` on the `exact` subfield, truncation as `prefix`/`wildcard` and `word~` as
`fuzzy` there, NEAR and SAME as `intervals` that do not cross a paragraph break.
"""

from __future__ import annotations

from whoosh import query as wq

from search.dates import resolve_date
from search.errors import SearchError
from search.models import Filters
from search.opensearch.settings import PARAGRAPH_TOKEN
from search.query import Proximity, filter_query
from search.schema import build_schema, category_key, source_key
from search.surface import is_surface_field, stemmed_field

SCHEMA = build_schema()  # the parser's fields; the index on OpenSearch has the same
# Dates are ISO prefixes; "~" sorts after every digit, so `until 2020-06` takes `2020-06-30`.
_AFTER_ANY_DATE = "~"
_NOT_ACROSS_PARAGRAPHS = {"not_containing": {"match": {"query": PARAGRAPH_TOKEN,
                                                       "analyzer": "terms"}}}


def field_name(fieldname: str) -> str:
    """Our field's name on OpenSearch: `surface_body` is `body.exact`."""
    return f"{stemmed_field(fieldname)}.exact" if is_surface_field(fieldname) else fieldname


def _boosted(body: dict, boost: float) -> dict:
    if boost != 1.0:
        body["boost"] = boost
    return body


# The words a fuzzy word may stand for: every one, as on the index folder, up to a boolean
# query's clauses on OpenSearch (its default limit, 1,024; the index folder allows 2,000).
# OpenSearch's own default, 50, found 2,939 articles for `paris~2` on 5,000 where the index
# folder finds 4,919.
MAX_EXPANSIONS = 1024


def to_dsl(query: wq.Query) -> dict:
    """The DSL query of a parsed query (search.query.parse_query)."""
    if isinstance(query, Proximity):
        return _proximity(query)
    if query is wq.NullQuery or isinstance(query, wq.NullQuery.__class__):
        return {"match_none": {}}
    if isinstance(query, wq.Every):
        return {"match_all": {}}
    if isinstance(query, wq.Not):
        return {"bool": {"must_not": [to_dsl(query.query)]}}
    if isinstance(query, wq.AndNot):
        return {"bool": {"must": [to_dsl(query.a)], "must_not": [to_dsl(query.b)]}}
    if isinstance(query, wq.AndMaybe):
        return {"bool": {"must": [to_dsl(query.a)], "should": [to_dsl(query.b)]}}
    if isinstance(query, wq.Require):
        return {"bool": {"must": [to_dsl(query.a)], "filter": [to_dsl(query.b)]}}
    if isinstance(query, wq.And):
        must = [to_dsl(child) for child in query.subqueries if not isinstance(child, wq.Not)]
        must_not = [to_dsl(child.query) for child in query.subqueries
                    if isinstance(child, wq.Not)]
        return {"bool": _boosted({"must": must or [{"match_all": {}}], "must_not": must_not},
                                 query.boost)}
    if isinstance(query, wq.Or):
        children = query.subqueries
        if len(children) == 1 and query.boost == 1.0:
            return to_dsl(children[0])
        return {"bool": _boosted({"should": [to_dsl(child) for child in children],
                                  "minimum_should_match": 1}, query.boost)}
    if isinstance(query, wq.Phrase):
        return {"match_phrase": {field_name(query.fieldname): _boosted(
            {"query": " ".join(query.words), "slop": max(0, query.slop - 1),
             "analyzer": "terms"}, query.boost)}}
    if isinstance(query, wq.FuzzyTerm):
        return {"fuzzy": {field_name(query.fieldname): _boosted(
            {"value": query.text, "fuzziness": query.maxdist,
             "prefix_length": query.prefixlength, "transpositions": False,
             "max_expansions": MAX_EXPANSIONS}, query.boost)}}
    if isinstance(query, wq.Prefix):
        return {"prefix": {field_name(query.fieldname): _boosted({"value": query.text},
                                                                 query.boost)}}
    if isinstance(query, wq.Wildcard):
        return {"wildcard": {field_name(query.fieldname): _boosted({"value": query.text},
                                                                   query.boost)}}
    if isinstance(query, wq.Term):
        return {"term": {field_name(query.fieldname): _boosted({"value": query.text},
                                                               query.boost)}}
    raise SearchError(f"This query cannot be run on OpenSearch yet ({type(query).__name__}).")


def _interval(query: wq.Query, fieldname: str) -> dict | None:
    """One side of NEAR/SAME as an interval rule in `fieldname` (the stemmed field; a
    surface leaf reads its `exact` subfield through `use_field`); None if that side does
    not search the field."""
    if isinstance(query, wq.Or):
        rules = [rule for child in query.subqueries
                 if (rule := _interval(child, fieldname)) is not None]
        if not rules:
            return None
        return rules[0] if len(rules) == 1 else {"any_of": {"intervals": rules}}
    field = query.field() if query.is_leaf() else None
    if field is None or stemmed_field(field) != fieldname:
        return None
    where = {"use_field": field_name(field)} if is_surface_field(field) else {}
    if isinstance(query, wq.Phrase):
        return {"match": {"query": " ".join(query.words), "analyzer": "terms", "ordered": True,
                          "max_gaps": max(0, query.slop - 1), **where}}
    if isinstance(query, wq.FuzzyTerm):
        return {"fuzzy": {"term": query.text, "fuzziness": query.maxdist,
                          "prefix_length": query.prefixlength, "transpositions": False,
                          **where}}
    if isinstance(query, wq.Prefix):
        return {"prefix": {"prefix": query.text, **where}}
    if isinstance(query, wq.Wildcard):
        return {"wildcard": {"pattern": query.text, **where}}
    if isinstance(query, wq.Term):
        return {"match": {"query": query.text, "analyzer": "terms", **where}}
    raise SearchError(f"NEAR and SAME cannot take this on OpenSearch yet ({type(query).__name__}).")


def _proximity(query: Proximity) -> dict:
    """NEAR/n (within n words, any order) or SAME (one paragraph), in each field both
    sides search, never across a paragraph break."""
    fields = dict.fromkeys(stemmed_field(leaf.field()) for leaf in query.leaves() if leaf.field())
    branches = []
    for name in fields:
        sides = [_interval(side, name) for side in query.subqueries]
        if any(side is None for side in sides):
            continue
        rule = {"intervals": sides, "ordered": False, "filter": _NOT_ACROSS_PARAGRAPHS}
        if not query.paragraph:
            rule["max_gaps"] = query.distance
        branches.append({"intervals": {name: {"all_of": rule}}})
    if not branches:
        return {"match_none": {}}
    return {"bool": {"should": branches, "minimum_should_match": 1}}


def restriction(filters: Filters) -> list[dict]:
    """`--source`, `--category`, `--since`, `--until` as filter clauses, checked as the
    Whoosh backend checks them (search.query.filter_query)."""
    filters = Filters(filters.source, filters.category,
                      filters.since and resolve_date(filters.since),
                      filters.until and resolve_date(filters.until))
    filter_query(SCHEMA, **vars(filters))  # the same errors for bad dates
    clauses: list[dict] = []
    if filters.source:
        clauses.append({"term": {"source_match": source_key(filters.source) or ""}})
    if filters.category:
        key = category_key(filters.category)
        clauses.append({"bool": {"should": [{"term": {"category_key": key}},
                                            {"prefix": {"category_key": key + "/"}}],
                                 "minimum_should_match": 1}})
    if filters.since or filters.until:
        bounds = {}
        if filters.since:
            bounds["gte"] = filters.since
        if filters.until:
            bounds["lte"] = filters.until + _AFTER_ANY_DATE
        clauses.append({"range": {"date": bounds}})
    return clauses
