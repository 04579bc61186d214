"""Counts by bucket, facets, streamed exports and one whole article (`search.views` and the
`Searcher` methods that use it), on a small export with gaps, undated articles and labels."""

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from search import views
from search.errors import FilterError, QuerySyntaxError, SearchError, UnknownArticleError
from search.index import rebuild
from search.models import Count, CountSeries, CountTable, Facet, Filters
from search.searcher import open_searcher
from search.views import count_table

from .conftest import write_export

RECORDS = [
    {"id": 1, "date": "2020-01-15", "source": "afp.com", "category": "monde",
     "title": "Le Maroc et la Tunisie", "article": "Rabat. Le Maroc reçoit la Tunisie."},
    {"id": 2, "date": "2020-01-20", "source": "afp.com", "category": "politique",
     "title": "Élections", "article": "Au Maroc, les élections approchent."},
    {"id": 3, "date": "2020-03-02", "source": "lemonde.fr", "category": "monde",
     "title": "Sommet", "article": "Le Maroc et la Tunisie au sommet."},
    {"id": 4, "date": "2020", "source": "lemonde.fr", "category": "monde",
     "title": "Bilan", "article": "Une année du Maroc."},
    {"id": 5, "title": "Sans date", "article": "Le Maroc, quelque part."},
    {"id": 6, "date": "2020-03-10", "source": "afp.com", "category": "monde",
     "title": "Tunis", "article": "La Tunisie seule."},
    {"id": 7, "date": "2021-01-05", "source": "afp.com", "category": "politique",
     "title": "Un an après", "article": "Premier paragraphe sur le Maroc.\n\n"
                                         "Second paragraphe, sur la Tunisie.\n\nTroisième."},
]


@pytest.fixture(scope="module")
def views_index(tmp_path_factory):
    folder = tmp_path_factory.mktemp("views")
    write_export(folder / "news.jsonl", RECORDS)
    rebuild([folder / "news.jsonl"], folder / "index")
    return folder / "index"


def _counts(index_dir, texts, by, **filters):
    with open_searcher(index_dir) as searcher:
        return searcher.count(texts, by=by, filters=Filters(**filters))


def test_counts_by_month_list_empty_months_and_the_articles_no_month_holds(views_index):
    table = _counts(views_index, ["maroc"], "month")
    rows = dict(zip(table.labels, table.series[0].counts, strict=True))
    assert rows == {"2020-01": 2, "2020-02": 0, "2020-03": 1, **{f"2020-{m:02}": 0
                    for m in range(4, 13)}, "2021-01": 1,
                    "(date less precise)": 1, "(undated)": 1}
    assert table.series[0].total == sum(rows.values()) == 6


@pytest.mark.parametrize("by, expected", [
    ("year", {"2020": 2 + 1 + 1, "2021": 1, "(undated)": 1}),
    ("source", {"afp.com": 3, "lemonde.fr": 2, "(no source)": 1}),
    ("category", {"monde": 3, "politique": 2, "(no category)": 1}),
])
@pytest.mark.parametrize("ratio", [0, 1000])  # labels from their column / their postings
def test_counts_by(views_index, by, expected, ratio, monkeypatch):
    monkeypatch.setattr(views, "POSTINGS_RATIO", ratio)
    table = _counts(views_index, ["maroc"], by)
    assert dict(zip(table.labels, table.series[0].counts, strict=True)) == expected


def test_counts_by_iso_week(views_index):
    table = _counts(views_index, ["maroc"], "week")
    rows = dict(zip(table.labels, table.series[0].counts, strict=True))
    assert {label: rows[label] for label in ("2020-W03", "2020-W04", "2020-W05", "2020-W10",
                                             "2020-W53", "2021-W01")} == {
        "2020-W03": 1, "2020-W04": 1, "2020-W05": 0, "2020-W10": 1, "2020-W53": 0,
        "2021-W01": 1}
    assert len(rows) == 53 - 3 + 1 + 1 + 2  # 2020 has 53 ISO weeks; then 2021-W01
    assert sum(rows.values()) == 6


def test_counts_compare_two_queries_on_the_same_buckets(views_index):
    table = _counts(views_index, ["maroc", "tunisie"], "year")
    assert table.labels == ("2020", "2021", "(undated)")
    assert [series.counts for series in table.series] == [(4, 1, 1), (3, 1, 0)]


def test_counts_without_words_count_every_article_of_the_filters(views_index):
    table = _counts(views_index, [""], "source", since="2020-03")
    assert table.series[0].counts == (2, 1)
    assert table.labels == ("afp.com", "lemonde.fr")


def test_counts_fill_the_months_of_since_and_until(views_index):
    table = _counts(views_index, ["maroc"], "month", since="2019-11", until="2020-02")
    # `2020` is within the range; its month is not known
    assert table.labels == ("2019-11", "2019-12", "2020-01", "2020-02", "(date less precise)")


def test_counts_sum_to_the_query_total(views_index):
    with open_searcher(views_index) as searcher:
        for by in ("month", "week", "year", "source", "category"):
            table = searcher.count(["maroc"], by=by)
            assert sum(table.series[0].counts) == searcher.search("maroc").total


@pytest.mark.parametrize("by, message", [
    ("day", "Unknown bucket 'day'; use one of month, week, year, source, category."),
])
def test_counts_by_an_unknown_bucket(views_index, by, message):
    with pytest.raises(SearchError) as raised:
        _counts(views_index, ["maroc"], by)
    assert str(raised.value) == message


@given(st.lists(st.sampled_from(["2019-12", "2020-01", "2020-02", "2020-05", "2021-11"]),
                min_size=1))
