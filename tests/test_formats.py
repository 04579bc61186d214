import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from search.dates import french_date, normalize_date
from search.formats.html import headline
from search.formats.records import (
    FIELD_NAMES,
    FIELDS,
    json_records,
    jsonl_records,
    parse_records,
)
from search.formats.text import parse_text
from search.ingest import SourceFile, parse_file
from search.models import Article, Skipped
from search.sources import domain_of

FIXTURES = Path(__file__).parent / "fixtures"


def parse(path: Path, data: bytes | None = None, field_map=None) -> list[Article | Skipped]:
    """The items of the file at `path`, written with `data` first if given."""
    if data is not None:
        path.write_bytes(data)
    return [item for item, _ in parse_file(SourceFile(path, path.parent), field_map or {})]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2020-06-15T10:00:00Z", "2020-06-15"),
        ("2020-06-15 10:00", "2020-06-15"),
        ("2020-06", "2020-06"),
        ("2019", "2019"),
        ("15/06/2020", "2020-06-15"),
        ("28 août 2024", "2024-08-28"),
        ("2020-13-01", None),
        ("2024-02-30", None),
        ("demain", None),
    ],
)
def test_metadata_dates(text, expected):
    assert normalize_date(text) == expected


@pytest.mark.parametrize(
    "text, year, expected",
    [
        ("Rabat, 28 août 2024 (MAP) - Le ministre", None, "2024-08-28"),
        ("RABAT, 28 AOUT 2024", None, "2024-08-28"),
        ("Paris, le 1er mars 2023 —", None, "2023-03-01"),
        ("le 12 déc. 2019 à Dakar", None, "2019-12-12"),
        ("en février 2021, le sommet", None, "2021-02"),
        ("le 3 mars", None, None),  # no year: not guessed
        ("le 3 mars", "2025", "2025-03-03"),
        ("le 31 février 2024", None, None),
        ("le président Macron a reçu", None, None),
        ("les 2 000 soldats", None, None),
    ],
)
def test_french_dates(text, year, expected):
    assert french_date(text, year=year) == expected


@pytest.mark.parametrize(
    "url, source",
    [
        ("https://actu.orange.fr/monde/x.html", "actu.orange.fr"),
        ("https://www.lemonde.fr/a", "lemonde.fr"),
        ("lemonde.fr/a", "lemonde.fr"),
        ("", None),
        ("www.AFP.com", "afp.com"),
        ("Actu.Orange.FR.", "actu.orange.fr"),
        ("Orange Actu", None),
        ("AFP", None),
        ("2.5", None),
        ("http://[::1", None),
    ],
)
def test_domain_of_a_url_or_a_domain_name(url, source):
    assert domain_of(url) == source


def test_text_header():
    article = parse_text(
        "title: Visite d'État à Astana\ndate: 2024-08-28T08:00\nsource: MAP\n"
        "url: https://www.mapexpress.ma/x\ncategory: Diplomatie\ndateline: Astana\n"
        "author: A. Berrada\n\nLe roi a reçu le président.\n\nSuite de l'article.",
        id="x", path="x.txt")
    assert (article.title, article.date, article.source, article.url, article.category,
            article.dateline, article.author) == (
        "Visite d'État à Astana", "2024-08-28", "MAP", "https://www.mapexpress.ma/x",
        "Diplomatie", "Astana", "A. Berrada")
    assert article.body == "Le roi a reçu le président.\n\nSuite de l'article."
    assert article.lead == "Le roi a reçu le président."


def test_a_colon_in_a_first_line_is_not_a_header():
    article = parse_text("Sommet: les chefs d'État réunis\n\nTexte.", id="x", path="x.txt")
    assert article.title == "Sommet: les chefs d'État réunis"


@pytest.mark.parametrize(
    "text, date",
    [
        ("Un titre\n\nRabat, 28 août 2024 (MAP) - Le ministre a reçu son homologue.", "2024-08-28"),
        ("date 2025 Tachkent — Le président a appelé, le 6 avril, à renforcer.", "2025-04-06"),
        ("date 2025 Tachkent — Le président a appelé à renforcer.", "2025"),
        ("Un titre\n\nLe 3 mars, le ministre a reçu son homologue.", None),
    ],
)
def test_dates_written_in_the_text(text, date):
    assert parse_text(text, id="x", path="x.txt").date == date


