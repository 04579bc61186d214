"""`.html` pages saved from news sites: the article itself, extracted by trafilatura.

trafilatura is made for news pages: it finds the main text and drops navigation, share
buttons, comment forms, related links and cookie banners, and reads the title, date, site
name, author and section from the page's metadata (Open Graph, JSON-LD, <meta> tags).
Imported only when a page is read, so that `search query` starts fast.
"""

from __future__ import annotations

from search.formats import complete
from search.models import Article


class NoArticleInPage(ValueError):
    """The page holds no article text (an index page, an error page...)."""


def parse_html(html: str, *, id: str, path: str) -> Article:
    import trafilatura

    page = trafilatura.bare_extraction(
        html, with_metadata=True, include_comments=False, include_tables=False,
        # Precision: a page of links (a home page, a section index) holds no article.
        favor_precision=True,
        # The publication date from the page's metadata, not a year guessed from "© 2024".
        date_extraction_params={"extensive_search": False, "original_date": True},
    )
    text = (page.text or "").strip() if page else ""
    if not text:
        raise NoArticleInPage("no article text in the page")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if page.title and lines and lines[0] == page.title.strip():
        lines = lines[1:]  # the headline, repeated as the text's first line
    if not lines:
        raise NoArticleInPage("no article text in the page")
    return complete(
        id=id,
        path=path,
        body="\n\n".join(lines),
        title=page.title,
        date=page.date,
        category=", ".join(page.categories or []) or None,
        source=page.sitename,
        url=page.url,
        author=page.author,
        lead=page.description,
    )
