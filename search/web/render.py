"""What the templates need beyond the models: highlighted pieces, safe links, the chart.

Every string here is still plain text: the templates escape it (Jinja2's autoescape), so
an article's `<script>` shows as those characters. Text goes through `output.visible`
first, as on a terminal, so bidi overrides and control characters neither reorder nor
hide what is around them.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from search.models import CountTable, Snippet
from search.output import visible
from search.views import IMPRECISE, NO_LABEL, UNDATED

LINKED_SCHEMES = ("http", "https")
# Labels of the articles no filter can select, as the page names them.
UNPLACED = {UNDATED: "sans date", IMPRECISE: "date moins précise",
            NO_LABEL["source"]: "sans source", NO_LABEL["category"]: "sans rubrique"}


@dataclass(frozen=True)
class Piece:
    """A run of text, marked when it is one of the query's matches."""

    text: str
    marked: bool = False


def pieces(snippet: Snippet) -> list[Piece]:
    """The snippet cut at its highlights' offsets, each piece made visible on its own (so
    the marks stay on the words the offsets point to) and on one line."""
    out, position = [], 0
    for start, end in snippet.highlights:
        out.append(Piece(_one_line(snippet.text[position:start])))
        out.append(Piece(_one_line(snippet.text[start:end]), marked=True))
        position = end
    out.append(Piece(_one_line(snippet.text[position:])))
    return [piece for piece in out if piece.text]


def _one_line(text: str) -> str:
    return visible(text.replace("\n", " ").replace("\t", " "))


def shown(text: str | None) -> str:
    """A metadata field as text on one line ("" for none)."""
    return _one_line(text) if text else ""


def link(url: str | None) -> str | None:
    """`url` if a browser may follow it: http(s) with a host; anything else (`javascript:`,
    `data:`, a relative path) is shown as text, never linked."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in LINKED_SCHEMES or not parts.netloc:
        return None
    return url.strip()


def number(value: int) -> str:
    """`35987` as French writes it, `35 987` (a narrow no-break space)."""
    return f"{value:,}".replace(",", "\u202f")


def query_string(params: dict[str, str], **changes: str | None) -> str:
    """`?q=...&source=...` with `changes` applied (None removes a parameter); empty values
    are left out, so that links stay short."""
    merged = {**params, **changes}
    return "?" + urlencode({key: value for key, value in merged.items() if value})


@dataclass(frozen=True)
class Bar:
    label: str
    count: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Chart:
    """Bars of the articles per month or year, laid out for an inline SVG."""

    by: str
    bars: tuple[Bar, ...]
    ticks: tuple[Bar, ...]  # the bars whose label is written under the axis
    largest: int
    unplaced: int  # articles without a date precise enough for a bar
    width: int
    height: int


CHART_WIDTH, CHART_HEIGHT, AXIS = 720, 140, 18
TICKS = 8  # labels written under the axis, at most


CHART_MONTHS = 36  # more months than this: a bar per year


def chart(table: CountTable) -> Chart | None:
    """The first series of a count by month as bars, a bar per month or, over more than
    CHART_MONTHS, per year (None when no article has a usable date)."""
    series = table.series[0]
    dated = [(label, count) for label, count in zip(table.labels, series.counts, strict=True)
             if label not in UNPLACED]
    if not dated or not any(count for _, count in dated):
        return None
    by = table.by
    if by == "month" and len(dated) > CHART_MONTHS:
        by, years = "year", {}
        for label, count in dated:
            years[label[:4]] = years.get(label[:4], 0) + count
        dated = list(years.items())
    largest = max(count for _, count in dated)
    step = CHART_WIDTH / len(dated)
    plot = CHART_HEIGHT - AXIS
    bars = tuple(
        Bar(label, count, x=round(index * step, 2), y=round(plot - count / largest * plot, 2),
            width=round(max(step - 1, 0.5), 2), height=round(count / largest * plot, 2))
        for index, (label, count) in enumerate(dated))
    every = max(1, -(-len(bars) // TICKS))
    return Chart(by=by, bars=bars, ticks=bars[::every], largest=largest,
                 unplaced=series.total - sum(count for _, count in dated),
                 width=CHART_WIDTH, height=CHART_HEIGHT)
