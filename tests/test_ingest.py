import codecs
import errno
import io
import json
import os
import socket
import tempfile
import threading
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from search import ingest
from search.errors import CorpusError, UnreadableArticle
from search.formats import clean_text, printable, shorten
from search.formats.text import parse_text
from search.index import rebuild, update
from search.ingest import (
    SourceFile,
    decode,
    find_article_files,
    fingerprint,
    load_articles,
    parse_file,
    read_article,
    survey,
)
from search.models import Article, Skipped
from search.searcher import search

from .conftest import RABAT, SEEDS, TACHKENT, write_export


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
        ("coopération".encode(), "coopération"),
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


# --- decoding: byte order marks, and a fallback a line at a time ------------------------------

MIXED = "Le ministre a évoqué la paix.\n".encode() + "Il a salué l'été.\n".encode("cp1252")


@pytest.mark.parametrize(
    "data, text",
    [
        (codecs.BOM_UTF16_LE + "Coopération à Astana".encode("utf-16-le"), "Coopération à Astana"),
        (codecs.BOM_UTF16_BE + "Coopération à Astana".encode("utf-16-be"), "Coopération à Astana"),
        (codecs.BOM_UTF32_LE + "Coopération 𝄞".encode("utf-32-le"), "Coopération 𝄞"),
        (codecs.BOM_UTF32_BE + "Coopération 𝄞".encode("utf-32-be"), "Coopération 𝄞"),
        (codecs.BOM_UTF8 + "é\n".encode() + "è\n".encode("cp1252"), "é\nè\n"),
        (MIXED, "Le ministre a évoqué la paix.\nIl a salué l'été.\n"),
        ("été\r\n".encode("cp1252") + "œuvre\r\n".encode(), "été\r\nœuvre\r\n"),
        ("été\r".encode() + "à\r".encode("cp1252") + b"ok", "été\rà\rok"),
        (b"caf\xe9 \x81\n" + "café".encode(), "café \x81\ncafé"),  # 0x81: not cp1252
        # A broken UTF-16 pair is replaced, not refused: the rest of the file is text.
        (codecs.BOM_UTF16_LE + "ab".encode("utf-16-le") + b"\x00\xd8" + "cd".encode("utf-16-le"),
         "ab\ufffdcd"),
    ],
)
def test_decode_honours_boms_and_falls_back_a_line_at_a_time(data, text):
    assert decode(data) == text


@pytest.mark.parametrize(
    "data, reason",
    [
        ("Coopération".encode("utf-16-le"), "binary file"),  # NULs and no BOM
        (codecs.BOM_UTF16_LE, "empty file"),
        (codecs.BOM_UTF32_BE + " \n".encode("utf-32-be"), "empty file"),
        (b"\xef\xbb\xbf", "empty file"),
        (codecs.BOM_UTF16_LE + "".join(map(chr, range(32))).encode("utf-16-le") * 20,
         "binary file"),
    ],
)
def test_decode_refuses_what_is_not_text(data, reason):
    with pytest.raises(UnreadableArticle, match=f"^{reason}$"):
        decode(data)


@given(st.binary(max_size=300))
def test_decode_returns_text_or_refuses_the_file(data):
    try:
        text = decode(data)
    except UnreadableArticle as error:
        assert str(error) in ("binary file", "empty file")
    else:
        text.encode("utf-8")  # no surrogate
        assert text.strip()


# French letters whose cp1252 bytes are all UTF-8 lead bytes (C0 and up) with no continuation
# byte (80-BF) after them: a line of them in cp1252 is never valid UTF-8, unless it is ASCII.
FRENCH = st.text(alphabet="abcdeéèêàçôùÉÀ ,.'0123456789", max_size=30)


@given(st.lists(st.tuples(FRENCH, st.sampled_from(["utf-8", "cp1252"])), min_size=1,
                max_size=6))
def test_a_file_of_mixed_lines_decodes_line_by_line(lines):
    """Lines of French in UTF-8 or cp1252, mixed: each comes back as it was written."""
    text = "".join(line + "\n" for line, _ in lines)
    assume(text.strip())
    assert decode(b"".join((line + "\n").encode(encoding) for line, encoding in lines)) == text


