"""Running the web application with uvicorn (`search serve`)."""

from __future__ import annotations

import socket
from collections.abc import Callable

import uvicorn

from search.backend import Backend, reading
from search.errors import SearchError
from search.web.app import create_app


def run(backend: Backend, *, host: str, port: int,
        on_ready: Callable[[str], None] = lambda url: None) -> None:
    """Serves `backend` on host:port until interrupted. A missing or unreadable index, or
    an address that cannot be listened on, is one of our errors before the server starts;
    `on_ready` is given the page's URL."""
    with reading(backend):
        pass
    listening = _listen(host, port)
    on_ready(f"http://{host}:{port}/")
    config = uvicorn.Config(create_app(backend), log_level="warning", server_header=False)
    uvicorn.Server(config).run(sockets=[listening])


def _listen(host: str, port: int) -> socket.socket:
    """A socket bound to host:port (the server's own check would come after our message)."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        listening = socket.socket(family, socket.SOCK_STREAM)
    except OSError as error:
        raise _cannot_listen(host, port, error) from None
    try:
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind((host, port))
    except OSError as error:
        listening.close()
        raise _cannot_listen(host, port, error) from None
    return listening


def _cannot_listen(host: str, port: int, error: OSError) -> SearchError:
    return SearchError(f"Cannot listen on {host}:{port}: {(error.strerror or str(error)).lower()}; "
                       "choose another --port or --host.")
