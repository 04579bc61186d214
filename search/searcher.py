"""Running a query: parsed query → ranked `Hit`s with snippets, built while the searcher is open.

`open_searcher` keeps one Whoosh searcher for many queries (a benchmark, a session);
`search` is the one-shot form the CLI uses.
"""

from __future__ import annotations

import dataclasses
import difflib
import heapq
import itertools
import math
import os
import traceback
from collections.abc import Callable, Container, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from operator import itemgetter
from pathlib import Path

from whoosh import query as wq
from whoosh import scoring
from whoosh.reading import CorruptIndexError
from whoosh.searching import Hit as WhooshHit

from search import analysis, views
from search.copies import (
    are_copies,
    band_terms,
    earliest_first,
    group,
    shown_similarity,
    usable,
)
from search.dates import resolve_date
from search.errors import (
    FilterError,
    IndexCorruptError,
    IndexOutdatedError,
    SearchError,
    UnknownArticleError,
)
from search.explain import explain as explain_query
from search.explain import forms_by_term
from search.models import (
    SORT_ORDERS,
    ArticleView,
    Copy,
    CountTable,
    Explanation,
    Facet,
    Filters,
    Hit,
    SearchResults,
    Snippet,
)
from search.query import (
    expand_first,
    expanded_words,
    filter_query,
    parse_query,
    parse_words,
    shown,
)
from search.ranking import RERANK_DEPTH, reranked
from search.schema import DEFAULT_FIELDS, category_key, source_key
from search.snippets import SnippetFormatter, fragmenter, lead_snippet, title_highlights
from search.store import (
    CORRUPTION_ERRORS,
    FORM_FIELDS,
    ReadLease,
    open_current,
    segment_forms,
)
from search.suggest import CountedWhenAsked, few_hits, suggestions, vocabulary
from search.surface import exact_matches, surface_field
from search.whoosh_fast.collector import (
    CountingTopCollector,
    NewestFirstCollector,
    query_terms_once,
)
from search.whoosh_fast.highlight import MarkingHighlighter
from search.whoosh_fast.postings import documents_with_any, positions_across
from search.whoosh_fast.reading import (
    column_values,
    read_stored_fields_in_place,
    remember_term_keys,
    stored_fields_of,
)

SNIPPET_FRAGMENTS = 2
SUGGESTIONS = 3  # known sources or categories named when a filter's is unknown
SCORE_DIGITS = 4  # a hit's score as shown and exported
RANKED_FIELD = "body"  # the field whose word positions `search.ranking` reads
# The last vocabulary read of each index folder, with its generation (`_per_generation`).
_VOCABULARIES: dict[str, tuple[str, dict[str, int]]] = {}
_FORMS: dict[str, tuple[str, tuple[str, ...]]] = {}  # the same forms, without their counts


def resolved(filters: Filters) -> Filters:
    """`filters` with date presets (`7d`, `yesterday`...) as the dates they name today."""
    return replace(filters, since=filters.since and resolve_date(filters.since),
                   until=filters.until and resolve_date(filters.until))


