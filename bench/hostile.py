"""Hostile and careless input, tried end to end through the CLI (issue 10): a corpus of
every kind of bad file beside good ones, random queries built from the query language's
pieces with control characters and hostile filters, and every file of an index damaged
four ways. Counts the cases, and every outcome that is not exit 0, or exit 1 with one
`Error:` line (a traceback, a crash, raw control characters on the terminal), and the
slowest case. Reads no ../shared data unless --archive names an index.

    python -m bench.hostile [--queries N] [--archive INDEX]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import tempfile
import time
import traceback
from pathlib import Path

from click.testing import CliRunner

from search.cli import cli

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
CONTROL = ["\x1b[2J", "\x1b]52;c;cm0=\x07", "\x1b]0;x\x1b\\", "\x07", "\x08", "\x9b31m", "\x00",
           "\r", "\u202e", "\ud800", "\udcff", "\ufeff", "\u0301", "\u200b"]


class Tally:
    def __init__(self) -> None:
        self.cases = 0
        self.bad: list[str] = []
        self.slowest = (0.0, "")

    def run(self, what: str, args: list[str]) -> None:
        self.cases += 1
        started = time.perf_counter()
        try:
            result = CliRunner().invoke(cli, args, catch_exceptions=True)
        except BaseException as error:  # noqa: BLE001 - counted, not hidden
            self.bad.append(f"{what}: {type(error).__name__} escaped CliRunner")
            return
        elapsed = time.perf_counter() - started
        if elapsed > self.slowest[0]:
            self.slowest = (elapsed, what)
        exception = result.exception
        if exception is not None and not isinstance(exception, SystemExit):
            tb = "".join(traceback.format_exception(exception)).splitlines()[-3:]
            self.bad.append(f"{what}: {type(exception).__name__}: {tb}")
        elif result.exit_code not in (0, 1, 2):
            self.bad.append(f"{what}: exit {result.exit_code}")
        elif result.exit_code and what.endswith("check") and "damaged." in result.output:
            pass  # `search check` reports damage on several lines, by design
        elif result.exit_code and (not result.output.startswith(("Error: ", "Usage: "))
                                   or result.exit_code == 1 and result.output.count("\n") != 1):
            self.bad.append(f"{what}: exit {result.exit_code} with {result.output[:200]!r}")
        else:
            raw = [c for c in result.output if c < " " and c not in "\n" or "\x7f" <= c <= "\x9f"]
            if raw:
                self.bad.append(f"{what}: raw controls {raw[:5]!r}")


def hostile_corpus(folder: Path) -> None:
    folder.mkdir()
    (folder / "good.txt").write_text("Un titre\n\nLe ministre évoque la coopération.", "utf-8")
    os.mkfifo(folder / "fifo.txt")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(folder / "sock.txt"))
    (folder / "loop.txt").symlink_to(folder / "loop.txt")
    (folder / "dangling.txt").symlink_to(folder / "nowhere.txt")
    (folder / "up").symlink_to(folder, target_is_directory=True)
    (folder / os.fsdecode(b"bad\xff\n.txt")).write_text("Titre\n\nTexte évoqué.", "utf-8")
    (folder / "utf16.txt").write_bytes("Titre\n\nCoopération évoquée.".encode("utf-16"))
    (folder / "utf32.txt").write_bytes("Titre\n\nCoopération évoquée.".encode("utf-32"))
    (folder / "mixed.txt").write_bytes(b"Titre\n\n" + "évoqué\n".encode()
                                       + "évoqué\n".encode("cp1252"))
    (folder / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (folder / "deep.jsonl").write_text('{"article": ' + "[" * 50_000 + "]" * 50_000 + "}\n")
    values = [None, True, 1, -1.5, 1e308, "x", "", [], {}, [1, [2]], {"a": {"b": 1}}, "\ud800",
              "a\x00b", "http://[::1", "://", "%%%", "é" * 10_000, "BIGINT"]
    fields = ["id", "title", "article", "date", "url", "source", "author", "category", "heading"]
    with open(folder / "types.jsonl", "w", encoding="utf-8") as out:
        for n, value in enumerate(values):
            for field in fields:
                record = {"id": f"{n}-{field}", "article": f"Visite {n} à Lomé.", field: value}
                out.write(json.dumps(record).replace('"BIGINT"', "9" * 5000) + "\n")
    (folder / "surrogate.jsonl").write_text('{"title": "\\ud800", "article": "a \\udfff b"}\n')
    (folder / "links.html").write_text(
        "<html><body>" + "".join(f'<p><a href="/{n}">Lien {n}</a></p>' for n in range(50))
        + "</body></html>")
    for name in ("doc.pdf", "doc.docx", "feed.rss", "image.png", "noext"):
        (folder / name).write_bytes(b"%PDF-1.4 \x00\x01")
    (folder / "empty.txt").write_text("")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 10)
    (folder / "dir.txt").mkdir()
    hostile = "".join(CONTROL)
    (folder / "controls.txt").write_text(
        f"title: T{hostile}\nsource: s{hostile}\nurl: http://x/{hostile}\n\nCorps {hostile} "
        "de la coopération.", "utf-8", errors="surrogatepass")
    server.close()


WORDS = ["maroc", "Kazakhstan", "coopération", "l'ONU", "l’Union", "sécurité", "le", "a", "é",
         "Tokaiev", "x", "ab", "abc", "Est", "été", "aujourd'hui", "sud-sud", "150e", "2024"]
OPERATORS = ["AND", "OR", "NOT", "ET", "OU", "SAUF", "-", "+", "(", ")", '"', "«", "»", "“", "”",
             "*", "?", "~", "~1", "~2", "~3", "~99", "~1/2", "~/", "~1/x", ":", "^2", "[", "]",
             "{", "}", "/", "\\", "..", ",", ".", "'", "’", "TO", "NEAR/5", "w/5"]
FIELDS = ["title:", "lead:", "body:", "dateline:", "category:", "author:", "url:", "path:",
          "id:", "date:", "source:", "category_key:", "x.title:", "a,body:", "TITLE:", "titre:"]


def random_query(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(1, 8)):
        kind = rng.random()
        if kind < 0.45:
            word = rng.choice(WORDS)
            if rng.random() < 0.3:
                word += rng.choice(["*", "?", "~", "~2", "~5", "*~", "~1/3"])
            if rng.random() < 0.2:
                word = rng.choice(FIELDS) + word
            parts.append(word)
        elif kind < 0.8:
            parts.append(rng.choice(OPERATORS))
        elif kind < 0.9:
            parts.append(rng.choice(CONTROL) + rng.choice(WORDS))
        else:
            parts.append("(" * rng.randint(1, 300) + rng.choice(WORDS) + ")" * rng.randint(0, 300))
    return (" " if rng.random() < 0.7 else "").join(parts)


DATES = ["2020", "2020-06", "2020-02-30", "2021-02-29", "2020-13", "2020-00", "٢٠٢٠", "２０２０",
         "yesterday", "7d", "-1", "2020-06-15T10:00", "", " ", "9999", "0000", "2020-6"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--archive", type=Path, help="an index to run the queries on too")
    args = parser.parse_args()
    tally = Tally()
    rng = random.Random(20261203)
    work = Path(tempfile.mkdtemp())
    seeds_index = work / "seeds-index"
    tally.run("rebuild seeds", ["rebuild", str(SEEDS), "--index", str(seeds_index)])

    corpus = work / "corpus"
    hostile_corpus(corpus)
    for command in ("rebuild", "index", "index"):
        tally.run(f"{command} hostile corpus", [command, str(corpus), "--index", str(work / "h")])
    hostile_index = ["--index", str(work / "h")]
    tally.run("query hostile", ["query", "coopération", *hostile_index])
    tally.run("query hostile json", ["query", "coopération", "--json", *hostile_index])
    tally.run("query hostile Lomé", ["query", "Lomé", "--limit", "1000", *hostile_index])
    tally.run("stats hostile", ["stats", *hostile_index])
    tally.run("check hostile", ["check", *hostile_index])
    for entry in sorted(corpus.iterdir()):
        tally.run(f"index {entry.name!r}", ["index", str(entry), "--index", str(work / "one")])

    indexes = [seeds_index] + ([args.archive] if args.archive else [])
    for index in indexes:
        for _ in range(args.queries if index == seeds_index else args.queries // 4):
            query = random_query(rng)
            extra = rng.choice([[], ["--json"], ["--sort", "date"],
                                ["--since", rng.choice(DATES)], ["--until", rng.choice(DATES)],
                                ["--source", rng.choice(["afp.com", "x", "actu.orange.fr", "é"])],
                                ["--category", rng.choice(["monde", "societe", "x/y", ""])]])
            tally.run(f"query {query[:80]!r} {extra}",
                      ["query", query, *extra, "--index", str(index)])

    damaged = work / "damaged"
    for number in range(12):
        for damage in ("truncate", "empty", "flip", "folder"):
            if damaged.exists():
                shutil.rmtree(damaged)
            shutil.copytree(seeds_index, damaged, symlinks=True)
            generation = damaged / (damaged / "CURRENT").read_text().strip()
            files = sorted([damaged / "CURRENT", damaged / "write.lock",
                            *[p for p in generation.iterdir()]])
            if number >= len(files):
                continue
            file = files[number]
            data = file.read_bytes()
            if damage == "truncate":
                file.write_bytes(data[: len(data) // 2])
            elif damage == "empty":
                file.write_bytes(b"")
            elif damage == "flip":
                flipped = bytearray(data)
                for i in range(0, len(flipped), max(1, len(flipped) // 5)):
                    flipped[i] ^= 0xFF
                file.write_bytes(bytes(flipped))
            else:
                file.unlink()
                file.mkdir()
            what = f"{damage} {file.name}"
            for command in (["query", "Farabi"], ["query", "Farabi", "--json"], ["stats"],
                            ["check"], ["index", str(SEEDS)], ["rebuild", str(SEEDS)],
                            ["query", "Farabi"]):
                tally.run(f"{what}: {command[0]}", [*command, "--index", str(damaged)])
    print(f"cases: {tally.cases}, failures: {len(tally.bad)}, slowest: "
          f"{tally.slowest[0]:.2f} s ({tally.slowest[1][:100]})")
    for line in tally.bad[:40]:
        print("  ", line)


if __name__ == "__main__":
    main()
