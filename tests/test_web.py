"""The web page (search/web/app.py) through Starlette's TestClient, on a tiny index: the two
seeds, a hostile article and a dispatch with its copy."""

import csv
import io
import shutil
import socket

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from search.backend import WhooshBackend, reading
from search.cli import cli
from search.index import rebuild, update
from search.models import CountSeries, CountTable, Filters, Snippet
from search.output import visible
from search.web import create_app
from search.web.render import AXIS, chart, link, pieces, query_string
from tests.conftest import RABAT, SEEDS, TACHKENT, write_export

DISPATCH = ("Le ministre des Affaires étrangères a reçu son homologue pour un entretien consacré "
            "à la coopération économique, aux échanges culturels, à la sécurité régionale et aux "
            "investissements dans les énergies renouvelables, les ports, les routes et les écoles "
            "du pays voisin, avant une conférence de presse commune tenue au palais en fin de "
            "journée devant les journalistes venus nombreux de toute la région pour l'occasion.")
HOSTILE = {"id": "piege", "title": "<script>alert(1)</script> Piège",
           "url": "javascript:alert(1)", "source": "Presse <b>hostile</b>", "category": "monde",
           "date": "2024-05-02",
           "text": "<img src=x onerror=alert(2)> Le piège du ministre.\u202e La coopération reste."}
