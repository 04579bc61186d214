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

import re

from unidecode import unidecode

from search.formats import complete
from search.models import Article
from search.sources import domain_of

# An article's text holds a few links, a list of headlines almost nothing else.
LINK_SHARE_MAX = 0.5
# What is left of a list of links once they are dropped is dates and counts: an article
# has at least one paragraph of prose, a sentence of this many words.
PROSE_MIN_WORDS = 8


# A page saved from the Wayback Machine (archive.org): its toolbar, between these comments,
# is not part of the page, and its URLs wrap the page's own.
_WAYBACK_TOOLBAR = re.compile(
    r"<!--\s*BEGIN WAYBACK TOOLBAR INSERT\s*-->.*?<!--\s*END WAYBACK TOOLBAR INSERT\s*-->",
    re.S | re.I)
_WAYBACK_URL = re.compile(r"\Ahttps?://web\.archive\.org/web/\d{1,14}[a-z_]*/+(?P<url>\S+)\Z",
                          re.I)
# What separates a headline from the site's name in a page's <title>: `Titre - Gala`,
# `Titre | DW | 23.05.2011` (not a colon, which French headlines use).
_TITLE_SEPARATOR = re.compile(r"(\s+[|\-–—·•»]\s+)")
_NUMERIC_DATE = re.compile(r"\A[\d\s./-]*\d[\d\s./-]*\Z")
_LAYOUT_TABLE = re.compile(r"<(/?)(?:table|tbody|thead|tfoot|tr|td|th)\b", re.I)


class NoArticleInPage(ValueError):
    """The page holds no article text (an index page, an error page...)."""


def parse_html(html: str, *, id: str, path: str) -> Article:
    from lxml import etree
    from trafilatura.xml import xmltotxt

    html = _WAYBACK_TOOLBAR.sub("", html)
    page = _extract(html)
    if page is None or page.body is None:
        # An older page (many saved copies) lays its article out in a table's cell, which
        # trafilatura drops with the tables: read again with its tables as plain blocks.
        page = _extract(_LAYOUT_TABLE.sub(r"<\1div", html))
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
    url = _page_url(page.url)
    # trafilatura can take a date after the site's name for the name: `Titre | DW | 23.05.2011`
    sitename = page.sitename if page.sitename and not _NUMERIC_DATE.match(page.sitename) \
        else None
    title = headline(page.title, sitename, url, lines[0] if lines else None)
    if title and lines and lines[0] == title:
        lines = lines[1:]  # the headline, repeated as the text's first line
    if not lines:
        raise NoArticleInPage("no article text in the page")
    if not any(len(line.split()) >= PROSE_MIN_WORDS for line in lines):
        raise NoArticleInPage("no article text in the page (no paragraph of prose)")
    return complete(
        id=id,
        path=path,
        body="\n\n".join(lines),
        title=title,
        date=page.date,
        category=", ".join(page.categories or []) or None,
        source=sitename,
        url=url,
        author=page.author,
        lead=page.description,
    )


def _extract(html: str):
    """trafilatura's reading of the page: its text and metadata, or None if it found no text."""
    import trafilatura

    try:
        return trafilatura.bare_extraction(
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


def _page_url(url: str | None) -> str | None:
    """The page's own URL: a Wayback Machine copy's URL names the page it saved."""
    found = _WAYBACK_URL.match(url.strip()) if url else None
    if not found:
        return url
    return re.sub(r"\A(https?):/+", r"\1://", found["url"], flags=re.I)


def headline(title: str | None, sitename: str | None, url: str | None,
             first_line: str | None) -> str | None:
    """The page's title without the site's name that <title> adds to it: the text's first
    line (its <h1>) when the title is that line and more after a separator, else the
    title with its trailing (or leading) segments dropped when one of them is the site's
    name or its domain, and the others dates: `Titre | DW | 23.05.2011` → `Titre` on dw.com."""
    if not title:
        return title
    title = " ".join(title.split())
    if first_line and title.startswith(first_line) \
            and _TITLE_SEPARATOR.match(title, len(first_line)):
        return first_line
    names = _site_names(sitename, url)
    parts = _TITLE_SEPARATOR.split(title)  # segment, separator, segment...
    segments = parts[0::2]
    end, cut = len(segments), None
    while end > 1:
        segment = segments[end - 1]
        if _is_site(segment, names):
            cut = end - 1
        elif not _NUMERIC_DATE.match(segment):
            break
        end -= 1
    if cut is not None:
        parts = parts[:2 * cut - 1]
    if len(parts) > 2 and _is_site(parts[0], names):
        parts = parts[2:]
    return "".join(parts)


def _site_names(sitename: str | None, url: str | None) -> set[str]:
    """The site's name as a title may write it, folded: its own name, its domain, and the
    domain's main label (`dw` of `www.dw.com`, `orange` of `actu.orange.fr`)."""
    names = {_folded(sitename)} if sitename else set()
    return (names | _domain_names(domain_of(url))) - {""}


def _domain_names(domain: str | None) -> set[str]:
    if not domain:
        return set()
    labels = domain.split(".")
    return {_folded(domain), _folded(labels[-2] if len(labels) > 1 else labels[0])}


def _is_site(segment: str, names: set[str]) -> bool:
    """Whether a segment of a title is the site's name (`Le Monde.fr` is `Le Monde`'s)."""
    without_tld = re.sub(r"\.[^\W\d_]{2,6}\s*\Z", "", segment)
    return bool({_folded(segment), _folded(without_tld), *_domain_names(domain_of(segment))}
                & names)


def _folded(text: str) -> str:
    """Letters and digits only, lower case, accents dropped: `Le Monde.fr` → `lemondefr`."""
    return re.sub(r"[\W_]+", "", unidecode(text).lower())


def _link_share(body) -> float:
    """The share of the extracted text (letters and digits) that is the text of links."""
    def letters(texts) -> int:
        return sum(char.isalnum() for text in texts for char in text)

    total = letters(body.itertext())
    linked = letters(text for ref in body.iter("ref") for text in ref.itertext())
    return linked / total if total else 0.0