# --- names: shown printable, whatever bytes they hold ------------------------------------------

@pytest.mark.parametrize(
    "name, shown",
    [
        ("dépêche.txt", "dépêche.txt"),
        (os.fsdecode(b"caf\xe9.txt"), "caf\\xe9.txt"),
        ("new\nline.txt", "new\\nline.txt"),
        ("tab\tand\rreturn", "tab\\tand\\rreturn"),
        ("\x1b[31mred.txt", "\\x1b[31mred.txt"),
        ("zero\u200bwidth", "zero\\u200bwidth"),
        ("lone\ud800", "lone\\ud800"),
        ("back\\slash", "back\\\\slash"),
        ("nbsp\xa0and\x85", "nbsp\\u00a0and\\u0085"),  # characters, not the bytes A0 and 85
        (os.fsdecode(b"\xa0\x85"), "\\xa0\\x85"),
    ],
)
def test_printable(name, shown):
    assert printable(name) == shown


@given(st.text(alphabet=st.characters(max_codepoint=0xDCFF)),
       st.text(alphabet=st.characters(max_codepoint=0xDCFF)))
def test_printable_names_are_printable_utf8_and_distinct(one, other):
    shown = printable(one)
    assert shown.isprintable()
    shown.encode("utf-8")
    assert (printable(one) == printable(other)) == (one == other)


@given(st.text())
def test_clean_text_leaves_no_nul_control_or_surrogate(text):
    cleaned = clean_text(text)
    cleaned.encode("utf-8")
    assert not any(c in cleaned for c in "\x00\x01\x1b\x7f")


# --- a corpus of hostile files beside good ones ------------------------------------------------

GOOD_TEXT = "Titre\n\nLe ministre a rencontré son homologue à {}. Suite de l'article."
EXPECTED = "expected .htm, .html, .json, .jsonl, .txt"
# Each bad entry of the corpus (its name under the corpus folder) → why it is skipped.
HOSTILE = {
    "pipe.txt": "not a regular file (a named pipe)",
    "socket.txt": "not a regular file (a socket)",
    "loop-a.txt": "symbolic link loop",
    "loop-b.txt": "symbolic link loop",
    "self.txt": "symbolic link loop",
    "dangling.txt": "broken symbolic link (its target does not exist)",
    "sub/up": "symbolic link loop (to a folder that contains it)",
    "sub/deeper/root": "symbolic link loop (to a folder that contains it)",
    "ring/a/to-b/to-a": "symbolic link loop (to a folder that contains it)",
    "null.txt": "not a regular file (a character device)",
    "doc.pdf": f"unsupported file type .pdf ({EXPECTED})",
    "letter.docx": f"unsupported file type .docx ({EXPECTED})",
    "feed.rss": f"unsupported file type .rss ({EXPECTED})",
    "photo.JPG": f"unsupported file type .JPG ({EXPECTED})",
    "archive.tar.gz": f"unsupported file type .gz ({EXPECTED})",
    "README": f"unsupported file type (no extension; {EXPECTED})",
    "utf16-no-bom.txt": "binary file",
    "empty.jsonl": "empty file",
    "image.jsonl": "binary file",
    "controls.jsonl": "binary file",
    "links.html": "no article text in the page (100% of its text is links)",
    "headlines.htm": "no article text in the page (80% of its text is links)",
    "deep.json[1]": "JSON nested too deep",
    "exports.jsonl:2": "JSON nested too deep",
    "exports.jsonl:3": "malformed JSON line (Exceeds the limit (4300 digits) for integer "
                       "string conversion)",
    "exports.jsonl:4": "no article text (keys: titre, texte_integral; name the body with "
                       "--map body=KEY)",
    "exports.jsonl:5": "malformed JSON line (Invalid control character)",
    "list.json[2]": "JSON nested too deep",
    "list.json[4]": "malformed JSON (Exceeds the limit (4300 digits) for integer string "
                    "conversion)",
}
# A word found only in one good file (or record) → its id.
FOUND = {
    "Rabat": "good.txt",
    "évoqué": "mixed.txt",
    "Niamey": "mixed.txt",
    "Tachkent": "utf16.txt",
    "Bichkek": "utf16be.txt",
    "Almaty": "utf32.txt",
    "Douchanbé": "bom.txt",
    "Dakar": "caf\\xe9.txt",
    "Lomé": "new\\nline.txt",
    "Cotonou": "\\x1b[31mred.txt",
    "Bamako": "exports.jsonl#1",
    "Conakry": "exports.jsonl#6",
    "Monrovia": "exports.jsonl#\\ud800",
    "Banjul": "exports.jsonl#8",
    "Bissau": "exports.jsonl#9",
    "Praia": "exports.jsonl#10",
    "Malabo": "exports.jsonl#11",
    "Freetown": "list.json#1",
    "Accra": "list.json#3",
    "Ouagadougou": "list.json#5",
    "Yamoussoukro": "utf16.jsonl#1",
    "Nouakchott": "xhtml.html",
    "Niamey-Sud": None,  # not in the corpus: no hit
}


