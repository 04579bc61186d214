"""Date presets of `--since`/`--until`, counted from an injected today."""

from datetime import date

import pytest

from search import dates
from search.dates import resolve_date

TODAY = date(2024, 3, 31)


@pytest.mark.parametrize("value, expected", [
    ("today", "2024-03-31"),
    ("Today", "2024-03-31"),
    ("yesterday", "2024-03-30"),
    ("7d", "2024-03-24"),
    ("30d", "2024-03-01"),
    ("2w", "2024-03-17"),
    ("3m", "2023-12-31"),
    ("1m", "2024-02-29"),  # no 31 February: the month's last day
    ("1y", "2023-03-31"),
    ("0d", "2024-03-31"),
    # not presets: left for the filter to check
    ("2020", "2020"),
    ("2020-06-15", "2020-06-15"),
    ("demain", "demain"),
    ("7", "7"),
    ("d7", "d7"),
    ("9999y", "9999y"),  # more than 100 years back: left for the filter to refuse
    ("99999d", "99999d"),
    ("9999w", "9999w"),
    ("101y", "101y"),
    ("1201m", "1201m"),
    ("100y", "1924-03-31"),
    ("1200m", "1924-03-31"),
    ("5200w", "1924-08-03"),
])
def test_presets_name_a_day_before_today(value, expected):
    assert resolve_date(value, TODAY) == expected


def test_today_can_be_replaced(monkeypatch):
    monkeypatch.setattr(dates, "today", lambda: date(2001, 1, 1))
    assert resolve_date("yesterday") == "2000-12-31"
