import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from search.errors import LexiconError
from search.lexicon import (
    ENTITY_MARK,
    KINDS,
    LEXICON_VERSION,
    Entry,
    Lexicon,
    entity_of_word,
    entries,
    entry,
    forms_of,
    hides,
    inflections,
    longest_phrase,
    normalized_words,
)
from search.words import WORD_PATTERN, fold, strip_elision


def word_term(original: str, *, query: bool = False) -> str | None:
    return entity_of_word(fold(strip_elision(original)), original, query=query)


def phrase_term(text: str) -> tuple[int, str] | None:
    return longest_phrase(normalized_words(text), 0)


@pytest.mark.parametrize(
    "original, term",
    [
        ("Maroc", "@maroc"),
        ("MAROC", "@maroc"),
        ("marocaines", "@maroc"),
        ("Marocains", "@maroc"),
        ("maroco", "@maroc"),
        ("chérifienne", "@maroc"),
        ("Kazakhstan", "@kazakhstan"),
        ("Fed", "@fed"),
        ("kazakh", "@kazakhstan"),
        ("kazakhes", "@kazakhstan"),
        ("kazakhstanais", "@kazakhstan"),
        ("Algérie", "@algerie"),
        ("algéro", "@algerie"),
        ("algériennes", "@algerie"),
        ("Mali", "@mali"),
        ("malien", "@mali"),
        ("maliennes", "@mali"),
        ("Niger", "@niger"),
        ("nigériens", "@niger"),
        ("Nigeria", "@nigeria"),
        ("Nigéria", "@nigeria"),
        ("nigérianes", "@nigeria"),
        ("Guinée", "@guinee"),
        ("guinéenne", "@guinee"),
        ("Congo", "@congo"),
        ("congolaises", "@congo"),
        ("RDC", "@rdc"),
        ("Zaïre", "@rdc"),
        ("Soudan", "@soudan"),
        ("soudanais", "@soudan"),
        ("Corée", "@coree"),
        ("coréennes", "@coree"),
        ("américaine", "@etats_unis"),
        ("USA", "@etats_unis"),
        ("turque", "@turquie"),
        ("turcs", "@turquie"),
        ("grecque", "@grece"),
        ("françaises", "@france"),
        ("franco", "@france"),
        # Compound prefixes: `australo-britannique`, `suédo-norvégienne`...
        ("australo", "@australie"),
        ("suédo", "@suede"),
        ("britannico", "@royaume_uni"),
        ("irako", "@irak"),
        ("tchado", "@tchad"),
        ("bosno", "@bosnie_herzegovine"),
        ("néerlando", "@pays_bas"),
        ("Colombo", None),  # the capital of Sri Lanka
        ("Albano", None),  # a first name
        ("Dano", None),
        ("belges", "@belgique"),
        ("burkinabés", "@burkina_faso"),
        ("ouzbèkes", "@ouzbekistan"),
        ("kirghiz", "@kirghizstan"),
        ("Birmanie", "@birmanie"),
        ("Myanmar", "@birmanie"),
        ("Biélorussie", "@belarus"),
        ("Bélarus", "@belarus"),
        ("biélorusses", "@belarus"),
        ("Tchéquie", "@tchequie"),
        ("tchèques", "@tchequie"),
        ("saoudienne", "@arabie_saoudite"),
        ("Émirats", "@emirats_arabes_unis"),
        ("EAU", "@emirats_arabes_unis"),
        ("Taïwan", "@taiwan"),
        ("Vatican", "@vatican"),
        ("Kosovo", "@kosovo"),
        ("sahraouie", "@sahara_occidental"),
        ("d'Ouzbékistan", "@ouzbekistan"),
        ("l'Algérie", "@algerie"),
        ("ONU", "@onu"),
        ("l'ONU", "@onu"),
        ("Onu", "@onu"),
        ("OTAN", "@otan"),
        ("Otan", "@otan"),
        ("NATO", "@otan"),
        ("UE", "@ue"),
        ("l'UE", "@ue"),
        ("UIP", "@uip"),
        ("Cédéao", "@cedeao"),
        ("Unesco", "@unesco"),
        ("G20", "@g20"),
        ("Daech", "@etat_islamique"),
        ("Tokaev", "@tokaiev"),
        ("Tokayev", "@tokaiev"),
        ("Tokaïev", "@tokaiev"),
        ("Putin", "@poutine"),
        ("Poutine", "@poutine"),
        ("Erracid", "@ould_errachid"),
        ("Errachid", "@ould_errachid"),
        ("zelenskyy", "@zelensky"),
        ("Zelenskiy", "@zelensky"),
        ("Mirzioïev", "@mirziyoyev"),
        ("Mirziyoyev", "@mirziyoyev"),
        ("Qaddafi", "@kadhafi"),
        ("Netanyahu", "@netanyahou"),
        ("Lukashenko", "@loukachenko"),
        ("Erdoğan", "@erdogan"),
        ("Assad", "@assad"),
        ("Xi", "@xi"),
        ("Hollande", "@hollande"),
        # Capitals are not their country.
        ("Rabat", None),
        ("Alger", None),
        ("Astana", None),
        ("Tachkent", None),
        ("Moscou", None),
        ("Pékin", None),
        # Ordinary words, and acronyms that are ordinary words in lowercase.
        ("or", None),
        ("OR", None),
        ("ce", None),
        ("un", None),
        ("UN", None),
        ("eu", None),
        ("eau", None),
        ("ue", None),
        ("ua", None),
        ("grenade", None),
        ("bénin", None),
        ("macédoine", None),
        ("francophonie", None),
        ("poutine", None),  # the dish; the president is capitalised
        ("suède", None),  # the leather
        ("macron", None),  # the diacritic
        # Surnames and first names that look like a country or a prefix.
        ("Franco", None),
        ("Gréco", None),
        ("fed", None),  # English, not the Fed
        ("FED", None),
        ("Russo", None),
        ("Maurice", None),
        ("Dominique", None),
        ("Salvador", None),
        ("XI", None),
        ("Salmane", None),
        ("Mohammed", None),
        # Words that only name in a phrase.
        ("africain", None),
        ("nord", None),
        ("Bissau", None),
    ],
)
def test_entity_of_a_word_in_text(original, term):
    assert word_term(original) == term


