"""Does our accent-insensitive stemmer keep the pairs Snowball keeps on accented words?

Command (from the repository root):

    .venv/bin/python -m bench.quality.stemmer_pairs [--data DIR] [--examples N] [--groups N]

(DIR defaults to the `shared/data` folder beside the repository or a folder above it.)

Vocabulary: Snowball's own French test vocabulary, `stemmer-vectors/snowball-voc.txt`, and its
stems, `snowball-output.txt` (Snowball on the accented word, line by line). Two words whose
Snowball stems are equal form a *true pair*. Our key of a word is the analyzer's chain without
its lexicon: strip the elision, fold (`search.words.fold`), drop stop words (no key: they
conflate with nothing, as in the index), then `search.analysis.stem`.

- pair recall = true pairs we also conflate / true pairs
- pair precision = true pairs we conflate / pairs we conflate. Folding alone merges some words
  Snowball keeps apart (`côte`/`côté`): those count against precision, as they should.
- precision with the lexicons' word: the same, except that a pair Snowball misses counts as
  correct when the two words share a lemma in Lefff or simplemma (`lexicons/`, read as
  `bench.quality.conflation` reads them): our stemmer removes verb endings Snowball leaves
  (`abaisse`/`abaissent`, `attendre`/`attendu`), which plain precision counts as errors.

Then the lost pairs (true pairs we split) and the added pairs (pairs we conflate that Snowball
does not), grouped by their endings: each pair is cut after the longest common prefix of its
two accented words, and the two remainders (`és`/`ée`, `é`/`er`) name its group. The last line
printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable
from itertools import combinations
from os.path import commonprefix
from pathlib import Path

from bench.common import DATA_DIR
from bench.quality.conflation import LEXICONS, Lexicon, read_lexicon
from search.analysis import STOP_WORDS, stem
from search.words import fold, strip_elision

VOCABULARY = "stemmer-vectors/snowball-voc.txt"
OUTPUT = "stemmer-vectors/snowball-output.txt"


def ours(word: str) -> str | None:
    """The index term of a word, without the lexicon: None for a stop word."""
    folded = fold(strip_elision(word))
    if not folded or folded in STOP_WORDS:
        return None
    return stem(folded)


def read_pairs(data: Path) -> dict[str, str]:
    """Snowball's vocabulary → its stems."""
    words = (data / VOCABULARY).read_text("utf-8").split()
    stems = (data / OUTPUT).read_text("utf-8").split()
    if len(words) != len(stems):
        raise SystemExit(f"{VOCABULARY} and {OUTPUT} differ in length")
    return dict(zip(words, stems, strict=True))


def pair_count(sizes: Iterable[int]) -> int:
    return sum(n * (n - 1) // 2 for n in sizes)


def ending_group(first: str, second: str) -> str:
    """`réfugiés`, `réfugiée` → `és/ée`: what is left after their common prefix."""
    prefix = len(commonprefix([first, second]))
    ends = sorted((first[prefix:] or "-", second[prefix:] or "-"))
    return "/".join(ends)


def cross_pairs(
    groups: dict[str, list[str]], split_by: dict[str, str | None],
) -> Iterable[tuple[str, str]]:
    """Pairs of words of one group that `split_by` gives different keys (or no key)."""
    for words in groups.values():
        for first, second in combinations(words, 2):
            if split_by[first] is None or split_by[first] != split_by[second]:
                yield first, second


def read_lexicons(data: Path) -> list[Lexicon]:
    return [read_lexicon(data / path, header) for path, header in LEXICONS.values()]


def share_a_lemma(lexicons: list[Lexicon], first: str, second: str) -> bool:
    return any(lexicon.get(first, frozenset()) & lexicon.get(second, frozenset())
               for lexicon in lexicons)


def score(snowball: dict[str, str], lexicons: list[Lexicon]) -> dict:
    keys = {word: ours(word) for word in snowball}
    true_groups: dict[str, list[str]] = defaultdict(list)
    our_groups: dict[str, list[str]] = defaultdict(list)
    joint: Counter[tuple[str, str]] = Counter()
    for word, snow in snowball.items():
        true_groups[snow].append(word)
        if keys[word] is not None:
            our_groups[keys[word]].append(word)
            joint[snow, keys[word]] += 1
    true = pair_count(map(len, true_groups.values()))
    conflated = pair_count(map(len, our_groups.values()))
    correct = pair_count(joint.values())
    lost = list(cross_pairs(true_groups, keys))
    added = list(cross_pairs(our_groups, snowball))
    stop = sum(1 for a, b in lost if keys[a] is None or keys[b] is None)
    wrong = [(a, b) for a, b in added if not share_a_lemma(lexicons, a, b)]
    return {
        "words": len(snowball), "true_pairs": true, "conflated_pairs": conflated,
        "correct_pairs": correct, "lost_to_stop_words": stop,
        "recall": round(correct / true, 4), "precision": round(correct / conflated, 4),
        "precision_lexicons": round(1 - len(wrong) / conflated, 4),
        "lost": lost, "added": added, "wrong": wrong,
    }


def grouped(pairs: list[tuple[str, str]], groups: int, examples: int) -> list[str]:
    by_ending: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for first, second in pairs:
        by_ending[ending_group(first, second)].append((first, second))
    ordered = sorted(by_ending.items(), key=lambda item: (-len(item[1]), item[0]))
    lines = []
    for ending, found in ordered[:groups]:
        shown = ", ".join(f"{a}~{b}" for a, b in found[:examples])
        lines.append(f"  {len(found):>5}  {ending:<16} {shown}")
    rest = sum(len(found) for _, found in ordered[groups:])
    if rest:
        lines.append(f"  {rest:>5}  in {len(ordered) - groups} other groups")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA_DIR,
                        help="the shared data folder (default: %(default)s)")
    parser.add_argument("--groups", type=int, default=40,
                        help="ending groups printed for lost and added pairs (default: 40)")
    parser.add_argument("--examples", type=int, default=4,
                        help="example pairs printed per group (default: 4)")
    args = parser.parse_args(argv)
    result = score(read_pairs(args.data), read_lexicons(args.data))
    print(f"{result['words']} words, {result['true_pairs']} true pairs (Snowball on accented "
          f"words), {result['conflated_pairs']} pairs conflated by ours")
    print(f"pair recall {result['recall']:.4f}  pair precision {result['precision']:.4f}  "
          f"({len(result['lost'])} pairs lost, {result['lost_to_stop_words']} of them to stop "
          f"words; {len(result['added'])} pairs added)")
    print(f"pair precision with the lexicons' word {result['precision_lexicons']:.4f}  "
          f"({len(result['wrong'])} added pairs share no lemma in Lefff or simplemma)")
    print("\nlost pairs by ending:")
    print("\n".join(grouped(result["lost"], args.groups, args.examples)))
    print("\nadded pairs that share no lemma in the lexicons, by ending:")
    print("\n".join(grouped(result["wrong"], args.groups, args.examples)))
    summary = {k: v for k, v in result.items() if k not in ("lost", "added", "wrong")}
    summary.update(lost_pairs=len(result["lost"]), added_pairs=len(result["added"]),
                   wrong_pairs=len(result["wrong"]))
    print(json.dumps({"stemmer_pairs": summary}, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
