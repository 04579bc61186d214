import dataclasses
import io
import json
import time
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from search.errors import CorpusError, QuerySyntaxError
from search.models import (
    Copy,
    Count,
    Hit,
    IndexReport,
    IndexStats,
    SearchResults,
    Skipped,
    Snippet,
)
from search.output import (
    PlainStyle,
    TerminalStyle,
    copies_json,
    copies_text,
    error_line,
    render,
    report_text,
    results_json,
    results_text,
    stats_text,
    style_for,
    visible,
)

# (what an article or a file name holds, what is printed of it)
HOSTILE = [
    ("clear screen", "a\x1b[2Jb", r"a\x1b[2Jb"),
    ("colour", "\x1b[31mrouge\x1b[0m", r"\x1b[31mrouge\x1b[0m"),
    ("OSC 52 clipboard", "\x1b]52;c;cm0gLXJmIH4=\x07", r"\x1b]52;c;cm0gLXJmIH4=\x07"),
    ("OSC 0 window title", "\x1b]0;pwned\x1b\\", "\\x1b]0;pwned\\x1b\\"),
    ("BEL", "ding\x07", r"ding\x07"),
    ("backspace", "good\x08\x08\x08\x08evil", r"good\x08\x08\x08\x08evil"),
    ("carriage return", "safe\rEVIL", r"safe\rEVIL"),
    ("newline", "one\ntwo", r"one\ntwo"),
    ("tab", "one\ttwo", r"one\ttwo"),
    ("NUL", "a\x00b", r"a\x00b"),
    ("other C0", "\x01\x0b\x0c\x1c\x1f", r"\x01\x0b\x0c\x1c\x1f"),
    ("DEL", "a\x7fb", r"a\x7fb"),
    ("8-bit CSI", "\x9b2J", r"\x9b2J"),
    ("other C1", "\x80\x85\x9c\x9f", r"\x80\x85\x9c\x9f"),
    ("lone surrogate", "caf\udce9.txt", r"caf\udce9.txt"),
    ("lone high surrogate", "\ud83d!", r"\ud83d!"),
    ("line separators", "a\u2028b\u2029c", r"a\u2028b\u2029c"),
    ("right-to-left override", "fichier\u202etxt.exe", r"fichier\u202etxt.exe"),
    ("bidi embeddings", "\u202a\u202b\u202c\u202dx", r"\u202a\u202b\u202c\u202dx"),
    ("bidi isolates", "\u2066\u2067\u2068x\u2069", r"\u2066\u2067\u2068x\u2069"),
    ("zero-width space", "pay\u200bpal", "paypal"),
    ("zero-width joiners", "a\u200c\u200db\u2060c", "abc"),
    ("soft hyphen", "coopé\xadration", "coopération"),
    ("byte-order mark", "\ufeffRabat", "Rabat"),
    ("direction marks", "\u200eRabat\u200f\u061c", "Rabat"),
    ("tag characters", "a\U000e0001\U000e0041b", "ab"),
    ("French", "« L’État » coopère\xa0; 3\u202f000 €", "« L’État » coopère\xa0; 3\u202f000 €"),
    ("backslash", "C:\\dossier\\x1b", "C:\\dossier\\x1b"),
    ("emoji", "🇫🇷 👍🏽", "🇫🇷 👍🏽"),
]
HOSTILE_IDS = [name for name, _, _ in HOSTILE]
BENIGN = dict(query="sommet", title="Le sommet", date="2025-04", source="afp.com",
              dateline="Rabat", category="Politique", url="https://afp.com/a", path="a.txt",
              snippet="Le **sommet**")

PLAIN = (
    "1 article matches «{query}».\n"
    "\n"
    "1. {title}\n"
    "   {date} · {source} · dateline {dateline} · {category} · {url} · score 1.50\n"
    "   {snippet}\n"
)
TERMINAL = (
    "1 article matches «{query}».\n"
    "\n"
    "1. \x1b[1m{title}\x1b[0m\n"
    "   \x1b[2m{date} · {source} · dateline {dateline} · {category} · {url} · score 1.50\x1b[0m\n"
    "   {snippet}\n"
)


