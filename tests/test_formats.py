import json
from pathlib import Path

import pytest

from search.dates import french_date, normalize_date
from search.formats import source_from_url
from search.formats.text import parse_text
from search.ingest import SourceFile, parse_file
from search.models import Article, Skipped

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
    ],
)
def test_source_from_url(url, source):
    assert source_from_url(url) == source


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
        Skipped(f"{path}:3", "no article text"),
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
