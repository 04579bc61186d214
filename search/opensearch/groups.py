"""Copy groups as keys on the cluster, for queries that collapse on them.

Each article's `copy_group` is the id of the earliest article of its group of copies
(search.copies: the connected parts of the copy relation, over the whole index). An
article is written as a group of its own; once a load's writes and removals are done,
`regrouped` finds again the groups of the articles written and of those that shared a group
with an article rewritten or removed (a removal can split a group), and updates in place
the articles whose key changed. The groups are found on the cluster, batch by batch:
the articles sharing a band term with any article of a batch, verified, make the next
batch, until no new copy turns up. A new index, every article of which was just written,
reads at once the articles having a band term that another has too, which the cluster
counts (most articles have none: 36k OrangeSum articles regroup in about 1.3 s).

A load that stops between its writes and its regrouping leaves keys behind, which the
next load puts right: an article rewritten keeps its group's key until it is regrouped,
so the next load, which writes it again (its manifest was not written), finds that
group again; an article added is a group of its own until then, and is written again
too; the keys of the groups that removed articles were in are kept in a document of the
manifests index (`BulkWriter`'s journal) until their groups are regrouped.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator, Sequence

from opensearchpy import OpenSearch

from search.copies import are_copies, band_terms, earliest_first, group, usable

GROUP_FIELD = "copy_group"
FIELDS = ("id", "date", "copy_signature", GROUP_FIELD)  # what grouping reads of an article
TERMS_PER_SEARCH = 4000  # ids, keys or band terms a search asks for
PAGE = 1000  # articles an answer holds
# Band terms counted by one aggregation: about SHARED_PARTITION in a partition, of which
# at most SHARED_BUCKETS shared (the cluster's limit of buckets is 65,535).
SHARED_PARTITION = 40_000
SHARED_BUCKETS = 65_000


def signature_of(source: dict) -> bytes | None:
    """The MinHash signature of an article's `_source` (base64 there)."""
    value = source.get("copy_signature")
    return base64.b64decode(value) if value else None


def current_keys(client: OpenSearch, index: str, ids: Sequence[str]) -> dict[str, str]:
    """The group key of each of the articles `ids` that the index has (read before they
    are rewritten or removed: the others of their groups need regrouping)."""
    return {source["id"]: source.get(GROUP_FIELD) or source["id"]
            for source in _articles(client, index, "id", ids, ("id", GROUP_FIELD))}


def regrouped(client: OpenSearch, index: str, written: Iterable[str],
              old: Iterable[str] = (), *, whole: bool = False) -> list[dict]:
    """The bulk actions that set the group key of the articles `written`, of those whose
    key was one of `old`, and of every copy of these, copies of copies included: one for
    each article whose key changes. `whole`, every article of the index was written:
    only those that share a band term with another can have copies (`_shared_bands`),
    read at once. The index must have been refreshed after the writes."""
    if whole:
        known = {source["id"]: source for source in _articles(
            client, index, "copy_bands", _shared_bands(client, index))}
    else:
        known = {}
        batch = _new(known, [*_articles(client, index, "id", sorted(set(written))),
                             *_articles(client, index, GROUP_FIELD, sorted(set(old)))])
        while batch:
            batch = _new(known, _copies(client, index, batch))
    members = list(known.values())
    keys: dict[str, str] = {}
    for positions in group([signature_of(source) for source in members]):
        earliest = min((members[at] for at in positions), key=earliest_first)["id"]
        keys.update((members[at]["id"], earliest) for at in positions)
    return [{"_op_type": "update", "_index": index, "_id": id, "doc": {GROUP_FIELD: key}}
            for id, key in keys.items() if known[id].get(GROUP_FIELD) != key]


def _shared_bands(client: OpenSearch, index: str) -> list[str]:
    """The band terms that more than one article has, counted by the cluster in
    partitions of about SHARED_PARTITION terms (an aggregation's buckets are limited),
    more of them if one has more shared terms than its buckets hold."""
    distinct = client.search(index=index, allow_partial_search_results=False, body={
        "size": 0, "track_total_hits": False,
        "aggs": {"bands": {"cardinality": {"field": "copy_bands"}}}})["aggregations"]
    partitions = max(1, -(-distinct["bands"]["value"] // SHARED_PARTITION))
    while True:
        shared: list[str] = []
        for partition in range(partitions):
            found = client.search(index=index, allow_partial_search_results=False, body={
                "size": 0, "track_total_hits": False, "aggs": {"bands": {"terms": {
                    "field": "copy_bands", "min_doc_count": 2, "size": SHARED_BUCKETS,
                    "include": {"partition": partition, "num_partitions": partitions}}}}})
            bands = found["aggregations"]["bands"]
            if bands["sum_other_doc_count"]:
                break  # more shared terms than buckets: smaller partitions
            shared.extend(bucket["key"] for bucket in bands["buckets"])
        else:
            return sorted(shared)
        partitions *= 2


def _new(known: dict[str, dict], found: Iterable[dict]) -> list[dict]:
    """The articles of `found` not yet `known`, now known."""
    batch = []
    for source in found:
        if source["id"] not in known:
            known[source["id"]] = source
            batch.append(source)
    return batch


def _copies(client: OpenSearch, index: str, batch: list[dict]) -> Iterator[dict]:
    """The articles that are copies of an article of `batch` (sharing a band term with
    it, verified), the batch's own among them."""
    filed: dict[str, list[bytes]] = {}
    for source in batch:
        mine = signature_of(source)
        if usable(mine):
            for term in band_terms(mine):
                filed.setdefault(term, []).append(mine)
    for source in _articles(client, index, "copy_bands", sorted(filed)):
        theirs = signature_of(source)
        if usable(theirs) and any(are_copies(mine, theirs) for term in band_terms(theirs)
                                  for mine in filed.get(term, ())):
            yield source


def _articles(client: OpenSearch, index: str, field: str, values: Sequence[str],
              fields: Sequence[str] = FIELDS) -> Iterator[dict]:
    """The `fields` of every article whose `field` is one of `values`."""
    for start in range(0, len(values), TERMS_PER_SEARCH):
        query = {"terms": {field: list(values[start:start + TERMS_PER_SEARCH])}}
        after = None
        while True:
            body = {"query": query, "size": PAGE, "sort": [{"id": "asc"}],
                    "_source": list(fields), "track_total_hits": False}
            if after:
                body["search_after"] = after
            found = client.search(index=index, body=body,
                                  allow_partial_search_results=False)["hits"]["hits"]
            yield from (item["_source"] for item in found)
            if len(found) < PAGE:
                break
            after = found[-1]["sort"]
