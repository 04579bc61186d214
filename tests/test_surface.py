import pytest
from hypothesis import given
from hypothesis import strategies as st
from whoosh.formats import Positions

from search.surface import (
    PARAGRAPH_STRIDE,
    SurfacePositions,
    exact_matches,
    surface_analyzer,
    surface_positions,
    surface_words,
)


@pytest.mark.parametrize(
    "text, words",
    [
        ("", []),
        ("L'Ambassadrice de la FRANCE", [(0, "ambassadrice"), (1, "de"), (2, "la"), (3, "france")]),
        ("Œuvre ★ aujourd’hui", [(0, "oeuvre"), (1, "aujourdhui")]),
        ("Sud-Sud", [(0, "sud"), (1, "sud")]),
        ("renforcer\n\nla coopération", [(0, "renforcer"), (PARAGRAPH_STRIDE, "la"),
                                         (PARAGRAPH_STRIDE + 1, "cooperation")]),
        ("a\n \n\nb\n\n\n\nc d", [(0, "a"), (PARAGRAPH_STRIDE, "b"), (2 * PARAGRAPH_STRIDE, "c"),
                                  (2 * PARAGRAPH_STRIDE + 1, "d")]),
        ("a\nb", [(0, "a"), (1, "b")]),
    ],
)
def test_surface_words(text, words):
    assert [(pos, form) for pos, form, _, _ in surface_words(text)] == words


def postings(format_, text):
    return list(format_.word_values(text, surface_analyzer(), mode="index"))


@pytest.mark.parametrize("text", [
    "", "le la les", "Le président de la République a reçu, le 3 mai, l’ambassadrice ; "
    "le président et l'ambassadrice ont parlé.\n\nDe coopération Sud-Sud et de la coopération.",
    "★ la 150è Assemblée ★ Al-Farabi aujourd'hui Œuvre œuvre\n\n\n\nœuvre",
])
def test_surface_positions_are_the_analyzer_s_postings(text):
    assert postings(SurfacePositions(), text) == postings(Positions(), text)
    assert postings(SurfacePositions(field_boost=2.0), text) == postings(
        Positions(field_boost=2.0), text)


@given(st.text(alphabet=st.sampled_from("aé’' \n\t.-Œ0★")) | st.text())
def test_surface_positions_are_surface_words_grouped(text):
    expected: dict[str, list[int]] = {}
    for pos, form, _, _ in surface_words(text):
        expected.setdefault(form, []).append(pos)
    assert surface_positions(text) == expected


@given(st.text())
def test_offsets_point_at_the_word(text):
    for token in surface_analyzer()(text, chars=True, positions=True):
        assert 0 <= token.startchar < token.endchar <= len(text)
        assert token.text


TEXT = "Le président de la République. Le président, République ! Renforcer la coopération."


@pytest.mark.parametrize(
    "words, phrases, marked",
    [
        ({"cooperation"}, [], ["coopération"]),
        (set(), [(("president", "de", "la", "republique"), 1)],
         ["président", "de", "la", "République"]),
        (set(), [(("president", "republique"), 1)], ["président", "République"]),
        (set(), [(("president", "republique"), 3)],
         ["président", "République", "président", "République"]),
        (set(), [(("la", "cooperation"), 1)], ["la", "coopération"]),
        (set(), [(("cooperation", "la"), 5)], []),
        (set(), [((), 1)], []),
    ],
)
def test_exact_matches(words, phrases, marked):
    starts = exact_matches(TEXT, frozenset(words), phrases)
    assert [TEXT[start:end] for _, _, start, end in surface_words(TEXT)
            if start in starts] == marked


def test_surface_positions_of_another_analyzer_are_that_analyzer_s():
    from whoosh.analysis import StandardAnalyzer

    text = "Le président de la République"
    assert list(SurfacePositions().word_values(text, StandardAnalyzer(), mode="index")) == list(
        Positions().word_values(text, StandardAnalyzer(), mode="index"))