class Searcher:
    """An open index: many queries, one Whoosh searcher."""

    def __init__(self, ix, index_dir: Path, lease: ReadLease | None = None) -> None:
        self._ix = ix
        self._index_dir = index_dir
        self._lease = lease or ReadLease()  # keeps the generation on disk while open
        self._searcher = ix.searcher(weighting=scoring.BM25F())
        remember_term_keys(self._searcher.reader())
        read_stored_fields_in_place(self._searcher.reader())
        self.stored = stored_fields_of(self._searcher.reader())
        self._columns: dict[str, Callable[[int], object]] = {}  # read when first needed
        self._vocabulary: dict[str, int] | None = None  # read when first needed
        self._forms: dict | None = None
        if surface_field(RANKED_FIELD) not in ix.schema:
            self.close()
            raise IndexOutdatedError(
                f"The index in {index_dir}{os.sep} was built by an older version of search, "
                "without the words as written that exact phrases need. Run `search rebuild`.")

    def body(self, docnum: int) -> str:
        """An article's body, from its column (`search.schema`)."""
        return self._column("body")(docnum) or ""

    def _signature(self, docnum: int) -> bytes | None:
        """An article's copy signature (`search.copies`), from its column."""
        return self._column("copy_signature")(docnum)

    def _column(self, fieldname: str) -> Callable[[int], object]:
        if fieldname not in self._columns:
            self._columns[fieldname] = column_values(self._searcher.reader(), fieldname)
        return self._columns[fieldname]

    def close(self) -> None:
        self._searcher.close()
        self._lease.release()

    def search(
        self, text: str, *, limit: int = 10, sort: str = "relevance",
        filters: Filters = Filters(), facets: bool = False, explain: bool = False,
        copies: bool = False, offset: int = 0,
    ) -> SearchResults:
        """Articles matching every word of `text`; if none does, the best partial matches.
        With `facets`, the top sources, categories and years of all of them; with
        `explain`, what each word searched (`explain`). `offset` skips the first hits (a
        page of results): their snippets are not built, and ranks go on from offset + 1.

        One article per group of copies of a dispatch (`search.copies`), carrying the ids
        of the others, unless `copies`: then every copy is a hit of its own. `total`
        counts articles, copies included, either way."""
        if sort not in SORT_ORDERS:
            raise SearchError(f"Unknown sort order '{sort}'; use one of {', '.join(SORT_ORDERS)}.")
        schema = self._ix.schema
        filters = resolved(filters)
        restriction = filter_query(schema, **vars(filters))
        if not text.strip() and restriction is not None:
            return self._listing(text, restriction, limit, filters, facets, copies, offset)
        query = parse_query(text, schema)
        wanted = offset + limit
        depth = wanted if copies or "copy_bands" not in schema else _window(wanted)
        with self._reading():
            self._check_known(filters)
            results = self._run(query, depth, sort, restriction)
            partial = False
            if results.scored_length() == 0 and _has_several_terms(query):
                query = parse_query(text, schema, match_all=False)
                results = self._run(query, depth, sort, restriction)
                partial = results.scored_length() > 0
            read: dict = {}  # the positions re-ranking read, for the deeper reads
            if sort == "relevance":
                self._rerank(results, query, depth, read)
            if depth == wanted:
                hits = tuple(_hit(rank, hit, sort == "relevance", self)
                             for rank, hit in enumerate(results, start=1) if rank > offset)
            else:
                hits = self._one_per_group(results, wanted, sort == "relevance",
                                           lambda depth: self._ranked(
                                               query, depth, sort, restriction, read), offset)
            found = len(results)
            closest = (suggestions(text, self._surface_forms, self._family_count)
                       if partial or few_hits(found, len(hits), limit, offset) else [])
            facet_counts = self._facets(_restricted(query, restriction)) if facets else ()
            return SearchResults(query=text, total=found, partial=partial, hits=hits,
                                 total_exact=getattr(results, "total_exact", True),
                                 suggestions=tuple(closest),
                                 explanation=self.explain(text) if explain else None,
                                 facets=facet_counts)

    def explain(self, text: str) -> Explanation:
        """Each word of `text`, the index terms it searches and the archive's words as
        written that each stands for (`search.explain`)."""
        vocabulary = self.surface_vocabulary()

        def forms():
            if self._forms is None:
                self._forms = forms_by_term(vocabulary)
            return self._forms

        with self._reading():
            return explain_query(text, self._ix.schema, self._searcher.reader(), vocabulary,
                                 forms)

    def _family_count(self, word: str) -> int:
        """The articles that have `word`'s term (its family) in one of the default fields
        (the largest count of a field)."""
        reader, found = self._searcher.reader(), analysis.term(word)
        return max(reader.doc_frequency(name, found) for name in DEFAULT_FIELDS)

    def surface_vocabulary(self) -> dict[str, int]:
        """The surface forms of the default fields and the articles that have each
        (`search.suggest.vocabulary`), read once per generation of the index."""
        if self._vocabulary is None:
            reader = self._searcher.reader()
            self._vocabulary = self._per_generation(_VOCABULARIES, lambda: vocabulary(
                (text.decode(), count) for name in DEFAULT_FIELDS
                for text, count in _document_frequencies(reader, surface_field(name))))
        return self._vocabulary

    def _surface_forms(self) -> Mapping[str, int]:
        """The forms of `surface_vocabulary`, in its order, each form's count read only
        when "did you mean" asks for it (the vocabulary itself, if read already)."""
        if self._vocabulary is not None:
            return self._vocabulary
        reader = self._searcher.reader()
        folder = getattr(self._ix.storage, "folder", None)
        folder = Path(folder) if folder else None
        forms = self._per_generation(_FORMS, lambda: _merged_forms(
            [segment_forms(folder, leaf) for leaf, _ in reader.leaf_readers()]))

        def count(form: str) -> int:
            with self._reading():
                return max(reader.doc_frequency(surface_field(name), form)
                           for name in DEFAULT_FIELDS)
        return CountedWhenAsked(forms, count)

    def _per_generation(self, kept: dict, read: Callable):
        """What `read()` gives for the index's current generation, read once per generation
        and shared by its readers (a server's), rather than each reading seconds' worth of
        terms."""
        generation = str(getattr(self._ix.storage, "folder", ""))
        found = kept.get(str(self._index_dir))
        if found and found[0] == generation and generation:
            return found[1]
        with self._reading():
            value = read()
        kept[str(self._index_dir)] = (generation, value)
        return value

    def _listing(self, text: str, restriction, limit: int, filters: Filters,
                 facets: bool, copies: bool, offset: int = 0) -> SearchResults:
        """No words, only filters: the matching articles, newest first, one per group of
        copies unless `copies` (as `search` does), less the first `offset`."""
        grouped = not copies and "copy_bands" in self._ix.schema
        wanted = offset + limit
        with self._reading():
            self._check_known(filters)
            results = self._run(restriction, _window(wanted) if grouped else wanted, "date",
                                None)
            if grouped:
                hits = self._one_per_group(results, wanted, False, lambda depth: self._run(
                    restriction, depth, "date", None), offset)
            else:
                hits = tuple(_hit(rank, hit, False, self)
                             for rank, hit in enumerate(results, start=1) if rank > offset)
            found = self._facets(restriction) if facets else ()
            return SearchResults(query=text, total=len(results), partial=False, hits=hits,
                                 facets=found)

    def _facets(self, query) -> tuple[Facet, ...]:
        expand_first(query, self._searcher.reader())
        return views.facets(self._searcher, views.matching_docnums(self._searcher, query))

    def count(self, texts: Sequence[str], *, by: str = "month",
              filters: Filters = Filters()) -> CountTable:
        """How many articles match each of `texts` (every word; no partial matches), in
        each bucket of `by`; an empty text counts every article the filters let through."""
        views.check_bucket(by)
        filters = resolved(filters)
        schema = self._ix.schema
        restriction = filter_query(schema, **vars(filters))
        queries = [_restricted(parse_query(text, schema), restriction) if text.strip()
                   else restriction or wq.Every() for text in texts]
        with self._reading():
            self._check_known(filters)
            series = []
            for text, query in zip(texts, queries, strict=True):
                expand_first(query, self._searcher.reader())
                docnums = views.matching_docnums(self._searcher, query)
                series.append((text, views.bucket_counts(self._searcher, docnums, by)))
        return views.count_table(by, series, filters.since, filters.until)

    def stream(self, text: str, *, sort: str = "relevance", filters: Filters = Filters(),
               snippets: bool = True, bodies: bool = False,
               limit: int | None = None) -> Iterator[Hit]:
        """Every hit of `search` (or its best `limit`), in its order, built one at a time
        as the caller reads them: only the hits' numbers and scores are held, not their
        fields."""
        if sort not in SORT_ORDERS:
            raise SearchError(f"Unknown sort order '{sort}'; use one of {', '.join(SORT_ORDERS)}.")
        schema = self._ix.schema
        filters = resolved(filters)
        restriction = filter_query(schema, **vars(filters))
        query = None if not text.strip() and restriction is not None else parse_query(text, schema)
        with self._reading():
            self._check_known(filters)
            everything = limit or max(1, self._searcher.doc_count_all())
            if query is None:
                sort = "date"
                results = self._run(restriction, everything, sort, None)
            else:
                results = self._run(query, everything, sort, restriction)
                if results.scored_length() == 0 and _has_several_terms(query):
                    query = parse_query(text, schema, match_all=False)
                    results = self._run(query, everything, sort, restriction)
                if sort == "relevance":
                    self._rerank(results, query, everything)
        for rank, hit in enumerate(results, start=1):
            with self._reading():
                yield _hit(rank, hit, sort == "relevance" and query is not None, self,
                           snippet=snippets, body=bodies)

    def article(self, article_id: str, highlight: str | None = None) -> ArticleView:
        """One whole article by its id, paragraphs kept, `highlight`'s matches marked."""
        with self._reading():
            docnum = self._searcher.document_number(id=article_id)
            if docnum is None:
                raise UnknownArticleError(self._unknown_id(article_id))
            fields = self._searcher.stored_fields(docnum)
            terms = {"title": set(), "body": set()}
            if highlight and highlight.strip():
                query = parse_query(highlight, self._ix.schema)
                reader = self._searcher.reader()
                expand_first(query, reader)
                for fieldname, found in terms.items():
                    # one field at a time: Whoosh's existing_terms reads one field only
                    found.update(term.decode("utf-8") if isinstance(term, bytes) else term
                                 for _, term in query.existing_terms(
                                     reader, expand=True, fieldname=fieldname))
            analyzer = self._ix.schema["body"].analyzer
            title = views.marked(fields.get("title", ""), terms["title"], analyzer)
            body = self.body(docnum)
            paragraphs = tuple(views.marked(paragraph, terms["body"], analyzer)
                               for paragraph in analysis.PARAGRAPH_BREAK.split(body)
                               if paragraph.strip())
        return ArticleView(
            id=fields["id"], path=fields["path"], title=title.text, date=fields.get("date"),
            dateline=fields.get("dateline"), category=fields.get("category"),
            source=fields.get("source"), url=fields.get("url"), author=fields.get("author"),
            lead=fields.get("lead"), paragraphs=paragraphs, title_highlights=title.highlights,
            source_name=fields.get("source_name"))

    def _unknown_id(self, article_id: str) -> str:
        return unknown_id(article_id,
                          [term.decode("utf-8") for term in self._searcher.reader().lexicon("id")])

    def _ranked(self, query, depth: int, sort: str, restriction, read: dict):
        """The best `depth` hits, ranked as `search` ranks them (`read`: see `_rerank`)."""
        results = self._run(query, depth, sort, restriction)
        if sort == "relevance":
            self._rerank(results, query, depth, read)
        return results

    def _one_per_group(self, results, limit: int, scored: bool, deeper,
                       offset: int = 0) -> tuple[Hit, ...]:
        """The first `limit` groups of copies among the ranked `results`, less the first
        `offset`, each shown at the rank and with the score of its best hit, by the
        earliest article (`search.copies.earliest_first`) that the query matches among
        the group's hits and their best's copies, with the ids of the group's other
        articles in the index. The hits are read deeper (`deeper(depth)`) until `limit`
        groups are found or none is left.

        The article a group shows does not depend on how deep the hits were read: its
        best's copies count whether they were read or not, and two groups of the hits
        read that share a copy are one (a chain of copies whose link was not read). The
        copies it lists can: a copy of a copy, not of its best, joins it only once read
        (at 1M, where each dispatch has 27 perturbed copies, about half the one-word
        queries list more copies when read 28 times deeper)."""
        read: dict[int, dict] = {}  # stored fields by document number, each read once
        copies: dict[int, list[int]] = {}  # a best hit's copies, looked up once
        while True:
            docnums = [docnum for _, docnum in results.top_n]
            for docnum in docnums:
                self._stored_fields(docnum, read)
            joined = self._joined(group([self._signature(docnum) for docnum in docnums]),
                                  docnums, limit, copies, read)
            if len(joined) >= limit or len(docnums) >= len(results):
                break
            results = deeper(_deeper(len(docnums), len(joined), limit))
        score_of = {docnum: score for score, docnum in results.top_n}
        matching = _matching(results, joined, score_of, read)
        hits = []
        for rank, (best, articles) in enumerate(joined[offset:limit], start=offset + 1):
            shown = min((docnum for docnum in articles
                         if docnum in score_of or docnum in matching),
                        key=lambda docnum: earliest_first(read[docnum]))
            hit = _hit(rank, WhooshHit(results, shown, score=score_of[best]), scored, self)
            hits.append(dataclasses.replace(hit, copies=tuple(
                read[docnum]["id"] for docnum in
                sorted(articles, key=lambda docnum: earliest_first(read[docnum]))
                if docnum != shown)))
        return tuple(hits)

    def _joined(self, groups: list[list[int]], docnums: list[int], limit: int,
                copies: dict[int, list[int]], read: dict[int, dict]) -> list[tuple[int, set]]:
        """The first `limit` groups of copies among the hits `docnums` (`groups` of their
        positions, in rank order), each as (its best hit, its articles: its hits and the
        copies of its best), groups that share an article made one."""
        joined: list[tuple[int, set]] = []
        for members in groups:
            if len(joined) >= limit:
                break
            best = docnums[members[0]]
            if best not in copies:
                copies[best] = [docnum for docnum, _ in self._copies(best, read)]
            articles = {docnums[at] for at in members} | set(copies[best])
            sharing = [at for at, (_, theirs) in enumerate(joined) if theirs & articles]
            if not sharing:
                joined.append((best, articles))
                continue
            for at in reversed(sharing[1:]):
                articles |= joined.pop(at)[1]
            joined[sharing[0]][1].update(articles)
        return joined

    def copies_of(self, article_id: str) -> tuple[Copy, ...]:
        """The group of copies of an article (`search.copies`): the article itself, every
        article whose body is a near-duplicate of its own, theirs and so on, earliest
        first, each with its similarity to the article."""
        with self._reading():
            docnum = self._searcher.document_number(id=article_id)
            if docnum is None:
                raise UnknownArticleError(self._unknown_id(article_id))
            fields = self._searcher.stored_fields(docnum)
            found = [(1.0, fields), *self._group(docnum, fields)]
            found.sort(key=lambda pair: earliest_first(pair[1]))
            return tuple(_copy(fields, similarity) for similarity, fields in found)

    def _stored_fields(self, docnum: int, read: dict[int, dict]) -> dict:
        """The stored fields of `docnum`, from `read` if they were read before (a hit's
        copies are often hits too: each read decompresses the article's fields)."""
        fields = read.get(docnum)
        if fields is None:
            fields = read[docnum] = self.stored(docnum)
        return fields

    def _copies(self, docnum: int, read: dict[int, dict],
                known: Container[int] = ()) -> list[tuple[int, dict]]:
        """(document number, stored fields) of the articles whose bodies are copies of the
        one of `docnum`, but those `known`: those sharing a band term with it, verified
        (their fields taken from `read` where they were read before)."""
        mine = self._signature(docnum)
        if not usable(mine):
            return []
        others = sorted(documents_with_any(self._searcher.reader(), "copy_bands",
                                           [term.encode() for term in band_terms(mine)]))
        return [(other, self._stored_fields(other, read)) for other in others
                if other != docnum and other not in known
                and are_copies(mine, self._signature(other))]

    def _group(self, docnum: int, fields: dict) -> list[tuple[float, dict]]:
        """(similarity, stored fields) of the other articles of the group of copies of
        `docnum`: its copies, theirs and so on (`search.copies.group`: the group a cluster
        keys them by). A search's hits list the shown article's direct copies only
        (`_copies`): following each copy's own costs 5–10 ms a query on the 10x archive."""
        read: dict[int, dict] = {}
        members = {docnum: fields}
        todo = [docnum]
        while todo:
            at = todo.pop()
            for other, theirs in self._copies(at, read, members):
                members[other] = theirs
                todo.append(other)
        mine = self._signature(docnum)
        return [(shown_similarity(mine, self._signature(other)), found)
                for other, found in members.items() if other != docnum]

    def rank_words(self, text: str, *, limit: int = 10) -> list[tuple[str, float]]:
        """(id, score) of the best articles for `text` read as plain words, not query
        syntax, ranked as `search` ranks partial matches (for evaluations)."""
        query = parse_words(text, self._ix.schema)
        if query is None:
            return []
        with self._reading():
            results = self._run(query, limit, "relevance", restriction=None)
            self._rerank(results, query, limit)
            return [(hit["id"], hit.score) for hit in results]

    def _rerank(self, results, query, limit: int, read: dict | None = None) -> None:
        """Re-scores the first `RERANK_DEPTH` hits by their words' positions
        (`search.ranking`) and keeps the best `limit`. `read` keeps the positions read
        for the deeper reads of the same query, which re-rank mostly the same hits."""
        terms = _ranked_terms(query)
        top = results.top_n
        if terms and top:
            idf = {term: self._searcher.idf(RANKED_FIELD, term) for term in set(terms)}
            positions = self._positions(
                terms, sorted(docnum for _, docnum in top[:RERANK_DEPTH]),
                {} if read is None else read)
            top = reranked(top, terms, idf, positions)
        results.top_n = top[:limit]

    def _positions(self, terms: list[str], docnums: list[int], read: dict
                   ) -> dict[int, dict[str, list[int]]]:
        """For each of `docnums` (ascending), the positions of each of `terms` it contains,
        those not in `read` ((term, docnum) → positions, None where it has not the term)
        read and added to it: reading them walks the block headers of the term up to the
        documents (a frequent word at 1M: 7 ms a segment)."""
        found: dict[int, dict[str, list[int]]] = {}
        reader = self._searcher.reader()
        for term in dict.fromkeys(terms):
            unread = [docnum for docnum in docnums if (term, docnum) not in read]
            if unread:
                text = reader.schema[RANKED_FIELD].to_bytes(term)
                positions = positions_across(reader, RANKED_FIELD, text, unread)
                read.update(((term, docnum), positions.get(docnum)) for docnum in unread)
            for docnum in docnums:
                if (where := read[(term, docnum)]) is not None:
                    found.setdefault(docnum, {})[term] = where
        return found

    def _run(self, query, limit: int, sort: str, restriction):
        # Whoosh's `filter=` leaves len(results) counting the filtered-out documents;
        # a required clause that scores nothing filters and counts right.
        query = _restricted(query, restriction)
        context = None
        if sort == "date":
            collector = NewestFirstCollector("date", limit)
            # The dates order the hits: matched without scores, a word's postings are not
            # each scored (`gouvernement` by date at 1M: every one of 581,000).
            context = self._searcher.boolean_context()
        else:
            # more candidates than shown, for `_rerank`
            collector = CountingTopCollector(max(limit, RERANK_DEPTH), usequality=False)
        expand_first(query, self._searcher.reader())
        self._searcher.search_with_collector(query, collector, context)
        results = collector.results()
        results.highlighter = _ExactHighlighter(fragmenter=fragmenter(),
                                                 formatter=SnippetFormatter())
        query_terms_once(results)
        return results

    def _check_known(self, filters: Filters) -> None:
        """An unknown `--source` or `--category` is a mistake to show with the closest known
        ones, not a search that finds nothing."""
        reader = self._searcher.reader()
        if filters.source:
            key = source_key(filters.source) or ""
            if key not in {term.decode() for term in reader.lexicon("source_match")}:
                sources = [term.decode() for term in reader.lexicon("source")]
                raise FilterError(_unknown("source", filters.source, key, sources))
        if filters.category:
            check_category(filters.category,
                           [term.decode() for term in reader.lexicon("category_key")])

    @contextmanager
    def _reading(self) -> Iterator[None]:
        """Turns what Whoosh raises on a damaged file into `IndexCorruptError`. A ValueError,
        KeyError or IndexError counts only when raised while reading the index's files: one
        from anywhere else is a bug, not damage, and shows as one."""
        try:
            yield
        except Exception as error:
            if isinstance(error, SearchError) or not _read_error(error):
                raise
            raise IndexCorruptError(
                f"The index in {self._index_dir}{os.sep} could not be read "
                f"({type(error).__name__}). Run `search rebuild` to rebuild it."
            ) from None