@pytest.mark.parametrize(
    "original, term",
    [
        ("onu", "@onu"),
        ("ue", "@ue"),
        ("pam", "@pam"),
        ("uip", "@uip"),
        ("fed", "@fed"),  # "!": any case in a query
        ("maroc", "@maroc"),
        ("tokaev", "@tokaiev"),
        ("franco", "@france"),
        ("bénin", "@benin"),
        # "!!": as written, in queries too.
        ("eau", None),
        ("Franco", None),
        ("xi", None),
        ("grenade", None),
        ("Grenade", "@grenade"),
        ("EAU", "@emirats_arabes_unis"),
        ("un", None),
        ("or", None),
    ],
)
def test_entity_of_a_word_in_a_query(original, term):
    assert word_term(original, query=True) == term


@pytest.mark.parametrize(
    "text, found",
    [
        ("Nations unies", (2, "@onu")),
        ("Organisation des Nations unies", (4, "@onu")),
        ("organisation des nations unies pour le développement", (4, "@onu")),
        ("Programme des Nations unies pour le développement", (7, "@pnud")),
        ("Union interparlementaire", (2, "@uip")),
        ("Réserve fédérale", (2, "@fed")),
        ("Haut-Commissariat aux réfugiés", (4, "@hcr")),
        ("Haut-Commissariat de l'ONU pour les réfugiés", (7, "@hcr")),
        ("Organisation de la coopération de Shanghai", (6, "@ocs")),
        ("Union européenne", (2, "@ue")),
        ("Alliance atlantique", (2, "@otan")),
        # The phrase stops before "ONU", which keeps its own term.
        ("Conseil de sécurité de l'ONU", (3, "@conseil_de_securite")),
        ("Royaume du Maroc", (3, "@maroc")),
        ("République populaire de Chine", (4, "@chine")),
        ("République de Chine", (3, "@taiwan")),
        ("États-Unis", (2, "@etats_unis")),
        ("Royaume-Uni", (2, "@royaume_uni")),
        ("Arabie saoudite", (2, "@arabie_saoudite")),
        ("Côte d'Ivoire", (2, "@cote_d_ivoire")),
        ("Côte d’Ivoire", (2, "@cote_d_ivoire")),
        ("Afrique du Sud", (3, "@afrique_du_sud")),
        ("sud-africaines", (2, "@afrique_du_sud")),
        ("Sri Lanka", (2, "@sri_lanka")),
        ("sri-lankais", (2, "@sri_lanka")),
        ("Pays-Bas", (2, "@pays_bas")),
        ("Émirats arabes unis", (3, "@emirats_arabes_unis")),
        ("Burkina Faso", (2, "@burkina_faso")),
        ("Nouvelle-Zélande", (2, "@nouvelle_zelande")),
        ("néo-zélandaise", (2, "@nouvelle_zelande")),
        ("nord-coréen", (2, "@coree_du_nord")),
        ("Corée du Nord", (3, "@coree_du_nord")),
        ("sud-coréennes", (2, "@coree_du_sud")),
        ("Guinée-Bissau", (2, "@guinee_bissau")),
        ("bissau-guinéens", (2, "@guinee_bissau")),
        ("Guinée équatoriale", (2, "@guinee_equatoriale")),
        ("équato-guinéenne", (2, "@guinee_equatoriale")),
        ("Papouasie-Nouvelle-Guinée", (3, "@papouasie_nouvelle_guinee")),
        ("République démocratique du Congo", (4, "@rdc")),
        ("RD Congo", (2, "@rdc")),
        ("Congo-Brazzaville", (2, "@congo")),
        ("Soudan du Sud", (3, "@soudan_du_sud")),
        ("sud-soudanaise", (2, "@soudan_du_sud")),
        ("Sahara occidental", (2, "@sahara_occidental")),
        ("Saint-Siège", (2, "@vatican")),
        ("Hong Kong", (2, "@hong_kong")),
        ("la Dominique", (2, "@dominique")),
        ("île Maurice", (2, "@maurice")),
        ("au Salvador", (2, "@salvador")),
        ("Ould Errachid", (2, "@ould_errachid")),
        ("Ould Erracid", (2, "@ould_errachid")),
        ("ben Salmane", (2, "@ben_salmane")),
        ("Xi Jinping", (2, "@xi")),
        ("Ban Ki-moon", (3, "@ban_ki_moon")),
        ("Mohammed VI", None),
        ("Maroc", None),
        ("Côte", None),
        ("Nations", None),
        ("Union soviétique", (2, "@urss")),
        ("Union", None),
        ("la réunion", None),
        ("la grenade lacrymogène", None),
    ],
)
def test_longest_phrase(text, found):
    assert phrase_term(text) == found