def _results(query="sommet", snippet=Snippet("Le sommet", ((3, 9),)), **fields) -> SearchResults:
    hit = dict(rank=1, id="a", path="a.txt", title="Le sommet", date="2025-04", dateline="Rabat",
               category="Politique", source="afp.com", url="https://afp.com/a", score=1.5,
               snippet=snippet)
    return SearchResults(query=query, total=1, partial=False, hits=(Hit(**hit | fields),))


@pytest.mark.parametrize("name, text, shown", HOSTILE, ids=HOSTILE_IDS)
def test_visible(name, text, shown):
    assert visible(text) == shown


@pytest.mark.parametrize("field", ["query", "title", "date", "source", "dateline", "category",
                                   "url"])
@pytest.mark.parametrize("name, text, shown", HOSTILE, ids=HOSTILE_IDS)
def test_every_field_of_a_hit_prints_safely(field, name, text, shown):
    results = _results(**{field: text})
    expected = BENIGN | {field: shown}
    assert results_text(results, PlainStyle()) == PLAIN.format(**expected)
    terminal = expected | {"snippet": "Le \x1b[1;33msommet\x1b[0m"}
    assert results_text(results, TerminalStyle()) == TERMINAL.format(**terminal)


@pytest.mark.parametrize("name, text, shown", HOSTILE, ids=HOSTILE_IDS)
def test_the_path_prints_safely_when_there_is_no_url(name, text, shown):
    results = _results(url=None, path=text)
    assert results_text(results, PlainStyle()) == PLAIN.format(**BENIGN | {"url": shown})


@pytest.mark.parametrize("name, text, shown", HOSTILE, ids=HOSTILE_IDS)
def test_snippets_print_safely_with_marks_on_the_right_words(name, text, shown):
    # the hostile text before, inside and after the two highlights
    snippet_text = f"{text} sommet {text} sur {text}le climat{text}"
    start = len(text) + 1
    second, end = snippet_text.index(" sur ") + 5, snippet_text.index("le climat") + 9
    snippet = Snippet(snippet_text, ((start, start + 6), (second, end)))
    results = _results(snippet=snippet)
    plain = f"{shown} **sommet** {shown} sur **{shown}le climat**{shown}"
    assert results_text(results, PlainStyle()) == PLAIN.format(**BENIGN | {"snippet": plain})
    terminal = (f"{shown} \x1b[1;33msommet\x1b[0m {shown} sur "
                f"\x1b[1;33m{shown}le climat\x1b[0m{shown}")
    assert results_text(results, TerminalStyle()) == TERMINAL.format(**BENIGN
                                                                     | {"snippet": terminal})


def test_fields_left_empty_by_removal_are_not_shown():
    results = _results(source="\u200b", dateline="\ufeff")
    assert results_text(results, PlainStyle()).splitlines()[3] == (
        "   2025-04 · Politique · https://afp.com/a · score 1.50"
    )


def test_no_match_echoes_the_query_safely():
    results = SearchResults(query="\x1b]0;x\x07maroc\n", total=0, partial=False)
    assert results_text(results, PlainStyle()) == "No article matches «\\x1b]0;x\\x07maroc\\n».\n"


# (a value, exactly what --json prints for it)
JSON_STRINGS = [
    ("a\x1b[2Jb", r'"a\u001b[2Jb"'),
    ("\x1b]52;c;cm0=\x07", r'"\u001b]52;c;cm0=\u0007"'),
    ("\x1b]0;x\x1b\\", r'"\u001b]0;x\u001b\\"'),
    ("a\x08\r\n\t", r'"a\b\r\n\t"'),
    ("\x7f\x85\x9b", r'"\u007f\u0085\u009b"'),
    ("caf\udce9", r'"caf\udce9"'),
    ("\u2028\u2029", r'"\u2028\u2029"'),
    ("txt\u202eexe\u2066", r'"txt\u202eexe\u2066"'),
    ("pay\u200bpal\xad\ufeff", r'"pay\u200bpal\u00ad\ufeff"'),
    ("a\U000e0041", r'"a\udb40\udc41"'),
    ("« L’État »\xa0€ 🇫🇷", '"« L’État »\xa0€ 🇫🇷"'),
]