def test_news_page_keeps_only_the_article():
    [article] = parse(FIXTURES / "news-page.html")
    assert article.title == "Le Maroc et le Kazakhstan signent un accord sur l'eau"
    assert (article.date, article.source, article.author, article.category) == (
        "2024-08-28", "Le Diplomate", "Amina Berrada", "Monde")
    assert article.url == "https://www.lediplomate.example/monde/maroc-kazakhstan-accord-eau"
    assert article.body.startswith("Rabat et Astana ont conclu mercredi")
    assert article.body.endswith("exportateurs d'engrais phosphatés.")
    assert article.lead.startswith("Rabat et Astana ont conclu mercredi")
    for noise in ("cookies", "Accueil", "Partager", "Kénitra", "Mohammedia", "commentaire",
                  "adresse e-mail", "Articles liés", "Sénégal", "Tous droits", "S'abonner"):
        assert noise not in article.body


def test_a_saved_wayback_machine_copy_is_read_as_the_page_it_saved():
    """archive.org's toolbar around an older page whose article is laid out in a table:
    the article is read (it was dropped as none), without the toolbar, from the saved URL."""
    [article] = parse(FIXTURES / "wayback-page.html")
    assert (article.title, article.date, article.source) == (
        "Visite du ministre à Rabat", "2011-05-23", "dw.de")
    assert article.url == "http://www.dw.de/fr/visite-du-ministre-%C3%A0-rabat/a-15098254"
    assert article.body.split("\n\n") == [
        "Le ministre allemand des Affaires étrangères est arrivé lundi à Rabat pour une visite "
        "de deux jours consacrée à la coopération économique.",
        "Au cours de ses entretiens avec son homologue marocain, le ministre a évoqué les "
        "projets d'énergie solaire dans le sud du pays et la formation professionnelle des jeunes.",
    ]


@pytest.mark.parametrize("title, sitename, url, first_line, expected", [
    ("Visite à Rabat - Gala", "Gala", None, None, "Visite à Rabat"),
    ("Visite à Rabat | DW | 23.05.2011", None, "https://www.dw.com/fr/a", None, "Visite à Rabat"),
    ("Visite à Rabat | DW", None, "https://www.dw.com/fr/a", None, "Visite à Rabat"),
    ("Maroc - Kazakhstan | Le Monde.fr", "Le Monde", None, None, "Maroc - Kazakhstan"),
    ("Maroc - Kazakhstan | lemonde.fr", None, "https://www.lemonde.fr/x", None, "Maroc - Kazakhstan"),
    ("Le Monde - Maroc - Kazakhstan", None, "https://www.lemonde.fr/a", None, "Maroc - Kazakhstan"),
    ("Accord – Orange Actu", "Orange Actu", "https://actu.orange.fr/a", None, "Accord"),
    ("Visite à Rabat | Le Diplomate", None, None, "Visite à Rabat", "Visite à Rabat"),  # its <h1>
    # kept: no segment is the site's name
    ("Maroc - Kazakhstan : accord", None, "https://x.fr/a", None, "Maroc - Kazakhstan : accord"),
    ("Sommet de Lomé - 2020", None, "https://x.fr/a", None, "Sommet de Lomé - 2020"),
    ("Gala", "Gala", None, None, "Gala"),
    ("Visite | Gala", None, None, "Visite à Rabat", "Visite | Gala"),
])
def test_a_pages_title_without_the_sites_name(title, sitename, url, first_line, expected):
    assert headline(title, sitename, url, first_line) == expected


def test_a_page_with_no_article_is_skipped():
    path = FIXTURES / "index-page.html"
    assert parse(path) == [Skipped(str(path), "no article text in the page")]


ORANGESUM_LIKE = {
    "id": 17, "url": "https://actu.orange.fr/monde/poutine-referendum.html",
    "category": "monde", "date": "2020-07-01", "title": "Poutine gagne son référendum",
    "heading": "Les Russes ont approuvé la réforme.", "article": "Moscou - Le président russe...",
}


def test_jsonl_export(tmp_path):
    lines = [json.dumps(ORANGESUM_LIKE), "{not json", json.dumps({**ORANGESUM_LIKE, "id": 18,
             "article": ""}), "", json.dumps(["a list"])]
    path = tmp_path / "export.jsonl"
    items = parse(path, "\n".join(lines).encode())
    assert items[0] == Article(
        id="export.jsonl#17", path=str(path), title="Poutine gagne son référendum",
        body="Moscou - Le président russe...", date="2020-07-01", category="monde",
        source="actu.orange.fr", url=ORANGESUM_LIKE["url"],
        lead="Les Russes ont approuvé la réforme.")
    assert items[1:] == [
        Skipped(f"{path}:2", "malformed JSON line (Expecting property name enclosed in double quotes)"),
        Skipped(f"{path}:3", "no article text", "export.jsonl#18"),
        Skipped(f"{path}:5", "not a JSON object"),
    ]


