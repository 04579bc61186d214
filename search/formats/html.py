"""`.html` pages saved from news sites: the article itself, extracted by trafilatura.

trafilatura is made for news pages: it finds the main text and drops navigation, share
buttons, comment forms, related links and cookie banners, and reads the title, date, site
name, author and section from the page's metadata (Open Graph, JSON-LD, <meta> tags).
Imported only when a page is read, so that `search query` starts fast.

What trafilatura keeps of a page of links (a home page, a section's index) can still be
links: a page is taken for an article only if at most LINK_SHARE_MAX of its text is the
text of links ("link density", the measure boilerplate removers such as jusText and
Readability use to tell navigation from prose), and if what it keeps has a paragraph of
prose (trafilatura can keep the dates of a list of headlines, and drop the headlines).
A list of teasers whose summaries are not links can still pass for an article.
"""

from __future__ import annotations

from search.formats import complete
from search.models import Article

# An article's text holds a few links, a list of headlines almost nothing else.
LINK_SHARE_MAX = 0.5
# What is left of a list of links once they are dropped is dates and counts: an article
# has at least one paragraph of prose, a sentence of this many words.
PROSE_MIN_WORDS = 8


class NoArticleInPage(ValueError):
    """The page holds no article text (an index page, an error page...)."""


def parse_html(html: str, *, id: str, path: str) -> Article:
    import trafilatura
    from lxml import etree
    from trafilatura.xml import xmltotxt

    try:
        page = trafilatura.bare_extraction(
            html, with_metadata=True, include_comments=False, include_tables=False,
            # Precision: a page of links (a home page, a section index) holds no article.
            favor_precision=True,
            # Links kept as <ref> elements, to measure their share of the text.
            include_links=True,
            # The publication date from the page's metadata, not a year guessed from "© 2024".
            date_extraction_params={"extensive_search": False, "original_date": True},
        )
    except Exception as error:  # a parser's failure on a hostile page: that page only
        raise NoArticleInPage(f"unreadable page ({type(error).__name__})") from None
    body = page.body if page else None
    if body is None:
        raise NoArticleInPage("no article text in the page")
    share = _link_share(body)
    if share > LINK_SHARE_MAX:
        raise NoArticleInPage(f"no article text in the page ({share:.0%} of its text is links)")
    etree.strip_tags(body, "ref")  # the links' text stays, as part of the text
    text = (xmltotxt(body, include_formatting=False) or "").strip()
    if not text:
        raise NoArticleInPage("no article text in the page")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if page.title and lines and lines[0] == page.title.strip():
        lines = lines[1:]  # the headline, repeated as the text's first line
    if not lines:
        raise NoArticleInPage("no article text in the page")
    if not any(len(line.split()) >= PROSE_MIN_WORDS for line in lines):
        raise NoArticleInPage("no article text in the page (no paragraph of prose)")
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


def _link_share(body) -> float:
    """The share of the extracted text (letters and digits) that is the text of links."""
    def letters(texts) -> int:
        return sum(char.isalnum() for text in texts for char in text)

    total = letters(body.itertext())
    linked = letters(text for ref in body.iter("ref") for text in ref.itertext())
    return linked / total if total else 0.0