@pytest.mark.parametrize("field", ["query", "id", "path", "title", "date", "dateline",
                                   "category", "source", "url", "snippet"])
@pytest.mark.parametrize("text, printed", JSON_STRINGS)
def test_json_escapes_every_control_and_keeps_the_value(field, text, printed):
    if field == "query":
        results = _results(query=text)
    elif field == "snippet":
        results = _results(snippet=Snippet(text))
    else:
        results = _results(**{field: text})
    out = results_json(results)
    assert f'"{field}": {printed}' in out
    out.encode("utf-8")
    parsed = json.loads(out)
    assert (parsed if field == "query" else parsed["hits"][0])[field] == text


def test_json_keys_and_values():
    snippet = Snippet("\x1b[2J la coopération", ((8, 19),))
    assert json.loads(results_json(_results(snippet=snippet))) == {
        "query": "sommet", "total": 1, "partial": False, "suggestions": [],
        "hits": [{"rank": 1, "id": "a", "path": "a.txt", "title": "Le sommet",
                  "title_highlights": [], "date": "2025-04",
                  "dateline": "Rabat", "category": "Politique", "source": "afp.com",
                  "source_name": None, "url": "https://afp.com/a", "score": 1.5,
                  "snippet": "\x1b[2J la coopération", "highlights": [[8, 19]], "copies": []}],
    }


def test_the_index_report_prints_one_line_per_skipped_file():
    report = IndexReport(
        index_dir="ix\x1b[2J", added=1, skipped=(
            Skipped("corpus/bad\udcff\n\x1b[2J.txt", "binary file"),
            Skipped("corpus/x.jsonl:3", "malformed JSON: \x1b]0;t\x07\r"),
            Skipped("corpus/\u202etxt.exe", "empty file"),
        ),
    )
    assert report_text(report, verbose=False) == (
        "Index ix\\x1b[2J: 1 added, 0 updated, 0 removed, 0 unchanged, 3 skipped.\n"
        "  skipped corpus/bad\\udcff\\n\\x1b[2J.txt: binary file\n"
        "  skipped corpus/x.jsonl:3: malformed JSON: \\x1b]0;t\\x07\\r\n"
        "  skipped corpus/\\u202etxt.exe: empty file\n"
    )


def test_the_index_report_shows_ten_skipped_files_unless_verbose():
    report = IndexReport(index_dir="index", skipped=tuple(
        Skipped(f"f{n}.txt", "empty file") for n in range(12)))
    assert report_text(report, verbose=False).splitlines()[-1] == (
        "  ... and 2 more (--verbose lists them)."
    )
    assert report_text(report, verbose=True).count("\n") == 13


@pytest.fixture
def utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_stats_print_labels_safely(utc):
    found = IndexStats(
        index_dir="ix\n", documents=1234, first_date="2020\x07", last_date=None,
        sources=(Count("evil\x1b[31m.com", 1200), Count("a\u202eb", 34)),
        categories=(), size_bytes=2_500_000, updated_at=0.0,
    )
    assert stats_text(found) == (
        "Index:       ix\\n\n"
        "Documents:   1,234\n"
        "Dates:       2020\\x07 to -\n"
        "Size:        2.5 MB\n"
        "Updated:     1970-01-01 00:00:00\n"
        "Sources:\n"
        "     1,200  evil\\x1b[31m.com\n"
        "        34  a\\u202eb\n"
        "Categories: none\n"
    )


