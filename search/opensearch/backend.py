"""`OpenSearchBackend(url)`: the Backend and Reader of search.backend on an OpenSearch cluster.

The URL names the cluster and, as its path, the alias the articles are searched under
(`http://HOST:9200/presse`; `search` by default). Credentials come from the environment
(SEARCH_USER and SEARCH_PASSWORD), or from the URL; an https URL is checked against the
system's certificates or SEARCH_CA_CERTS. SEARCH_SHARDS and SEARCH_REPLICAS size a new
index (1 and 0 by default).

Queries are ranked across shards with `dfs_query_then_fetch` (global term statistics),
then re-ranked by word positions as on the index folder (search.ranking); snippets come
from the cluster's highlighter, counts and facets from aggregations. Copies of one
dispatch are collapsed on their group key (search.opensearch.groups, kept at index time):
a group is the connected part of the copy relation over the whole index, where the index
folder groups copies among the hits it reads (search.searcher). They differ on a chain of
copies (a ~ b ~ c, a and c not copies): the index folder joins a and c only when b is a
hit, and a hit there lists its article's direct copies, here its whole group (`copies_of`
lists the whole group on both).

"Did you mean" is the Whoosh reader's (search.suggest), the archive's forms near each word
coming from the cluster's term suggester on the surface (`exact`) subfields.
"""

from __future__ import annotations

import functools
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from urllib.parse import urlsplit, urlunsplit

from opensearchpy import OpenSearch
from opensearchpy.exceptions import ConnectionError as ClusterUnreachable
from opensearchpy.exceptions import NotFoundError, OpenSearchException, TransportError
from whoosh import query as wq

from search import analysis, lexicon, ranking, views
from search.analysis import PARAGRAPH_BREAK, french_analyzer
from search.copies import earliest_first, shown_similarity
from search.errors import (
    FilterError,
    IndexMissingError,
    SearchError,
    UnknownArticleError,
)
from search.explain import _entity as entity_name
from search.explain import (
    by_frequency,
    explain_words,
    in_order,
    searched_terms,
    stem_prefixes,
    terms_of_form,
)
from search.models import (
    SORT_ORDERS,
    ArticleView,
    Copy,
    Count,
    CountTable,
    ExplainedTerm,
    ExplainedWord,
    Explanation,
    Facet,
    Filters,
    FormCount,
    Hit,
    IndexCheck,
    IndexReport,
    IndexStats,
    SearchResults,
    Snippet,
)
from search.opensearch import loading
from search.opensearch.dsl import MAX_EXPANSIONS, SCHEMA, field_name, restriction, to_dsl
from search.opensearch.groups import GROUP_FIELD, signature_of
from search.opensearch.settings import MAPPING_VERSION
from search.query import parse_query, parse_words, shown
from search.ranking import RERANK_DEPTH, reranked
from search.schema import DEFAULT_FIELDS, source_key
from search.searcher import (
    RANKED_FIELD,
    SCORE_DIGITS,
    SNIPPET_FRAGMENTS,
    _has_several_terms,
    _ranked_terms,
    _unknown,
    check_category,
    unknown_id,
)
from search.snippets import ELLIPSIS, SURROUND_CHARS, lead_snippet
from search.suggest import SUGGESTER_CANDIDATES, few_hits, query_words, suggestions
from search.surface import is_surface_field, stemmed_field
from search.words import surface_form

DEFAULT_ALIAS = "search"
PAGE = 500  # hits per request when streaming
_START, _END = "\ue000", "\ue001"  # highlight tags no article contains
# Sentences around a match, of about the length of a Whoosh fragment (the match and its
# SURROUND_CHARS on each side).
_FRAGMENT_CHARS = 2 * SURROUND_CHARS
_ALL_LABELS = 65_536  # terms aggregation size for dates and labels
_GROUP_MEMBERS = 10_000  # articles of a group listed as its copies, the earliest first
_EARLIEST = [{"date": {"order": "asc", "missing": "_last"}}, {"id": "asc"}]  # earliest_first
_COPY_FIELDS = ("id", "date", GROUP_FIELD)  # `earliest_first`, the group
_COPY_SHOWN = ("path", "title", "source", "category", "url", "copy_signature")  # `Copy`
# The words a truncated or fuzzy word stands for, listed by the cluster in a rewritten
# query's text: at most as many as a boolean query's clauses.
_MAX_REWRITTEN = MAX_EXPANSIONS
_REWRITTEN_TERM = re.compile(r"(?<![\w.])[\w.]+\.exact:([^\s()^]+)")
_UNREWRITTEN = re.compile(r"[*?~]")


