"""Known-item MRR@10 on OrangeSum, the Whoosh backend against the OpenSearch backend, in the
same run, on the same documents and queries (bench/quality's task: bodies as documents,
titles and headings as queries, read as plain words).

    .venv/bin/python -m bench.opensearch_quality [--articles 10000] [--url http://HOST:9200]

The documents are every query's target and the first articles of the corpus up to
--articles. Without --url a node is started with opensearch/node. Also printed: indexing
time and query latency (median, 95th percentile) of each.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

from opensearchpy import OpenSearch

from bench.common import DATA_DIR
from bench.quality.systems import OurEngine
from bench.quality.tasks import Corpus, known_item_task
from search.models import Article
from search.opensearch.backend import OpenSearchReader
from search.opensearch.loading import BulkWriter, cluster_snowball
from search.opensearch.local import local_cluster
from search.opensearch.settings import index_body
from search.schema import copy_fields, document_fields
from search.words import surface_form

INDEX = "quality"
DEPTH = 10


def sample(corpus: Corpus, wanted: set[str], count: int) -> list[tuple[str, str]]:
    chosen = []
    for doc_id, text in corpus.documents():
        if len(chosen) < count or doc_id in wanted:
            chosen.append((doc_id, text))
    return chosen


def build_opensearch(client: OpenSearch, documents: list[tuple[str, str]]) -> float:
    from search.opensearch.loading import _WORD

    start = time.perf_counter()
    vocabulary = {surface_form(word) for _, text in documents for word in _WORD.findall(text)}
    client.indices.delete(index=INDEX, ignore_unavailable=True)
    client.indices.create(index=INDEX, body=index_body(vocabulary, cluster_snowball(client)))
    writer = BulkWriter(client, INDEX)
    for doc_id, text in documents:
        article = Article(id=doc_id, path="orangesum.jsonl", title="", body=text)
        writer.add_document(**document_fields(article), **copy_fields(article))
    writer.commit()
    return time.perf_counter() - start


def opensearch_ranker(client: OpenSearch):
    """The OpenSearch reader's ranking (its re-ranking by positions included)."""
    reader = OpenSearchReader(client, INDEX, "quality")
    return lambda text, limit: reader.rank_words(text, limit=limit)


def evaluate(rank, queries) -> dict[str, tuple[float, list[float]]]:
    """MRR@10 and latencies (ms) per kind of query."""
    by_kind: dict[str, tuple[list[float], list[float]]] = {}
    for query in queries:
        start = time.perf_counter()
        hits = rank(query.text, DEPTH)
        elapsed = 1000 * (time.perf_counter() - start)
        first = next((rank for rank, (doc_id, _) in enumerate(hits, start=1)
                      if doc_id in query.relevant), None)
        reciprocal, times = by_kind.setdefault(query.kind, ([], []))
        reciprocal.append(1 / first if first else 0.0)
        times.append(elapsed)
    return {kind: (statistics.mean(rr), times) for kind, (rr, times) in by_kind.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--url")
    args = parser.parse_args()
    task = known_item_task(DATA_DIR, DATA_DIR / "orangesum" / "known-item-dev.tsv")
    wanted = {doc_id for query in task.queries for doc_id in query.relevant}
    documents = sample(task.corpus, wanted, args.articles)
    results = {}
    with tempfile.TemporaryDirectory() as work:
        engine = OurEngine()
        start = time.perf_counter()
        corpus = Corpus("sample", Path(work) / "sample.jsonl", "id", "article")
        with open(corpus.path, "w", encoding="utf-8") as out:
            import json

            for doc_id, text in documents:
                out.write(json.dumps({"id": doc_id, "article": text}, ensure_ascii=False) + "\n")
        engine.build(corpus, Path(work) / "whoosh")
        built = {"whoosh": time.perf_counter() - start}
        with engine.open(Path(work) / "whoosh") as rank:
            results["whoosh"] = evaluate(rank, task.queries)
    with (nullcontext({"url": args.url}) if args.url else local_cluster()) as cluster:
        client = OpenSearch(cluster["url"], timeout=120)
        built["opensearch"] = build_opensearch(client, documents)
        results["opensearch"] = evaluate(opensearch_ranker(client), task.queries)
        client.indices.delete(index=INDEX)
    print(f"{len(documents):,} OrangeSum bodies, {len(task.queries):,} known-item queries")
    for system, found in results.items():
        print(f"{system:<10} built in {built[system]:.0f} s "
              f"({len(documents) / built[system]:.0f} docs/s)")
        for kind, (mrr, times) in sorted(found.items()):
            cut = statistics.quantiles(times, n=20)
            print(f"  {kind:<15} MRR@10 {mrr:.3f}  p50 {statistics.median(times):.1f} ms  "
                  f"p95 {cut[-1]:.1f} ms")


if __name__ == "__main__":
    main()