def test_a_phrase_is_found_where_it_starts():
    words = normalized_words("les relations entre la Côte d'Ivoire et le Royaume du Maroc")
    found = {start: longest_phrase(words, start) for start in range(len(words))}
    assert {start: hit for start, hit in found.items() if hit} == {
        4: (2, "@cote_d_ivoire"),
        8: (3, "@maroc"),
    }


@pytest.mark.parametrize(
    "text, word, hidden",
    [
        ("Guinée-Bissau", "Guinée", True),
        ("Guinée équatoriale", "Guinée", True),
        ("équato-guinéenne", "guinéenne", True),
        ("Papouasie-Nouvelle-Guinée", "Guinée", True),
        ("République démocratique du Congo", "Congo", True),
        ("RD Congo", "Congo", True),
        ("Soudan du Sud", "Soudan", True),
        ("sud-soudanais", "soudanais", True),
        ("Irlande du Nord", "Irlande", True),
        ("République de Chine", "Chine", True),
        ("Organisation des États américains", "américains", True),
        ("en Hollande", "Hollande", True),
        ("Corée du Sud", "Corée", False),
        ("nord-coréen", "coréen", False),
        ("Organisation de libération de la Palestine", "Palestine", False),
        ("Guyane française", "française", False),
        ("Royaume du Maroc", "Maroc", False),
        ("Congo-Brazzaville", "Congo", False),
    ],
)
def test_a_phrase_hides_the_entities_of_its_words(text, word, hidden):
    length, phrase = phrase_term(text)
    assert length == len(normalized_words(text))
    assert hides(phrase, word_term(word)) is hidden


def test_also_named_data_must_name_entries():
    with pytest.raises(LexiconError) as raised:
        Lexicon.from_lines({"country": ["coree | Corée"]}, ["coree_du_nord | coree"])
    assert str(raised.value) == (
        "Lexicon also_named line names no entry 'coree_du_nord': 'coree_du_nord | coree'")
    with pytest.raises(LexiconError) as raised:
        Lexicon.from_lines({"country": ["coree | Corée"]}, ["coree"])
    assert str(raised.value) == "Lexicon also_named line not understood: 'coree'"