# The modules that read an index's files, Whoosh's and ours that decode its bytes
# (posting blocks, columns): where a garbled file raises.
_READING_MODULES = ("whoosh.codec.", "whoosh.filedb.", "whoosh.columns", "whoosh.reading",
                    "whoosh.index", "whoosh.util.numeric", "whoosh.util.varints", "whoosh.system",
                    "whoosh.automata.fst", "whoosh.formats", "search.whoosh_fast.postings",
                    "search.whoosh_fast.reading", "search.whoosh_fast.lists")
# Errors that only reading can raise, wherever they come from. Bytes decoded while reading
# are the index's terms (the lexicons of ids, sources and categories, the vocabulary of
# "did you mean"): a query and stored texts come as str.
_ALWAYS_READ_ERRORS = (*(error for error in CORRUPTION_ERRORS
                         if not issubclass(error, (ValueError, LookupError))), CorruptIndexError,
                       UnicodeDecodeError)


def _read_error(error: BaseException) -> bool:
    """True when `error` comes from reading the index's files: a ValueError, KeyError or
    IndexError raised elsewhere (our query code, Whoosh's parser) is a bug."""
    if isinstance(error, _ALWAYS_READ_ERRORS):
        return True
    frames = traceback.extract_tb(error.__traceback__)
    module = _module_of(frames[-1].filename) if frames else ""
    if module.startswith("whoosh.filedb."):
        return True  # the layer that reads bytes: whatever it raises, the bytes were garbage
    return isinstance(error, CORRUPTION_ERRORS) and module.startswith(_READING_MODULES)