def test_json_list_with_other_names_and_a_field_map(tmp_path):
    records = [{"uuid": "a1", "headline": "Sommet à Dakar", "texte_integral": "Le sommet...",
                "published": "2021-03-04T10:00:00Z", "authors": ["A. Diop", "B. Sow"],
                "site": "APS", "summary": "Un sommet."}]
    path = tmp_path / "export.json"
    [article] = parse(path, json.dumps(records).encode(), {"body": "texte_integral"})
    assert (article.id, article.title, article.body, article.date, article.author,
            article.source, article.lead) == (
        "export.json#a1", "Sommet à Dakar", "Le sommet...", "2021-03-04", "A. Diop, B. Sow",
        "APS", "Un sommet.")


def test_a_malformed_json_file_is_skipped_whole(tmp_path):
    path = tmp_path / "broken.json"
    [item] = parse(path, b'[{"title": "x",')
    assert isinstance(item, Skipped) and item.reason.startswith("malformed JSON")


# --- pages of links are not articles ------------------------------------------------------------

PAGE = ('<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>Le Diplomate</title>'
        "</head><body>{}</body></html>")
HEADLINES = ["Le Sénégal inaugure un nouveau port en eau profonde à Ndayane",
             "La Tunisie relance la production de phosphates à Gafsa",
             "Le Maroc et le Kazakhstan signent un accord sur l'eau",
             "Le président du Mazhilis en visite à Tachkent",
             "Astana accueille le sommet de l'Organisation de coopération de Shanghai"]


def _each(template: str) -> str:
    return "".join(template.format(n=n, headline=h, day=n + 1) for n, h in enumerate(HEADLINES))


@pytest.mark.parametrize(
    "body, reason",
    [
        ("<article>" + _each('<p><a href="/{n}">{headline}</a></p>') + "</article>",
         "no article text in the page (100% of its text is links)"),
        ('<div class="post-content">' + _each('<p><a href="/{n}">{headline}</a> — {day} mars '
                                              "2024</p>") + "</div>",
         "no article text in the page (84% of its text is links)"),
        ("<article>" + _each('<h2><a href="/{n}">{headline}</a></h2><p><a href="/{n}">{headline}.'
                             " Lire la suite de cet article sur notre site.</a></p>")
         + "</article>",
         "no article text in the page (100% of its text is links)"),
        ("<main>" + _each('<div><p><a href="/{n}">{headline}</a></p><p><a href="/{n}">{headline}'
                          ", la suite.</a></p><p>{day} août 2024</p></div>") + "</main>",
         "no article text in the page (no paragraph of prose)"),
        ("<main><h1>Monde</h1>" + _each('<div><p><a href="/{n}">{headline}</a></p><p>{day} août '
                                         "2024</p></div>") + "</main>",
         "no article text in the page"),
        ("<header><nav><ul>" + _each('<li><a href="/{n}">{headline}</a></li>')
         + '</ul></nav></header><footer><a href="/c">Contact</a></footer>',
         "no article text in the page"),
        ("<main><h1>Plan du site</h1><ul>" + _each('<li><a href="/{n}">{headline}</a><ul><li>'
                                                    '<a href="/{n}/a">Archives {n}</a></li></ul>'
                                                    "</li>") + "</ul></main>",
         "no article text in the page"),
        ("", "no article text in the page"),
        ("<p>&#0;</p>", "no article text in the page (no paragraph of prose)"),
    ],
    ids=["links in an article", "headlines with dates", "linked summaries", "dates and links",
         "dates", "navigation", "sitemap", "empty", "NUL"],
)
def test_a_page_of_links_is_skipped(tmp_path, body, reason):
    path = tmp_path / "page.html"
    assert parse(path, PAGE.format(body).encode()) == [Skipped(str(path), reason)]


@pytest.mark.parametrize("name", ["index-page.html", "section-page.html"])
def test_saved_index_pages_are_skipped(name):
    assert parse(FIXTURES / name) == [Skipped(str(FIXTURES / name), "no article text in the page")]


