"""Many colleagues at once on `search serve` (issue 13): N clients for a minute, each
loading pages one after the other; p50/p95 of page latency by kind of page, errors
counted, the load average and the server's CPU time reported.

    python -m bench.load --index /path/to/36k/index [--clients 20] [--seconds 60]

The server is the real command (`python -m search serve`) in its own process on a free
port; the clients are threads of this process with the standard library's HTTP client.
Each client walks the same mix in its own order: a results page (with its facets and
chart) for a query of bench/queries.json, the second page of results, a query with
filters and the date sort, an article page.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlencode

from bench.common import ROOT, code_version, load_average, log, machine, median, percentile

QUERIES = ROOT / "bench" / "queries.json"
KINDS = ("results", "page 2", "filters + date sort", "article")
ARTICLE_LINK = re.compile(r'href="/article\?([^"#]+)"')


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fetch(url: str, timeout: float = 120) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


def start_server(index: Path, port: int) -> subprocess.Popen:
    server = subprocess.Popen([sys.executable, "-m", "search", "serve", "--index", str(index),
                               "--port", str(port)], cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"search serve stopped: {server.stderr.read().strip()}")
        try:
            if fetch(f"http://127.0.0.1:{port}/", timeout=5)[0] == 200:
                return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    sys.exit("search serve did not answer within 120 s")


def requests_mix(base: str, words: list[str]) -> list[tuple[str, str]]:
    """(kind, URL) for each query: its results, their second page if any, the query with
    filters and sorted by date, and the article of its first hit."""
    mix = []
    for text in words:
        status, page = fetch(f"{base}/?{urlencode({'q': text})}")
        if status != 200:
            continue
        mix.append(("results", f"{base}/?{urlencode({'q': text})}"))
        if 'rel="next"' in page:
            mix.append(("page 2", f"{base}/?{urlencode({'q': text, 'page': 2})}"))
        mix.append(("filters + date sort",
                    f"{base}/?{urlencode({'q': text, 'since': '2020', 'sort': 'date'})}"))
        found = ARTICLE_LINK.search(page)
        if found:
            mix.append(("article", f"{base}/article?{found.group(1).replace('&amp;', '&')}"))
    return mix


def client(number: int, mix: list[tuple[str, str]], stop: float, latencies: dict,
           errors: dict, lock: threading.Lock) -> None:
    turn = number * 7  # each client its own order through the same mix
    while time.monotonic() < stop:
        kind, url = mix[turn % len(mix)]
        turn += 1
        started = time.perf_counter()
        try:
            status, _ = fetch(url)
        except OSError as error:
            status = type(error).__name__
        elapsed = time.perf_counter() - started
        with lock:
            if status == 200:
                latencies[kind].append(elapsed)
            else:
                errors[f"{kind}: {status}"] += 1


def run_clients(clients: int, mix: list[tuple[str, str]], seconds: float, latencies: dict,
                errors: dict) -> None:
    """`clients` threads loading pages for `seconds`; each finishes the page under way."""
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    threads = [threading.Thread(target=client, args=(n, mix, stop, latencies, errors, lock))
               for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def server_cpu(pid: int) -> float:
    """User + system CPU seconds of the server process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--queries", type=int, default=4,
                        help="queries of each kind of bench/queries.json in the mix")
    parser.add_argument("--warmup", type=float, default=0,
                        help="seconds of the same load before measuring (readers warm)")
    parser.add_argument("--kinds", default=",".join(KINDS),
                        help="the kinds of page in the mix, among: " + ", ".join(KINDS))
    args = parser.parse_args()

    queries = json.loads(QUERIES.read_text("utf-8"))["queries"]
    words = [entry["text"] for entries in queries.values() for entry in entries[:args.queries]]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(args.index, port)
    try:
        log(f"server up on {base}; preparing the mix of {len(words)} queries")
        kinds = [kind.strip() for kind in args.kinds.split(",")]
        mix = [(kind, url) for kind, url in requests_mix(base, words) if kind in kinds]
        latencies: dict[str, list[float]] = defaultdict(list)
        errors: dict[str, int] = defaultdict(int)
        if args.warmup:
            log(f"{args.clients} clients for {args.warmup:.0f} s of warm-up, not measured")
            run_clients(args.clients, mix, args.warmup, defaultdict(list), defaultdict(int))
        load_before, cpu_before = load_average(), server_cpu(server.pid)
        log(f"{args.clients} clients for {args.seconds:.0f} s on {len(mix)} pages")
        started = time.monotonic()
        run_clients(args.clients, mix, args.seconds, latencies, errors)
        wall = time.monotonic() - started
        cpu = server_cpu(server.pid) - cpu_before
        load_after = load_average()
    finally:
        server.terminate()  # uvicorn finishes the requests under way first
        try:
            server.wait(timeout=120)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    report(args, mix, latencies, errors, wall, cpu, load_before, load_after)


def report(args, mix, latencies, errors, wall, cpu, load_before, load_after) -> None:
    every = [value for kind in KINDS for value in latencies.get(kind, [])]
    print(f"search serve under load: {args.clients} clients, {wall:.0f} s after "
          f"{args.warmup:.0f} s of warm-up, index {args.index}, pages: {args.kinds}")
    print(f"code {code_version()}; machine {json.dumps(machine())}")
    print(f"load average before {load_before}, after {load_after}; server CPU {cpu:.0f} s "
          f"({cpu / wall:.2f} cores)")
    print(f"{len(mix)} distinct pages; {len(every)} pages served "
          f"({len(every) / wall:.1f}/s), errors: {sum(errors.values())} {dict(errors)}")
    print()
    print("| page | served | p50 | p95 | max |")
    print("|---|---:|---:|---:|---:|")
    for kind in (*KINDS, "all"):
        values = every if kind == "all" else latencies.get(kind, [])
        if values:
            print(f"| {kind} | {len(values):,} | {median(values) * 1000:,.0f} ms | "
                  f"{percentile(values, 0.95) * 1000:,.0f} ms | {max(values) * 1000:,.0f} ms |")


if __name__ == "__main__":
    main()
