import pytest

from search.suggest import (
    FEW_HITS,
    CountedWhenAsked,
    closest_words,
    few_hits,
    suggestions,
    vocabulary,
)
from search.words import surface_form

KNOWN = vocabulary([
    ("ambassadeur", 50), ("ambassadeurs", 20), ("ambassade", 30), ("maroc", 100),
    ("rabat", 40), ("rabats", 200), ("cooper", 2), ("cooperation", 80), ("ambassadeur", 12), ("mali", 3),
    ("mai", 90), ("ambasadeur", 1),
])


def test_vocabulary_keeps_the_largest_count_of_a_form():
    assert KNOWN["ambassadeur"] == 50


@pytest.mark.parametrize(
    "word, closest",
    [
        ("ambasadeur", ["ambassadeur", "ambassadeurs"]),  # one edit, then two
        ("ambassadeurx", ["ambassadeur", "ambassadeurs", "ambasadeur"]),
        ("cooperr", ["cooper"]),  # one edit; cooperation is four
        ("Ambasadeur", ["ambassadeur", "ambassadeurs"]),
        ("l'ambasadeur", ["ambassadeur", "ambassadeurs"]),
        ("coperation", ["cooperation"]),
        ("maroc", []),  # known, and nothing closer is more frequent
        ("mai", []),  # known; "mal" is rarer
        ("rabat", []),  # not rabats, more frequent but of its own family
        ("marok", ["maroc"]),
        ("xyzzy", []),
        ("2024", []),
        ("★", []),
    ],
)
def test_closest_words(word, closest):
    assert closest_words(word, KNOWN) == closest


@pytest.mark.parametrize(
    "query, suggested",
    [
        ("ambasadeur", ["ambassadeur", "ambassadeurs"]),
        ("ambasadeur AND marok", ["ambassadeur AND maroc", "ambassadeurs AND maroc"]),
        ("title:ambasadeur", ["title:ambassadeur", "title:ambassadeurs"]),
        ('"ambasadeur maroc"', ['"ambassadeur maroc"', '"ambassadeurs maroc"']),
        ("=ambasadeur -rabat", ["=ambassadeur -rabat", "=ambassadeurs -rabat"]),
        ("maroc rabat", []),
        ("maroc OR rabat", []),  # operators are not words to correct
        ("coperation~ ambas*", []),  # fuzzy and truncated words are left as typed
        ("maroc NEAR/3 ambasadeur", ["maroc NEAR/3 ambassadeur", "maroc NEAR/3 ambassadeurs"]),
        ("maroc w/3 rabat", []),  # `w/3` and `NEAR` are operators, not words
        ("maroc NEAR rabat SAME ambasadeur",
         ["maroc NEAR rabat SAME ambassadeur", "maroc NEAR rabat SAME ambassadeurs"]),
    ],
)
def test_suggestions(query, suggested):
    assert suggestions(query, lambda: KNOWN, family_count) == suggested


def family_count(word):
    """As if the archive's families were its forms."""
    return KNOWN.get(surface_form(word), 0)


def test_no_suggestion_for_a_word_whose_family_is_frequent():
    assert suggestions("ambasadeur", lambda: KNOWN, lambda word: 3) == []


def test_the_vocabulary_is_read_only_for_a_rare_word():
    """The vocabulary is the whole index's: a query of frequent words does not read it."""
    read = []

    def known_forms():
        read.append(True)
        return KNOWN

    assert suggestions("maroc rabat", known_forms, lambda word: FEW_HITS + 1) == []
    assert read == []
    assert suggestions("ambasadeur rabat", known_forms, family_count) != []
    assert read


def test_forms_counted_when_asked_read_only_the_counts_asked_for():
    asked = []

    counts = {"maroc": 5, "rabat": 4, "ambassadeur": 11}

    def count(form):
        asked.append(form)
        return counts.get(form, 0)

    forms = CountedWhenAsked(("maroc", "rabat", "ambassadeur"), count)
    assert list(forms.keys()) == ["maroc", "rabat", "ambassadeur"]
    assert (forms["rabat"], forms.get("ambassadeur", 0), forms.get("tanger", 0)) == (4, 11, 0)
    assert forms["rabat"] == 4
    assert asked == ["rabat", "ambassadeur", "tanger"]  # each once
    assert ("tanger" in forms, "maroc" in forms, len(forms)) == (False, True, 3)
    with pytest.raises(KeyError):
        forms["tanger"]


@pytest.mark.parametrize("word", ["ambasadeur", "marok", "rabbat", "diplomatiqe"])
def test_closest_words_are_the_same_with_counts_read_when_asked(word):
    lazy = CountedWhenAsked(tuple(KNOWN), KNOWN.__getitem__)
    assert closest_words(word, lazy) == closest_words(word, KNOWN)


@pytest.mark.parametrize("word, uncounted, closest", [
    ("ambasadeur", {"ambassadeur"}, ["ambassadeurs"]),
    ("ambasadeur", {"ambassadeur", "ambassadeurs", "ambassade"}, []),
    ("marok", {"maroc"}, []),
])
def test_a_listed_form_that_no_article_has_is_no_candidate(word, uncounted, closest):
    """A damaged index can list a form its counts do not have (forms and counts are read
    from different files): that form is left out, not an error."""
    lazy = CountedWhenAsked(tuple(KNOWN), lambda form: 0 if form in uncounted
                            else KNOWN.get(form, 0))
    assert closest_words(word, lazy) == closest


@pytest.mark.parametrize("total, shown, limit, offset, few", [
    (FEW_HITS, FEW_HITS, 10, 0, True),  # few articles
    (FEW_HITS + 1, FEW_HITS + 1, 10, 0, False),
    (30, FEW_HITS, 10, 0, True),  # every dispatch shown: few, whatever their copies
    (30, FEW_HITS, 10, 10, False),  # a later page: the first held others
    (30, FEW_HITS, FEW_HITS, 0, False),  # a full page: more may follow
])
def test_few_hits(total, shown, limit, offset, few):
    assert few_hits(total, shown, limit, offset) is few
