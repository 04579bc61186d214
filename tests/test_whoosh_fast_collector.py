"""The collectors of `search.whoosh_fast.collector` against Whoosh's own."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh import query as whoosh_query

from search.query import expand_first, parse_query
from search.whoosh_fast.collector import NewestFirstCollector

from .test_whoosh_fast_postings import _word_index

_DATES = ["2019-12-31", "2020-01-01", "2020-01-02", "2020-02-29", None]


def _newest_first(ix, query, limit):
    """(hits as (key, number), every match) of our collector and of Whoosh's."""
    with ix.searcher() as searcher:
        expand_first(query, searcher.reader())
        found = []
        for collector in (NewestFirstCollector("date", limit),
                          searcher.collector(limit=limit, sortedby="date", reverse=True)):
            searcher.search_with_collector(query, collector, searcher.boolean_context())
            results = collector.results()
            found.append((list(results.top_n), set(results.docs()), len(results)))
        return found


@settings(max_examples=60, deadline=None)
@given(articles=st.lists(st.tuples(st.sampled_from(_DATES), st.booleans()), min_size=1,
                         max_size=80),
       segments=st.integers(1, 3), deleted=st.sets(st.integers(0, 79), max_size=10),
       limit=st.sampled_from([None, 1, 3, 10, 100]),
       text=st.sampled_from(["climat", "sommet", "climat OR sommet", "*"]),
       postings_per_value=st.sampled_from([0, 1, 10, 10**6]))
def test_newest_first_is_whoosh_s_reverse_sort_on_the_date(articles, segments, deleted, limit,
                                                            text, postings_per_value):
    """Same hits in the same order (equal dates: the last document first), same matches,
    whether the dates are walked by term, read one by one, or both; with articles
    without a date, several segments and deletions."""
    ix = _word_index([{"body": "Le climat." if climate else "Le sommet.",
                       **({"date": date} if date else {})}
                      for date, climate in articles],
                     min(segments, len(articles)),
                     [str(number) for number in deleted if number < len(articles)])
    query = whoosh_query.Every() if text == "*" else parse_query(text, ix.schema)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(NewestFirstCollector, "POSTINGS_PER_VALUE", postings_per_value)
        ours, whoosh_s = _newest_first(ix, query, limit)
    assert ours == whoosh_s


def test_newest_first_reads_no_value_where_the_newest_terms_suffice(monkeypatch):
    """The newest ten of 300 articles over 30 days: the last days' postings are read,
    and no article's date from the column."""
    ix = _word_index([{"body": "Le climat.", "date": f"2020-01-{1 + n % 30:02d}"}
                      for n in range(300)])
    read = []
    monkeypatch.setattr(NewestFirstCollector, "_read_values",
                        lambda self, documents: read.extend(documents))
    ours, whoosh_s = _newest_first(ix, parse_query("climat", ix.schema), 10)
    assert ours == whoosh_s
    assert read == []
    assert [key for key, _ in ours[0]] == [b"2020-01-30"] * 10


@pytest.mark.parametrize("postings_per_value", [0, 10])
def test_newest_first_of_nothing_is_nothing(monkeypatch, postings_per_value):
    monkeypatch.setattr(NewestFirstCollector, "POSTINGS_PER_VALUE", postings_per_value)
    ix = _word_index([{"body": "Le climat.", "date": "2020-01-01"}])
    ours, whoosh_s = _newest_first(ix, parse_query("sommet", ix.schema), 10)
    assert ours == whoosh_s == ([], set(), 0)
