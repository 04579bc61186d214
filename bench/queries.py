"""The query set of the speed benchmark, chosen once from the statistics of the 36k export.

    python -m bench.queries [--source FILE] [--per-type 50] [--out bench/queries.json]

Every size of `bench.speed` runs these same queries, stored in `bench/queries.json` with the
document frequency of each word in the export (bodies, lowercased words as written), so
that a run at 1M asks what a run at 36k asked. Drawn with a fixed seed, in bands of
document frequency so that rare, common and very common words all appear:

- `one word`: a third each of words in 2-29, 30-299 and 300-2,999 articles;
- `frequent word`: words in more than 3,000 articles;
- `two words`: two content words standing near each other in a body; a third of the pairs
  hold a word in more than 3,000 articles;
- `phrase`: two or three consecutive words of a body, quoted;
- `word*`: the first 4 to 6 letters of a word of 7 letters or more, drawn from the three
  bands and the words in more than 3,000 articles alike (its `df` is the sum over the
  words it expands to: at most the articles it matches);
- `word~`: a word of 5 letters or more, drawn from the four bands alike.

A content word has 4 letters or more and gives a term to our analyzer (stop words give
none); it is the one use of `search.analysis`, at choosing time only.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections import Counter
from pathlib import Path

from bench.common import DATA_DIR, orangesum_records

QUERIES_FILE = Path(__file__).resolve().parent / "queries.json"
QUERY_TYPES = ("one word", "frequent word", "two words", "phrase", "word*", "word~")
FREQUENT = 3000
BANDS = ((2, 30), (30, 300), (300, FREQUENT))
SEED = 15
_WORD = re.compile(r"[^\W\d_]+")


def body_words(body: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(body)]


def document_frequencies(source: Path) -> tuple[Counter, int]:
    frequencies: Counter = Counter()
    documents = 0
    for record in orangesum_records(source):
        body = (record.get("article") or "").strip()
        if body:
            documents += 1
            frequencies.update(set(body_words(body)))
    return frequencies, documents


def choose(source: Path, per_type: int, seed: int = SEED) -> dict:
    """`per_type` distinct queries of each type, with the document frequency of their words."""
    from search.analysis import analyze

    df, documents = document_frequencies(source)
    content = {w for w, n in df.items() if len(w) >= 4 and n >= 2 and analyze(w)}
    rng = random.Random(seed)
    bodies = [(record.get("article") or "").strip() for record in orangesum_records(source)]
    bodies = [b for b in bodies if b]

    def band_words(low: int, high: int) -> list[str]:
        return sorted(w for w in content if low <= df[w] < high)

    def drawn(candidates: list[str], count: int) -> list[str]:
        return rng.sample(candidates, min(count, len(candidates)))

    third = per_type // 3
    queries: dict[str, list[str]] = {}
    queries["one word"] = [w for i, (low, high) in enumerate(BANDS)
                           for w in drawn(band_words(low, high),
                                          per_type - 2 * third if i == 2 else third)]
    queries["frequent word"] = drawn(band_words(FREQUENT + 1, 10**9), per_type)

    def near_pair(with_frequent: bool) -> str | None:
        words = [w for w in body_words(rng.choice(bodies)) if w in content]
        if len(words) < 2:
            return None
        i = rng.randrange(len(words) - 1)
        first, second = words[i], words[min(len(words) - 1, i + rng.randint(1, 3))]
        if first == second or (max(df[first], df[second]) > FREQUENT) != with_frequent:
            return None
        return f"{first} {second}"

    def phrase() -> str | None:
        words = body_words(rng.choice(bodies))
        n = rng.choice((2, 3))
        if len(words) < n:
            return None
        start = rng.randrange(len(words) - n + 1)
        window = words[start:start + n]
        if window[0] not in content or window[-1] not in content:
            return None
        return '"' + " ".join(window) + '"'

    banded = [band_words(low, high) for low, high in (*BANDS, (FREQUENT + 1, 10**9))]

    def prefix() -> str | None:
        word = rng.choice(rng.choice(banded))
        return word[:rng.choice((4, 5, 6))] + "*" if len(word) >= 7 else None

    def fuzzy() -> str | None:
        word = rng.choice(rng.choice(banded))
        return word + "~" if len(word) >= 5 else None

    def distinct(make, count: int) -> list[str]:
        chosen: dict[str, None] = {}
        for _ in range(1000 * count):
            if len(chosen) == count:
                break
            text = make()
            if text:
                chosen[text] = None
        return list(chosen)

    queries["two words"] = (distinct(lambda: near_pair(True), third)
                            + distinct(lambda: near_pair(False), per_type - third))
    queries["phrase"] = distinct(phrase, per_type)
    queries["word*"] = distinct(prefix, per_type)
    queries["word~"] = distinct(fuzzy, per_type)
    def frequencies(text: str) -> list[int]:
        if text.endswith("*"):  # at most: the sum over the words it expands to
            head = text[:-1]
            return [sum(n for w, n in df.items() if w.startswith(head))]
        return [df[w] for w in body_words(text)]

    return {
        "source": source.name,
        "documents": documents,
        "seed": seed,
        "queries": {kind: [{"text": text, "df": frequencies(text)} for text in queries[kind]]
                    for kind in QUERY_TYPES},
    }


def load(path: Path = QUERIES_FILE) -> dict[str, list[str]]:
    """The query texts of each type, from the stored query set."""
    stored = json.loads(path.read_text("utf-8"))["queries"]
    return {kind: [q["text"] for q in stored[kind]] for kind in QUERY_TYPES}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DATA_DIR / "orangesum" / "orangesum.jsonl")
    parser.add_argument("--per-type", type=int, default=50)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=QUERIES_FILE)
    args = parser.parse_args(argv)
    chosen = choose(args.source, args.per_type, args.seed)
    args.out.write_text(json.dumps(chosen, ensure_ascii=False, indent=1) + "\n", "utf-8")
    for kind, rows in chosen["queries"].items():
        print(f"{kind}: {len(rows)}, e.g. " + ", ".join(r["text"] for r in rows[:4]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