@pytest.mark.parametrize(
    "error, line",
    [
        (CorpusError("No such file or folder: a\nb\x1b[2J"),
         "No such file or folder: a\\nb\\x1b[2J"),
        (CorpusError("No such file or folder: caf\udce9/\u202eexe"),
         "No such file or folder: caf\\udce9/\\u202eexe"),
        (QuerySyntaxError("The query is empty: give one or more words to search for."),
         "The query is empty: give one or more words to search for."),
    ],
)
def test_error_lines(error, line):
    assert error_line(error) == line


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    "stream, no_color, style",
    [
        (io.StringIO(), None, PlainStyle),
        (io.StringIO(), "1", PlainStyle),
        (_Terminal(), None, TerminalStyle),
        (_Terminal(), "", TerminalStyle),
        (_Terminal(), "1", PlainStyle),
    ],
)
def test_colours_only_on_a_terminal_without_no_color(stream, no_color, style, monkeypatch):
    if no_color is not None:
        monkeypatch.setenv("NO_COLOR", no_color)
    assert type(style_for(stream)) is style


# Any character at all, lone surrogates included.
any_text = st.text(st.characters(exclude_categories=()))
UNSAFE = {"Cc", "Cf", "Cs", "Zl", "Zp"}
OUR_CODES = ("\x1b[1;33m", "\x1b[2m", "\x1b[1m", "\x1b[0m")


@st.composite
def snippets(draw) -> Snippet:
    text = draw(any_text)
    cuts = sorted(draw(st.sets(st.integers(0, len(text)), max_size=6)))
    return Snippet(text, tuple(zip(cuts[::2], cuts[1::2], strict=False)))  # an odd cut drops


@st.composite
def any_results(draw) -> SearchResults:
    optional = st.none() | any_text
    hit = Hit(rank=1, id=draw(any_text), path=draw(any_text), title=draw(any_text),
              date=draw(optional), dateline=draw(optional), category=draw(optional),
              source=draw(optional), url=draw(optional), score=1.0, snippet=draw(snippets()))
    return SearchResults(query=draw(any_text), total=1, partial=draw(st.booleans()), hits=(hit,))


@given(results=any_results(), style=st.sampled_from([PlainStyle(), TerminalStyle()]))
def test_text_output_holds_no_control_but_its_own_newlines(results, style):
    out = results_text(results, style)
    out.encode("utf-8")
    assert out.count("\n") == 5 + results.partial
    data = out
    for code in OUR_CODES:
        data = data.replace(code, "")
    assert [c for c in data if unicodedata.category(c) in UNSAFE and c != "\n"] == []


class _Sentinels(PlainStyle):
    def mark(self, text: str) -> str:
        return f"\x00{text}\x01"


@given(snippet=snippets())
def test_marks_fall_on_the_highlighted_text(snippet):
    out = render(snippet, _Sentinels())
    marked = [piece.split("\x01")[0] for piece in out.split("\x00")[1:]]
    assert marked == [visible(snippet.text[start:end]) for start, end in snippet.highlights]


@given(results=any_results())
def test_json_output_encodes_parses_back_and_its_highlights_hold(results):
    out = results_json(results)
    out.encode("utf-8")
    assert [c for c in out if unicodedata.category(c) in UNSAFE and c != "\n"] == []
    assert out.endswith("}\n") and out.count("\n") == 1
    parsed = json.loads(out)
    hit, = results.hits
    parsed_hit, = parsed["hits"]
    assert (parsed["query"], parsed_hit["title"], parsed_hit["path"], parsed_hit["url"]) == (
        results.query, hit.title, hit.path, hit.url)
    assert [parsed_hit["snippet"][start:end] for start, end in parsed_hit["highlights"]] == [
        hit.snippet.text[start:end] for start, end in hit.snippet.highlights]


@pytest.mark.parametrize(
    "total, suggestions, printed",
    [
        (0, ("ambassadeur",), "No article matches «ambasadeur».\nDid you mean: ambassadeur?\n"),
        (0, ("ambassadeur", "ambassadeurs"),
         "No article matches «ambasadeur».\nDid you mean: ambassadeur or ambassadeurs?\n"),
        (0, ("\x1b[2Jx",), "No article matches «ambasadeur».\nDid you mean: \\x1b[2Jx?\n"),
        (0, (), "No article matches «ambasadeur».\n"),
    ],
)
def test_did_you_mean_when_nothing_matches(total, suggestions, printed):
    results = SearchResults(query="ambasadeur", total=total, partial=False,
                            suggestions=suggestions)
    assert results_text(results, PlainStyle()) == printed


