"""Where an article comes from, as a site: the domain a URL or a name gives.

Shared by ingest (a page's source from its URL) and the index's source fields, so that
neither has to import the other (the query side never loads the ingest formats).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# A domain name: dot-separated labels of letters, digits and hyphens, the last with a letter.
_DOMAIN = re.compile(r"\A(?:[\w-]+\.)+[\w-]*[^\W\d_][\w-]*\Z")


def domain_of(text: str | None) -> str | None:
    """The domain a URL or a bare domain name names, lower case, without `www.`:
    `https://www.Actu.Orange.fr/x` and `www.actu.orange.fr` → `actu.orange.fr`; None for
    a name that is not one (`Orange Actu`)."""
    if not text:
        return None
    text = text.strip()
    if "//" not in text:  # `lemonde.fr/a`, `www.AFP.com`: a domain and maybe a path
        if not _DOMAIN.match(text.split("/", 1)[0].rstrip(".")):
            return None
        text = "//" + text
    try:
        host = (urlsplit(text).hostname or "").lower().rstrip(".")
    except ValueError:  # `http://[::1`: not a URL a domain can be read from
        return None
    host = host.removeprefix("www.")
    return host if any(char.isalnum() for char in host) else None