def _client(url: str) -> tuple[OpenSearch, str, str]:
    """(client, alias, the URL without credentials) of a backend URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SearchError(f"The OpenSearch URL '{shown(url)}' is not http(s)://HOST:PORT[/alias].")
    alias = parts.path.strip("/") or DEFAULT_ALIAS
    user = os.environ.get("SEARCH_USER") or parts.username
    password = os.environ.get("SEARCH_PASSWORD") or parts.password
    netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
    host = urlunsplit((parts.scheme, netloc, "", "", ""))
    options = {"hosts": [host], "timeout": 60, "retry_on_timeout": True, "max_retries": 3}
    if user:
        options["http_auth"] = (user, password or "")
    if parts.scheme == "https":
        options.update(use_ssl=True, verify_certs=True)
        if os.environ.get("SEARCH_CA_CERTS"):
            options["ca_certs"] = os.environ["SEARCH_CA_CERTS"]
    return OpenSearch(**options), alias, f"{host}/{alias}"


def _cluster_error(location: str, error: Exception) -> SearchError:
    if isinstance(error, ClusterUnreachable):
        return SearchError(f"The OpenSearch cluster at {location} does not answer: is it "
                           "running, and is the URL right?")
    return SearchError(f"The OpenSearch cluster at {location} refused the request: "
                       f"{loading._reason(error)}.")


class OpenSearchBackend:
    """An index on an OpenSearch cluster, under an alias."""

    def __init__(self, url: str, *, shards: int | None = None,
                 replicas: int | None = None) -> None:
        self.client, self.alias, self.location = _client(url)
        self.shards = shards or int(os.environ.get("SEARCH_SHARDS", "1"))
        self.replicas = replicas if replicas is not None else int(
            os.environ.get("SEARCH_REPLICAS", "0"))

    def _current(self) -> str:
        try:
            index = loading.current_index(self.client, self.alias)
        except OpenSearchException as error:
            raise _cluster_error(self.location, error) from None
        if index is None:
            raise IndexMissingError(f"No index at {self.location}: run `search index FOLDER "
                                    f"--backend opensearch --url {self.location}` first.")
        if index.version != MAPPING_VERSION:
            raise loading.outdated(self.location)
        return index.name

    def reader(self) -> OpenSearchReader:
        return OpenSearchReader(self.client, self._current(), self.location)

    def version(self) -> str | None:
        try:
            index = loading.current_index(self.client, self.alias)
            if index is None:
                return None
            return f"{index.name}@{loading.read_manifest(self.client, self.alias, index.name)[1]}"
        except OpenSearchException as error:
            raise _cluster_error(self.location, error) from None

    def update(self, paths, *, fresh: bool = False, field_map: Mapping[str, str] = {},
               allow_removal: bool = False, progress=None, on_start=None,
               on_stage=None) -> IndexReport:
        return loading.update(self.client, self.alias, self.location, paths, fresh=fresh,
                              field_map=field_map, allow_removal=allow_removal,
                              progress=progress, on_start=on_start, on_stage=on_stage,
                              shards=self.shards, replicas=self.replicas)

    def stats(self) -> IndexStats:
        index = self._current()
        client = self.client
        try:
            files, updated_at = loading.read_manifest(client, self.alias, index)
            found = client.search(index=index, body={"size": 0, "track_total_hits": True, "aggs": {
                "first": {"terms": {"field": "date", "size": 1, "order": {"_key": "asc"}}},
                "last": {"terms": {"field": "date", "size": 1, "order": {"_key": "desc"}}},
                "sources": {"terms": {"field": "source_label", "size": _ALL_LABELS}},
                "categories": {"terms": {"field": "category_key", "size": _ALL_LABELS}}}})
            size = client.indices.stats(index=index, metric="store")["_all"]["primaries"][
                "store"]["size_in_bytes"]
        except OpenSearchException as error:
            raise _cluster_error(self.location, error) from None
        aggs = found["aggregations"]
        first = [b["key"] for b in aggs["first"]["buckets"]]
        last = [b["key"] for b in aggs["last"]["buckets"]]
        names: dict[str, list[tuple[int, str]]] = {}
        for bucket in aggs["sources"]["buckets"]:
            key, _, name = bucket["key"].partition("\t")
            names.setdefault(key, []).append((bucket["doc_count"], name))
        sources = [Count(key, sum(n for n, _ in found),
                         min(found, key=lambda pair: (-pair[0], pair[1]))[1])
                   for key, found in names.items()]
        categories = [Count(b["key"], b["doc_count"]) for b in aggs["categories"]["buckets"]]
        return IndexStats(
            index_dir=self.location, documents=found["hits"]["total"]["value"],
            first_date=first[0] if first else None, last_date=last[0] if last else None,
            sources=tuple(sorted(sources, key=lambda c: (-c.documents, c.label))),
            categories=tuple(sorted(categories, key=lambda c: (-c.documents, c.label))),
            size_bytes=size, updated_at=updated_at,
            field_maps=tuple((key, entry.field_map) for key, entry in sorted(files.items())
                             if entry.field_map))

    def check(self) -> IndexCheck:
        index = self._current()
        try:
            health = self.client.cluster.health(index=index)
            documents = self.client.count(index=index)["count"]
        except OpenSearchException as error:
            raise _cluster_error(self.location, error) from None
        problems = () if health["status"] != "red" else (
            f"index {index} is red: some of its shards have no copy on a live node",)
        return IndexCheck(index_dir=self.location, generation=index, documents=documents,
                          files_checked=0, problems=problems,
                          advice="Bring the missing nodes back, or run `search rebuild`."
                          if problems else "")


def _snippet(fragments: Sequence[str], body: str) -> Snippet:
    """The highlighter's fragments (with _START/_END around matches) as our Snippet: white
    space collapsed, fragments joined by an ellipsis, offsets of the marked words."""
    text, highlights, length = [], [], 0
    first = " ".join(fragments[0].replace(_START, "").replace(_END, "").split()) if fragments \
        else ""
    if fragments and not " ".join(body.split()).startswith(first):
        text.append(ELLIPSIS + " ")
        length += 2
    for number, fragment in enumerate(fragments):
        if number:
            text.append(f" {ELLIPSIS} ")
            length += 3
        plain, marks = _marks(" ".join(fragment.split()))
        highlights.extend((length + start, length + end) for start, end in marks)
        text.append(plain)
        length += len(plain)
    plain_body = " ".join(body.split())
    last = " ".join(fragments[-1].replace(_START, "").replace(_END, "").split())
    if fragments and not plain_body.endswith(last):
        text.append(" " + ELLIPSIS)
    return Snippet("".join(text), tuple(highlights))


def _marks(marked: str) -> tuple[str, tuple[tuple[int, int], ...]]:
    """A whole field highlighted by the cluster, as its text and the offsets of its marks."""
    text, highlights, length = [], [], 0
    for number, piece in enumerate(marked.split(_START)):
        if number:
            word, _, piece = piece.partition(_END)
            highlights.append((length, length + len(word)))
            text.append(word)
            length += len(word)
        text.append(piece)
        length += len(piece)
    return "".join(text), tuple(highlights)


_HIGHLIGHT = {
    "pre_tags": [_START], "post_tags": [_END], "require_field_match": True,
    "fields": {
        "body": {"fragment_size": _FRAGMENT_CHARS, "number_of_fragments": SNIPPET_FRAGMENTS},
        "body.exact": {"fragment_size": _FRAGMENT_CHARS,
                       "number_of_fragments": SNIPPET_FRAGMENTS},
        "title": {"number_of_fragments": 0}, "title.exact": {"number_of_fragments": 0},
    },
}


class OpenSearchReader:
    """Queries on one concrete index (the one the alias named when opened)."""

    def __init__(self, client: OpenSearch, index: str, location: str) -> None:
        self.client = client
        self.index = index
        self.location = location

    def close(self) -> None:
        pass

    def _search(self, body: dict, **options) -> dict:
        """The cluster's answer to `body`, scored with the statistics of every shard
        (`dfs_query_then_fetch`)."""
        # A shard with no live copy is an error, never an answer with fewer hits.
        return self._asked(lambda: self.client.search(
            index=self.index, body=body, search_type="dfs_query_then_fetch",
            allow_partial_search_results=False, **options))

    def _filtered(self, bodies: list[dict]) -> list[dict]:
        """The cluster's answers to `bodies`, filters that need no scores, in one request
        (a search each was a round trip each, for every hit shown)."""
        if not bodies:
            return []
        header = {"search_type": "query_then_fetch", "allow_partial_search_results": False}
        answers = self._asked(lambda: self.client.msearch(
            index=self.index, body=[line for body in bodies for line in (header, body)]))
        for answer in answers["responses"]:
            if "error" in answer:
                if answer.get("status") == 404:
                    raise self._gone()
                error = answer["error"]
                reason = ((error.get("reason") or error.get("type"))
                          if isinstance(error, dict) else error)
                raise SearchError(f"The OpenSearch cluster at {self.location} refused the "
                                  f"request: {reason}.")
        return answers["responses"]

    def _asked(self, ask: Callable[[], dict]) -> dict:
        """What `ask` gets from the cluster; its refusals as our one-line errors."""
        try:
            return ask()
        except TransportError as error:
            if isinstance(error, NotFoundError):
                raise self._gone() from None
            raise _cluster_error(self.location, error) from None
        except OpenSearchException as error:
            raise _cluster_error(self.location, error) from None

    def _gone(self) -> IndexMissingError:
        return IndexMissingError(f"The index at {self.location} is gone: run `search index` "
                                 "again.")

    def _check_known(self, filters: Filters) -> None:
        """An unknown --source or --category is named with the closest known ones."""
        if filters.source:
            key = source_key(filters.source) or ""
            if not self._labels("source_match", key):
                raise FilterError(_unknown("source", filters.source, key,
                                           sorted(self._labels("source"))))
        if filters.category:
            check_category(filters.category, sorted(self._labels("category_key")))

    def _labels(self, fieldname: str, only: str | None = None) -> set[str]:
        terms = {"field": fieldname, "size": _ALL_LABELS}
        if only is not None:
            terms["include"] = [only]
        found = self._search({"size": 0, "aggs": {"labels": {"terms": terms}}})
        return {bucket["key"] for bucket in found["aggregations"]["labels"]["buckets"]}

    def _query(self, text: str, filters: Filters,
               match_all: bool = True) -> tuple[wq.Query | None, dict]:
        """The parsed query of `text` (None without words) and its DSL with `filters`."""
        clauses = restriction(filters)
        if not text.strip():
            return None, {"bool": {"filter": clauses}}
        parsed = parse_query(text, SCHEMA, match_all=match_all)
        return parsed, {"bool": {"must": [to_dsl(parsed)], "filter": clauses}}

    def _hits(self, query: dict, sort: str, size: int, after: list | None = None,
              aggs: dict | None = None, highlight: bool = True, collapse: bool = False,
              counted: bool = True) -> dict:
        """The best `size` hits of `query`; `counted`, with the number of all of them
        (which makes every shard visit every match)."""
        body: dict = {"query": query, "size": size, "track_total_hits": counted,
                      "sort": ([{"date": {"order": "desc", "missing": "_last"}}, {"id": "asc"}]
                               if sort == "date" else ["_score", {"id": "asc"}])}
        if highlight:
            body["highlight"] = _HIGHLIGHT
        if after:
            body["search_after"] = after
        if aggs:
            body["aggs"] = aggs
        if collapse:
            # One hit a group; the articles shown are read afterwards (`_one_per_group`).
            body["collapse"] = {"field": GROUP_FIELD}
            body["_source"] = list(_COPY_FIELDS)
        return self._search(body)

    def _prepare(self, text: str, sort: str,
                 filters: Filters) -> tuple[bool, str, wq.Query | None, dict]:
        """(whether the filters alone list articles, the sort order, the parsed query, its
        DSL)."""
        if sort not in SORT_ORDERS:
            raise SearchError(f"Unknown sort order '{sort}'; use one of {', '.join(SORT_ORDERS)}.")
        listing = not text.strip() and any(vars(filters).values())
        if not text.strip() and not listing:
            parse_query(text, SCHEMA)  # the index folder's error for a query without words
        parsed, query = self._query(text, filters)
        self._check_known(filters)
        return listing, "date" if listing else sort, parsed, query

    def search(self, text: str, *, limit: int = 10, sort: str = "relevance",
               filters: Filters = Filters(), facets: bool = False, explain: bool = False,
               copies: bool = False, offset: int = 0) -> SearchResults:
        """As the Whoosh reader's `search`: `offset` skips the first hits (a page)."""
        listing, sort, parsed, query = self._prepare(text, sort, filters)
        wanted = offset + limit
        scored = sort == "relevance" and not listing
        # One hit a group of copies unless `copies`: the best of each, collapsed on its key.
        depth = max(wanted, RERANK_DEPTH) if scored else wanted
        aggs = _facet_aggs() if facets else None
        # A page of copies in the cluster's order shows every hit it reads: highlighted at
        # once. Groups, or the re-ranking, read other hits than those shown, highlighted
        # afterwards (`_highlight`, `_one_per_group`).
        at_once = copies and not scored
        found = self._hits(query, sort, depth, aggs=aggs, highlight=at_once, collapse=not copies)
        partial = False
        if not listing and not found["hits"]["hits"] and _has_several_terms(parsed):
            parsed, query = self._query(text, filters, match_all=False)
            found = self._hits(query, sort, depth, aggs=aggs, highlight=at_once,
                               collapse=not copies)
            partial = bool(found["hits"]["hits"])
        if copies:
            raw = self._reranked(found["hits"]["hits"], parsed) if scored \
                else found["hits"]["hits"]
            page = raw[offset:wanted]
            if not at_once and not listing:
                self._highlight(query, page)
            hits = tuple(_hit(rank, item, scored)
                         for rank, item in enumerate(page, start=offset + 1))
        else:
            groups = found["hits"]["hits"]
            if scored:
                # As the index folder ranks groups: the best articles re-ranked, each group
                # at the rank of its first among them, the others after in BM25's order.
                best = self._hits(query, sort, RERANK_DEPTH, highlight=False,
                                  counted=False)["hits"]["hits"]
                groups = _in_order_of(self._reranked(best, parsed), groups)
            hits = self._one_per_group(groups[offset:wanted], query, scored, offset,
                                       not listing)
        total = found["hits"]["total"]["value"]
        return SearchResults(
            query=text, total=total, partial=partial, hits=hits,
            suggestions=tuple(self._suggestions(text)
                              if partial or few_hits(total, len(hits), limit, offset)
                              else ()),
            explanation=self.explain(text) if explain else None,
            facets=_facets(found["aggregations"]) if facets else ())

    def _suggestions(self, text: str) -> list[str]:
        """"Did you mean" as the Whoosh reader says it (`search.suggest.suggestions`): the
        forms near each word of `text` that the term suggester finds in the surface fields
        of the default fields, and the word's own form, each with the articles having it
        (the largest count of a field, as in the Whoosh reader's vocabulary)."""
        forms = list(dict.fromkeys(form for word in query_words(text)
                                   if (form := surface_form(word))))
        if not forms:
            return []

        @functools.cache
        def vocabulary() -> dict[str, int]:  # asked for only if a word is rare
            fields = [f"{name}.exact" for name in DEFAULT_FIELDS]
            near = {"text": " ".join(forms), "term": {
                "suggest_mode": "always", "max_edits": 2, "prefix_length": 0,
                "min_word_length": 1, "size": SUGGESTER_CANDIDATES, "min_doc_freq": 0,
                "max_term_freq": 1_000_000_000, "string_distance": "levenshtein"}}
            found = self._search({"size": 0, "track_total_hits": False, "suggest": {
                field: {**near, "term": {**near["term"], "field": field}} for field in fields},
                "aggs": {"own": _forms_aggregation(forms)}})
            near_forms = [(option["text"], option["freq"])
                          for entries in found["suggest"].values()
                          for entry in entries for option in entry["options"]]
            return _largest_counts(
                near_forms + _form_buckets(found["aggregations"]["own"]["buckets"]))

        return suggestions(text, vocabulary, self._family_count)

    def _family_count(self, word: str) -> int:
        """The articles that have `word`'s term (its family) in one of the default fields
        (the largest count of a field), as the Whoosh reader counts them."""
        found = self._search({"size": 0, "track_total_hits": False, "aggs": {"family": {
            "filters": {"filters": {name: {"term": {name: analysis.term(word)}}
                                    for name in DEFAULT_FIELDS}}}}})
        return max(bucket["doc_count"]
                   for bucket in found["aggregations"]["family"]["buckets"].values())

    def _one_per_group(self, page: list[dict], query: dict, scored: bool, offset: int,
                       highlight: bool) -> tuple[Hit, ...]:
        """The hits of `page`, each the best of its group of copies, shown by the group's
        earliest article that `query` matches, at the rank of its best, with the ids of
        the group's other articles; `highlight` marks the articles shown."""
        keys = [item["_source"][GROUP_FIELD] for item in page]
        if not keys:
            return ()
        # For each group, in one request: its members, and its earliest that matches.
        answers = self._filtered([body for key in keys for body in (
            {"size": _GROUP_MEMBERS, "_source": list(_COPY_FIELDS), "sort": _EARLIEST,
             "query": {"term": {GROUP_FIELD: key}}},
            {"size": 1, "_source": list(_COPY_FIELDS), "sort": _EARLIEST,
             "query": {"bool": {"must": [query], "filter": [{"term": {GROUP_FIELD: key}}]}}})])
        members = {key: [item["_source"] for item in every["hits"]["hits"]]
                   for key, every in zip(keys, answers[::2], strict=True)}
        shown = {key: matching["hits"]["hits"][0]["_source"]["id"]  # the article shown
                 for key, matching in zip(keys, answers[1::2], strict=True)
                 if matching["hits"]["hits"]}
        articles = self._articles(query, [shown.get(key, item["_source"]["id"])
                                          for key, item in zip(keys, page, strict=True)],
                                  highlight)
        hits: list[Hit] = []
        for key, item in zip(keys, page, strict=True):
            chosen = shown.get(key, item["_source"]["id"])
            if chosen not in articles:
                continue  # removed since the query ran, by a load under way
            others = sorted((source for source in members.get(key, ())
                             if source["id"] != chosen), key=earliest_first)
            hit = _hit(offset + len(hits) + 1, item, scored, shown=articles[chosen])
            hits.append(_with_copies(hit, [source["id"] for source in others]))
        return tuple(hits)

    def rank_words(self, text: str, *, limit: int = 10) -> list[tuple[str, float]]:
        """As the Whoosh reader's `rank_words` (for evaluations): (id, score) of the best
        articles for `text` read as plain words, re-ranked as `search` ranks them."""
        parsed = parse_words(text, SCHEMA)
        if parsed is None:
            return []
        raw = self._search({"query": to_dsl(parsed), "size": max(limit, RERANK_DEPTH),
                            "_source": ["id", RANKED_FIELD]})["hits"]["hits"]
        return [(item["_source"]["id"], item["_score"])
                for item in self._reranked(raw, parsed)[:limit]]

    def _reranked(self, raw: list[dict], parsed: wq.Query | None) -> list[dict]:
        """`raw`, hits ranked by the cluster, with the first `RERANK_DEPTH` re-scored by
        where the query's words stand in their bodies, as the Whoosh reader re-scores them
        (`search.ranking`): the positions are read from each hit's text by our analyzer
        (the cluster's own count stop words and paragraph breaks), the IDFs from the
        cluster's counts."""
        terms = _ranked_terms(parsed) if parsed is not None else []
        if not terms or not raw:
            return raw
        distinct = list(dict.fromkeys(terms))
        answers = self._filtered([
            {"size": 0, "track_total_hits": True, "query": query} for query in
            [*({"term": {RANKED_FIELD: term}} for term in distinct), {"match_all": {}}]])
        *having, articles = (answer["hits"]["total"]["value"] for answer in answers)
        idf = {term: ranking.idf(articles, count)
               for term, count in zip(distinct, having, strict=True)}
        positions = {at: {term: found for term, found in analysis.term_positions(
            item["_source"].get(RANKED_FIELD) or "").items() if term in idf}
            for at, item in enumerate(raw[:RERANK_DEPTH])}
        order = reranked([(item["_score"], at) for at, item in enumerate(raw)], terms, idf,
                         positions)
        for score, at in order:
            raw[at]["_score"] = score
        return [raw[at] for _, at in order]

    def _highlight(self, query: dict, items: list[dict]) -> None:
        """The highlights of `query` in the articles of `items`, set on them: asked for
        those shown only (the re-ranking reads more hits than it shows, and the
        highlights of all of them were most of a search's time on the node)."""
        found = self._articles(query, [item["_source"]["id"] for item in items], True,
                               source=False)
        for item in items:
            item["highlight"] = found.get(item["_source"]["id"], {}).get("highlight", {})

    def _articles(self, query: dict, ids: list[str], highlight: bool,
                  source: bool = True) -> dict[str, dict]:
        """The hits of `query` among the articles `ids`, by id, with their highlights."""
        if not ids:
            return {}
        body = {"query": {"bool": {"must": [query], "filter": [{"terms": {"id": ids}}]}},
                "size": len(ids), "_source": source, "docvalue_fields": ["id"]}
        if highlight:
            body["highlight"] = _HIGHLIGHT
        found = self._search(body)
        return {hit["fields"]["id"][0]: hit for hit in found["hits"]["hits"]}

    def count(self, texts: Sequence[str], *, by: str = "month",
              filters: Filters = Filters()) -> CountTable:
        views.check_bucket(by)
        queries = [self._query(text, filters)[1] for text in texts]
        self._check_known(filters)
        field = {"source": "source", "category": "category_key"}.get(by, "date")
        missing = views.NO_LABEL.get(by, "")
        series = []
        for text, query in zip(texts, queries, strict=True):
            found = self._search({"size": 0, "query": query, "aggs": {"buckets": {"terms": {
                "field": field, "size": _ALL_LABELS, "missing": missing}}}})
            counts: Counter = Counter()
            for bucket in found["aggregations"]["buckets"]["buckets"]:
                label = bucket["key"] if field != "date" else views._date_bucket(
                    bucket["key"], by)
                counts[label] += bucket["doc_count"]
            series.append((text, counts))
        resolved = restriction_dates(filters)
        return views.count_table(by, series, *resolved)

    def stream(self, text: str, *, sort: str = "relevance", filters: Filters = Filters(),
               snippets: bool = True, bodies: bool = False,
               limit: int | None = None) -> Iterator[Hit]:
        listing, sort, parsed, query = self._prepare(text, sort, filters)
        if not listing and not self._hits(query, sort, 1, highlight=False,
                                          counted=False)["hits"]["hits"] \
                and _has_several_terms(parsed):
            parsed, query = self._query(text, filters, match_all=False)
        return self._pages(query, sort, snippets, bodies, limit,
                           ranked=parsed if sort == "relevance" and not listing else None)

    def _pages(self, query: dict, sort: str, snippets: bool, bodies: bool,
               limit: int | None, ranked: wq.Query | None) -> Iterator[Hit]:
        """The hits page by page; `ranked`, the parsed query when they are ranked by
        relevance, re-ranks the first page's best."""
        rank, after = 0, None
        scored = ranked is not None
        while limit is None or rank < limit:
            size = PAGE if limit is None else min(PAGE, limit - rank)
            # The first page holds at least the hits that the re-ranking re-scores.
            asked = max(size, RERANK_DEPTH) if scored and after is None else size
            page = self._hits(query, sort, asked, after=after, highlight=snippets,
                              counted=False)["hits"]["hits"]
            if not page:
                return
            after = page[-1]["sort"]  # the cluster's order, which the next page follows
            for item in (self._reranked(page, ranked) if scored and rank == 0 else page)[:size]:
                rank += 1
                yield _hit(rank, item, scored, snippet=snippets, body=bodies)
            if len(page) < asked or asked > size:
                return

    def _document(self, article_id: str) -> dict:
        found = self._search({"size": 1, "query": {"term": {"id": article_id}}})
        if not found["hits"]["hits"]:
            raise UnknownArticleError(unknown_id(article_id, sorted(self._labels("id"))))
        return found["hits"]["hits"][0]["_source"]

    def article(self, article_id: str, highlight: str | None = None) -> ArticleView:
        fields = self._document(article_id)
        terms = {"title": set(), "body": set()}
        if highlight and highlight.strip():
            for leaf in parse_query(highlight, SCHEMA).leaves():
                name = getattr(leaf, "fieldname", None)
                if name in terms and hasattr(leaf, "text"):
                    terms[name].add(leaf.text)
        analyzer = french_analyzer()
        title = views.marked(fields.get("title", ""), terms["title"], analyzer)
        paragraphs = tuple(views.marked(paragraph, terms["body"], analyzer)
                           for paragraph in PARAGRAPH_BREAK.split(fields.get("body", ""))
                           if paragraph.strip())
        return ArticleView(
            id=fields["id"], path=fields["path"], title=title.text, date=fields.get("date"),
            dateline=fields.get("dateline"), category=fields.get("category"),
            source=fields.get("source"), url=fields.get("url"), author=fields.get("author"),
            lead=fields.get("lead"), paragraphs=paragraphs, title_highlights=title.highlights)

    def copies_of(self, article_id: str) -> tuple[Copy, ...]:
        """The articles of the group of `article_id`, earliest first, each with its
        similarity to it."""
        fields = self._document(article_id)
        mine = signature_of(fields)
        [answer] = self._filtered([{
            "size": _GROUP_MEMBERS, "_source": [*_COPY_FIELDS, *_COPY_SHOWN], "sort": _EARLIEST,
            "query": {"term": {GROUP_FIELD: fields.get(GROUP_FIELD, article_id)}}}])
        found = [source for item in answer["hits"]["hits"]
                 if (source := item["_source"])["id"] != article_id]
        return tuple(Copy(id=f["id"], path=f["path"], title=f.get("title", ""),
                          date=f.get("date"), source=f.get("source"),
                          category=f.get("category"), url=f.get("url"),
                          similarity=shown_similarity(mine, signature_of(f)))
                     for f in sorted([fields, *found], key=earliest_first))

    def explain(self, text: str) -> Explanation:
        """Each word of `text`, the terms it searches with their article counts, and the
        archive's words as written that each stands for, as search.explain gives them.
        The cluster does not hand out its vocabulary: the words a truncated or fuzzy word
        stands for are its query rewritten by every shard (`_rewritten`), and a term's
        forms are found among the words that start as its stem's forms do
        (`search.explain.stem_prefixes`), its lexicon forms, or a name's spellings near
        the word typed."""
        return explain_words(text, SCHEMA, self._explained)

    def _explained(self, word: str, parsed: wq.Query) -> ExplainedWord:
        """One query word's terms, their article counts and forms on the cluster."""
        leaves = list(parsed.leaves()) if not parsed.is_leaf() else [parsed]
        own = {leaf.text for leaf in leaves if type(leaf) is wq.Term}
        searched: dict[tuple[str, str], set[str]] = {}  # (origin, term) → fields
        for leaf in leaves:
            for origin, term in searched_terms(leaf, self._expanded, own):
                searched.setdefault((origin, term), set()).add(leaf.field())
        counted = self._filtered([
            {"size": 0, "track_total_hits": True, "query": {"bool": {"should": [
                {"term": {field_name(fieldname): term}} for fieldname in fieldnames]}}}
            for (_, term), fieldnames in searched.items()])
        written = {term for (origin, term), fieldnames in searched.items()
                   if _as_written(origin, fieldnames)}
        written_counts = self._form_counts(sorted(written))  # one request for them all
        terms = []
        for ((origin, term), fieldnames), answer in zip(searched.items(), counted, strict=True):
            documents = answer["hits"]["total"]["value"]
            if origin == "transliteration" and not documents:
                continue  # no name spelt like the word: nothing to show
            if _as_written(origin, fieldnames):
                term_forms = (FormCount(term, written_counts.get(term, documents)),)
            else:
                term_forms = self._forms_of(term, word)
            terms.append(ExplainedTerm(term, origin, documents, term_forms, entity_name(term)))
        fields = tuple(dict.fromkeys(stemmed_field(leaf.field()) for leaf in leaves))
        return ExplainedWord(word, fields, tuple(in_order(terms)))

    def _forms_of(self, term: str, word: str) -> tuple[FormCount, ...]:
        """The archive's words as written whose term (or name key) is `term`, with their
        article counts, the most frequent first."""
        if term.startswith(lexicon.ENTITY_MARK):
            candidates = {words[0] for form in lexicon.forms_of(term)
                          if len(words := lexicon.normalized_words(form)) == 1}
        elif term.startswith(analysis.TRANSLITERATION_MARK):
            written = surface_form(word) or ""
            candidates = self._rewritten([
                {"fuzzy": {f"{name}.exact": {"value": written, "fuzziness": 2,
                                             "max_expansions": _MAX_REWRITTEN}}}
                for name in DEFAULT_FIELDS]) if written else set()
        else:
            candidates = self._rewritten([
                {"prefix": {f"{name}.exact": {"value": prefix}}}
                for name in DEFAULT_FIELDS for prefix in stem_prefixes(term)])
        forms = [form for form in candidates if term in terms_of_form(form)]
        counts = self._form_counts(forms)
        return tuple(sorted((FormCount(form, count) for form, count in counts.items()
                             if count), key=by_frequency))

    def _expanded(self, leaf: wq.Query) -> set[str]:
        """The words a truncated or fuzzy leaf stands for on the cluster."""
        return self._rewritten([to_dsl(leaf)])

    def _rewritten(self, queries: list[dict]) -> set[str]:
        """The words that multi-term `queries` (prefix, wildcard, fuzzy) stand for in the
        index: the queries as every shard rewrites them, one term each (the validate
        API's `rewrite`), at most _MAX_REWRITTEN a query."""
        for query in queries:
            (params,) = next(iter(query.values())).values()
            params["rewrite"] = f"top_terms_{_MAX_REWRITTEN}"
        answer = self._asked(lambda: self.client.indices.validate_query(
            index=self.index, body={"query": {"bool": {"should": queries}}}, rewrite=True,
            all_shards=True))
        if not answer.get("valid"):
            reasons = {found.get("error", "") for found in answer.get("explanations", ())}
            raise SearchError(f"The OpenSearch cluster at {self.location} could not list the "
                              f"words of a truncated or fuzzy word: {'; '.join(reasons)}.")
        # A field without any such word keeps its query unrewritten (`title.exact:visit*`).
        return {word for explained in answer.get("explanations", ())
                for found in _REWRITTEN_TERM.finditer(explained.get("explanation", ""))
                if not _UNREWRITTEN.search(word := found.group(1))}

    def _form_counts(self, forms: Sequence[str]) -> dict[str, int]:
        """The articles that have each of `forms` as written in a default field (the
        largest count of a field, as the Whoosh reader's vocabulary counts them)."""
        if not forms:
            return {}
        found = self._search({"size": 0, "track_total_hits": False,
                              "aggs": {"forms": _forms_aggregation(forms)}})
        return _largest_counts(_form_buckets(found["aggregations"]["forms"]["buckets"]))