@pytest.mark.parametrize(
    "masculine, feminine, forms",
    [
        ("marocain", None, ("marocain", "marocaine", "marocains", "marocaines")),
        ("algérien", None, ("algérien", "algérienne", "algériens", "algériennes")),
        ("belge", None, ("belge", "belges")),
        ("français", None, ("français", "française", "françaises")),
        ("kirghiz", "kirghize", ("kirghiz", "kirghize", "kirghizes")),
        ("grec", "grecque", ("grec", "grecque", "grecs", "grecques")),
        ("sud-africain", None, ("sud-africain", "sud-africaine", "sud-africains", "sud-africaines")),
    ],
)
def test_inflections(masculine, feminine, forms):
    assert inflections(masculine, feminine) == forms


UN_MEMBER_STATES = """
    afghanistan afrique_du_sud albanie algerie allemagne andorre angola antigua_et_barbuda
    arabie_saoudite argentine armenie australie autriche azerbaidjan bahamas bahrein bangladesh
    barbade belarus belgique belize benin bhoutan birmanie bolivie bosnie_herzegovine botswana
    bresil brunei bulgarie burkina_faso burundi cabo_verde cambodge cameroun canada
    centrafrique chili chine chypre colombie comores congo rdc coree_du_nord coree_du_sud
    costa_rica cote_d_ivoire croatie cuba danemark djibouti dominique egypte
    emirats_arabes_unis equateur erythree espagne estonie eswatini etats_unis ethiopie fidji
    finlande france gabon gambie georgie ghana grece grenade guatemala guinee guinee_bissau
    guinee_equatoriale guyana haiti honduras hongrie iles_marshall iles_salomon inde indonesie
    irak iran irlande islande israel italie jamaique japon jordanie kazakhstan kenya
    kirghizstan kiribati koweit laos lesotho lettonie liban liberia libye liechtenstein
    lituanie luxembourg macedoine_du_nord madagascar malaisie malawi maldives mali malte maroc
    maurice mauritanie mexique micronesie moldavie monaco mongolie montenegro mozambique
    namibie nauru nepal nicaragua niger nigeria norvege nouvelle_zelande oman ouganda
    ouzbekistan pakistan palaos panama papouasie_nouvelle_guinee paraguay pays_bas perou
    philippines pologne portugal qatar republique_dominicaine tchequie roumanie royaume_uni
    russie rwanda saint_kitts_et_nevis sainte_lucie saint_marin saint_vincent_et_les_grenadines
    salvador samoa sao_tome_et_principe senegal serbie seychelles sierra_leone singapour
    slovaquie slovenie somalie soudan soudan_du_sud sri_lanka suede suisse suriname syrie
    tadjikistan tanzanie tchad thailande timor_oriental togo tonga trinite_et_tobago tunisie
    turkmenistan turquie tuvalu ukraine uruguay vanuatu venezuela viet_nam yemen zambie
    zimbabwe
""".split()


def test_every_member_state_of_the_united_nations_is_a_country():
    assert len(set(UN_MEMBER_STATES)) == 193
    assert {entry(ENTITY_MARK + key).kind for key in UN_MEMBER_STATES} == {"country"}


@pytest.mark.parametrize(
    "key", ["palestine", "kosovo", "taiwan", "sahara_occidental", "vatican", "hong_kong",
            "groenland", "porto_rico", "nouvelle_caledonie", "coree"])
def test_territories_and_the_generic_korea_are_countries_too(key):
    assert entry(ENTITY_MARK + key).kind == "country"


def test_entries_of_each_kind():
    assert {found.kind for found in entries()} == set(KINDS)


def test_every_entry_has_a_form_and_a_term():
    for found in entries():
        assert found.forms, found.key
        assert entry(ENTITY_MARK + found.key) == found
        assert forms_of(ENTITY_MARK + found.key) == found.forms


def test_entry_and_forms_of():
    assert entry("@maroc") == Entry(
        "maroc", "country", "Maroc",
        ("Maroc", "Royaume du Maroc", "Royaume chérifien", "marocain", "marocaine", "marocains",
         "marocaines", "chérifien", "chérifienne", "chérifiens", "chérifiennes", "maroco"))
    assert entry("@maurice").name == "Maurice"
    assert "Maurice" not in forms_of("@maurice")
    assert entry("@onu").kind == "organisation"
    assert entry("@poutine").name == "Vladimir Poutine"
    assert "UE" in forms_of("@ue")
    assert entry("maroc") is None
    assert forms_of("@nowhere") == ()


