"""The shared vocabulary: plain frozen dataclasses, no Whoosh types."""

from __future__ import annotations

from dataclasses import dataclass, field

# How hits can be ordered, and the buckets counts can be made in: the choices of the
# command line and of the web form, known without loading the searcher.
SORT_ORDERS = ("relevance", "date")
BUCKETS = ("month", "week", "year", "source", "category")


@dataclass(frozen=True)
class Article:
    """One article as parsed from its file, ready to index."""

    id: str
    path: str
    title: str
    body: str
    date: str | None = None  # ISO, as precise as the source: 2025, 2025-04 or 2025-04-13
    dateline: str | None = None
    category: str | None = None
    source: str | None = None  # the site or agency
    url: str | None = None
    author: str | None = None
    lead: str | None = None  # the standfirst, or the first paragraph


@dataclass(frozen=True)
class Skipped:
    """A file that was not indexed, and why."""

    path: str
    reason: str
    # The article the unusable file or record would have been: if the index has it, its
    # indexed version is kept (a file or record still there never removes an article).
    id: str | None = None
    # The file itself could not be read, or not to its end: what it did not give keeps its
    # indexed version.
    whole_file: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class Unchanged:
    """An article whose source text is as the index already has it: not parsed again."""

    id: str


@dataclass(frozen=True)
class Filters:
    """Restrictions on which articles may match, whatever the query says."""

    source: str | None = None
    category: str | None = None
    since: str | None = None  # an ISO date prefix (2020, 2020-06, 2020-06-15) or a preset (7d)
    until: str | None = None


@dataclass(frozen=True)
class Snippet:
    """A passage of an article; `highlights` are (start, end) offsets into `text`."""

    text: str
    highlights: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Hit:
    """One ranked result."""

    rank: int
    id: str
    path: str
    title: str
    date: str | None
    dateline: str | None
    category: str | None
    source: str | None
    url: str | None
    score: float | None  # None when sorted by something else than relevance
    snippet: Snippet
    body: str | None = None  # the whole text, when an export asks for it
    # The ids of the other articles of its group of copies (search.copies), earliest
    # first, when results show one article per group.
    copies: tuple[str, ...] = ()
    source_name: str | None = None  # the source's display name (`source` is its key)
    # (start, end) of the query's words in `title`, when the title matched and the body not
    title_highlights: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Count:
    label: str
    documents: int
    name: str | None = None  # a source's display name (`label` is its key)


@dataclass(frozen=True)
class Facet:
    """The most frequent labels of one kind (`source`, `category`, `year`) in a hit set;
    `others` counts the articles of the labels not shown."""

    name: str
    counts: tuple[Count, ...]
    others: int = 0


@dataclass(frozen=True)
class Copy:
    """One article of a group of copies of a dispatch (`Searcher.copies_of`)."""

    id: str
    path: str
    title: str
    date: str | None
    source: str | None
    category: str | None
    url: str | None
    similarity: float  # estimated, with the article asked about (1.0 for itself)


@dataclass(frozen=True)
class SearchResults:
    """The answer to a query. `partial` is true when no article matched every word."""

    query: str
    total: int
    partial: bool
    hits: tuple[Hit, ...] = ()
    # "Did you mean": the query with its rare words replaced by close archive words.
    suggestions: tuple[str, ...] = ()
    explanation: Explanation | None = None  # with `--explain`
    facets: tuple[Facet, ...] = ()  # with `--facets`: of every hit, not only those shown
    # False when `total` is a lower bound: counting exactly would have cost more than ranking
    # (a very frequent word on a large archive).
    total_exact: bool = True


@dataclass(frozen=True)
class CountSeries:
    """One query's counts, in the order of its table's `labels`; they sum to `total`."""

    query: str
    total: int
    counts: tuple[int, ...]


@dataclass(frozen=True)
class CountTable:
    """What `search count` prints: one or more queries counted on the same buckets."""

    by: str
    labels: tuple[str, ...]
    series: tuple[CountSeries, ...]


@dataclass(frozen=True)
class ArticleView:
    """One whole article, as `search show` prints it; each paragraph's `highlights` are
    (start, end) offsets into it."""

    id: str
    path: str
    title: str
    date: str | None
    dateline: str | None
    category: str | None
    source: str | None
    url: str | None
    author: str | None
    lead: str | None
    paragraphs: tuple[Snippet, ...]
    title_highlights: tuple[tuple[int, int], ...] = ()
    source_name: str | None = None  # the source's display name (`source` is its key)


@dataclass(frozen=True)
class IndexReport:
    """What a rebuild or an update did, counted in articles."""

    index_dir: str
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    skipped: tuple[Skipped, ...] = field(default_factory=tuple)

    @property
    def indexed(self) -> int:
        """Articles the index holds from the paths given."""
        return self.added + self.updated + self.unchanged


@dataclass(frozen=True)
class IndexStats:
    """What `search stats` shows."""

    index_dir: str
    documents: int
    first_date: str | None
    last_date: str | None
    sources: tuple[Count, ...]
    categories: tuple[Count, ...]
    size_bytes: int
    updated_at: float  # seconds since the epoch
    # Files read with a field map (`--map`), with the map: `{"body": "texte"}`.
    field_maps: tuple[tuple[str, dict[str, str]], ...] = ()


@dataclass(frozen=True)
class IndexCheck:
    """What `search check` found: `problems` is empty when the index is whole."""

    index_dir: str
    generation: str | None
    documents: int
    files_checked: int
    problems: tuple[str, ...] = ()
    advice: str = ""


@dataclass(frozen=True)
class FormCount:
    """A word as written in the archive (folded) and the articles that have it."""

    form: str
    documents: int


@dataclass(frozen=True)
class ExplainedTerm:
    """One index term a query word searches: where it came from (`lexicon`, `stem`,
    `exact`, `fuzzy`, `truncated`), the articles that have it in the fields searched, and
    the words as written in the archive that it stands for."""

    term: str
    origin: str
    documents: int
    forms: tuple[FormCount, ...] = ()
    entity: str | None = None  # a lexicon term's name and kind: "Maroc (country)"


@dataclass(frozen=True)
class ExplainedWord:
    """A word, phrase or truncation of the query, as written, and what it searches."""

    word: str
    fields: tuple[str, ...]
    terms: tuple[ExplainedTerm, ...] = ()


@dataclass(frozen=True)
class Explanation:
    """What `search explain` shows: each query word's index terms and their forms."""

    query: str
    words: tuple[ExplainedWord, ...] = ()