def _module_of(filename: str) -> str:
    """The dotted module name of a source file of whoosh or of this package."""
    parts = Path(filename).with_suffix("").parts
    for package in ("whoosh", "search"):
        if package in parts:
            start = len(parts) - 1 - parts[::-1].index(package)
            return ".".join(parts[start:])
    return ""


def _slashes(key: str) -> list[int]:
    return [at for at, ch in enumerate(key) if ch == "/"]


def unknown_id(article_id: str, known: list[str]) -> str:
    """The message for an id that no article has, with the closest `known` ids."""
    closest = difflib.get_close_matches(article_id, known, n=SUGGESTIONS, cutoff=0.8)
    message = f"No article has the id '{shown(article_id)}'."
    if closest:
        message += " Closest: " + ", ".join(shown(label) for label in closest) + "."
    return message + " `search query --json` shows the ids."


def check_category(given: str, keys: list[str]) -> None:
    """Raise FilterError naming the closest categories when no article has `given` or a
    category under it (`societe` is a category too when `societe/justice` is one)."""
    key = category_key(given)
    if not any(known == key or known.startswith(key + "/") for known in keys):
        parents = {known[:end] for known in keys for end in _slashes(known)}
        raise FilterError(_unknown("category", given, key, sorted(parents.union(keys))))


