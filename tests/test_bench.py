"""The benchmark machinery of bench/: the archive's copies, and a speed run end to end on a
handful of articles made here (the suite never reads the shared data)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench import archive, speed
from bench.queries import QUERY_TYPES

ROOT = Path(__file__).resolve().parents[1]

BODIES = [
    "Le gouvernement a présenté mardi son projet de loi. Les syndicats ont dénoncé un texte "
    "injuste. Une manifestation est prévue jeudi à Paris. Le ministre a promis de les recevoir.",
    "La réunion s'est tenue à Bruxelles. Les dirigeants européens ont discuté du budget. "
    "Aucun accord n'a été trouvé. Ils se retrouveront le mois prochain.",
    "Le président a reçu son homologue à l'Élysée, en présence des ministres des Affaires "
    "étrangères, pour évoquer la crise.",
    "Un seul mot",
]
RECORDS = [{"id": n, "url": f"https://actu.example.fr/article-{n}.html", "category": "monde",
            "date": f"2020-03-0{n + 1}", "title": f"Titre numéro {n}",
            "heading": "Un chapeau.", "article": body} for n, body in enumerate(BODIES)]


@pytest.mark.parametrize("record", RECORDS[:3])
def test_copies_are_perturbed_from_the_original_sentences(record):
    copies = list(archive.copies_of(record, 4))
    assert copies[0] == record
    original_units = archive.units(record["article"])
    for copy in copies[1:]:
        body = copy["article"]
        assert body != record["article"]
        kept = [unit for unit in original_units if unit in body]
        # Made of all the original's sentences but one, and of nothing else.
        assert len(kept) == len(original_units) - 1
        assert len(body) == sum(map(len, kept)) + len(kept) - 1
    bodies = [c["article"] for c in copies]
    assert len(set(bodies)) == len(bodies)


def test_copies_are_deterministic_and_nested():
    record = RECORDS[0]
    assert list(archive.copies_of(record, 10)) == list(archive.copies_of(record, 10))
    assert list(archive.copies_of(record, 10))[:4] == list(archive.copies_of(record, 4))
    assert list(archive.copies_of(record, 4, seed=1)) != list(archive.copies_of(record, 4))


@pytest.mark.parametrize(("original", "k", "expected"), [
    (2, 1, 1_000_002),
    (36995, 27, 27_036_995),
    ("a12", 3, "a12-3"),
])
def test_copy_ids(original, k, expected):
    assert archive.copy_id(original, k) == expected


def test_a_one_sentence_body_is_kept_under_a_new_id():
    copies = list(archive.copies_of(RECORDS[3], 3))
    assert [c["article"] for c in copies] == ["Un seul mot"] * 3
    assert [c["id"] for c in copies] == [3, 1_000_003, 2_000_003]
    assert copies[2]["url"].endswith("#copy-2")


def test_write_archive_writes_every_copy(tmp_path):
    source = tmp_path / "source.jsonl"
    source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in RECORDS), "utf-8")
    out = tmp_path / "archive.jsonl"
    assert archive.write_archive(source, 3, out) == 12
    ids = [json.loads(line)["id"] for line in out.read_text("utf-8").splitlines()]
    assert len(set(ids)) == 12
    assert ids[:3] == [0, 1_000_000, 2_000_000]


def test_a_page_of_groups_is_the_same_read_shallow_or_deep(tmp_path):
    """`bench.copies depth` on the copies of `test_copies`' depth test (the group's
    earliest article ranks past the hits read first for 3): no query differs."""
    from bench import copies
    from search.index import update

    from .conftest import write_export
    from .test_copies import DISPATCH, record

    export = tmp_path / "export.jsonl"
    write_export(export, [
        record(1, DISPATCH, title="Télécommunications télécommunications", date="2020-05-10"),
        *[record(n, f"Les télécommunications {n} et le reste.", title=f"Note {n}")
          for n in range(2, 27)],
        record(40, DISPATCH, title="Visite", date="2020-05-01")])
    update([export], tmp_path / "index")
    report = copies.depth(tmp_path / "index", shallow=3, deep=30, queries={
        "one word": ["télécommunications", "Nouakchott", "introuvable"]})
    assert (report["differ"], report["same"]) == (0, 3)


def test_speed_run_reports_every_system_size_and_column(tmp_path):
    source = tmp_path / "source.jsonl"
    source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in RECORDS), "utf-8")
    queries = {kind: [{"text": text, "df": [1]}] for kind, text in zip(QUERY_TYPES, [
        "gouvernement", "ministre", "budget européens", '"projet de loi"', "minis*",
        "présdent~"], strict=True)}
    queries_file = tmp_path / "queries.json"
    queries_file.write_text(json.dumps({"queries": queries}, ensure_ascii=False), "utf-8")
    work = tmp_path / "work"
    run = subprocess.run(
        [sys.executable, "-m", "bench.speed", "--copies", "1,2", "--work", str(work),
         "--source", str(source), "--queries", str(queries_file), "--repeat", "1",
         "--cli-runs", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]

    report = json.loads((work / "speed.json").read_text("utf-8"))
    assert [(s["copies"], s["records"], s["documents"]) for s in report["sizes"]] == [
        (1, 4, 4), (2, 8, 8)]
    for size in report["sizes"]:
        assert list(size["systems"]) == list(speed.SYSTEMS)
        assert len(size["load_before"]) == len(size["load_after"]) == 3
        for row in size["systems"].values():
            assert row["indexing"]["documents"] == size["documents"]
            assert set(row["queries"]) == set(QUERY_TYPES)
        ours = size["systems"]["ours"]
        assert ours["queries"]["one word"]["with_hits"] == 1
        assert ours["reindex"]["change_runs_s"] and ours["cli"]["peak_rss_mb"] > 0
    # The archive is as it was before the change and its undoing.
    assert (work / "archive-2x.jsonl").read_text("utf-8").count("mesurer la réindexation") == 0

    table = (work / "speed.md").read_text("utf-8")
    header = next(line for line in table.splitlines() if line.startswith("| system | size |"))
    assert header.split(" | ")[2:] == [
        "docs/s", "index CPU s", "index wall s", "peak RSS MB", "index MB", *QUERY_TYPES,
        "CLI s / MB", "re-index unchanged / one change s |"]
    rows = [line.split(" | ")[:2] for line in table.splitlines()
            if line.startswith("| ") and line.split(" | ")[0][2:] in speed.SYSTEMS]
    assert rows == [[f"| {system}", label] for label in ("4", "8") for system in speed.SYSTEMS]
    assert "| ours / tantivy, query p95 wall |" in table
    assert "| indexing, ours vs stock Whoosh |" in table


def test_a_capped_system_is_reported_as_not_finished():
    size = {"label": "1.0M", "load_before": [1.0, 1.0, 1.0], "load_after": [2.0, 2.0, 2.0],
            "systems": {"whoosh-fr": {"indexing": {"finished": False, "cap_s": 1800.0}}}}
    report = {"machine": {key: "x" for key in ("date", "code", "nproc", "cpu", "memory_gb",
                                               "python", "whoosh3", "tantivy", "sqlite")},
              "command": "python -m bench.speed", "sizes": [size]}
    row = next(line for line in speed.markdown(report).splitlines()
               if line.startswith("| whoosh-fr"))
    assert row == "| whoosh-fr | 1.0M | not finished in 1800 s |" + " - |" * 12


def _figures(p95: float, node: float | None = None) -> dict:
    figures = {"queries": 1, "timed": 1, "with_hits": 1, "p50_ms": p95 / 2, "p95_ms": p95,
               "cpu_p50_ms": 1.0, "cpu_p95_ms": 2.0, "max_ms": p95}
    return figures if node is None else {**figures, "node_cpu_ms_per_query": node}


def test_our_product_on_opensearch_is_reported_beside_the_others():
    indexing = {"finished": True, "documents": 10, "wall_s": 2.0, "cpu_s": 3.0,
                "docs_per_s": 5.0, "peak_rss_mb": 500.0, "index_mb": 1.0}
    size = {"label": "36k", "load_before": [1.0] * 3, "load_after": [2.0] * 3, "systems": {
        "ours": {"indexing": indexing, "queries": dict.fromkeys(QUERY_TYPES, _figures(40.0)),
                 "counts": _figures(8.0)},
        "tantivy": {"indexing": indexing, "queries": dict.fromkeys(QUERY_TYPES, _figures(5.0))},
        "opensearch": {"indexing": {**indexing, "client_cpu_s": 1.0, "node_cpu_s": 2.0},
                       "queries": dict.fromkeys(QUERY_TYPES, _figures(20.0, node=6.5)),
                       "counts": _figures(10.0, node=3.0)}}}
    report = {"machine": {key: "x" for key in ("date", "code", "nproc", "cpu", "memory_gb",
                                               "python", "whoosh3", "tantivy", "sqlite")},
              "command": "python -m bench.speed", "sizes": [size]}
    lines = speed.markdown(report).splitlines()
    for system, ratio in (("ours", "8.0x"), ("opensearch", "4.0x")):
        header = lines.index(f"| {system} / tantivy, query p95 wall | "
                             + " | ".join(QUERY_TYPES) + " |")
        assert lines[header + 2] == "| 36k |" + f" {ratio} |" * 6
    counts = lines.index("| counts by month of the frequent words, p50 / p95 ms wall (CPU) "
                         "| ours | opensearch |")
    assert lines[counts + 2] == "| 36k | 4.0 / 8.0 (1.0 / 2.0) | 5.0 / 10.0 (1.0 / 2.0) |"
    assert ("| node CPU ms a query (mean) | 36k | 1.0 + 2.0 | " + "6.5 | " * 6 + "3.0 |"
            in lines)


@pytest.mark.parametrize("systems, accepted", [
    ("ours,opensearch", True), ("opensearch", True), ("ours,elastic", False)])
def test_opensearch_is_a_system_asked_for_by_name(systems, accepted, capsys):
    if accepted:
        assert speed.parse_args(["--systems", systems]).systems == systems.split(",")
        assert "opensearch" not in speed.parse_args([]).systems
    else:
        with pytest.raises(SystemExit):
            speed.parse_args(["--systems", systems])
        assert "unknown system elastic" in capsys.readouterr().err


VOCABULARY_RECORDS = [
    {"id": 1, "title": "Le Maroc et le Kazakhstan", "heading": "",
     "article": "Le Maroc renforce sa coopération avec le Kazakhstan."},
    {"id": 2, "title": "", "heading": "",
     "article": "Les relations maroco-kazakhes progressent, selon le partenaire kazakh."},
    {"id": 3, "title": "", "heading": "Diplomatie",
     "article": "Les diplomates marocains ont rencontré leurs homologues."},
    {"id": 4, "title": "", "heading": "", "article": "Le mal est fait, a dit le ministre."},
    {"id": 5, "title": "", "heading": "", "article": "Le Mali et le Niger ont signé un accord."},
    {"id": 6, "title": "", "heading": "", "article": "L’ONU a voté une résolution."},
    {"id": 7, "title": "", "heading": "", "article": ""},
]
VOCABULARY_PROBES = {
    "things": {
        "maroc": {"forms": r"(?i:\bmaroc\b|\bmarocaine?s?\b)", "compounds": r"(?i:\bmaroco-)",
                  "keys": ["maroc"]},
        "mali": {"forms": r"(?i:\bmali\b|\bmalien(?:ne)?s?\b)", "keys": ["mali"]},
        "onu": {"forms": r"\bONU\b|(?i:\bnations unies\b)", "keys": ["onu", "nations unies"]},
        "tokaiev": {"forms": r"(?i:\btoka(?:i|ye|e)v\b)"},
    },
    "probes": [
        {"kind": "country", "query": "maroc", "thing": "maroc"},
        {"kind": "demonym", "query": "marocains", "thing": "maroc"},
        {"kind": "prefix", "query": "maroc", "thing": "maroc"},
        {"kind": "country", "query": "mali", "thing": "mali"},
        {"kind": "acronym", "query": "onu", "thing": "onu"},
        {"kind": "fullname", "query": "nations unies", "thing": "onu"},
        {"kind": "person", "query": "tokaev", "thing": "tokaiev"},
    ],
}


def test_vocabulary_probes_score_every_system_against_the_regex_truth(tmp_path):
    from bench.quality import vocabulary

    source = tmp_path / "export.jsonl"
    source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n"
                              for r in VOCABULARY_RECORDS), "utf-8")
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "seed.txt").write_text("Les Nations unies ont salué Kassym-Jomart Tokayev.\n",
                                    "utf-8")
    probes = tmp_path / "probes.json"
    probes.write_text(json.dumps(VOCABULARY_PROBES), "utf-8")

    outcomes, facts = vocabulary.run(probes, source, seeds, tmp_path / "work",
                                     list(vocabulary.SYSTEM_NAMES), say=lambda _: None)

    assert facts["documents"] == 7  # the record without a body is not an article
    # (kind, query) -> truth, and FTS5's hits, recall and precision: it matches words as
    # written, accents and case folded, nothing more.
    assert {(o.probe.kind, o.probe.query): (o.truth, o.scores["fts5"].hits,
                                             o.scores["fts5"].recall, o.scores["fts5"].precision)
            for o in outcomes} == {
        ("country", "maroc"): (3, 1, 1 / 3, 1.0),
        ("demonym", "marocains"): (3, 1, 1 / 3, 1.0),
        ("prefix", "maroc"): (1, 1, 0.0, 1.0),  # only `maroco-kazakhes`, not found
        ("country", "mali"): (1, 1, 1.0, 1.0),
        ("acronym", "onu"): (2, 1, 0.5, 1.0),
        ("fullname", "nations unies"): (2, 1, 0.5, 1.0),
        ("person", "tokaev"): (1, 0, 0.0, None),
    }
    for outcome in outcomes:
        for score in outcome.scores.values():
            assert score.right <= score.hits and score.found <= score.truth
    assert {o.probe.query: o.scores["ours"].found for o in outcomes}["mali"] == 1
    table = vocabulary.markdown(outcomes, list(vocabulary.SYSTEM_NAMES))
    assert "| **mean** | 7 | " in table
    assert table.splitlines()[0] == (
        "| kind | probes | ours R | ours P | tantivy R | tantivy P | fts5 R | fts5 P |")
    # Cached: a second run builds nothing.
    _, again = vocabulary.run(probes, source, seeds, tmp_path / "work", ["fts5"],
                              say=lambda _: None)
    assert again["systems"]["fts5"]["build_s"] is None


@pytest.mark.parametrize(("text", "expected"), [
    ("Côte d’Ivoire", "Cote d'Ivoire"),
    ("ÉTATS-UNIS", "ETATS-UNIS"),
    ("Tokaïev", "Tokaiev"),
])
def test_vocabulary_truth_is_matched_on_text_without_accents(text, expected):
    from bench.quality.vocabulary import plain

    assert plain(text) == expected


@pytest.mark.parametrize(("query", "kind"), [
    ("nations unies", "words"), ('"nations unies"', "phrase"), ("maroc*", "prefix"),
    ('"', "words"),
])
def test_vocabulary_queries_are_asked_of_peers_as_typed(query, kind):
    from bench.quality.vocabulary import peer_kind

    assert peer_kind(query) == kind


@pytest.mark.parametrize(("thing", "message"), [
    ({"forms": "Maroc|Marocaine"}, None),
    ({"forms": "Égypte"}, "egypte: write the pattern without accents (it is matched on text "
                          "whose accents are stripped): 'Égypte'"),
    ({"forms": "(maroc"}, "egypte: missing ), unterminated subpattern at position 0"),
    ({"forms": "maroc", "keys": ["Maroc"]},
     "egypte: keys must be lowercase, without accents: ['Maroc']"),
])
def test_vocabulary_probe_files_are_checked(tmp_path, thing, message):
    from bench.quality.vocabulary import read_probes

    path = tmp_path / "probes.json"
    path.write_text(json.dumps({"things": {"egypte": thing}, "probes": [
        {"kind": "country", "query": "egypte", "thing": "egypte"}]}), "utf-8")
    if message is None:
        assert len(read_probes(path)[1]) == 1
    else:
        with pytest.raises(ValueError) as error:
            read_probes(path)
        assert str(error.value) == message


@pytest.mark.parametrize(("thing", "text", "named"), [
    ("algerie", "Les Algériens votent", True),
    ("algerie", "une Algérienne", True),
    ("algerie", "les relations algéro-marocaines", True),
    ("maroc", "les relations algéro-marocaines", True),
    ("mali", "le Mali", True),
    ("mali", "des soldats maliens", True),
    ("mali", "le mal est fait", False),
    ("niger", "au Niger", True),
    ("niger", "les Nigérians", False),
    ("nigeria", "les Nigérians", True),
    ("guinee", "en Guinée", True),
    ("guinee", "en Guinée-Bissau", False),
    ("guinee", "en Guinée équatoriale", False),
    ("guinee", "en Papouasie-Nouvelle-Guinée", False),
    ("coree-nord", "les Nord-Coréens", True),
    ("coree-nord", "la Corée du Sud", False),
    ("etats-unis", "les Américains", True),
    ("etats-unis", "les Latino-Américains", False),
    ("royaume-uni", "les Britanniques", True),
    ("royaume-uni", "le modèle anglo-saxon", False),
    ("ue", "l'UE", True),
    ("ue", "l’Union européenne", True),
    ("ue", "l'UEFA", False),
    ("ue", "une rue", False),
    ("otan", "l'Otan", True),
    ("mohammed-vi", "le roi Mohammed VI", True),
    ("mohammed-vi", "Mohammed Merah", False),
    ("kadhafi", "Mouammar Kaddafi", True),
    ("tokaiev", "Kassym-Jomart Tokaïev", True),
    ("zelensky", "Volodymyr Zelenskyy", True),
])
def test_vocabulary_probe_truths(thing, text, named):
    from bench.quality.vocabulary import PROBES, plain, read_probes

    things, _ = read_probes(PROBES)
    assert things[thing].named_in(plain(text)) is named
    # The pre-filter never hides a match.
    assert things[thing].may_be_in(plain(text).lower()) or not named


def test_query_speed_compares_two_versions_each_on_its_own_index(tmp_path):
    """`bench.query_speed` with `--before-index`: the before version reads the index it was
    given, the after version `--index`; the same archive in both gives the same answers."""
    from bench import query_speed
    from search.index import rebuild

    archive_file = tmp_path / "archive.jsonl"
    archive_file.write_text("".join(json.dumps(record) + "\n" for record in RECORDS), "utf-8")
    rebuild([archive_file], tmp_path / "after")
    rebuild([archive_file], tmp_path / "before")
    report = query_speed.run(tmp_path / "after", ROOT, rounds=1, per_type=2, titles=0,
                             before_index=tmp_path / "before")
    assert (report["index"], report["before_index"]) == (
        str(tmp_path / "after"), str(tmp_path / "before"))
    assert report["queries_compared"] == 2 * len(QUERY_TYPES)
    assert report["differences"] == []
    assert set(report["table"]) == {"before", "after"}


def test_query_speed_times_a_peer_in_the_same_rounds(tmp_path):
    """With a peer, its index answers every query of every type in the same rounds, and
    the table gives the ratio of the after version to it."""
    from bench import query_speed
    from bench.peers import build_tantivy
    from search.index import rebuild

    archive_file = tmp_path / "archive.jsonl"
    archive_file.write_text("".join(json.dumps(record) + "\n" for record in RECORDS), "utf-8")
    rebuild([archive_file], tmp_path / "index")
    (tmp_path / "tantivy").mkdir()
    build_tantivy(archive_file, tmp_path / "tantivy")
    report = query_speed.run(tmp_path / "index", ROOT, rounds=1, per_type=2, titles=0,
                             peer=("tantivy", tmp_path / "tantivy"))
    assert set(report["table"]) == {"before", "after", "peer"} and report["peer"] == "tantivy"
    assert all(report["table"]["peer"][kind]["queries"] == 2 for kind in QUERY_TYPES)
    table = query_speed.markdown(report).splitlines()
    assert table[0].endswith("| tantivy CPU p50 / p95 | after / tantivy, CPU p95 |")
    assert len(table) == 2 + len(QUERY_TYPES)