RECORDS = [
    HOSTILE,
    {"id": "depeche", "title": "Visite du ministre à Lomé", "url": "https://example.org/depeche",
     "source": "Agence", "category": "monde", "date": "2024-03-01", "text": DISPATCH},
    {"id": "reprise", "title": "Le ministre reçu à Lomé", "url": "https://example.org/reprise",
     "source": "Journal", "category": "afrique", "date": "2024-03-02", "text": DISPATCH},
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("web") / "corpus"
    shutil.copytree(SEEDS, folder)
    write_export(folder / "export.jsonl", RECORDS)
    return folder


@pytest.fixture(scope="module")
def client(corpus):
    index_dir = corpus.parent / "index"
    rebuild([corpus], index_dir)
    with TestClient(create_app(WhooshBackend(index_dir)),
                    raise_server_exceptions=False) as client:
        yield client


@pytest.mark.parametrize(("url", "status", "present", "absent"), [
    ("/", 200, ['<html lang="fr">', '<label for="q">Rechercher</label>'], ['id="bilan"']),
    ("/?q=cooperation", 200,
     ["5 articles correspondent à « cooperation » (copies d’une dépêche montrées une fois).",
      "<mark>coopération</mark>"], []),
    ("/?q=coop%C3%A9ration", 200,
     ["5 articles correspondent à « coopération » (copies d’une dépêche montrées une fois).",
      "<mark>coopération</mark>"], []),
    ("/?q=Tachkent", 200, ["1 article correspond à « Tachkent ».", "<mark>Tachkent</mark>"],
     []),
    # the copy outside the filter is still named
    ("/?q=ministre&category=afrique", 200,
     ["1 article correspond à « ministre » (copies d’une dépêche montrées une fois).",
      "Le ministre reçu à Lomé"], ["Visite du ministre"]),
    ("/?q=ministre&source=Agence&copies=1", 200, ["1 article correspond à « ministre ».",
                                                  "Visite du ministre"], ["reçu à Lomé"]),
    ("/?since=2025", 200, ["1 article correspond aux filtres, les plus récents d’abord."], []),
    ("/?q=cooperation&since=2024-03&until=2024-04&copies=1", 200,
     ["2 articles correspondent à « cooperation »."], []),
    ("/?q=cooperation&sort=date", 200,
     ['<option value="date" selected>'], []),
    ("/?q=Kenitra", 200, ["Aucun article ne correspond à « Kenitra »."], []),
    ("/?q=ambasadrice", 200, ["Vouliez-vous dire : "
                               '<a href="/?q=ambassadrice">ambassadrice</a> ?'], []),
    ("/?q=ministre", 200, ['#copies">+1 copie</a>', "montrer chaque copie"], []),
    ("/?q=ministre&copies=1", 200, ["Le ministre reçu à Lomé", "Visite du ministre à Lomé"],
     ["+1 copie"]),
    ("/?q=cooperation", 200, ['<svg viewBox="0 0 720 140" role="img"',
                              "<title>2025-04 : 1</title>"], []),
    ("/?q=cooperation", 200, ['href="/?q=cooperation&amp;since=2025&amp;until=2025"',
                              'href="/?q=cooperation&amp;category=monde"',
                              'href="/?q=cooperation&amp;since=7d"'], []),
])
def test_search_page(client, url, status, present, absent):
    response = client.get(url)
    assert response.status_code == status
    for text in present:
        assert text in response.text
    for text in absent:
        assert text not in response.text


@pytest.mark.parametrize(("url", "message"), [
    ("/?q=%22Union", "Unbalanced quote: close the phrase with another &#34;."),
    ("/?q=x&sort=popular", "Tri inconnu « popular » : choisissez « relevance » ou « date »."),
    ("/?q=x&page=0", "Page « 0 » impossible : les pages vont de 1 à 50 (l’export CSV donne "
                     "tous les résultats)."),
    ("/?q=x&page=deux", "Page « deux » impossible : les pages vont de 1 à 50 (l’export CSV "
                        "donne tous les résultats)."),
    ("/?q=cooperation&page=2", "Page 2 impossible : cette recherche n’a pas autant de pages "
                               "de résultats."),
    ("/?q=cooperation&since=2020-13", "« Depuis » : « 2020-13 » n’est pas une date. Écrivez "
                                      "2020, 2020-06 ou 2020-06-15, ou today, yesterday, 7d, 2w, "
                                      "3m, 1y (jours, semaines, mois ou années avant aujourd’hui, "
                                      "100 ans au plus)."),
    ("/?until=5q", "« Jusqu’au » : « 5q » n’est pas une date. Écrivez 2020, 2020-06 ou "
                   "2020-06-15, ou today, yesterday, 7d, 2w, 3m, 1y (jours, semaines, mois ou "
                   "années avant aujourd’hui, 100 ans au plus)."),
    ("/?q=x&since=1799", "« Depuis » : « 1799 » n’est pas une date."),
    ("/?q=cooperation&copies=oui", "Le paramètre « copies » vaut 1 (chaque copie) ou 0."),
    ("/?q=" + "a" * 1001, "Le paramètre « q » dépasse 1000 caractères."),
    ("/export.csv", "Rien à exporter : donnez des mots ou un filtre."),
    ("/export.csv?q=Tokaiev~3", "Fuzzy words are written word~, word~2 (at most 2 edits) or "
                                "word~2/3 (the first 3 letters kept), not &#39;Tokaiev~3&#39;."),
])
def test_errors_are_shown_in_the_page(client, url, message):
    response = client.get(url)
    assert response.status_code == 400
    assert '<div class="error" role="alert">' in response.text
    assert message in response.text
    assert "Traceback" not in response.text


def test_hostile_article_is_text(client):
    page = client.get("/?q=piege").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Piège" in page
    assert "onerror=alert(2)&gt; Le <mark>piège</mark> du ministre." in page
    article = client.get("/article", params={"id": "export.jsonl#piege", "q": "piege"}).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in article
    assert '<span class="unlinked">javascript:alert(1)</span>' in article
    assert "presse &lt;b&gt;hostile&lt;/b&gt;" in article
    assert "&lt;img src=x onerror=alert(2)&gt;" in article
    assert "\\u202e" in article  # the bidi override shown, not obeyed
    for page_text in (page, article):
        assert "<script" not in page_text
        assert "<img" not in page_text
        assert 'href="javascript' not in page_text


def test_article_page(client):
    response = client.get("/article", params={"id": "export.jsonl#depeche", "q": "ministre"})
    assert response.status_code == 200
    assert "<mark>ministre</mark>" in response.text
    assert ('<a href="https://example.org/depeche" rel="noopener noreferrer nofollow">'
            "https://example.org/depeche</a>") in response.text
    assert 'Copies de cette dépêche (1)' in response.text
    assert "Le ministre reçu à Lomé</a>" in response.text
    seed = client.get("/article", params={"id": TACHKENT, "q": "securite alimentaire"}).text
    assert "<mark>sécurité</mark> <mark>alimentaire</mark>" in seed
    assert "Aucune autre copie dans l’index." in seed


@pytest.mark.parametrize(("params", "status", "message"), [
    ({"id": "004_4f1f39c146262a98"}, 404, "No article has the id &#39;004_4f1f39c146262a98&#39;. "
                                          "Closest: 004_4f1f39c146262a98.txt."),
    ({}, 400, "Aucun article demandé : l’adresse doit donner ?id=..."),
])
def test_article_errors(client, params, status, message):
    response = client.get("/article", params=params)
    assert response.status_code == status
    assert message in response.text


def test_export_csv(client):
    response = client.get("/export.csv", params={"q": "cooperation", "sort": "date"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="recherche.csv"'
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["id", "date", "source", "category", "title", "url", "score"]
    assert [row[0] for row in rows[1:]] == [TACHKENT, "export.jsonl#piege", "export.jsonl#reprise",
                                            "export.jsonl#depeche", RABAT]
    # data, exported as the CLI exports it
    assert rows[2][2:6] == ["presse <b>hostile</b>", "monde", "<script>alert(1)</script> Piège",
                            "javascript:alert(1)"]


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("path", ["/", "/article", "/export.csv", "/static/search.css"])
def test_only_get(client, method, path):
    response = client.request(method, path)
    assert response.status_code == 405


def test_pages_are_safe_and_scriptless(client):
    response = client.get("/?q=cooperation")
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert client.get("/nowhere").status_code == 404
    assert client.head("/?q=cooperation").status_code == 200


class Broken:
    """A backend whose reader fails as a bug would."""

    location = "broken"

    def version(self):
        return "1"

    def reader(self):
        raise RuntimeError("secret internal detail")


def test_unknown_error_is_a_generic_page():
    with TestClient(create_app(Broken()), raise_server_exceptions=False) as client:
        response = client.get("/?q=x")
    assert response.status_code == 500
    assert "Une erreur inattendue est survenue" in response.text
    assert "secret" not in response.text and "Traceback" not in response.text


def test_missing_index_is_shown(tmp_path):
    with TestClient(create_app(WhooshBackend(tmp_path / "none"))) as client:
        response = client.get("/?q=x")
    assert response.status_code == 400
    assert "No index in" in response.text


def test_new_generation_is_picked_up(tmp_path):
    folder = tmp_path / "corpus"
    shutil.copytree(SEEDS, folder)
    index_dir = tmp_path / "index"
    rebuild([folder], index_dir)
    app = create_app(WhooshBackend(index_dir))
    with TestClient(app) as client:
        assert "Aucun article ne correspond à « Lomé »." in client.get("/?q=Lomé").text
        first = app.state.pool.idle_count()
        (folder / "lome.txt").write_text("title: À Lomé\n\nLe ministre est arrivé à Lomé.",
                                         encoding="utf-8")
        update([folder], index_dir)
        assert "1 article correspond à « Lomé »." in client.get("/?q=Lomé").text
        assert first == app.state.pool.idle_count() == 1  # the old reader closed


@given(st.text(), st.data())
def test_pieces_keep_the_text(text, data):
    cuts = sorted(data.draw(st.lists(st.integers(0, len(text)), max_size=6)))
    spans = tuple(zip(cuts[::2], cuts[1::2], strict=False))
    shown = "".join(piece.text for piece in pieces(Snippet(text, spans)))
    assert shown == visible(text.replace("\n", " ").replace("\t", " "))


@pytest.mark.parametrize(("url", "linked"), [
    ("https://example.org/a?b=1", "https://example.org/a?b=1"),
    ("http://example.org", "http://example.org"),
    (" HTTPS://example.org ", "HTTPS://example.org"),
    ("javascript:alert(1)", None),
    ("JaVaScRiPt:alert(1)", None),
    ("data:text/html,<b>", None),
    ("//example.org/x", None),
    ("/relative", None),
    ("http:///nohost", None),
    ("", None),
    (None, None),
])
def test_link(url, linked):
    assert link(url) == linked


def test_query_string():
    params = {"q": "a&b", "source": "", "page": "2"}
    assert query_string(params, page=None) == "?q=a%26b"
    assert query_string(params, since="7d") == "?q=a%26b&page=2&since=7d"


def month_table(counts: dict[str, int]) -> CountTable:
    return CountTable(by="month", labels=tuple(counts), series=(
        CountSeries(query="q", total=sum(counts.values()), counts=tuple(counts.values())),))


@pytest.mark.parametrize(("counts", "by", "bars", "unplaced"), [
    ({"2020-01": 2, "2020-02": 0, "2020-03": 4, "(undated)": 3}, "month",
     [("2020-01", 2, 61.0), ("2020-02", 0, 0.0), ("2020-03", 4, 122.0)], 3),
    ({f"{2000 + n // 12}-{n % 12 + 1:02}": 1 for n in range(37)}, "year",
     [("2000", 12, 122.0), ("2001", 12, 122.0), ("2002", 12, 122.0), ("2003", 1, 10.17)], 0),
    ({"(undated)": 5}, None, None, None),
    ({"2020-01": 0, "(date less precise)": 2}, None, None, None),
])
def test_chart(counts, by, bars, unplaced):
    drawn = chart(month_table(counts))
    if by is None:
        assert drawn is None
        return
    assert drawn.by == by
    assert [(bar.label, bar.count, bar.height) for bar in drawn.bars] == bars
    assert drawn.unplaced == unplaced
    assert all(bar.y + bar.height == drawn.height - AXIS for bar in drawn.bars)


def test_serve_reports_a_missing_index_in_one_line(tmp_path):
    result = CliRunner().invoke(cli, ["serve", "--index", str(tmp_path / "none")])
    assert result.exit_code == 1
    assert result.output == (f"Error: No index in {tmp_path / 'none'}/: run `search index "
                             "PATH...` first.\n")


def test_serve_reports_a_busy_port_in_one_line(client, corpus):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(cli, ["serve", "--index", str(corpus.parent / "index"),
                                          "--port", str(port)])
    assert result.exit_code == 1
    assert result.output.endswith(f"Error: Cannot listen on 127.0.0.1:{port}: address already "
                                  "in use; choose another --port or --host.\n")


@pytest.mark.parametrize("copies", [False, True])
@pytest.mark.parametrize("sort", ["relevance", "date"])
@pytest.mark.parametrize(("text", "filters"), [
    ("ministre", Filters()), ("cooperation OR ministre", Filters(since="2024")),
    ("", Filters(since="2020")),
])
@pytest.mark.parametrize("offset", [0, 1, 2, 4, 9])
def test_a_page_is_the_slice_of_the_hits_before_it(client, corpus, copies, sort, text, filters,
                                                   offset):
    """Reader.search's offset (the web page's pages) skips the first hits, and only them."""
    backend = WhooshBackend(corpus.parent / "index")
    with reading(backend) as reader:
        page = reader.search(text, limit=2, offset=offset, sort=sort, filters=filters,
                             copies=copies)
        whole = reader.search(text, limit=offset + 2, sort=sort, filters=filters,
                              copies=copies)
    assert page.hits == whole.hits[offset:]
    assert page.total == whole.total