def _as_written(origin: str, fieldnames: set[str]) -> bool:
    """Whether a term of `search explain` is a word as written, its own only form."""
    return origin in ("exact", "truncated") or any(map(is_surface_field, fieldnames))


def _forms_aggregation(forms: Sequence[str]) -> dict:
    """A filters aggregation: the articles having each of `forms` as written, in each
    default field (`_form_buckets` reads it)."""
    return {"filters": {"filters": {f"{name}.exact\t{form}": {"term": {f"{name}.exact": form}}
                                    for name in DEFAULT_FIELDS for form in forms}}}


def _form_buckets(buckets: Mapping[str, dict]) -> list[tuple[str, int]]:
    """(form, articles) of each field's bucket of a `_forms_aggregation`."""
    return [(key.partition("\t")[2], bucket["doc_count"]) for key, bucket in buckets.items()]


def _largest_counts(counted: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Each form with its largest count (that of its field with the most articles, as the
    Whoosh reader's vocabulary counts a form)."""
    largest: dict[str, int] = {}
    for form, count in counted:
        if count > largest.get(form, 0):
            largest[form] = count
    return largest


def restriction_dates(filters: Filters) -> tuple[str | None, str | None]:
    from search.dates import resolve_date

    return (filters.since and resolve_date(filters.since),
            filters.until and resolve_date(filters.until))


def _facet_aggs() -> dict:
    return {"source": {"terms": {"field": "source", "size": _ALL_LABELS,
                                 "missing": views.NO_LABEL["source"]}},
            "category": {"terms": {"field": "category_key", "size": _ALL_LABELS,
                                   "missing": views.NO_LABEL["category"]}},
            "date": {"terms": {"field": "date", "size": _ALL_LABELS, "missing": ""}}}


def _facets(aggs: dict) -> tuple[Facet, ...]:
    """search.views.facets from the aggregations."""
    found = []
    for name in views.FACETS:
        counts: Counter = Counter()
        for bucket in aggs["date" if name == "year" else name]["buckets"]:
            label = views._date_bucket(bucket["key"], "year") if name == "year" else bucket["key"]
            counts[label] += bucket["doc_count"]
        top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        found.append(Facet(name=name, counts=tuple(Count(label, n) for label, n in
                                                   top[:views.FACET_SIZE]),
                           others=sum(n for _, n in top[views.FACET_SIZE:])))
    return tuple(found)


def _in_order_of(best: list[dict], groups: list[dict]) -> list[dict]:
    """One hit a group: the groups of `best` (hits re-ranked) at the rank of their first
    there, then the other `groups` (collapsed hits) in their order."""
    first: dict[str, dict] = {}
    for item in [*best, *groups]:
        first.setdefault(item["_source"][GROUP_FIELD], item)
    return list(first.values())


def _with_copies(hit: Hit, copies: list[str]) -> Hit:
    from dataclasses import replace

    return replace(hit, copies=tuple(copies))


def _hit(rank: int, item: dict, scored: bool, snippet: bool = True, body: bool = False,
         shown: dict | None = None) -> Hit:
    """A Hit of a search hit (`shown`: the hit whose article stands for it, its group's
    earliest, at the rank of `item`)."""
    shown = shown or item
    source = shown["_source"]
    highlight = shown.get("highlight", {})
    text = source.get("body", "")
    fragments = highlight.get("body") or highlight.get("body.exact")
    title_marks: tuple[tuple[int, int], ...] = ()
    if not snippet:
        found = Snippet("")
    elif fragments:
        found = _snippet(fragments, text)
    else:
        found = lead_snippet(text)
        marked = highlight.get("title") or highlight.get("title.exact")
        if marked:
            title, title_marks = _marks(marked[0])
            if title != source.get("title"):
                title_marks = ()
    return Hit(
        rank=rank, id=source["id"], path=source["path"], title=source.get("title", ""),
        date=source.get("date"), dateline=source.get("dateline"),
        category=source.get("category"), source=source.get("source"), url=source.get("url"),
        score=round(item["_score"], SCORE_DIGITS) if scored else None, snippet=found,
        body=text if body else None, source_name=source.get("source_name"),
        title_highlights=title_marks)



