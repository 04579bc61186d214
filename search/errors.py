"""Our exception classes: the CLI turns each into a one-line message and a non-zero exit."""


class SearchError(Exception):
    """Base class: the message says what went wrong and what to do."""


class QuerySyntaxError(SearchError):
    """The query text cannot be understood."""


class IndexMissingError(SearchError):
    """There is no index where one was expected."""


class IndexCorruptError(SearchError):
    """An index exists but cannot be read."""


class IndexOutdatedError(IndexCorruptError):
    """The index was built by a version that analyzed text differently."""


class IndexLockedError(SearchError):
    """Another process is writing to the index."""


class CorpusError(SearchError):
    """A corpus path given to the indexer does not exist or holds no articles."""


class UnreadableArticle(SearchError):
    """One article file cannot be used (binary, empty, unreadable); it is skipped."""


class SubWriterFailed(SearchError):
    """A sub-process indexing part of a large write died before handing over its work."""


class MassRemovalRefused(SearchError):
    """A write would remove many articles at once; it needs the user's confirmation."""


class IndexWriteError(SearchError):
    """The system refused a write of the index (no space, a file-size limit, a read-only
    folder, too many open files...); the previous index is unchanged."""


class QueryTooBroadError(SearchError):
    """A truncated or fuzzy word stands for too many words to search them all."""


class FilterError(SearchError):
    """A filter (`--source`, `--category`) names something that no article has."""


class UnknownArticleError(SearchError):
    """`search show` was given an id that no article of the index has."""
