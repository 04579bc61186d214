"""Running the web application with uvicorn (`search serve`)."""

from __future__ import annotations

from collections.abc import Callable

import uvicorn

from search.backend import Backend, reading
from search.web.app import create_app


def run(backend: Backend, *, host: str, port: int,
        on_ready: Callable[[str], None] = lambda url: None) -> None:
    """Serves `backend` on host:port until interrupted. A missing or unreadable index is
    reported (our errors) before the server starts; `on_ready` is given the page's URL."""
    with reading(backend):
        pass
    on_ready(f"http://{host}:{port}/")
    uvicorn.run(create_app(backend), host=host, port=port, log_level="warning",
                server_header=False)
