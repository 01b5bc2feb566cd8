"""Returning persons: a request without ``person_id`` whose name matches an earlier person of the
municipality is that person when a contact matches too; a name match alone is a 409 listing the candidates
("onko tämä sama henkilö?"); ``force_new_person`` overrides it, in the audit trail. Names compare as
``names.search_key`` folds them: the hostile-names table below."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

from idops.kit.errors import Conflict
from idops.substitutes.ending import expire_due
from idops.substitutes.models import SubstitutePerson
from idops.substitutes.names import search_key
from idops.substitutes.returning import SAME_PERSON, phone_key

if TYPE_CHECKING:
    from tests.unit.substitutes.conftest import Substitutes

# (as first written, as written the next time): one person to a principal's eye
SAME_NAME: list[tuple[tuple[str, str], tuple[str, str]]] = [
    (("Aino", "Äijälä"), ("aino", "ÄIJÄLÄ")),  # case
    (("Aino", "Äijälä"), ("Aino", "Aijala")),  # diacritics dropped by a keyboard
    (("Åsa", "Öhman-Ström"), ("Asa", "Ohman Strom")),  # hyphen as a space
    (("Anna-Liisa", "Virtanen"), ("Anna‑Liisa", "Virtanen")),  # a non-breaking hyphen (U+2011)
    (("Anna-Liisa", "Virtanen"), ("Anna – Liisa", "Virtanen")),  # an en dash with spaces
    (("Nguyễn Thị", "Khai"), ("Nguyen Thi", "Khai")),  # Vietnamese diacritics
    (("Seán", "O'Brien"), ("Sean", "O’Brien")),  # a typographic apostrophe
    (("Ａｉｎｏ", "Virtanen"), ("Aino", "Virtanen")),  # fullwidth letters
]
DIFFERENT_NAME: list[tuple[tuple[str, str], tuple[str, str]]] = [
    (("Aino", "Äijälä"), ("Aino", "Äijälä-Virtanen")),
    (("Anna-Liisa", "Virtanen"), ("Anna", "Virtanen")),
    (("Aino", "Äijälä"), ("Aina", "Äijälä")),
]


async def ended(sub: Substitutes, given: str = "Aino", surname: str = "Äijälä", **extra: Any) -> str:
    pid = await sub.request(given=given, surname=surname, days=1, **extra)
    sub.clock.advance(timedelta(days=1, minutes=1))
    await expire_due(sub.c.uow(), sub.c)
    return pid


async def asks_who(sub: Substitutes, **body: Any) -> list[dict[str, Any]]:
    with pytest.raises(Conflict) as caught:
        await sub.request(**body)
    assert caught.value.detail == SAME_PERSON
    assert [p.field for p in caught.value.problems] == ["person"]
    candidates: list[dict[str, Any]] = caught.value.extra["candidates"]
    return candidates


async def test_the_same_name_and_e_mail_is_the_same_person_with_the_same_account(sub: Substitutes) -> None:
    first = await ended(sub, contact={"email": "aino.aijala@example.fi"})
    again = await sub.request(school=sub.OTHER_SCHOOL, given="aino", surname="AIJALA",
                               contact={"email": "Aino.Aijala@Example.fi"})
    person = await sub.person_of(again)
    assert person.id == (await sub.person_of(first)).id
    assert len(await sub.rows(SubstitutePerson)) == 1 and len(sub.marked_users()) == 1
    user = await sub.account(again)
    assert user.account_enabled and sub.in_groups(user, sub.OTHER_SCHOOL)
    requested = (await sub.events(again))[0]
    assert (requested.action, requested.details["returning"], requested.details["matched_by"]) == (
        "requested", True, "email")


async def test_a_phone_number_written_another_way_matches_too(sub: Substitutes) -> None:
    first = await ended(sub, contact={"mobile_phone": "+358 40 123 4567"})
    again = await sub.request(contact={"mobile_phone": "040-123 4567", "email": "uusi@example.fi"})
    person = await sub.person_of(again)
    assert person.id == (await sub.person_of(first)).id
    assert person.email == "uusi@example.fi"  # the contact the principal gave now is kept
    assert (await sub.events(again))[0].details["matched_by"] == "mobile_phone"


async def test_a_name_match_without_a_contact_match_lists_the_candidates(sub: Substitutes) -> None:
    first = await ended(sub, contact={"email": "aino@example.fi"})
    person = await sub.person_of(first)
    persons = await sub.rows(SubstitutePerson)

    candidates = await asks_who(sub, contact={"email": "toinen.aino@example.fi"})

    assert candidates == [{
        "id": person.id, "given_name": "Aino", "surname": "Äijälä",
        "user_principal_name": "aino.aijala@sijaiset.tampere.fi", "email_hint": "a***@example.fi",
        "last_school": "tampere/hervanta", "last_ends_at": (sub.clock.now() - timedelta(minutes=1)).isoformat(),
    }]
    assert len(await sub.rows(SubstitutePerson)) == len(persons)  # nothing recorded for the question
    assert await asks_who(sub) == candidates  # no contact at all: the same question


async def test_choosing_the_candidate_or_saying_new_person_answers_the_question(sub: Substitutes) -> None:
    first = await ended(sub)
    chosen = await sub.request(person_id=(await sub.person_of(first)).id)
    assert (await sub.person_of(chosen)).id == (await sub.person_of(first)).id
    sub.clock.advance(timedelta(days=6))

    forced = await sub.request(force_new_person=True, contact={"email": "toinen@example.fi"})

    new = await sub.person_of(forced)
    assert new.id != (await sub.person_of(first)).id
    assert new.user_principal_name == "aino.aijala2@sijaiset.tampere.fi"
    [event] = await sub.events(new.id, "person")
    assert (event.action, event.details["candidates"], event.details["period_id"]) == (
        "new_person_forced", [(await sub.person_of(first)).id], forced)
    later = await asks_who(sub, starts=timedelta(days=10))  # (at the same time it is a double submit)
    assert [c["id"] for c in later] == [new.id, (await sub.person_of(first)).id]  # both Ainos, newest first


@pytest.mark.parametrize(("first", "second"), SAME_NAME, ids=[f"{a[1]}~{b[1]}" for a, b in SAME_NAME])
def test_hostile_spellings_of_one_name_fold_to_one_search_key(first: tuple[str, str], second: tuple[str, str]) -> None:
    assert search_key(*first) == search_key(*second)


@pytest.mark.parametrize(("first", "second"), DIFFERENT_NAME, ids=[f"{a[0]}~{b[0]}" for a, b in DIFFERENT_NAME])
def test_different_names_fold_to_different_keys(first: tuple[str, str], second: tuple[str, str]) -> None:
    assert search_key(*first) != search_key(*second)


@pytest.mark.parametrize(("first", "second"), [SAME_NAME[1], SAME_NAME[3]], ids=["diacritics", "hyphen"])
async def test_a_hostile_spelling_finds_the_person(
    sub: Substitutes, first: tuple[str, str], second: tuple[str, str]
) -> None:
    await ended(sub, given=first[0], surname=first[1], contact={"email": "x@example.fi"})
    assert len(await asks_who(sub, given=second[0], surname=second[1])) == 1
    again = await sub.request(given=second[0], surname=second[1], contact={"email": "X@example.fi"})
    assert len(await sub.rows(SubstitutePerson)) == 1
    assert (await sub.person_of(again)).given_name == first[0]  # the person as first recorded
    await sub.request(school=sub.OTHER_SCHOOL, given=DIFFERENT_NAME[0][1][0], surname=DIFFERENT_NAME[0][1][1],
                       contact={"email": "x@example.fi"})
    assert len(await sub.rows(SubstitutePerson)) == 2  # another name is another person, whatever the contact


async def test_only_the_municipalitys_own_unscrubbed_substitutes_are_candidates(sub: Substitutes) -> None:
    await ended(sub, school="nokia/" + sub.c.config.region.municipality("nokia").schools[0].key)  # type: ignore[union-attr]
    scrubbed = await sub.person_of(await ended(sub))
    async with sub.c.uow() as uow:
        row = await uow.substitutes.get_person(scrubbed.id)
        assert row is not None
        row.scrubbed_at = sub.clock.now()
        await uow.commit()
    pid = await sub.request()
    assert (await sub.person_of(pid)).id not in {scrubbed.id}
    assert len(await sub.rows(SubstitutePerson)) == 3


def test_phone_numbers_compare_by_their_digits_with_the_country_code_folded() -> None:
    assert phone_key("+358 40 123 4567") == phone_key("040-123 4567") == phone_key("00358401234567") == "0401234567"
    assert phone_key("+46 70 123 4567") != phone_key("070 123 4567")
    assert phone_key(None) is None and phone_key("()") is None
