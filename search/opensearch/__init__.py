"""The OpenSearch backend (search.backend): the same analyzer, query language and output
on a cluster. Needs the optional dependency `opensearch-py` (`pip install -e '.[opensearch]'`)."""

try:
    from search.opensearch.backend import OpenSearchBackend
except ModuleNotFoundError as error:  # opensearch-py is an optional extra
    if error.name != "opensearchpy":
        raise
    from search.errors import SearchError

    class OpenSearchBackend:  # type: ignore[no-redef]
        def __init__(self, url: str, **_) -> None:
            raise SearchError("The OpenSearch backend needs opensearch-py: "
                              "pip install -e '.[opensearch]'.")

__all__ = ["OpenSearchBackend"]
