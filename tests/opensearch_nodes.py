"""Real OpenSearch nodes for the test files of search.opensearch, or a skip that says why."""

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from search.opensearch.local import local_cluster, missing_tools


@contextmanager
def cluster_or_skip(nodes: int = 1) -> Iterator[dict]:
    """A cluster started by opensearch/node (search.opensearch.local.local_cluster); without
    Java or Maven, a skip, and a warning in pytest's summary that names what is missing."""
    why = missing_tools()
    if why:
        warnings.warn(f"OpenSearch tests skipped: {why}", stacklevel=1)
        pytest.skip(f"no OpenSearch node: {why}")
    with local_cluster(nodes=nodes) as cluster:
        yield cluster
