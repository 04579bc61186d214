"""Analyzer parity: the share of token occurrences that OpenSearch's `_analyze` gives
exactly as search.analysis does, on a sample of OrangeSum (titles, headings, bodies).

    .venv/bin/python -m bench.opensearch_parity [--articles 2000] [--url http://HOST:9200]

Without --url a node is started with opensearch/node. The index's analyzer is made as a
load makes it (search.opensearch.settings, from the sample's words). Per article, the
tokens of both are compared as multisets (the paragraph-break token aside); the most
frequent differences are listed.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections import Counter
from contextlib import nullcontext

from opensearchpy import OpenSearch

from bench.common import DATA_DIR
from search.analysis import analyze
from search.opensearch.loading import cluster_snowball
from search.opensearch.local import local_cluster
from search.opensearch.settings import PARAGRAPH_TOKEN, index_body
from search.words import WORD_PATTERN, surface_form

_WORD = re.compile(WORD_PATTERN)
INDEX = "parity"


def sample(count: int) -> list[str]:
    texts = []
    with open(DATA_DIR / "orangesum" / "orangesum.jsonl", encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            texts.append("\n\n".join(record.get(name) or "" for name in
                                     ("title", "heading", "article")))
            if len(texts) == count:
                break
    return texts


def measure(client: OpenSearch, texts: list[str]) -> dict:
    vocabulary = {surface_form(word) for text in texts for word in _WORD.findall(text)}
    client.indices.delete(index=INDEX, ignore_unavailable=True)
    client.indices.create(index=INDEX, body=index_body(vocabulary, cluster_snowball(client)))
    ours_total = matched = theirs_total = 0
    missing: Counter = Counter()
    extra: Counter = Counter()
    for text in texts:
        ours = Counter(analyze(text))
        tokens = client.indices.analyze(index=INDEX, body={"analyzer": "french", "text": text})
        theirs = Counter(t["token"] for t in tokens["tokens"] if t["token"] != PARAGRAPH_TOKEN)
        ours_total += sum(ours.values())
        theirs_total += sum(theirs.values())
        matched += sum((ours & theirs).values())
        missing.update(ours - theirs)
        extra.update(theirs - ours)
    client.indices.delete(index=INDEX)
    return {"articles": len(texts), "vocabulary": len(vocabulary), "ours": ours_total,
            "theirs": theirs_total, "matched": matched, "share": matched / ours_total,
            "missing": missing.most_common(15), "extra": extra.most_common(15)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--url")
    args = parser.parse_args()
    texts = sample(args.articles)
    started = time.monotonic()
    with (nullcontext({"url": args.url}) if args.url else local_cluster()) as cluster:
        found = measure(OpenSearch(cluster["url"], timeout=120), texts)
    print(f"{found['articles']} OrangeSum articles, {found['vocabulary']:,} distinct words, "
          f"{found['ours']:,} token occurrences by search.analysis, {found['theirs']:,} by "
          f"_analyze: {found['matched']:,} the same, {100 * found['share']:.2f} % "
          f"({time.monotonic() - started:.0f} s)")
    print("ours, not theirs:", ", ".join(f"{t} {n}" for t, n in found["missing"]))
    print("theirs, not ours:", ", ".join(f"{t} {n}" for t, n in found["extra"]))


if __name__ == "__main__":
    main()