def test_the_version_is_an_int():
    assert isinstance(LEXICON_VERSION, int)


@given(st.text(max_size=50))
def test_no_ordinary_word_looks_like_an_entity_term(text):
    assert ENTITY_MARK not in fold(strip_elision(text))


def lexicon(countries=(), organisations=(), people=()):
    return Lexicon.from_lines(
        {"country": countries, "organisation": organisations, "person": people})


@pytest.mark.parametrize(
    "data, message",
    [
        ({"countries": ["niger | Niger | | nigérien", "nigeria | Nigeria | | nigérien"]},
         "Lexicon conflict: 'nigérien' (@nigeria) and 'nigérien' (@niger) are both the word "
         "'nigerien'"),
        ({"countries": ["maroc | Maroc"], "people": ["maroc | M. Marok | Marok"]},
         "Lexicon key 'maroc' is used twice"),
        ({"countries": ["maroc | Maroc"], "people": ["marok | M. Marok | Maroc"]},
         "Lexicon conflict: 'Maroc' (@marok) and 'Maroc' (@maroc) are both the word 'maroc'"),
        ({"countries": ["coree_du_nord | Corée du Nord"],
          "organisations": ["cdn | Comité du Nord | | Corée du nord"]},
         "Lexicon conflict: 'Corée du nord' (@cdn) and @coree_du_nord are both the words "
         "'coree du nord'"),
        ({"countries": ["onu | ONU", "ue | UE", "Un | Union"]},
         "Lexicon line not understood (country): 'Un | Union'"),
        ({"people": ["nobody | Nobody"]}, "Lexicon entry 'nobody' has no form"),
        ({"people": ["dash | Dash | —"]}, "Lexicon form '—' of 'dash' has no word"),
        ({"organisations": ["onu | Nations unies!"]},
         "Lexicon form 'Nations unies!' of 'onu': a case rule needs one word"),
    ],
)
def test_bad_data_is_refused_with_a_clear_message(data, message):
    with pytest.raises(LexiconError) as raised:
        lexicon(**data)
    assert str(raised.value) == message


def test_the_real_data_loads_without_conflict():
    loaded = Lexicon.load()
    assert len(loaded.entries) == len(list(entries()))


def test_case_rules():
    small = lexicon(organisations=["ue | Union européenne | UE!", "eau | Eau | EAU!!"],
                    countries=["france | France | | | franco!!"])
    assert small.entity_of_word("ue", "UE", query=False) == "@ue"
    assert small.entity_of_word("ue", "ue", query=False) is None
    assert small.entity_of_word("ue", "Ue", query=False) is None
    assert small.entity_of_word("ue", "ue", query=True) == "@ue"
    assert small.entity_of_word("eau", "eau", query=True) is None
    assert small.entity_of_word("eau", "EAU", query=True) == "@eau"
    assert small.entity_of_word("franco", "franco", query=False) == "@france"
    assert small.entity_of_word("franco", "Franco", query=True) is None


ALL_FORMS = [(found.term, form) for found in entries() for form in found.forms]


@given(st.sampled_from(ALL_FORMS))
def test_every_form_names_its_entry(term_and_form):
    term, form = term_and_form
    originals = [strip_elision(word) for word in re.findall(WORD_PATTERN, form)]
    folded = [fold(word) for word in originals]
    if len(folded) == 1:
        assert entity_of_word(folded[0], originals[0], query=False) == term
        assert entity_of_word(folded[0], originals[0], query=True) == term
    else:
        assert longest_phrase(folded, 0) == (len(folded), term)


@given(st.lists(st.sampled_from(["de", "la", "nations", "unies", "cote", "ivoire", "maroc", "x"]),
                min_size=1, max_size=8), st.data())
def test_a_phrase_never_runs_past_the_words(words, data):
    start = data.draw(st.integers(0, len(words) - 1))
    found = longest_phrase(words, start)
    if found is not None:
        length, term = found
        assert 2 <= length <= len(words) - start
        assert term.startswith(ENTITY_MARK)
