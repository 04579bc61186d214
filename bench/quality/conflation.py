"""How well each French stemmer conflates the inflected forms of a word, scored on lexicons.

Command (from the repository root):

    .venv/bin/python -m bench.quality.conflation [--data DIR] [--check] [--systems ours,...]

(DIR defaults to the `shared/data` folder beside the repository or a folder above it.)

Gold standard: two form → lemma lexicons of `<data>/lexicons/`, scored separately (their
conventions differ): Lefff (`form, lemma, pos`; a form may have several lemmas) and
simplemma (one lemma per form). Forms are NFC-normalised and lowercased (lemma sets of
forms that merge are unioned); only single words of letters are kept (no digits, spaces,
hyphens, apostrophes or dots), because every system must get one word and the Lucene
vectors only hold such words.

Each system maps a word to a key; two words are *conflated* when their keys are equal.
- recall = conflated pairs of forms that share a lemma / all pairs of forms that share a lemma
- precision = conflated pairs that share a lemma / all conflated pairs: two forms of
  different lemmas that collide count against it.
- F1, their harmonic mean.
A form with several lemmas (`été`: être, été) is right to conflate with the forms of any of
them: a pair of forms is a "same lemma" pair when their lemma sets intersect. Pairs are
counted, never enumerated: forms are grouped by key, and within a group the pairs whose lemma
sets intersect are counted by inclusion-exclusion over the subsets S of each form's lemma
set, sum of (-1)^(|S|+1) * n_S*(n_S-1)/2 where n_S is the number of forms whose lemma set
contains S (Lefff forms have at most 4 lemmas). `--check` compares these counts with a
brute-force enumeration on a sample.

Systems:
- `ours`: `search.analysis.analyze(word)`. The key is the whole tuple of terms, so a word
  giving several terms conflates only with a word giving the same ones; a word giving none
  (a stop word: `les`, `du`) gets no key and conflates with nothing, which counts against
  recall, as it should: the index cannot match it either.
- `snowball`: Snowball French (PyStemmer, identical to `stemmer-vectors/snowball-output.txt`)
  on the lowercased, accented word.
- `lucene-light`, `lucene-minimal`: the outputs of Lucene's FrenchLightStemmer and
  FrenchMinimalStemmer in `stemmer-vectors/lucene-fr*.txt` (`word<TAB>stem`); they exist only
  for the 20,403 words of those files.
- Accents, compared fairly: our analyzer folds accents (it must: `securite` finds
  `sécurité`), Snowball and the Lucene stemmers do not (Lucene light normalises some accents
  inside its stems, and Lucene's French analyzer has no ASCII folding). Folding can only
  merge more words: it buys recall (`cède`/`céder`) and costs precision (`côte`/`côté`).
  So each of them is also scored `+fold`: its stem then folded with our `fold()` (the best
  one can do with a stemmer that must see accented words), which puts every system on the
  same accent-insensitive footing. Each system is also scored as it is.

Vocabularies: `lucene` = the lexicon's words that are also in the Lucene vector files (the
same words for every system); `full` = every single-word form of the lexicon (for the
systems that can stem any word); `no-circ` = `full` without the forms ending in -âmes,
-âtes, -ât, -îmes, -îtes, -ûmes, -ûtes (passé simple and imperfect subjunctive persons, whose
circumflex is all that marks the ending: folded, `donnât` is `donnat`, like `candidat`), to
show what accent-insensitivity costs. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from itertools import combinations
from pathlib import Path

import Stemmer

from bench.common import DATA_DIR
from search.analysis import analyze, fold

DEFAULT_DATA = DATA_DIR
LEXICONS = {
    "lefff": ("lexicons/lefff_derived_form_lemma_pos.tsv", True),
    "simplemma": ("lexicons/simplemma_fr_form_lemma.tsv", False),
}
LUCENE = {
    "lucene-light": "stemmer-vectors/lucene-frlight.txt",
    "lucene-minimal": "stemmer-vectors/lucene-frminimal.txt",
}
WORD = re.compile(r"[^\W\d_]+")
CIRCUMFLEX_ENDINGS = ("âmes", "âtes", "ât", "îmes", "îtes", "ûmes", "ûtes")

Lexicon = dict[str, frozenset[str]]
Key = Callable[[str], object]


def normalise(word: str) -> str:
    return unicodedata.normalize("NFC", word).lower()


def read_lexicon(path: Path, header: bool) -> Lexicon:
    """Single-word forms → their lemma sets, lowercased."""
    lemmas: dict[str, set[str]] = defaultdict(set)
    with open(path, encoding="utf-8") as lines:
        if header:
            next(lines)
        for line in lines:
            form, lemma = line.rstrip("\n").split("\t")[:2]
            form = normalise(form)
            if WORD.fullmatch(form):
                lemmas[form].add(normalise(lemma))
    return {form: frozenset(ls) for form, ls in lemmas.items()}


def read_vectors(path: Path) -> dict[str, str]:
    with open(path, encoding="utf-8") as lines:
        return dict(line.rstrip("\n").split("\t") for line in lines if line.strip())


def same_lemma_pairs(lemma_sets: Iterable[frozenset[str]]) -> int:
    """Pairs of forms whose lemma sets intersect, by inclusion-exclusion over subsets."""
    counts: Counter[tuple[str, ...]] = Counter()
    for lemmas in lemma_sets:
        ordered = sorted(lemmas)
        for size in range(1, len(ordered) + 1):
            counts.update(combinations(ordered, size))
    return sum((-1) ** (len(s) + 1) * n * (n - 1) // 2 for s, n in counts.items())


def score(lexicon: Lexicon, words: Iterable[str], key: Key) -> dict:
    """Pair counts and precision / recall / F1 of `key` on `words` of `lexicon`."""
    groups: dict[object, list[frozenset[str]]] = defaultdict(list)
    words = list(words)
    unkeyed = 0
    for word in words:
        k = key(word)
        if k is None:
            unkeyed += 1
        else:
            groups[k].append(lexicon[word])
    gold = same_lemma_pairs(lexicon[w] for w in words)
    conflated = sum(len(g) * (len(g) - 1) // 2 for g in groups.values())
    correct = sum(same_lemma_pairs(g) for g in groups.values() if len(g) > 1)
    precision = correct / conflated if conflated else 1.0
    recall = correct / gold if gold else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "words": len(words), "no_term": unkeyed, "keys": len(groups),
        "gold_pairs": gold, "conflated_pairs": conflated, "correct_pairs": correct,
        "precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
    }


def brute_force(lexicon: Lexicon, words: list[str], key: Key) -> tuple[int, int, int]:
    keys = {w: key(w) for w in words}
    gold = conflated = correct = 0
    for a, b in combinations(words, 2):
        same = bool(lexicon[a] & lexicon[b])
        joined = keys[a] is not None and keys[a] == keys[b]
        gold += same
        conflated += joined
        correct += same and joined
    return gold, conflated, correct


@cache  # the no-circ vocabulary is most of the full one
def ours(word: str) -> tuple[str, ...] | None:
    return tuple(analyze(word)) or None


def systems(vectors: Mapping[str, Mapping[str, str]]) -> dict[str, Key]:
    snowball = Stemmer.Stemmer("french").stemWord
    found: dict[str, Key] = {
        "ours": ours,
        "snowball": snowball,
        "snowball+fold": lambda w: fold(snowball(w)),
    }
    for name, table in vectors.items():
        found[name] = table.__getitem__
        found[name + "+fold"] = lambda w, table=table: fold(table[w])
    return found


def run(data: Path, check: bool = False, only: frozenset[str] | None = None) -> dict:
    """Every system on every lexicon and vocabulary; `only` keeps the systems it names."""
    vectors = {name: read_vectors(data / path) for name, path in LUCENE.items()}
    lucene_words = set.intersection(*(set(v) for v in vectors.values()))
    keys = systems(vectors)
    results: dict = {}
    for lexicon_name, (path, header) in LEXICONS.items():
        lexicon = read_lexicon(data / path, header)
        vocabularies = {
            "lucene": (sorted(lucene_words & lexicon.keys()), list(keys)),
            "full": (sorted(lexicon), ["ours", "snowball", "snowball+fold"]),
            "no-circ": (
                sorted(w for w in lexicon if not w.endswith(CIRCUMFLEX_ENDINGS)),
                ["ours", "snowball", "snowball+fold"],
            ),
        }
        for vocabulary, (words, names) in vocabularies.items():
            for name in names:
                if only is not None and name not in only:
                    continue
                results.setdefault(lexicon_name, {}).setdefault(vocabulary, {})[name] = (
                    score(lexicon, words, keys[name])
                )
        if check and (only is None or {"ours", "lucene-light"} <= only):
            sample = random.Random(0).sample(vocabularies["lucene"][0], 1500)
            for name in ("ours", "lucene-light"):
                counts = score(lexicon, sample, keys[name])
                expected = brute_force(lexicon, sample, keys[name])
                got = (counts["gold_pairs"], counts["conflated_pairs"], counts["correct_pairs"])
                assert got == expected, (lexicon_name, name, got, expected)
    return results


def table(results: dict) -> str:
    head = (f"{'lexicon':<10} {'vocabulary':<10} {'system':<22} {'words':>7} "
            f"{'P':>7} {'R':>7} {'F1':>7}")
    lines = [head, "-" * len(head)]
    for lexicon, vocabularies in results.items():
        for vocabulary, scores in vocabularies.items():
            for name, s in sorted(scores.items(), key=lambda item: -item[1]["f1"]):
                lines.append(
                    f"{lexicon:<10} {vocabulary:<10} {name:<22} {s['words']:>7} "
                    f"{s['precision']:>7.4f} {s['recall']:>7.4f} {s['f1']:>7.4f}"
                )
            lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="the shared data folder (default: %(default)s)")
    parser.add_argument("--check", action="store_true",
                        help="also check the pair counts against brute force on a sample")
    parser.add_argument("--systems", type=lambda text: frozenset(text.split(",")),
                        help="only these systems, comma-separated (e.g. ours: the others "
                             "do not change with our code)")
    args = parser.parse_args(argv)
    results = run(args.data, check=args.check, only=args.systems)
    print(table(results))
    print(json.dumps({"conflation": results}, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
