"""UPN / mailNickname normalisation: real-world names → exact local parts that Graph accepts."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from idops.emulator.handlers import _NICK, _check_upn  # the emulator's own Graph rules
from idops.emulator.state import Tenant
from idops.substitutes.names import MAX_LOCAL, base_local_part, candidates, choose_upn, clean_name_part

DOMAIN = "sijaiset.tampere.fi"
IDOPS_LOCAL = re.compile(r"^[a-z0-9-]+(?:\.[a-z0-9-]+)*$")  # [a-z0-9.-], no leading/trailing/double dot

LONG_GIVEN = "Aleksandra-Katariina"
LONG_SURNAME = "Äijälä-Öhman-Ström-Kärkkäinen-Hämäläinen-Väisänen"  # "given surname" is 70 characters

NAMES: list[tuple[str, str, str]] = [
    # Finnish
    ("Aino", "Äijälä", "aino.aijala"),
    ("Pär", "Öhman-Ström", "par.ohman-strom"),
    ("Åsa", "Åkerlund", "asa.akerlund"),
    ("Jääkko", "Kärkkäinen", "jaakko.karkkainen"),
    ("Anna-Liisa", "Äijälä", "anna-liisa.aijala"),
    ("Väinö", "Mäkelä", "vaino.makela"),
    ("Åke", "Öst", "ake.ost"),
    ("  Aino  ", "  Virtanen ", "aino.virtanen"),
    # Swedish(-speaking Finns)
    ("Björn", "Sjöberg", "bjorn.sjoberg"),
    ("Linnéa", "Holmqvist", "linnea.holmqvist"),
    ("Mårten", "Åberg", "marten.aberg"),
    ("Gustav", "von Essen", "gustav.von-essen"),
    # Sámi
    ("Áilu", "Valkeapää", "ailu.valkeapaa"),
    ("Máret", "Näkkäläjärvi", "maret.nakkalajarvi"),
    ("Sárá", "Guttorm", "sara.guttorm"),
    ("Ŋuolja", "Đuoljá", "nuolja.duolja"),
    ("Ánde", "Ŧoarvi", "ande.toarvi"),
    # Vietnamese
    ("Nguyễn Thị Minh", "Khai", "nguyen-thi-minh.khai"),
    ("Thảo", "Trần", "thao.tran"),
    ("Minh", "Đặng", "minh.dang"),
    ("Quang", "Phạm", "quang.pham"),
    # Arabic transliterations
    ("Abd al-Rahman", "Al-Hashimi", "abd-al-rahman.al-hashimi"),
    ("Fatima", "Al-Sayed", "fatima.al-sayed"),
    ("'Umar", "ibn al-Khattab", "umar.ibn-al-khattab"),
    ("Layla", "Abd al-Aziz", "layla.abd-al-aziz"),
    ("Ḥasan", "ʿAbd al-Qādir", "hasan.abd-al-qadir"),
    # apostrophes (ASCII and typographic)
    ("Sean", "O'Brien", "sean.obrien"),
    ("Marco", "D'Angelo", "marco.dangelo"),
    ("Niamh", "O’Connor", "niamh.oconnor"),
    ("Seán", "Ó Briain", "sean.o-briain"),
    # hyphens, multi-part and 3-part surnames
    ("Jean-Baptiste", "Poquelin-Molière", "jean-baptiste.poquelin-moliere"),
    ("Anna", "De La Cruz Martínez", "anna.de-la-cruz-martinez"),
    ("María José", "García de la Vega", "maria-jose.garcia-de-la-vega"),
    ("Mohamed", "Abdi Warsame Farah", "mohamed.abdi-warsame-farah"),
    ("Jean", "Dupont.Durand", "jean.dupont-durand"),
    ("J.R.R.", "Tolkien", "j-r-r.tolkien"),
    ("Ella_", "_Rose", "ella.rose"),
    # other European letters NFKD does not fold
    ("Jürgen", "Groß", "jurgen.gross"),
    ("Søren", "Kierkegaard", "soren.kierkegaard"),
    ("Łucja", "Wałęsa", "lucja.walesa"),
    ("Dağ", "Yılmaz", "dag.yilmaz"),
    ("Þór", "Guðmundsson", "thor.gudmundsson"),
    ("Ægir", "Ærø", "aegir.aero"),
    ("Ülle", "Tamm", "ulle.tamm"),
    ("Zoë", "Saldaña", "zoe.saldana"),
    # fullwidth / compatibility forms fold through NFKC
    ("Ａｉｎｏ", "Ｖｉｒｔａｎｅｎ", "aino.virtanen"),
    # mixed script: the Latin part survives
    ("Анна", "Virtanen", "virtanen"),
    # 70-character name: the given name gives way first, the surname stays readable, ≤ 64
    (LONG_GIVEN, LONG_SURNAME, "aleksandra-kat.aijala-ohman-strom-karkkainen-hamalainen-vaisanen"),
    (
        "Aleksandra-Katariina-Johanna",
        "Äijälä-Öhman-Ström-Kärkkäinen-Hämäläinen-Väisänen-Pöllänen",
        "aleksand.aijala-ohman-strom-karkkainen-hamalainen-vaisanen-polla",
    ),
    (
        "Maximilian",
        "Abdulrahmanovichmuhammadalibinabdulazizalsaudikarkkainenhamalaine",
        "maximili.abdulrahmanovichmuhammadalibinabdulazizalsaudikarkkaine",
    ),
    (
        "Kristiina-Maria-Elisabet-Johanna-Katariina-Aleksandra-Annikki",
        "Ek",
        "kristiina-maria-elisabet-johanna-katariina-aleksandra-annikki.ek",
    ),
    # only non-Latin script: a stable, personal placeholder
    ("李", "小龍", "sijainen.aafbe995"),
    ("Ελένη", "Παπαδοπούλου", "sijainen.d5fa74c7"),
    ("Анна", "Иванова", "sijainen.659c972b"),
]


def graph_accepts(upn: str, nickname: str) -> None:
    """Raises the emulator's Graph error when Graph's rules refuse the UPN or mailNickname."""
    _check_upn(Tenant("t", [DOMAIN]), upn)
    assert _NICK.match(nickname), nickname


def assert_idops_rule(local: str) -> None:
    assert len(local) <= MAX_LOCAL, local
    assert IDOPS_LOCAL.match(local), local
    assert ".." not in local and not local.startswith(".") and not local.endswith(".")


def test_the_table_has_at_least_40_names() -> None:
    assert len(NAMES) >= 40
    assert len(f"{LONG_GIVEN} {LONG_SURNAME}") == 70


@pytest.mark.parametrize(("given", "surname", "expected"), NAMES, ids=[f"{g} {s}" for g, s, _ in NAMES])
def test_real_world_name_gets_the_expected_valid_local_part(given: str, surname: str, expected: str) -> None:
    upn, nickname = choose_upn(given, surname, DOMAIN, lambda _u: False)
    assert upn == f"{expected}@{DOMAIN}"
    assert nickname == expected
    assert_idops_rule(nickname)
    graph_accepts(upn, nickname)


def test_the_same_names_requested_twice_each_get_unique_numbered_upns() -> None:
    taken: set[str] = set()
    for given_name, surname, _ in NAMES + NAMES + NAMES:
        upn, nickname = choose_upn(given_name, surname, DOMAIN, lambda u: u in taken)
        assert upn not in taken
        assert_idops_rule(nickname)
        graph_accepts(upn, nickname)
        taken.add(upn)
    assert len(taken) == 3 * len(NAMES)
    assert "aino.aijala2@sijaiset.tampere.fi" in taken
    assert "aino.aijala3@sijaiset.tampere.fi" in taken


def test_collision_numbers_keep_a_long_name_within_64_characters() -> None:
    locals_ = list(candidates(LONG_GIVEN, LONG_SURNAME, limit=120))
    assert len(set(locals_)) == 120
    assert locals_[1] == "aleksandra-ka.aijala-ohman-strom-karkkainen-hamalainen-vaisanen2"
    assert locals_[9] == "aleksandra-k.aijala-ohman-strom-karkkainen-hamalainen-vaisanen10"
    assert locals_[119] == "aleksandra.aijala-ohman-strom-karkkainen-hamalainen-vaisanen120"  # no "-" before 120
    for local in locals_:
        assert_idops_rule(local)


def test_numbered_candidates_follow_the_base() -> None:
    assert list(candidates("Sean", "O'Brien", limit=3)) == ["sean.obrien", "sean.obrien2", "sean.obrien3"]


def test_a_non_latin_placeholder_is_stable_and_personal() -> None:
    assert base_local_part("李", "小龍") == base_local_part("李", "小龍")
    assert base_local_part("李", "小龍") != base_local_part("王", "小龍")


def test_control_characters_are_refused_before_any_name_is_built() -> None:
    with pytest.raises(ValueError, match="control characters"):
        clean_name_part("Aino\x00")
    assert clean_name_part("  Anna   Liisa ") == "Anna Liisa"


name_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Cf", "Co", "Cn")), min_size=1, max_size=64
)


@settings(max_examples=300, deadline=None)
@given(given_name=name_text, surname=name_text)
def test_any_unicode_name_yields_a_upn_graph_and_idops_accept(given_name: str, surname: str) -> None:
    taken: set[str] = set()
    for _ in range(3):  # the base and its first two collision numbers
        upn, nickname = choose_upn(given_name, surname, DOMAIN, lambda u: u in taken)
        assert upn == f"{nickname}@{DOMAIN}"
        assert upn not in taken
        assert_idops_rule(nickname)
        graph_accepts(upn, nickname)
        taken.add(upn)