def _unknown(name: str, given: str, key: str, known: list[str]) -> str:
    """The message for a `--source` or `--category` that no article has."""
    closest = difflib.get_close_matches(key, known, n=SUGGESTIONS, cutoff=0.6)
    message = f"No article has the {name} '{shown(given)}'."
    if closest:
        message += " Closest: " + ", ".join(shown(label) for label in closest) + "."
    listed = "categories" if name == "category" else "sources"
    return message + f" `search stats` lists the {listed}."


@contextmanager
def open_searcher(index_dir: Path) -> Iterator[Searcher]:
    ix, lease = open_current(index_dir)
    searcher = Searcher(ix, index_dir, lease)
    try:
        yield searcher
    finally:
        searcher.close()


def search(
    index_dir: Path, text: str, *, limit: int = 10, sort: str = "relevance",
    filters: Filters = Filters(), facets: bool = False, explain: bool = False,
    copies: bool = False,
) -> SearchResults:
    """One query on the index in `index_dir` (see `Searcher.search`)."""
    with open_searcher(index_dir) as searcher:
        return searcher.search(text, limit=limit, sort=sort, filters=filters, facets=facets,
                               explain=explain, copies=copies)


def explain(index_dir: Path, text: str) -> Explanation:
    """What each word of `text` searches in the index in `index_dir` (`Searcher.explain`)."""
    with open_searcher(index_dir) as searcher:
        return searcher.explain(text)
