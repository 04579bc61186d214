"""search.stretches: an export re-read in stretches, the unchanged ones skipped whole."""

import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from search import stretches
from search.stretches import Read, Reused, Stretch, StretchReader

READING = b"parser 5, no field map"


def read(data: bytes, old=(), reading=READING) -> list:
    return list(StretchReader(io.BytesIO(data), list(old), reading))


def stretches_of(data: bytes, reading=READING) -> list[Stretch]:
    """The stretches a first reading records (each movable, as if every record had an id)."""
    return [item.stretch for item in read(data, (), reading) if isinstance(item, Read)]


def lines(*texts: str) -> bytes:
    return b"".join(json.dumps({"id": text, "article": f"Texte {text}."}).encode() + b"\n"
                    for text in texts)


@pytest.fixture(autouse=True)
def small_stretches(monkeypatch):
    """Stretches of about two lines, so that a few lines make several."""
    monkeypatch.setattr(stretches, "STRETCH_BYTES", 60)


def rebuilt(old: bytes, items: list) -> bytes:
    """The file the reader saw: lines read, and the old bytes of each stretch reused."""
    spans, start = [], 0
    for stretch in stretches_of(old):
        spans.append(old[start:start + stretch.length])
        start += stretch.length
    return b"".join(item if isinstance(item, bytes) else spans[item.index]
                    for item in items if not isinstance(item, Read))


@pytest.mark.parametrize(
    "before, after, read_lines, reused",
    [
        ("abcdef", "abcdef", "", [(0, 1), (1, 3), (2, 5)]),
        ("abcdef", "abcdefgh", "gh", [(0, 1), (1, 3), (2, 5)]),  # appended
        ("abcdef", "abXdef", "Xd", [(0, 1), (2, 5)]),  # the second stretch changed
        ("abcdef", "Xabcdef", "X", [(0, 2), (1, 4), (2, 6)]),  # a line added before all
        ("abcdef", "acdef", "a", [(1, 2), (2, 4)]),  # a line removed
        ("abcdef", "cdab", "", [(1, 1), (0, 3)]),  # stretches moved
        ("abcdef", "", "", []),
        ("", "ab", "ab", []),
    ],
)
def test_what_is_read_again_and_what_is_reused(before, after, read_lines, reused):
    old, new = lines(*before), lines(*after)
    items = read(new, stretches_of(old))
    assert [json.loads(item)["id"] for item in items if isinstance(item, bytes)] == list(read_lines)
    assert [(item.index, item.first_line) for item in items if isinstance(item, Reused)] == reused
    assert rebuilt(old, items) == new


@pytest.mark.parametrize(
    "change, reading, in_place, moved",
    [
        (dict(), READING, 3, 3),
        (dict(), b"another field map", 0, 0),  # read otherwise: nothing is the same
        (dict(movable=False), READING, 3, 0),  # records known by their line: only there
        (dict(reusable=False), READING, 0, 0),  # what it gives depends on other lines
    ],
)
def test_a_stretch_is_reused_only_when_its_articles_would_be_the_same(change, reading,
                                                                     in_place, moved):
    old = lines(*"abcdef")
    kept = [Stretch(**{**vars(stretch), **change}) for stretch in stretches_of(old)]
    for new, reused in ((old, in_place), (lines("X", *"abcdef"), moved)):
        items = read(new, kept, reading)
        assert sum(isinstance(item, Reused) for item in items) == reused
        assert rebuilt(old, items) == new


def test_a_last_line_without_its_line_break_is_the_same_only_at_the_end():
    old = lines("a", "b")[:-1]  # no line break after b
    assert [type(item) for item in read(old, stretches_of(old))] == [Reused]
    new = lines("a", "b", "c")
    assert rebuilt(old, read(new, stretches_of(old))) == new


class CountingBytes(io.BytesIO):
    """A stream that counts the bytes read in blocks (a stretch compared), not by lines."""

    compared = 0

    def read(self, size=-1):
        data = super().read(size)
        if size > 1:
            self.compared += len(data)
        return data


