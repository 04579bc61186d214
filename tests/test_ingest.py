import os
from pathlib import Path

import pytest

from search.errors import CorpusError, UnreadableArticle
from search.formats import shorten
from search.formats.text import parse_text
from search.ingest import decode, find_article_files, load_articles, read_article
from search.models import Article, Skipped

from .conftest import RABAT, SEEDS, TACHKENT


def test_scraped_page_seed():
    article = read_article(SEEDS / RABAT, SEEDS)
    assert article.id == RABAT
    assert article.title == (
        "Le Maroc et le Kazakhstan renforcent leur coopération bilatérale dans les domaines "
        "de la paix, du développement économique et culturel."
    )
    assert article.category == "Politique"
    assert article.date is None
    assert article.body.startswith("Maroc et Kazakhstan renforcent leur coopération")
    assert article.body.endswith("entre le Maroc et le Kazakhstan dans divers domaines.")
    for boilerplate in ("Loading", "Leave a Reply", "adresse e-mail", "Kénitra", "- in Politique"):
        assert boilerplate not in article.body


def test_dated_dispatch_seed():
    article = read_article(SEEDS / TACHKENT, SEEDS)
    assert article.date == "2025-04"
    assert article.dateline == "Tachkent"
    assert article.category is None
    assert article.title == (
        "Le président du Mazhilis, assemblée nationale du Kazakhstan, Koshanov Yerlan "
        "Zhakanovic, a appelé, dimanche à Tachkent…"
    )
    assert len(article.title) <= 120
    assert article.body.startswith("Le président du Mazhilis")
    assert "date 2025-04" not in article.body


@pytest.mark.parametrize(
    "text, title, date, dateline",
    [
        ("date 2024-08-28 Rabat — Le roi a reçu le ministre.\n\nSuite.",
         "Le roi a reçu le ministre.", "2024-08-28", "Rabat"),
        ("date 2019 Le roi a reçu le ministre.", "Le roi a reçu le ministre.", "2019", None),
        ("Un titre court\n\nLe corps de l'article.", "Un titre court", None, None),
        ("Une seule phrase. Puis une autre.", "Une seule phrase.", None, None),
    ],
)
def test_text_formats(text, title, date, dateline):
    article = parse_text(text, id="x", path="x.txt")
    assert (article.title, article.date, article.dateline) == (title, date, dateline)


def test_trailer_never_removes_the_whole_article():
    article = parse_text("Loading\n\nLe texte.", id="x", path="x.txt")
    assert article.body == "Loading\n\nLe texte."


@pytest.mark.parametrize(
    "text, limit, expected",
    [
        ("court", 120, "court"),
        ("un deux trois quatre", 12, "un deux…"),
        ("anticonstitutionnellement", 10, "anticonst…"),
    ],
)
def test_shorten(text, limit, expected):
    assert shorten(text, limit) == expected
    assert len(shorten(text, limit)) <= limit


@pytest.mark.parametrize(
    "data, text",
    [
        ("coopération".encode("utf-8"), "coopération"),
        ("\ufeffcoopération".encode("utf-8"), "coopération"),
        ("coopération œuvre".encode("cp1252"), "coopération œuvre"),
        ("coopération".encode("latin-1"), "coopération"),
    ],
)
def test_decode(data, text):
    assert decode(data) == text


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "empty file"),
        (b"  \n\n ", "empty file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
        (bytes(range(1, 32)) * 10, "binary file"),
    ],
)
def test_decode_refuses(data, reason):
    with pytest.raises(UnreadableArticle, match=reason):
        decode(data)


def test_bad_files_are_skipped_and_the_rest_read(tmp_path, monkeypatch):
    (tmp_path / "good.txt").write_text("Un titre\n\nUn article.", encoding="utf-8")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "image.txt").write_bytes(b"\x89PNG\x00\x00binary")
    (tmp_path / "latin.txt").write_bytes("Un été à Rabat\n\nTexte.".encode("latin-1"))
    (tmp_path / "locked.txt").write_text("x", encoding="utf-8")
    (tmp_path / "notes.md").write_text("ignored: not an article file", encoding="utf-8")
    (tmp_path / ".hidden.txt").write_text("ignored: hidden", encoding="utf-8")
    real_open = os.open

    def open_(path, *args, **kwargs):
        if Path(path).name == "locked.txt":  # chmod would not stop root
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", open_)
    items = {Path(i.path).name: i for i in load_articles(find_article_files([tmp_path]))}
    assert sorted(items) == ["empty.txt", "good.txt", "image.txt", "latin.txt", "locked.txt",
                             "notes.md"]
    assert isinstance(items["good.txt"], Article)
    assert items["latin.txt"].title == "Un été à Rabat"
    assert items["empty.txt"] == Skipped(str(tmp_path / "empty.txt"), "empty file")
    assert items["image.txt"].reason == "binary file"
    assert items["locked.txt"].reason == "cannot read: Permission denied"
    assert items["notes.md"].reason == (
        "unsupported file type .md (expected .htm, .html, .json, .jsonl, .txt)")


def test_a_file_of_another_kind_named_directly_is_reported(tmp_path):
    other = tmp_path / "page.pdf"
    other.write_bytes(b"%PDF")
    [item] = load_articles(find_article_files([other]))
    assert item == Skipped(
        str(other), "unsupported file type .pdf (expected .htm, .html, .json, .jsonl, .txt)")


def test_missing_corpus_path():
    with pytest.raises(CorpusError, match="No such file or folder: nowhere"):
        list(find_article_files([Path("nowhere")]))


def test_ids_are_relative_to_the_corpus_root(tmp_path):
    (tmp_path / "2025" / "avril").mkdir(parents=True)
    (tmp_path / "2025" / "avril" / "a.txt").write_text("Titre\n\nTexte.", encoding="utf-8")
    [article] = load_articles(find_article_files([tmp_path]))
    assert article.id == "2025/avril/a.txt"