@pytest.mark.parametrize(
    "body, start",
    [
        ("<article><h1>Accord sur l'eau</h1>" + "".join(
            f'<p>Rabat et Astana ont conclu mercredi un <a href="/a{n}">protocole d\'accord</a> sur '
            "la gestion des ressources hydriques, au terme d'une visite de deux jours, a indiqué le "
            f'<a href="/m{n}">ministère</a>.</p>' for n in range(3)) + "</article>",
         "Rabat et Astana ont conclu mercredi un protocole d'accord"),
        ("<article><h1>Accord sur l'eau</h1><p>Rabat et Astana ont signé mercredi un accord sur la "
         "gestion de l'eau.</p></article>", "Rabat et Astana ont signé mercredi"),
        ("<nav>" + _each('<a href="/{n}">{headline}</a> ') + "</nav><article><h1>Accord sur l'eau"
         "</h1><p>Rabat et Astana ont signé mercredi un accord sur la gestion de l'eau.</p>"
         "</article>", "Rabat et Astana ont signé mercredi"),
    ],
    ids=["inline links", "a short dispatch", "a short dispatch under a menu"],
)
def test_an_article_with_links_is_read(tmp_path, body, start):
    [article] = parse(tmp_path / "page.html", PAGE.format(body).encode())
    assert article.title == "Accord sur l'eau" and article.body.startswith(start)


# --- JSON: any type in any field, any depth, any text -----------------------------------------

def records(lines, field_map=None, path="x.jsonl"):
    return [item for item, _ in parse_records(jsonl_records([line.encode() for line in lines], path), id=path, path=path,
                                              field_map=field_map or {})]


@pytest.mark.parametrize(
    "line",
    [b"", b"   \t", b"\r", b"\xef\xbb\xbf", "\u00a0\u3000 ".encode(), b" \xa0"],
    ids=["empty", "spaces", "a return", "a byte order mark", "Unicode spaces", "a cp1252 space"],
)
def test_a_blank_line_between_records_is_no_record(line):
    record = json.dumps({"text": "Le texte."}).encode()
    lines = [record + b"\n", line + b"\n", record]
    raw = list(jsonl_records(lines, "x.jsonl"))
    assert [r.where for r in raw] == ["x.jsonl:1", "x.jsonl:3"]


@pytest.mark.parametrize(
    "value, title",
    [
        ("Sommet", "Sommet"),
        (17, "17"),
        (1.5, "1.5"),
        (True, "True"),
        (10 ** 300, str(10 ** 300)),
        (None, "Le texte."),  # missing: the first sentence
        ([], "Le texte."),
        ({}, "Le texte."),
        (["A. Diop", None, "", "B. Sow"], "A. Diop, B. Sow"),
        ([1, [2, {"a": "b", "c": [None, 3.5]}]], "1, 2, b, 3.5"),
        ({"fr": {"court": "Sommet"}}, "Sommet"),
        ("Sur\ud800rogate \udfff", "Sur\ufffdrogate \ufffd"),
        ("N\x00U\x00L", "NUL"),
        ("\x1b[31mRouge\x1b[0m\x07", "[31mRouge [0m"),
        ("  \n\t ", "Le texte."),
    ],
)
def test_any_json_value_is_read_as_text(value, title):
    [article] = records([json.dumps({"title": value, "text": "Le texte."})])
    assert article.title == title


@pytest.mark.parametrize("field", ["date", "url", "source", "author", "category", "dateline",
                                   "heading", "id"])
@pytest.mark.parametrize("value", [0, -1.5e308, float("nan"), True, None, [], {}, [[["x"]]],
                                   {"a": {"b": 1}}, "\ud800", "\x00", "http://[::1",
                                   "http://[::1]:99999/", "//a\u2100b/", "9" * 200])
def test_any_json_value_in_any_field_gives_a_clean_article(field, value):
    [article] = records([json.dumps({"text": "Un article à Dakar.", field: value})])
    assert article.body == "Un article à Dakar."
    _assert_clean(article)


def _assert_clean(article: Article) -> None:
    for name, text in vars(article).items():
        if text is not None:
            text.encode("utf-8")
            assert "\x00" not in text, name
    assert article.id.isprintable() and article.path.isprintable()


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                 max_size=3),
    max_leaves=8)
KEYS = st.sampled_from([name for names in FIELD_NAMES.values() for name in names]) | st.text(max_size=5)


@given(st.lists(st.dictionaries(KEYS, JSON_VALUES, max_size=6) | JSON_VALUES, max_size=4),
       st.dictionaries(st.sampled_from(FIELDS), KEYS, max_size=2))
def test_any_export_gives_articles_or_reasons(values, field_map):
    lines = [json.dumps(value) for value in values]
    as_list = parse_records(json_records(json.dumps(values), "x.json"), id="x.json",
                            path="x.json", field_map=field_map)
    for items in (records(lines, field_map), [item for item, _ in as_list]):
        assert len(items) == len(values)
        for item in items:
            if isinstance(item, Article):
                _assert_clean(item)
            else:
                assert isinstance(item, Skipped) and item.reason.isprintable()


DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize(
    "text, found",
    [
        ('[{"text": "a"}, {"text": "b"}]', ["#1", "#2"]),
        ('{"text": "a"}', ["#1"]),
        ("[]", []),
        (" [ ] \n", []),
        (DEEP, ["[1] JSON nested too deep"]),
        ('{"text": ' + DEEP + "}", ["[1] JSON nested too deep"]),
        (f'[{{"text": "a"}}, {DEEP}, {{"text": "c"}}]', ["#1", "[2] JSON nested too deep", "#3"]),
        ('[{"text": "a"}, {"text": ' + DEEP + '}, {"text": "c"}]',
         ["#1", "[2] JSON nested too deep", "#3"]),
        ('[{"text": "a"}, 1' + "0" * 5000 + ', {"text": "c"}]',
         ["#1", "[2] malformed JSON (Exceeds the limit (4300 digits) for integer string "
                "conversion)", "#3"]),
        ('[{"text": "a"}, "x"]', ["#1", "[2] not a JSON object"]),
        ('[{"text": "a"},]', ["#1", "[2] malformed JSON (Expecting value)"]),
        ('[{"text": "a"} {"text": "b"}]', ["#1", "[2] malformed JSON (expecting ',' or ']' at "
                                                 "line 1)"]),
        ('[{"text": "a"}] x', ["#1", "[2] malformed JSON (text after the end of the list)"]),
        ('[{"text": "a"}', ["#1", "[2] malformed JSON (expecting ',' or ']' at line 1)"]),
        ('{"text": "a"} x', ["[1] malformed JSON (Extra data)"]),
        ('[{"text": "\\ud800 a"}]', ["#1"]),
    ],
)
def test_json_list_elements_are_read_one_by_one(text, found):
    items = parse_records(json_records(text, "x.json"), id="x.json", path="x.json",
                          field_map={})
    assert [item.id.removeprefix("x.json") if isinstance(item, Article)
            else f"{item.path.removeprefix('x.json')} {item.reason}" for item, _ in items] == found


@pytest.mark.parametrize(
    "record, field_map, reason",
    [
        ({"titre": "x", "texte_integral": "y"}, {},
         "no article text (keys: titre, texte_integral; name the body with --map body=KEY)"),
        ({"titre": "x", "texte": ""}, {}, "no article text"),
        ({"article": None}, {}, "no article text"),
        ({"corps": [None, ""]}, {"body": "corps"}, "no article text"),
        ({}, {}, "no article text (an empty record)"),
        ({"a\nb": 1, "\x1b[2J": 2}, {},
         "no article text (keys: a\\nb, \\x1b[2J; name the body with --map body=KEY)"),
        ({f"k{n}": n for n in range(12)}, {},
         "no article text (keys: k0, k1, k2, k3, k4, k5, k6, k7, … (12 keys); name the body "
         "with --map body=KEY)"),
        ({"x" * 60: 1}, {},
         f"no article text (keys: {'x' * 40}; name the body with --map body=KEY)"),
    ],
)
def test_a_record_with_no_text_says_which_keys_it_has(record, field_map, reason):
    assert records([json.dumps(record)], field_map) == [Skipped("x.jsonl:1", reason, "x.jsonl#1")]


@pytest.mark.parametrize("record, field_map, body", [
    ({"corps": "a", "article": "b"}, {"body": "corps"}, "a"),  # the mapped key first
    ({"article": "b"}, {"body": "corps"}, "b"),  # then the usual ones (issue 10)
])
def test_a_field_map_names_a_key_tried_before_the_usual_ones(record, field_map, body):
    [article] = records([json.dumps(record)], field_map)
    assert article.body == body


@pytest.mark.parametrize(
    "url, source",
    [
        ("http://[::1", None),  # urlsplit raises ValueError
        ("//a\u2100b/x", None),  # so does a host that NFKC turns into a path
        ("http://[::1]:99999/x", "::1"),
        ("http://[v1.fe]/", "v1.fe"),
        ("http://user@www.Site.FR:80/x", "site.fr"),
        ("http://\x00\ud800/", None),  # cleaned to `http://\ufffd/`: a host of no letter
    ],
)
def test_a_url_that_does_not_parse_gives_no_source(url, source):
    [article] = records([json.dumps({"url": url, "text": "Le texte."})])
    assert article.source == source
    _assert_clean(article)