def test_a_first_line_that_recurs_is_compared_a_few_times_only(monkeypatch):
    monkeypatch.setattr(stretches, "TRIES", 2)
    old = lines(*"a" * 12)  # six stretches that begin with the same line
    new = lines(*"ab" * 50)  # and fifty lines that begin none of them
    stream = CountingBytes(new)
    assert rebuilt(old, list(StretchReader(stream, stretches_of(old), READING))) == new
    assert stream.compared <= 2 * len(old)


def test_the_position_follows_what_was_given():
    old, new = lines(*"abcdef"), lines(*"abXdefg")
    reader = StretchReader(io.BytesIO(new), stretches_of(old), READING)
    list(reader)
    assert reader.position == len(new)


texts = st.lists(st.sampled_from("abcdefghij"), max_size=14)


@settings(max_examples=200, deadline=None)
@given(before=texts, after=texts)
def test_the_reader_gives_the_new_file_whatever_the_edit(before, after):
    old, new = lines(*before), lines(*after)
    items = read(new, stretches_of(old))
    assert rebuilt(old, items) == new
    numbers = [item.first_line if isinstance(item, Reused) else item.stretch.first_line
               for item in items if not isinstance(item, bytes)]
    assert numbers == sorted(numbers)
    reused = [item.index for item in items if isinstance(item, Reused)]
    assert len(reused) == len(set(reused))  # an old stretch's articles are given once


@pytest.mark.parametrize(
    "values",
    [[1, "x", 2, 3, 4, 5, True, [], True, 0], [1, 2, 2, 3, 4, 5, True, [], True],
     [1, "x", 2, 3, 4, 5, 1, [], True], "text", [1.5, "x", 2, 3, 4, 5, True, [], True],
     [1, "x", 2, 3, 4, 5, True, [[2, "why"]], True],
     [1, "x", 2, 3, 4, 5, True, [["2", "why", "", False]], True],
     [1, "x", 2, 3, 4, 5, True, [[2, "why", "", 0]], True],
     [-1, "x", 2, 3, 4, 5, True, [], True], [1, "x", 2, 3, 4, 5, True, [], 1],
     [1, "x", 2, 3, 4, 5, True, []]],
)
def test_a_garbled_stretch_is_refused(values):
    with pytest.raises(ValueError):
        Stretch.from_list(values)


def test_a_stretch_is_kept_as_a_list():
    stretch = Stretch(10, "ab", 3, 1, 2, 2, False, ((2, "no article text", "x.jsonl#2", False),))
    assert Stretch.from_list(json.loads(json.dumps(stretch.as_list()))) == stretch


@pytest.mark.parametrize(
    "change, same",
    [
        (lambda data: data, True),
        (lambda data: data.replace(b"Texte c", b"Texte C"), False),  # one byte, same size
        (lambda data: data + b"\n", False),  # a byte more
        (lambda data: data[:-1], False),  # a byte less
    ],
)
def test_a_survey_in_stretches_gives_the_indexed_fingerprint_only_to_the_same_bytes(change, same):
    old = lines(*"abcdef")
    kept = stretches_of(old)
    found = stretches.survey_stretches(io.BytesIO(change(old)), kept, READING)
    assert (found == stretches.fingerprint_of(kept)) is same
    assert stretches.survey_stretches(io.BytesIO(old), kept, b"another field map") != (
        stretches.fingerprint_of(kept))


def test_a_stretch_not_to_reuse_still_says_whether_its_bytes_changed():
    """(An export with an id twice, touched without a change, is known as unchanged.)"""
    old = lines(*"abcd")
    kept = [stretches_of(old)[0], Stretch(**{**vars(stretches_of(old)[1]), "reusable": False})]
    assert stretches.survey_stretches(io.BytesIO(old), kept, READING) == (
        stretches.fingerprint_of(kept))