def test_did_you_mean_follows_the_count_of_few_hits():
    results = _results(query="ambasadeur", snippet=Snippet("x"), title="x")
    results = SearchResults(query=results.query, total=1, partial=False, hits=results.hits,
                            suggestions=("ambassadeur",))
    assert results_text(results, PlainStyle()).splitlines()[:3] == [
        "1 article matches «ambasadeur».", "Did you mean: ambassadeur?", ""]
    assert json.loads(results_json(results))["suggestions"] == ["ambassadeur"]


def _explanation():
    from search.models import ExplainedTerm, ExplainedWord, Explanation, FormCount

    forms = tuple(FormCount(f"form{n}", 20 - n) for n in range(12))
    return Explanation("Maroc coop* la", (
        ExplainedWord("Maroc", ("title", "body"), (
            ExplainedTerm("@maroc", "lexicon", 236, (FormCount("maroc", 168),
                                                     FormCount("marocain", 1)), "Maroc (country)"),
            ExplainedTerm("maroc", "stem", 1, forms),
        )),
        ExplainedWord("coop*\x1b[2J", ("body",), (
            ExplainedTerm("cooperation", "truncated", 12, (FormCount("cooperation", 12),)),)),
        ExplainedWord("la", ()),
        ExplainedWord("xyzzy", ("body",)),
    ))


def test_explanation_text():
    from search.output import explanation_text

    assert explanation_text(_explanation()) == (
        "Maroc (in title, body)\n"
        "  @maroc: lexicon Maroc (country), 236 articles; as written: maroc 168, marocain 1\n"
        "  maroc: stem, 1 article; as written: form0 20, form1 19, form2 18, form3 17, form4 16, "
        "form5 15, form6 14, form7 13, form8 12, form9 11 and 2 more\n"
        "coop*\\x1b[2J (in body)\n"
        "  cooperation: truncated, 12 articles\n"
        "la\n"
        "  nothing to search for: a very common word or a symbol\n"
        "xyzzy (in body)\n"
        "  no term of the index\n"
    )


def test_explanation_json_lists_every_form():
    from search.output import explanation_json

    data = json.loads(explanation_json(_explanation()))
    assert data["query"] == "Maroc coop* la"
    assert data["words"][0]["terms"][0] == {
        "term": "@maroc", "origin": "lexicon", "entity": "Maroc (country)", "documents": 236,
        "forms": [{"form": "maroc", "documents": 168}, {"form": "marocain", "documents": 1}]}
    assert len(data["words"][0]["terms"][1]["forms"]) == 12
    assert data["words"][1]["word"] == "coop*\x1b[2J"
    assert "\x1b" not in explanation_json(_explanation())


@pytest.mark.parametrize("value, largest, width, expected", [
    (0, 10, 4, ""),
    (10, 10, 4, "████"),
    (5, 10, 4, "██"),
    (1, 10, 4, "▍"),  # 3.2 eighths, rounded to 3
    (1, 1000, 4, "▏"),  # never nothing for something
    (3, 0, 4, ""),
])
def test_bar(value, largest, width, expected):
    from search.output import bar
    assert bar(value, largest, width) == expected


@given(st.integers(0, 10**6), st.integers(1, 10**6))
def test_a_bar_grows_with_its_value_and_never_passes_the_width(value, extra):
    from search.output import bar
    largest = value + extra
    assert len(bar(value, largest, 20)) <= 20
    assert len(bar(value, largest, 20)) <= len(bar(value + extra, largest, 20)) == 20