def test_a_table_of_months_has_every_month_between_once(months):
    table = count_table("month", [("q", Counter(months))])
    first, last = min(months), max(months)
    span = (int(last[:4]) - int(first[:4])) * 12 + int(last[5:]) - int(first[5:]) + 1
    assert len(table.labels) == len(set(table.labels)) == span
    assert table.labels[0] == first and table.labels[-1] == last
    assert table.series[0].total == len(months) == sum(table.series[0].counts)


def test_an_empty_table():
    assert count_table("month", [("q", Counter())]) == CountTable(
        "month", (), (CountSeries("q", 0, ()),))


def test_facets_of_every_hit(views_index):
    with open_searcher(views_index) as searcher:
        results = searcher.search("maroc", limit=1, facets=True)
    assert len(results.hits) == 1
    assert results.facets == (
        Facet("source", (Count("afp.com", 3), Count("lemonde.fr", 2), Count("(no source)", 1))),
        Facet("category", (Count("monde", 3), Count("politique", 2),
                           Count("(no category)", 1))),
        Facet("year", (Count("2020", 4), Count("(undated)", 1), Count("2021", 1))),
    )


def test_facets_of_filters_without_words(views_index):
    with open_searcher(views_index) as searcher:
        results = searcher.search("", filters=Filters(source="lemonde.fr"), facets=True)
    assert results.facets[0] == Facet("source", (Count("lemonde.fr", 2),))


def test_filters_without_words_list_newest_first(views_index):
    with open_searcher(views_index) as searcher:
        results = searcher.search("", filters=Filters(source="afp.com"))
    assert [hit.date for hit in results.hits] == ["2021-01-05", "2020-03-10", "2020-01-20",
                                                  "2020-01-15"]
    assert results.total == 4 and all(hit.score is None for hit in results.hits)


def test_no_words_and_no_filter_is_an_empty_query(views_index):
    with open_searcher(views_index) as searcher, pytest.raises(QuerySyntaxError):
        searcher.search("  ")


def test_filters_take_presets(views_index, monkeypatch):
    from datetime import date

    from search import dates
    monkeypatch.setattr(dates, "today", lambda: date(2021, 1, 10))
    with open_searcher(views_index) as searcher:
        assert [hit.date for hit in searcher.search("", filters=Filters(since="7d")).hits] \
            == ["2021-01-05"]
        assert searcher.search("maroc", filters=Filters(since="1y")).total == 4


def test_stream_yields_every_hit_in_the_order_of_search(views_index):
    with open_searcher(views_index) as searcher:
        ranked = [hit.id for hit in searcher.search("maroc OR tunisie", limit=100).hits]
        streamed = list(searcher.stream("maroc OR tunisie", snippets=False, bodies=True))
    assert [hit.id for hit in streamed] == ranked and len(ranked) == 7
    assert all(hit.snippet.text == "" and hit.body for hit in streamed)


def test_stream_of_filters_alone_is_newest_first(views_index):
    with open_searcher(views_index) as searcher:
        dates_seen = [hit.date for hit in searcher.stream("", filters=Filters(category="monde"))]
    assert dates_seen == ["2020-03-10", "2020-03-02", "2020-01-15", "2020"]


def test_stream_checks_its_filters(views_index):
    with open_searcher(views_index) as searcher, pytest.raises(FilterError):
        list(searcher.stream("maroc", filters=Filters(source="afp.fr")))


def test_an_article_whole_with_its_paragraphs_and_highlights(views_index):
    with open_searcher(views_index) as searcher:
        view = searcher.article("news.jsonl#7", highlight="tunisie OR title:an")
    assert [p.text for p in view.paragraphs] == [
        "Premier paragraphe sur le Maroc.", "Second paragraphe, sur la Tunisie.", "Troisième."]
    marked = [[p.text[a:b] for a, b in p.highlights] for p in view.paragraphs]
    assert marked == [[], ["Tunisie"], []]
    assert [view.title[a:b] for a, b in view.title_highlights] == ["an"]
    assert (view.date, view.source, view.category) == ("2021-01-05", "afp.com", "politique")


def test_an_unknown_article_names_the_closest_ids(views_index):
    with open_searcher(views_index) as searcher, pytest.raises(UnknownArticleError) as raised:
        searcher.article("news.jsonl#77")
    assert str(raised.value) == ("No article has the id 'news.jsonl#77'. Closest: news.jsonl#7, "
                                 "news.jsonl#6, news.jsonl#5. "
                                 "`search query --json` shows the ids.")


@pytest.mark.parametrize("ratio", [0, 1000])  # labels from their column / their postings
def test_counts_by_label_across_segments_and_deletions(tmp_path, ratio, monkeypatch):
    """A label found in one segment only, and a deleted article, count as they are."""
    from search.index import update

    monkeypatch.setattr(views, "POSTINGS_RATIO", ratio)
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    write_export(first, [{"id": n, "source": "afp.com", "article": f"Le Maroc {n}."}
                         for n in range(3)])
    write_export(second, [{"id": 9, "source": "lemonde.fr", "article": "Le Maroc."}])
    index = tmp_path / "index"
    update([first], index)
    update([second], index)  # a second segment
    write_export(first, [{"id": n, "source": "afp.com", "article": f"Le Maroc {n}."}
                         for n in range(2)])
    update([first, second], index)  # article 2 deleted
    table = _counts(index, ["maroc"], "source")
    assert dict(zip(table.labels, table.series[0].counts, strict=True)) == {
        "afp.com": 2, "lemonde.fr": 1}
