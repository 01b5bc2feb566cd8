"""Request validation errors in the caller's words: pydantic's error types (``missing``,
``timezone_aware``, ``string_too_long`` …) as Finnish and English messages, per field.

Pydantic's own text ("Input should have timezone info") never reaches a client: a type this module does
not know reads "Arvo ei kelpaa." / "Invalid value.", and the type stays in each error's ``type``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from idops.kit.errors import Message

_BY_TYPE: dict[str, Message] = {
    "missing": Message("Pakollinen tieto puuttuu.", "This field is required."),
    "extra_forbidden": Message("Tuntematon kenttä.", "Unknown field."),
    "string_too_short": Message("Liian lyhyt: vähintään {min_length} merkkiä.",
                                "Too short: at least {min_length} characters."),
    "string_too_long": Message("Liian pitkä: enintään {max_length} merkkiä.",
                               "Too long: at most {max_length} characters."),
    "string_pattern_mismatch": Message("Arvo ei ole oikeassa muodossa.", "The value is not in the right format."),
    "string_type": Message("Anna teksti.", "Give a text value."),
    "timezone_aware": Message(
        "Ajasta puuttuu aikavyöhyke: anna aika muodossa 2026-11-30T08:00:00+02:00.",
        "The time has no time zone: give it as 2026-11-30T08:00:00+02:00.",
    ),
    "timezone_naive": Message("Ajassa ei saa olla aikavyöhykettä.", "The time must not have a time zone."),
    "datetime_type": Message(
        "Aika ei kelpaa: anna se muodossa 2026-11-30T08:00:00+02:00.",
        "Not a valid time: give it as 2026-11-30T08:00:00+02:00.",
    ),
    "int_type": Message("Anna kokonaisluku.", "Give a whole number."),
    "int_parsing": Message("Anna kokonaisluku.", "Give a whole number."),
    "int_from_float": Message("Anna kokonaisluku.", "Give a whole number."),
    "float_parsing": Message("Anna luku.", "Give a number."),
    "bool_type": Message("Anna true tai false.", "Give true or false."),
    "bool_parsing": Message("Anna true tai false.", "Give true or false."),
    "greater_than_equal": Message("Pienin sallittu arvo on {ge}.", "The smallest allowed value is {ge}."),
    "greater_than": Message("Arvon on oltava suurempi kuin {gt}.", "The value must be greater than {gt}."),
    "less_than_equal": Message("Suurin sallittu arvo on {le}.", "The largest allowed value is {le}."),
    "less_than": Message("Arvon on oltava pienempi kuin {lt}.", "The value must be less than {lt}."),
    "enum": Message("Sallitut arvot: {expected}.", "Allowed values: {expected}."),
    "literal_error": Message("Sallitut arvot: {expected}.", "Allowed values: {expected}."),
    "json_invalid": Message("Pyynnön runko ei ole kelvollista JSONia.", "The request body is not valid JSON."),
    "json_type": Message("Pyynnön runko ei ole kelvollista JSONia.", "The request body is not valid JSON."),
    "model_type": Message("Odotettiin JSON-objektia.", "Expected a JSON object."),
    "model_attributes_type": Message("Odotettiin JSON-objektia.", "Expected a JSON object."),
    "dict_type": Message("Odotettiin JSON-objektia.", "Expected a JSON object."),
    "list_type": Message("Odotettiin listaa.", "Expected a list."),
}
for _kind in ("datetime_parsing", "datetime_from_date_parsing", "datetime_object_invalid"):
    _BY_TYPE[_kind] = _BY_TYPE["datetime_type"]

#: Where a field's format has a name people know, the format message says it.
_FORMATS: dict[str, Message] = {
    "school": Message("Koulu annetaan muodossa kunta/koulu, esim. tampere/hervanta.",
                      "A school is given as municipality/school, e.g. tampere/hervanta."),
    "email": Message("Sähköpostiosoite ei kelpaa.", "Not a valid e-mail address."),
    "mobile_phone": Message("Puhelinnumero ei kelpaa (esim. +358 40 123 4567).",
                            "Not a valid phone number (e.g. +358 40 123 4567)."),
    "person_id": Message("Henkilön tunniste ei kelpaa.", "Not a valid person id."),
    "given_name": Message("Nimessä on merkkejä, joita ei voi käyttää.", "The name has characters that cannot be used."),
    "surname": Message("Nimessä on merkkejä, joita ei voi käyttää.", "The name has characters that cannot be used."),
    "Idempotency-Key": Message("Idempotency-Key saa sisältää vain kirjaimia, numeroita ja merkkejä . _ : -.",
                               "The Idempotency-Key may hold only letters, digits and . _ : -."),
}
_INVALID = Message("Arvo ei kelpaa.", "Invalid value.")
_EMPTY = Message("Tieto ei saa olla tyhjä.", "Must not be empty.")
_SOURCES = ("body", "query", "path", "header", "cookie")


def field_name(loc: Sequence[Any]) -> str:
    """``["body", "contact", "email"]`` → ``contact.email``; the source is left out."""
    parts = [str(p) for p in loc if not (isinstance(p, str) and p in _SOURCES and p == loc[0])]
    return ".".join(parts) or "body"


def message(error: Mapping[str, Any]) -> Message:
    """One pydantic error as a ``Message``."""
    kind = str(error.get("type", ""))
    loc = error.get("loc") or ()
    last = str(loc[-1]) if loc else ""
    if kind in ("string_pattern_mismatch", "value_error") and last in _FORMATS:
        return _FORMATS[last]
    if kind == "string_too_short" and (error.get("ctx") or {}).get("min_length") == 1:
        return _EMPTY
    template = _BY_TYPE.get(kind, _INVALID)
    ctx = {k: _shown(v) for k, v in (error.get("ctx") or {}).items()}
    try:
        return Message(template.fi.format(**ctx), template.en.format(**ctx))
    except (KeyError, IndexError):  # a context pydantic did not give
        return _INVALID


def _shown(value: Any) -> str:
    return str(value).replace("'", "")


def field_error(loc: Sequence[Any], msg: Message, kind: str, lang: str) -> dict[str, Any]:
    """One entry of a problem's ``errors``: where, which field, the message in ``lang`` and in both."""
    where = [str(p) for p in loc]
    return {"loc": where, "field": field_name(where), "msg": msg.in_language(lang), "msg_fi": msg.fi,
            "msg_en": msg.en, "type": kind}


def field_errors(errors: Sequence[Mapping[str, Any]], lang: str) -> list[dict[str, Any]]:
    """A validation error's ``errors``, pydantic's translated."""
    return [field_error(e.get("loc", ()), message(e), str(e.get("type", "")), lang) for e in errors]


def detail(errors: Sequence[Mapping[str, Any]]) -> Message:
    """The problem's ``detail``: which fields are wrong."""
    names = ", ".join(dict.fromkeys(field_name(e.get("loc", ())) for e in errors))
    return Message(f"Pyynnön tiedoissa on virheitä: {names}.", f"The request has invalid fields: {names}.")