def copies_of(index_dir: Path, article_id: str) -> tuple[Copy, ...]:
    """The group of copies of one article of the index in `index_dir` (see
    `Searcher.copies_of`)."""
    with open_searcher(index_dir) as searcher:
        return searcher.copies_of(article_id)


def _window(limit: int) -> int:
    """How many hits are read first to find `limit` groups of copies: most groups are one
    article, and a few groups of several fill the rest; read deeper if not."""
    return max(2 * limit, limit + 20)


def _matching(results, groups: list[tuple[int, set]], score_of: Container[int],
              read: dict[int, dict]) -> set[int]:
    """The articles of `groups` not read as hits (not in `score_of`) but earlier than
    those that were, which the query matches, as the collector says (from what it
    counted, or from a word's matcher where it counted at least): a group shows the same
    article whether its query's total is exact or a lower bound."""
    def earliest(docnum: int) -> tuple:
        return earliest_first(read[docnum])

    earlier = set()
    for _, articles in groups:
        first = min(earliest(docnum) for docnum in articles if docnum in score_of)
        earlier.update(docnum for docnum in articles
                       if docnum not in score_of and earliest(docnum) < first)
    if not earlier:
        return set()
    if not hasattr(results.collector, "matched"):  # sorted by date: every match is in docs()
        return earlier & results.docs()
    return results.collector.matched(earlier)


