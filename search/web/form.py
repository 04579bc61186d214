"""The search form's parameters, read from the URL and checked as the CLI checks its
options; anything wrong is a `FormError` whose message the page shows (in French)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from search.dates import ISO_DATE, PRESET_YEARS, iso, resolve_date
from search.errors import SearchError
from search.models import SORT_ORDERS, Filters

PAGE_SIZE = 20
# A page reads the hits before it without building their snippets (Reader.search's
# offset); past the last page, the CSV export gives every hit.
MAX_PAGE = 50
SORT_LABELS = {"relevance": "pertinence", "date": "date, les plus récents d’abord"}
PARAMETERS = ("q", "source", "category", "since", "until", "sort", "page", "copies")
MAX_LENGTH = 1000  # characters of one parameter
DATE_LABELS = {"since": "Depuis", "until": "Jusqu’au"}


class FormError(SearchError):
    """A parameter of the page that cannot be used (a page number out of range...)."""


@dataclass(frozen=True)
class SearchForm:
    q: str = ""
    source: str = ""
    category: str = ""
    since: str = ""
    until: str = ""
    sort: str = "relevance"
    page: int = 1
    copies: bool = False  # every copy of a dispatch as a hit of its own

    @property
    def filters(self) -> Filters:
        return Filters(source=self.source or None, category=self.category or None,
                       since=self.since or None, until=self.until or None)

    @property
    def asked(self) -> bool:
        """Words or a filter: something to search (else the page shows the form alone)."""
        return bool(self.q.strip() or any(vars(self.filters).values()))

    def params(self) -> dict[str, str]:
        """The parameters of the URL that reproduces this search (defaults left out)."""
        return {"q": self.q, "source": self.source, "category": self.category,
                "since": self.since, "until": self.until,
                "sort": "" if self.sort == "relevance" else self.sort,
                "page": "" if self.page == 1 else str(self.page),
                "copies": "1" if self.copies else ""}


def read_form(query: Mapping[str, str]) -> SearchForm:
    """The form of a request's query string; raises FormError naming what is wrong."""
    values = {name: (query.get(name) or "").strip() for name in PARAMETERS}
    for name, value in values.items():
        if len(value) > MAX_LENGTH:
            raise FormError(f"Le paramètre « {name} » dépasse {MAX_LENGTH} caractères.")
    sort = values["sort"] or "relevance"
    if sort not in SORT_ORDERS:
        raise FormError(f"Tri inconnu « {sort} » : choisissez "
                        + " ou ".join(f"« {order} »" for order in SORT_ORDERS) + ".")
    page = _page(values["page"])
    for name in DATE_LABELS:
        _check_date(name, values[name])
    if values["copies"] not in ("", "0", "1"):
        raise FormError("Le paramètre « copies » vaut 1 (chaque copie) ou 0.")
    return SearchForm(q=values["q"], source=values["source"], category=values["category"],
                      since=values["since"], until=values["until"], sort=sort, page=page,
                      copies=values["copies"] == "1")


def _page(text: str) -> int:
    if not text:
        return 1
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_PAGE:
        raise FormError(f"Page « {text} » impossible : les pages vont de 1 à {MAX_PAGE} "
                        "(l’export CSV donne tous les résultats).")
    return int(text)


def _check_date(name: str, value: str) -> None:
    """A date of the form, or a preset, as the CLI takes them; said in French here (the
    library's message names the CLI's options)."""
    if not value:
        return
    found = ISO_DATE.match(resolve_date(value))
    if found and iso(*(int(part) if part else None for part in found.groups())):
        return
    raise FormError(
        f"« {DATE_LABELS[name]} » : « {value} » n’est pas une date. Écrivez 2020, 2020-06 ou "
        f"2020-06-15, ou today, yesterday, 7d, 2w, 3m, 1y (jours, semaines, mois ou années "
        f"avant aujourd’hui, {PRESET_YEARS} ans au plus).")
