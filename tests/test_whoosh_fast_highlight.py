"""The highlighter over plain tuples (`SpanToken`), and over the tokens near the matches
only, marks what Whoosh's own highlighter marks over the analyzer's tokens."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh import fields
from whoosh.filedb.filestore import RamStorage
from whoosh.highlight import ContextFragmenter, Highlighter, HtmlFormatter
from whoosh.qparser import QueryParser

from search.analysis import french_analyzer, text_tokens
from search.whoosh_fast.highlight import MarkingHighlighter

WORDS = ["Le", "président", "de", "la", "République", "a", "reçu", "l’ambassadrice",
         "coopération", "Nations", "unies", "ONU", "Maroc", "marocains", ".", ",", "\n\n",
         "Tokayev", "selon", "M.", "Kuznetsov", "négocié", "accords", "Sud-Sud", "★★★★",
         "intergouvernementales", "ÉTATS-UNIS"]


class SpanHighlighter(MarkingHighlighter):
    def spans(self, field, text):
        return list(text_tokens(text))


class EveryToken(ContextFragmenter):
    """Whoosh's fragmenter, which `MarkingHighlighter` gives every token to."""


def highlighted(highlighter_class, body: str, query: str, fragmenter=None) -> list[str]:
    schema = fields.Schema(id=fields.ID(stored=True),
                           body=fields.TEXT(analyzer=french_analyzer(), stored=True))
    storage = RamStorage()
    index = storage.create_index(schema)
    with index.writer() as writer:
        writer.add_document(id="1", body=body)
    with index.searcher() as searcher:
        results = searcher.search(QueryParser("body", schema).parse(query))
        results.highlighter = highlighter_class(
            fragmenter=fragmenter or ContextFragmenter(maxchars=80, surround=20),
            formatter=HtmlFormatter())
        return [hit.highlights("body", top=3) for hit in results]


@pytest.mark.parametrize(("body", "query"), [
    ("Le président de la République a reçu l’ambassadrice du Maroc.", "ambassadeur"),
    ("L'ONU, l’Organisation des Nations unies, et les Marocains. " * 6, "onu maroc"),
    ("Les accords négociés\n\nselon M. Kuznetsov, ont été négociés hier.", "negocier"),
    # The stop words before a match decide where its passage starts.
    ("Il a été reçu par le président de la République à l’Élysée le matin.", "elysee"),
    # A match far into a long body, and two far apart.
    ("Le président a reçu. " * 40 + "L’ambassadrice du Maroc. " + "Accords. " * 40
     + "Les Marocains.", "ambassadeur maroc"),
])
def test_span_tokens_highlight_as_the_analyzer_s_tokens(body, query):
    found = highlighted(SpanHighlighter, body, query)
    assert found and found[0]
    assert found == highlighted(Highlighter, body, query)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(WORDS), min_size=1, max_size=300),
       st.sampled_from(["president", "onu", "maroc", "kouznetsov", "negocier", "sud",
                        "onu maroc president"]),
       st.sampled_from([(80, 20), (240, 60), (30, 5), (20, 40)]))
def test_tokens_near_the_matches_cut_the_passages_of_every_token(words, query, sizes):
    body = " ".join(words)
    maxchars, surround = sizes
    assert highlighted(SpanHighlighter, body, query,
                       ContextFragmenter(maxchars=maxchars, surround=surround)) == (
        highlighted(SpanHighlighter, body, query,
                    EveryToken(maxchars=maxchars, surround=surround)))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(WORDS), min_size=1, max_size=80),
       st.sampled_from(["president", "onu", "maroc", "kouznetsov", "negocier", "sud"]))
def test_span_tokens_highlight_as_the_analyzer_s_tokens_for_any_text(words, query):
    body = " ".join(words)
    assert highlighted(SpanHighlighter, body, query) == highlighted(Highlighter, body, query)


def test_a_passage_stops_at_whoosh_s_character_limit():
    body = "Maroc. " + "accords " * 10 + "Maroc et ONU."
    limited = ContextFragmenter(maxchars=80, surround=20, charlimit=40)
    assert highlighted(SpanHighlighter, body, "maroc onu", limited) == highlighted(
        Highlighter, body, "maroc onu", ContextFragmenter(maxchars=80, surround=20,
                                                          charlimit=40))