def _deeper(read: int, groups: int, wanted: int) -> int:
    """How many hits to read next when the first `read` gave `groups` of the `wanted`
    groups of copies: as many as the copies seen so far say (a quarter more), at least
    twice `read` and at most eight times (one large group at the top says little of the
    rest). Each deeper read runs the query again, so on an archive where most articles
    have copies (wire dispatches) one guess from the first read saves the runs of
    doubling (three runs of the query became two on the 10x archive)."""
    return max(2 * read, min(8 * read, math.ceil(read * wanted / max(groups, 1) * 1.25)))


def _copy(fields: dict, similarity: float) -> Copy:
    return Copy(id=fields["id"], path=fields["path"], title=fields.get("title", ""),
                date=fields.get("date"), source=fields.get("source"),
                category=fields.get("category"), url=fields.get("url"),
                similarity=similarity)


def _ranked_terms(query) -> list[str]:
    """The query's words in `RANKED_FIELD`, in the query's order, phrases included,
    excluded words and expanded ones (prefix, fuzzy) left out."""
    if isinstance(query, wq.Not):
        return []
    if isinstance(query, wq.AndNot):
        return _ranked_terms(query.a)
    if any(isinstance(child, wq.FuzzyTerm) for child in query.children()):
        return []  # a fuzzy word: its own term and its neighbours (`query._RankedFuzzy`)
    if type(query) is wq.Term and query.text.startswith(analysis.TRANSLITERATION_MARK):
        return []  # a name's other spellings (`analysis.name_key`): not a word of the query
    if type(query) is wq.Term or isinstance(query, wq.Phrase):
        words = [query.text] if type(query) is wq.Term else list(query.words)
        if query.fieldname == surface_field(RANKED_FIELD):  # words as written: their terms
            return [found for word in words if (found := analysis.term(word))]
        return words if query.fieldname == RANKED_FIELD else []
    return [term for child in query.children() for term in _ranked_terms(child)]


def _merged_forms(segments: list[dict[str, list[str]]]) -> tuple[str, ...]:
    """The forms of the default fields, each once: each field's terms in their order (as
    Whoosh merges the segments' term files), the fields one after the other."""
    found: dict[str, None] = {}
    for fieldname in FORM_FIELDS if segments else ():
        first, *others = [forms[fieldname] for forms in segments]
        merged, seen = list(first), set(first)
        for more in others:
            new = [form for form in more if form not in seen]
            seen.update(new)
            merged += new
        if others:
            merged.sort()  # ascending runs, which sorting merges (a third of a set's sort)
        found.update(dict.fromkeys(merged))
    return tuple(found)