def test_count_text_of_two_queries():
    from search.models import CountSeries, CountTable
    from search.output import count_text
    table = CountTable("source", ("afp.com", "(no source)"),
                       (CountSeries("maroc", 12, (8, 4)), CountSeries("x\x1b", 1, (0, 1))))
    assert count_text(table) == (
        "«maroc» 12; «x\\x1b» 1 articles, by source.\n"
        "source      maroc x\\x1b\n"
        f"afp.com         8     0 {'█' * 20}\n"
        f"(no source)     4     1 {'█' * 10}{' ' * 10} ██▌\n")


@pytest.mark.parametrize("text, expected", [
    ("id,title", ("id", "title")),
    (" ID , body,", ("id", "body")),
])
def test_check_fields(text, expected):
    from search.output import check_fields
    assert check_fields(text) == expected


@pytest.mark.parametrize("text", ["", ",", "id,titre"])
def test_check_fields_refuses(text):
    from search.output import check_fields
    with pytest.raises(ValueError, match="the fields are: id,date,source,category,title,url,"
                                         "path,score,snippet,body."):
        check_fields(text)


@pytest.mark.parametrize("copies, total, count_line, about", [
    ((), 1, "1 article matches «sommet».", ""),
    (("b",), 2, "2 articles match «sommet» (showing 1; copies of a dispatch shown once, "
                "--copies shows each).", " · +1 copy"),
    (("b", "c\x1b[2J"), 9, "9 articles match «sommet» (showing 1; copies of a dispatch shown "
                          "once, --copies shows each).", " · +2 copies"),
], ids=["none", "one", "two, more hits"])
def test_a_hit_with_copies_says_how_many(copies, total, count_line, about):
    results = dataclasses.replace(_results(copies=copies), total=total)
    lines = results_text(results, PlainStyle()).splitlines()
    assert lines[0] == count_line
    assert lines[3] == ("   2025-04 · afp.com · dateline Rabat · Politique · https://afp.com/a · score 1.50"
                        + about)
    assert json.loads(results_json(results))["hits"][0]["copies"] == list(copies)


GROUP = (
    Copy(id="b", path="b.txt", title="Visite\x1b[2J", date="2020-05-01", source="afp.com",
         category="monde", url=None, similarity=0.91),
    Copy(id="a", path="a.txt", title="Visite", date=None, source=None, category=None,
         url="https://a", similarity=1.0),
)


def test_a_group_of_copies_prints_earliest_first_and_safely():
    assert copies_text("a", GROUP, PlainStyle()) == (
        "Article a and its 1 copy, the earliest first:\n"
        "\n"
        "1. Visite\\x1b[2J\n"
        "   2020-05-01 · afp.com · monde · b · similarity 0.91\n"
        "\n"
        "2. Visite\n"
        "   undated · a · this article\n")
    assert copies_text("a\x1b", GROUP[1:], PlainStyle()) == (
        "Article a\\x1b has no copy in the index.\n")


def test_a_group_of_copies_in_json():
    assert json.loads(copies_json("a", GROUP)) == {"id": "a", "group": [
        {"id": "b", "path": "b.txt", "title": "Visite\x1b[2J", "date": "2020-05-01",
         "source": "afp.com", "category": "monde", "url": None, "similarity": 0.91},
        {"id": "a", "path": "a.txt", "title": "Visite", "date": None, "source": None,
         "category": None, "url": "https://a", "similarity": 1.0}]}
    assert "\x1b" not in copies_json("a", GROUP)


@pytest.mark.parametrize("title, cell", [
    ('=HYPERLINK("http://evil","clic")', '"\'=HYPERLINK(""http://evil"",""clic"")"'),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("@SUM(1+1)", "'@SUM(1+1)"),
    ("-2+3", "'-2+3"),
    ("Le sommet", "Le sommet"),
    ("Paix = guerre", "Paix = guerre"),  # only a cell's first character makes a formula
])
def test_a_csv_cell_never_runs_as_a_formula(title, cell):
    from search.output import hit_csv
    [hit] = _results(title=title).hits
    assert hit_csv(hit, ("title",)) == cell + "\n"
