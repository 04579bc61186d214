"""Real OpenSearch nodes on this machine, for tests and benchmarks: `opensearch/node`
(the repository's script that fetches OpenSearch from Maven Central) run as a command."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "opensearch" / "node"


def missing_tools() -> str | None:
    """Why no node can be started here (no Java, no Maven, no script), or None."""
    if not SCRIPT.exists():
        return f"{SCRIPT} is not there (search is not run from its repository)"
    for tool in ("java", "javac", "mvn"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed"
    return None


@contextmanager
def local_cluster(nodes: int = 1, folder: Path | None = None) -> Iterator[dict]:
    """A cluster of `nodes` started by opensearch/node; yields its nodes.json (`url`, and
    each node's `name`, `pid`, `url`), stopped and removed afterwards."""
    command = [sys.executable, str(SCRIPT), "start", "--nodes", str(nodes)]
    if folder is not None:
        command += ["--dir", str(folder)]
    started = subprocess.run(command, capture_output=True, text=True, check=False)
    if started.returncode:
        raise RuntimeError(f"opensearch/node start failed: {started.stderr.strip()}")
    url, root = started.stdout.split()[-2:]
    try:
        yield {**json.loads((Path(root) / "nodes.json").read_text()), "dir": root}
    finally:
        subprocess.run([sys.executable, str(SCRIPT), "stop", root], check=False)


def restart_node(cluster: dict, name: str) -> None:
    """Starts again a node of `cluster` (local_cluster's) that was stopped or killed."""
    subprocess.run([sys.executable, str(SCRIPT), "restart", cluster["dir"], name], check=True)
