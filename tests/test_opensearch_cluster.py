"""A 3-node cluster (3 shards, 1 replica) losing a node during a bulk load and during
queries: no article lost, no wrong answer. Real nodes, started by opensearch/node (Java 17
and Maven needed; skipped otherwise, with a warning that says why)."""

import json
import os
import signal
import threading
import time

import pytest

from search.errors import SearchError

pytest.importorskip("opensearchpy",
                    reason="opensearch-py is not installed: pip install -e '.[opensearch]'")

from search.opensearch import OpenSearchBackend  # noqa: E402
from search.opensearch.local import restart_node  # noqa: E402

from .opensearch_nodes import cluster_or_skip  # noqa: E402

ARTICLES = 6000
CITIES = ("Lomé", "Rabat", "Dakar", "Tunis", "Alger")


def record(n: int) -> dict:
    return {"id": n, "url": f"https://actu.orange.fr/monde/{n}.html", "category": "monde",
            "date": f"2020-0{1 + n % 9}-15", "title": f"Dépêche {n}",
            "article": f"Le ministre est arrivé à {CITIES[n % 5]} pour la visite numéro {n}. "
                       f"Il y a rencontré son homologue, étape {n % 7} d'une tournée."}


@pytest.fixture(scope="module")
def cluster():
    with cluster_or_skip(nodes=3) as started:
        yield started


def wait_for(predicate, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "the cluster did not recover in time"
        time.sleep(0.5)


def kill(cluster: dict, name: str) -> None:
    node = next(node for node in cluster["nodes"] if node["name"] == name)
    os.kill(node["pid"], signal.SIGKILL)


def status(backend) -> str:
    return backend.client.cluster.health()["status"]


def test_a_node_killed_during_a_load_and_during_queries(cluster, tmp_path):
    export = tmp_path / "export.jsonl"
    export.write_text("\n".join(json.dumps(record(n), ensure_ascii=False)
                                for n in range(ARTICLES)), "utf-8")
    # The client knows node0 only: the nodes killed are the others.
    backend = OpenSearchBackend(cluster["url"] + "/wire", shards=3, replicas=1)
    loaded: dict = {}
    client = backend.client

    def health_at_start(expected: int) -> None:
        loaded["health"] = client.cluster.health(index="wire-*")["status"]

    def load():
        try:
            loaded["report"] = backend.update([export], on_start=health_at_start)
        except BaseException as error:  # noqa: B036 - told to the test below
            loaded["error"] = error

    loader = threading.Thread(target=load)
    loader.start()

    def indexed() -> int:
        try:
            return sum(client.count(index=name)["count"]
                       for name in client.indices.get(index="wire-*")
                       if not name.endswith("manifests"))
        except Exception:
            return 0

    wait_for(lambda: indexed() >= ARTICLES // 6 or not loader.is_alive())
    # every copy of every shard is there before the first article is sent: a copy still
    # being made when its node dies cannot take over, and the load would be refused
    assert loaded.get("health") == "green"
    assert loader.is_alive(), "the load ended before a node could be killed"
    kill(cluster, "node2")
    loader.join(timeout=600)
    assert "error" not in loaded, loaded.get("error")
    assert loaded["report"].added == ARTICLES

    reader = backend.reader()
    assert reader.count([""], by="year").series[0].total == ARTICLES
    expected = {city: reader.search(city, limit=ARTICLES).total for city in CITIES}
    assert expected == {city: ARTICLES // 5 for city in CITIES}

    restart_node(cluster, "node2")
    wait_for(lambda: status(backend) == "green", seconds=180)
    answers, errors = [], []
    for round_number in range(40):
        if round_number == 10:
            kill(cluster, "node1")
        city = CITIES[round_number % 5]
        try:
            answers.append((city, reader.count([city], by="year").series[0].total))
        except SearchError as error:  # a clear error is allowed, a wrong count is not
            errors.append(str(error))
    assert [(city, total) for city, total in answers if total != ARTICLES // 5] == []
    assert len(answers) >= 30, errors