def _write_hostile_corpus(root: Path) -> None:
    def text(name: str, place: str) -> None:
        (root / name).write_text(GOOD_TEXT.format(place), "utf-8")

    text("good.txt", "Rabat")
    (root / "sub" / "deeper").mkdir(parents=True)
    os.symlink("../good.txt", root / "sub" / "again.txt")  # read once
    os.link(root / "good.txt", root / "sub" / "hard.txt")  # read once
    os.mkfifo(root / "pipe.txt")
    with socket.socket(socket.AF_UNIX) as unix:
        unix.bind(str(root / "socket.txt"))
    os.symlink("loop-b.txt", root / "loop-a.txt")
    os.symlink("loop-a.txt", root / "loop-b.txt")
    os.symlink("self.txt", root / "self.txt")
    os.symlink("nowhere.txt", root / "dangling.txt")
    os.symlink("..", root / "sub" / "up")
    os.symlink("../..", root / "sub" / "deeper" / "root")
    (root / "ring" / "a").mkdir(parents=True)
    (root / "ring" / "b").mkdir()
    os.symlink("../b", root / "ring" / "a" / "to-b")
    os.symlink("../a", root / "ring" / "b" / "to-a")
    os.symlink(os.devnull, root / "null.txt")
    for name in ("doc.pdf", "letter.docx", "feed.rss", "photo.JPG", "archive.tar.gz", "README",
                 ".hidden.pdf", ".hidden/x.txt"):
        (root / name).parent.mkdir(exist_ok=True)
        (root / name).write_bytes(b"%PDF-1.4\x00")
    (root / "utf16-no-bom.txt").write_bytes(GOOD_TEXT.format("Nulle part").encode("utf-16-le"))
    (root / "empty.jsonl").write_bytes(b"\n \n\r\n")
    (root / "image.jsonl").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (root / "controls.jsonl").write_bytes(
        codecs.BOM_UTF16_LE + "".join(map(chr, range(32))).encode("utf-16-le") * 8)
    links = "".join(f'<p><a href="/{n}">Un titre de lien numéro {n} sur la diplomatie</a></p>'
                    for n in range(8))
    (root / "links.html").write_text(f"<html><body><article>{links}</article></body></html>")
    items = "".join(f'<p><a href="/{n}">Dépêche {n} : le ministre reçoit son homologue</a> '
                    f'— {n + 1} mars 2024</p>' for n in range(8))
    (root / "headlines.htm").write_text(f'<html><body><div class="post-content">{items}</div>'
                                        "</body></html>")
    (root / "mixed.txt").write_bytes(b"M\xc3\xa9lange\n\n" + MIXED + "Retour à Niamey.\n".encode("cp1252"))
    for name, bom, encoding, place in [
        ("utf16.txt", codecs.BOM_UTF16_LE, "utf-16-le", "Tachkent"),
        ("utf16be.txt", codecs.BOM_UTF16_BE, "utf-16-be", "Bichkek"),
        ("utf32.txt", codecs.BOM_UTF32_LE, "utf-32-le", "Almaty"),
    ]:
        (root / name).write_bytes(bom + GOOD_TEXT.format(place).encode(encoding))
    (root / "bom.txt").write_bytes(codecs.BOM_UTF8 + GOOD_TEXT.format("Douchanbé").encode())
    (root / os.fsdecode(b"caf\xe9.txt")).write_text(GOOD_TEXT.format("Dakar"), "utf-8")
    (root / "new\nline.txt").write_text(GOOD_TEXT.format("Lomé"), "utf-8")
    (root / "\x1b[31mred.txt").write_text(GOOD_TEXT.format("Cotonou"), "utf-8")
    (root / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (root / "exports.jsonl").write_bytes(b"\n".join([
        b'{"text": "Un article sur Bamako."}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"id": 1' + b"0" * 5000 + b', "text": "x"}',
        b'{"titre": "Sommet", "texte_integral": "Le sommet."}',
        b'{"text": "NUL brut\x00 dans la ligne"}',
        b'{"text": "Nombres partout \\u00e0 Conakry", "title": 1.5, "date": 20200101, '
        b'"url": true, "source": null, "author": [1, [2, {"a": "b"}]], "category": {"x": {}}}',
        b'{"id": "\\ud800", "title": "Sur\\udc00rogate", "text": "NUL\\u0000 \\ud83d \\u00e0 Monrovia"}',
        b'{"url": "http://[::1", "text": "Une URL qui ne se lit pas, \\u00e0 Banjul"}',
        b'{"url": "http://[::1]:99999/x", "source": "", "text": "Port impossible \\u00e0 Bissau"}',
        "{\"text\": \"Une ligne en latin-1 \u00e0 Praia\"}\r".encode("latin-1"),
        codecs.BOM_UTF8 + '{"text": "Un export mis bout à bout, à Malabo"}'.encode(),
    ]))
    (root / "list.json").write_text(
        '[{"text": "Premier article, \\u00e0 Freetown"}, ' + "[" * 100_000 + "]" * 100_000
        + ', {"text": "Apr\\u00e8s le trop profond, Accra"}, 1' + "2" * 5000
        + ', {"text": "Apr\\u00e8s le trop long, Ouagadougou"}]')
    (root / "utf16.jsonl").write_bytes(
        codecs.BOM_UTF16_LE + '{"text": "Export UTF-16 à Yamoussoukro"}\n'.encode("utf-16-le"))
    (root / "xhtml.html").write_text(
        '<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml"><head>'
        "<title>Visite</title></head><body><article><p>"
        + "Le ministre s'est rendu à Nouakchott pour une visite de travail. " * 4
        + "</p></article></body></html>")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """(corpus folder, index, report) of a corpus of hostile files beside good ones, the
    FIFO and the loop also named directly."""
    root = tmp_path_factory.mktemp("hostile") / "corpus"
    root.mkdir()
    _write_hostile_corpus(root)
    index_dir = root / "index"  # inside the corpus: not walked
    report = _in_time(lambda: rebuild([root, root / "pipe.txt", root / "loop-a.txt"], index_dir),
                      fifo=root / "pipe.txt")
    return root, index_dir, report


def _in_time(run, fifo: Path, seconds: float = 60):
    """`run()`'s result; fails, instead of hanging, if it blocks on `fifo`."""
    outcome = {}

    def target():
        try:
            outcome["result"] = run()
        except Exception as error:
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():  # blocked opening the pipe: a writer lets it go
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail(f"blocked on {fifo}")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def _skipped(root: Path, report) -> dict[str, str]:
    prefix = printable(str(root)) + "/"
    return {s.path.removeprefix(prefix): s.reason for s in report.skipped}


def test_every_hostile_file_is_reported_and_only_those(hostile):
    root, _, report = hostile
    skipped = _skipped(root, report)
    assert skipped == HOSTILE
    for item in report.skipped:
        assert item.path.isprintable() and item.reason.isprintable()
        (item.path + item.reason).encode("utf-8")
    assert report.added == len({id for id in FOUND.values() if id})


@pytest.mark.parametrize("word, id", FOUND.items())
def test_every_good_file_is_indexed(hostile, word, id):
    _, index_dir, _ = hostile
    hits = search(index_dir, word).hits
    assert [hit.id for hit in hits if word in hit.snippet.text or word in hit.title] == \
        ([id] if id else [])
    for hit in hits:
        for text in (hit.id, hit.path):
            assert text.isprintable() and text.encode("utf-8")


def test_every_field_of_a_hostile_record_is_clean_text(hostile):
    _, index_dir, _ = hostile
    [hit] = search(index_dir, "Monrovia").hits
    assert hit.title == "Sur\ufffdrogate"
    [hit] = search(index_dir, "Conakry").hits
    assert (hit.title, hit.date, hit.url) == ("1.5", None, "True")
    [hit] = search(index_dir, "Banjul").hits
    assert (hit.url, hit.source) == ("http://[::1", None)


def test_a_hostile_corpus_updated_again_is_unchanged(hostile):
    root, index_dir, report = hostile
    again = _in_time(lambda: update([root, root / "pipe.txt", root / "loop-a.txt"], index_dir),
                     fifo=root / "pipe.txt")
    assert (again.added, again.updated, again.removed, again.unchanged) == (0, 0, 0, report.added)
    assert _skipped(root, again) == HOSTILE


def test_a_fifo_that_replaced_a_file_is_not_opened(tmp_path):
    """Found as a file, a FIFO when read: opened without blocking, and refused."""
    fifo = tmp_path / "late.txt"
    os.mkfifo(fifo)
    source = SourceFile(fifo, tmp_path)
    assert _in_time(lambda: list(parse_file(source)), fifo) == [
        (Skipped(str(fifo), "not a regular file (a named pipe)"), "")]
    with pytest.raises(UnreadableArticle, match=r"^not a regular file \(a named pipe\)$"):
        _in_time(lambda: survey(source), fifo)


def test_a_folder_read_as_a_file_is_refused(tmp_path):
    with pytest.raises(UnreadableArticle, match=r"^not a regular file \(a folder\)$"):
        survey(SourceFile(tmp_path, tmp_path.parent))


@pytest.mark.parametrize("code, strerror", [(errno.EIO, "Input/output error"),
                                            (errno.EACCES, "Permission denied"),
                                            (errno.ELOOP, "Too many levels of symbolic links")])
def test_an_error_opening_a_file_is_a_reason(tmp_path, monkeypatch, code, strerror):
    (tmp_path / "a.txt").write_text("Un article.", "utf-8")

    def refuse(*args, **kwargs):
        raise OSError(code, strerror)

    monkeypatch.setattr(os, "open", refuse)
    [item] = load_articles(find_article_files([tmp_path / "a.txt"]))
    assert item == Skipped(str(tmp_path / "a.txt"), f"cannot read: {strerror}")


def test_an_error_midway_through_an_export_keeps_the_records_before_it(tmp_path, monkeypatch):
    export = tmp_path / "big.jsonl"
    line = json.dumps({"text": "Un article assez long. " * 40}) + "\n"
    export.write_text(line * 400)  # 400 lines of 1 kB
    readable = 300_000

    class FailingFile(io.FileIO):
        def readinto(self, buffer):
            if self.tell() >= readable:
                raise OSError(errno.EIO, "Input/output error")
            return super().readinto(memoryview(buffer)[: readable - self.tell()])

    monkeypatch.setattr(ingest, "open", lambda fd, mode, buffering: io.BufferedReader(
        FailingFile(fd, "r"), buffering), raising=False)
    items = [item for item, _ in parse_file(SourceFile(export, tmp_path))]
    assert all(isinstance(item, Article) for item in items[:-1])
    assert len(items) - 1 == readable // len(line.encode())
    assert items[-1] == Skipped(str(export), "cannot read: Input/output error")


def test_a_text_file_too_large_for_an_article_is_not_read(tmp_path, monkeypatch):
    monkeypatch.setattr(ingest, "ARTICLE_MAX_BYTES", 1 << 20)
    big = tmp_path / "log.txt"
    big.write_bytes(b"Une ligne de journal.\n" * 50_000)  # 1.1 MB
    [(item, _)] = parse_file(SourceFile(big, tmp_path))
    assert item == Skipped(str(big), "too large for one article (over 1 MB): not read")


def test_an_export_is_read_and_hashed_without_holding_it(tmp_path):
    """Memory does not grow with the file: 9 MB read with under 2 MB allocated."""
    export = tmp_path / "big.jsonl"
    line = json.dumps({"text": "Un article assez long. " * 400}) + "\n"  # 9 kB
    export.write_text(line * 1000)
    source = SourceFile(export, tmp_path)
    tracemalloc.start()
    try:
        found = survey(source)
        articles = sum(1 for item, _ in parse_file(source) if isinstance(item, Article))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (found.size, articles) == (export.stat().st_size, 1000)
    assert found.fingerprint == fingerprint(export.read_bytes(), {})
    assert peak < 2 << 20 and export.stat().st_size > 4 * (2 << 20)


@given(st.one_of(st.binary(max_size=300), st.text(max_size=300).map(
           lambda text: text.encode("utf-8", "surrogatepass"))),
       st.sampled_from(sorted(ingest.ARTICLE_SUFFIXES)))
def test_any_file_gives_articles_or_reasons(data, suffix):
    with tempfile.TemporaryDirectory() as folder:
        file = Path(folder, "article" + suffix)
        file.write_bytes(data)
        for item, _ in parse_file(SourceFile(file, Path(folder))):
            if isinstance(item, Skipped):
                assert item.reason.isprintable()
            else:
                assert isinstance(item, Article) and item.body
                for text in vars(item).values():
                    assert text is None or "\x00" not in text and text.encode("utf-8")


NAMES = st.binary(min_size=1, max_size=12).filter(
    lambda name: b"/" not in name and b"\x00" not in name and not name.startswith(b"."))


@given(st.lists(NAMES, min_size=1, max_size=4, unique=True))
def test_any_file_name_is_read_and_shown_printable(names):
    with tempfile.TemporaryDirectory() as folder:
        for name in names:
            Path(os.fsdecode(os.fsencode(folder) + b"/" + name + b".txt")).write_text(
                "Titre\n\nUn article.", "utf-8")
        items = list(load_articles(find_article_files([Path(folder)])))
    assert len(items) == len(names) and all(isinstance(item, Article) for item in items)
    assert len({item.id for item in items}) == len(names)
    for item in items:
        for text in (item.id, item.path):
            assert text.isprintable()
            text.encode("utf-8")


def test_progress_counts_each_byte_of_an_export_once_record_by_record(tmp_path):
    export = tmp_path / "export.jsonl"
    write_export(export, [{"id": n, "text": f"Article {n} " * (n + 1)} for n in range(50)])
    told: list[int] = []
    items = list(parse_file(SourceFile(export, tmp_path), progress=told.append))
    assert len(items) == 50
    assert sum(told) == export.stat().st_size
    assert len(told) > 1 and all(step > 0 for step in told)  # not all at the end


@pytest.mark.parametrize("name, data", [
    ("a.txt", "Un titre\n\nUn article sur Lomé.".encode()),
    ("empty.txt", b""),
    ("image.txt", b"\x89PNG\x00\x00"),
    ("page.html", b"<html><body><p>Accueil</p></body></html>"),
])
def test_progress_counts_a_whole_file_once_read_or_skipped(tmp_path, name, data):
    (tmp_path / name).write_bytes(data)
    told: list[int] = []
    list(parse_file(SourceFile(tmp_path / name, tmp_path), progress=told.append))
    assert sum(told) == len(data)


def test_an_index_write_tells_bytes_then_what_follows_the_last_article(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_export(corpus / "export.jsonl", [{"id": n, "text": f"Visite {n} à Lomé."}
                                           for n in range(20)])
    (corpus / "a.txt").write_text("Un titre\n\nUn article sur Lomé.", "utf-8")
    told: list = []
    update([corpus], tmp_path / "index", on_start=lambda total: told.append(("start", total)),
           progress=lambda n: told.append(n), on_stage=told.append)
    size = sum(file.stat().st_size for file in corpus.iterdir())
    assert told[0] == ("start", size)
    assert sum(step for step in told[1:-3]) == size
    assert told[-3:] == ["Writing and merging segments",
                         "Writing the word lists beside the new segments",
                         "Recording checksums and switching to the new generation"]
