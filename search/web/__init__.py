"""`search serve`: the search in a web page (`create_app`), over the same backend."""

from search.web.app import create_app

__all__ = ["create_app"]