def _document_frequencies(reader, fieldname: str) -> Iterator[tuple[bytes, int]]:
    """(term, articles) of every term of a field, in order, as `reader.iter_field` gives
    them, read segment by segment and merged: over several segments, Whoosh looks every
    term up in each of them (the vocabulary of the 36k index: 19 s of CPU, 3.7 here)."""
    streams = [((text, info.doc_frequency()) for text, info in leaf.iter_field(fieldname))
               for leaf, _ in reader.leaf_readers()]
    for text, found in itertools.groupby(heapq.merge(*streams, key=itemgetter(0)),
                                         key=itemgetter(0)):
        yield text, sum(count for _, count in found)


class _ExactHighlighter(MarkingHighlighter):
    """Whoosh's highlighter, which marks the words whose terms the query searched, also
    marking the words that its exact parts matched as written (quoted phrases, `=word`,
    truncations: `search.surface`), a phrase only where its words stand together."""

    def also_marked(self, results, fieldname: str):
        exact = _exact_parts(results, surface_field(fieldname))
        if not exact[0] and not exact[1]:
            return None
        return lambda text: exact_matches(text, *exact)

    def spans(self, field, text: str):
        return list(analysis.text_tokens(text)) if analysis.is_french(field.analyzer) else None


def _exact_parts(results, fieldname: str):
    """The words (`=word`, truncations expanded) and phrases with their slop that the
    query's positive parts search as written in the surface field `fieldname`, computed
    once per query."""
    cache = results.__dict__.setdefault("_exact_parts", {})
    if fieldname not in cache:
        words: set[str] = set()
        phrases: list[tuple[tuple[str, ...], int]] = []
        reader = results.searcher.reader()
        for leaf in _positive_leaves(results.q):
            if leaf.field() != fieldname:
                continue
            if isinstance(leaf, wq.Phrase):
                phrases.append((tuple(leaf.words), leaf.slop))
            elif type(leaf) is wq.Term:
                words.add(leaf.text)
            else:
                words.update(expanded_words(leaf, reader))
        cache[fieldname] = frozenset(words), phrases
    return cache[fieldname]


def _positive_leaves(query) -> Iterator:
    """The leaves of `query` outside its NOTs."""
    if isinstance(query, wq.Not):
        return
    if isinstance(query, wq.AndNot):
        yield from _positive_leaves(query.a)
    elif query.is_leaf():
        yield query
    else:
        for child in query.children():
            yield from _positive_leaves(child)


def _has_several_terms(query) -> bool:
    return len({text for _, text in query.iter_all_terms()}) > 1


def _restricted(query, restriction):
    """`query` limited to the articles `restriction` lets through, scored as `query`."""
    if restriction is None:
        return query
    return wq.And([query, wq.ConstantScoreQuery(restriction, 0.0)])


def _hit(rank: int, hit, scored: bool, articles: Searcher, snippet: bool = True,
         body: bool = False) -> Hit:
    """A Whoosh hit as ours, its fields and body read by `articles`."""
    fields = articles.stored(hit.docnum)
    text = articles.body(hit.docnum) if snippet or body else None
    marked_title: tuple[tuple[int, int], ...] = ()
    if snippet:
        found = hit.highlights("body", text=text, top=SNIPPET_FRAGMENTS)
        if not found or not found.highlights:
            found = lead_snippet(text)
            marked_title = title_highlights(hit, _ExactHighlighter)
    else:
        found = Snippet("")
    return Hit(
        rank=rank,
        id=fields["id"],
        path=fields["path"],
        title=fields.get("title", ""),
        date=fields.get("date"),
        dateline=fields.get("dateline"),
        category=fields.get("category"),
        source=fields.get("source"),
        source_name=fields.get("source_name"),
        title_highlights=marked_title,
        url=fields.get("url"),
        # Sorted results carry the sort key where the score would be.
        score=round(hit.score, SCORE_DIGITS) if scored else None,
        snippet=found,
        body=text if body else None,
    )


def count(index_dir: Path, texts: Sequence[str], *, by: str = "month",
          filters: Filters = Filters()) -> CountTable:
    """`Searcher.count` on the index in `index_dir`."""
    with open_searcher(index_dir) as searcher:
        return searcher.count(texts, by=by, filters=filters)


def stream(index_dir: Path, text: str, *, sort: str = "relevance", filters: Filters = Filters(),
           snippets: bool = True, bodies: bool = False,
           limit: int | None = None) -> Iterator[Hit]:
    """`Searcher.stream` on the index in `index_dir`, which stays open until the last hit
    is read (or the iterator is closed)."""
    with open_searcher(index_dir) as searcher:
        yield from searcher.stream(text, sort=sort, filters=filters, snippets=snippets,
                                   bodies=bodies, limit=limit)


def article(index_dir: Path, article_id: str, highlight: str | None = None) -> ArticleView:
    """`Searcher.article` on the index in `index_dir`."""
    with open_searcher(index_dir) as searcher:
        return searcher.article(article_id, highlight)
