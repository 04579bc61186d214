"""Dates as ISO prefixes that keep the source's precision: `2025`, `2025-04`, `2025-04-13`.

Metadata dates (`2020-06-15T10:00:00Z`, `2020-06-15 10:00`) are cut to their date; French
dates written in a dateline or an article's opening (`Rabat, 28 août 2024`, `le 1er mars`,
`en mars 2024`) are read with a small month table. A day and month without a year (`le 3
mars`) only refine a metadata date that gives the year alone: an archive's articles span
years, so guessing the year would file the article in the wrong one.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from search.words import fold

MONTHS = {
    "janvier": 1, "janv": 1, "fevrier": 2, "fevr": 2, "fev": 2, "mars": 3, "avril": 4, "avr": 4,
    "mai": 5, "juin": 6, "juillet": 7, "juil": 7, "aout": 8, "septembre": 9, "sept": 9,
    "octobre": 10, "oct": 10, "novembre": 11, "nov": 11, "decembre": 12, "dec": 12,
}
_MONTH = r"(?:janv(?:ier)?|f[ée]v(?:r(?:ier)?)?|mars|avr(?:il)?|mai|juin|juil(?:let)?|ao[ûu]t" \
         r"|sept(?:embre)?|oct(?:obre)?|nov(?:embre)?|d[ée]c(?:embre)?)"
_YEAR = r"(?:1[89]|2[01])\d\d"
_FRENCH_DATE = re.compile(
    rf"\b(?:(?P<day>1er|[12]\d|3[01]|0?[1-9])\s+(?P<month>{_MONTH})\.?(?:\s+(?P<year>{_YEAR}))?"
    rf"|(?P<lone_month>{_MONTH})\.?\s+(?P<month_year>{_YEAR}))\b",
    re.I,
)
_ISO = re.compile(r"\A\s*(?P<year>\d{4})(?:-(?P<month>\d\d)(?:-(?P<day>\d\d))?)?(?=$|[T\s])")
# A date as `--since`/`--until` take it, in ASCII digits (`\d` would take `٢٠٢٠`).
ISO_DATE = re.compile(r"\A(?P<year>[0-9]{4})(?:-(?P<month>[0-9]{2})(?:-(?P<day>[0-9]{2}))?)?\Z")
_DMY = re.compile(r"\A\s*(?P<day>\d{1,2})[/.](?P<month>\d{1,2})[/.](?P<year>\d{4})\b")


def iso(year: int, month: int | None = None, day: int | None = None) -> str | None:
    """The ISO prefix for a date, or None if it is not a real date."""
    if not 1800 <= year <= 2200 or month is not None and not 1 <= month <= 12:
        return None
    if day is not None and not 1 <= day <= _days_in(year, month or 1):
        return None
    parts = [f"{year:04}"] + [f"{n:02}" for n in (month, day) if n is not None]
    return "-".join(parts)


def _days_in(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def normalize_date(value: str) -> str | None:
    """A metadata date (ISO with or without time, `15/06/2020`, or French words) as ISO."""
    found = _ISO.match(value)
    if found:
        month, day = found["month"], found["day"]
        return iso(int(found["year"]), int(month) if month else None, int(day) if day else None)
    found = _DMY.match(value)
    if found:
        return iso(int(found["year"]), int(found["month"]), int(found["day"]))
    return french_date(value)


def french_date(text: str, year: str | None = None) -> str | None:
    """The first French date written in `text`; `year` completes one that has none."""
    for found in _FRENCH_DATE.finditer(text):
        if found["month_year"]:
            return iso(int(found["month_year"]), _month(found["lone_month"]))
        written_year = found["year"] or year
        if written_year:
            day = 1 if found["day"].lower() == "1er" else int(found["day"])
            return iso(int(written_year), _month(found["month"]), day)
    return None


def _month(name: str) -> int:
    return MONTHS[fold(name)]


# `--since`/`--until` presets, counted back from today: `7d` is the date 7 days ago.
_RELATIVE = re.compile(r"\A(?P<count>[0-9]{1,4})(?P<unit>[dwmy])\Z")
DATE_PRESETS = ("today", "yesterday", "7d", "30d", "3m", "1y")
PRESET_YEARS = 100  # the furthest back a preset goes: an archive's dates, not history's
PRESETS_WRITTEN = ("today, yesterday, or days, weeks, months or years before today (7d, 2w, "
                   f"3m, 1y; at most {PRESET_YEARS} years)")


def today() -> date:
    """Today's date: the one point presets count from (tests replace it)."""
    return date.today()


def resolve_date(value: str, now: date | None = None) -> str:
    """`value` as an ISO date prefix: a preset (`today`, `yesterday`, `Nd`, `Nw`, `Nm`,
    `Ny` ago) becomes the day it names, counted from `now` (default: `today()`); anything
    else is returned as given, for the filter to check."""
    word = value.strip().lower()
    now = now or today()
    if word == "today":
        return now.isoformat()
    if word == "yesterday":
        return (now - timedelta(days=1)).isoformat()
    found = _RELATIVE.match(word)
    if not found:
        return value
    count, unit = int(found["count"]), found["unit"]
    if unit in "dw":
        days = count * (7 if unit == "w" else 1)
        if days > 366 * PRESET_YEARS:
            return value  # too far back: the filter says so
        return (now - timedelta(days=days)).isoformat()
    back = count * (12 if unit == "y" else 1)
    if back > 12 * PRESET_YEARS:
        return value
    year, month = divmod(now.year * 12 + now.month - 1 - back, 12)
    return date(year, month + 1, min(now.day, _days_in(year, month + 1))).isoformat()
