"""What an analyst asks after the first results: how many and when (`count_table`), in which
sources, categories and years (`facets`).

Everything here counts the documents a query matches without scoring them: their numbers
come from the query's matcher (`matching_docnums`), then each is placed in its bucket from
the `date` column (one read per document, no stored fields) or, for sources and
categories, by intersecting with the postings of each label (a handful of terms).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, timedelta

from whoosh import query as wq
from whoosh.highlight import WholeFragmenter, highlight

from search.errors import SearchError
from search.models import BUCKETS, Count, CountSeries, CountTable, Facet, Snippet
from search.snippets import SnippetFormatter
from search.whoosh_fast.postings import blocks

FACETS = ("source", "category", "year")
FACET_SIZE = 10  # labels shown per facet
UNDATED = "(undated)"
IMPRECISE = "(date less precise)"  # a date of `2020` counted by month, say
NO_LABEL = {"source": "(no source)", "category": "(no category)"}
# Labels are read from a column per hit below 1 hit in POSTINGS_RATIO documents, from
# their postings' id lists above: about 2.8 µs a hit against 20 ms for every posting of
# the 36k OrangeSum index, so the lists cost less past a fifth of it.
POSTINGS_RATIO = 5
_LABEL_FIELD = {"source": "source", "category": "category_key"}
# How many characters of an ISO date name a bucket: `2020-06-15`[:7] is its month.
_PREFIX = {"year": 4, "month": 7, "week": 10}


def check_bucket(by: str) -> None:
    if by not in BUCKETS:
        raise SearchError(f"Unknown bucket '{by}'; use one of {', '.join(BUCKETS)}.")


def matching_docnums(searcher, query: wq.Query) -> list[int]:
    """The documents `query` matches, ascending, unscored (Whoosh's boolean matching)."""
    return sorted(searcher.docs_for_query(query))


def bucket_counts(searcher, docnums: Sequence[int], by: str) -> Counter:
    """How many of `docnums` fall in each bucket; those that fit none are counted under
    `UNDATED`, `IMPRECISE` or `NO_LABEL[by]`, so the counts sum to len(docnums)."""
    reader = searcher.reader()
    if by in _LABEL_FIELD:
        fieldname, missing = _LABEL_FIELD[by], NO_LABEL[by]
        if not reader.has_column(fieldname) or len(docnums) * POSTINGS_RATIO > reader.doc_count():
            # many hits (or an index built before the column): walking each label's
            # postings costs less than reading the column per hit
            return _label_counts(reader, docnums, fieldname, missing)
        counts = Counter(value or missing for value in column_values(reader, fieldname, docnums))
        return counts
    return Counter(_date_bucket(value, by) for value in column_values(reader, "date", docnums))


def column_values(reader, fieldname: str, docnums: Sequence[int]) -> Iterator[str]:
    """The column values of the ascending `docnums`, read segment by segment (one column
    reader per segment, not Whoosh's lookup of the segment for every document)."""
    if reader.is_atomic():
        leaves = [(reader, 0)]
    else:
        leaves = list(reader.leaf_readers())
    ends = [offset for _, offset in leaves[1:]] + [reader.doc_count_all()]
    at = 0
    for (leaf, offset), end in zip(leaves, ends, strict=True):
        stop = bisect_left(docnums, end, at)
        if stop > at:
            column = leaf.column_reader(fieldname)
            for docnum in docnums[at:stop]:
                yield column[docnum - offset]
        at = stop


def _date_bucket(value: str, by: str) -> str:
    if not value:
        return UNDATED
    if len(value) < _PREFIX[by]:
        return IMPRECISE
    if by == "week":
        year, week, _ = date.fromisoformat(value).isocalendar()
        return f"{year}-W{week:02}"
    return value[:_PREFIX[by]]


def _label_counts(reader, docnums: Sequence[int], fieldname: str, missing: str) -> Counter:
    """Counts by the one label each document has in `fieldname`, from its postings' id
    lists, segment by segment."""
    wanted = set(docnums)
    leaves = [(reader, 0)] if reader.is_atomic() else list(reader.leaf_readers())
    counts: Counter = Counter()
    for term in reader.lexicon(fieldname):
        found = 0
        for leaf, offset in leaves:
            if leaf.doc_frequency(fieldname, term):
                found += sum(1 for block in blocks(leaf, fieldname, term)
                             for docnum in block.ids if docnum + offset in wanted)
        if found:
            counts[term.decode("utf-8")] = found
    unlabelled = len(wanted) - sum(counts.values())
    if unlabelled:
        counts[missing] = unlabelled
    return counts


def count_table(by: str, series: Iterable[tuple[str, Counter]],
                since: str | None = None, until: str | None = None) -> CountTable:
    """Counters of several queries as one table on the same buckets: dates in order with
    the empty ones in between (from `since` and to `until` when given), labels by count."""
    series = list(series)
    labels: set[str] = set().union(*(counts for _, counts in series))
    odd = [label for label in (UNDATED, IMPRECISE, *NO_LABEL.values()) if label in labels]
    labels.difference_update(odd)
    if by in _PREFIX:
        ordered = _every_bucket(sorted(labels), by, since, until)
    else:
        total = Counter()
        for _, counts in series:
            total.update(counts)
        ordered = sorted(labels, key=lambda label: (-total[label], label))
    rows = tuple(ordered + odd)
    return CountTable(by=by, labels=rows, series=tuple(
        CountSeries(query=text, total=sum(counts.values()),
                    counts=tuple(counts.get(label, 0) for label in rows))
        for text, counts in series))


def _every_bucket(found: list[str], by: str, since: str | None, until: str | None) -> list[str]:
    """Every date bucket from the first to the last of `found` (or `since`, `until`)."""
    bounds = [*found[:1], *found[-1:]]
    if since:
        bounds.append(_date_bucket(_full_date(since, first=True), by))
    if until:
        bounds.append(_date_bucket(_full_date(until, first=False), by))
    if not bounds:
        return found
    first, last = min(bounds), max(bounds)
    buckets = []
    current = first
    while current <= last:
        buckets.append(current)
        current = _next_bucket(current, by)
    return buckets


def _full_date(value: str, first: bool) -> str:
    """A date prefix (`2020`, `2020-02`) as its first or its last day."""
    if len(value) == 4:
        value += "-01" if first else "-12"
    if len(value) == 7:
        end = (date(int(value[:4]) + value.endswith("12"), int(value[5:]) % 12 + 1, 1)
               - timedelta(days=1))
        value += "-01" if first else f"-{end.day:02}"
    return value


def _next_bucket(label: str, by: str) -> str:
    if by == "year":
        return str(int(label) + 1)
    if by == "month":
        year, month = int(label[:4]), int(label[5:7])
        return f"{year + month // 12:04}-{month % 12 + 1:02}"
    monday = date.fromisocalendar(int(label[:4]), int(label[6:]), 1) + timedelta(weeks=1)
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02}"


def facets(searcher, docnums: Sequence[int], size: int = FACET_SIZE) -> tuple[Facet, ...]:
    """The most frequent sources, categories and years of the documents `docnums`."""
    found = []
    for name in FACETS:
        counts = bucket_counts(searcher, docnums, name)
        top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        found.append(Facet(name=name, counts=tuple(Count(label, n) for label, n in top[:size]),
                           others=sum(n for _, n in top[size:])))
    return tuple(found)


def marked(text: str, terms: set[str], analyzer) -> Snippet:
    """`text` whole, white space collapsed, with the words that analyze to one of `terms`
    highlighted as snippets mark them."""
    if terms:
        found = highlight(text, terms, analyzer, WholeFragmenter(charlimit=None),
                          SnippetFormatter(), top=1)
        if found and found.highlights:
            return found
    return Snippet(" ".join(text.split()))
