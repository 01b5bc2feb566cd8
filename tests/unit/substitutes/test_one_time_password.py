"""One-time passwords idops makes: readable aloud (no look-alike characters), and strong enough for
Graph's complexity rule (upper, lower, digit and symbol)."""

from __future__ import annotations

from idops.substitutes.passwords import (
    UNAMBIGUOUS_DIGITS,
    UNAMBIGUOUS_LOWER,
    UNAMBIGUOUS_SYMBOLS,
    UNAMBIGUOUS_UPPER,
    random_password,
)

LOOK_ALIKES = set("0Oo1lIi5Ss2Zz8B")


def test_the_alphabet_has_no_look_alike_characters() -> None:
    alphabet = UNAMBIGUOUS_UPPER + UNAMBIGUOUS_LOWER + UNAMBIGUOUS_DIGITS + UNAMBIGUOUS_SYMBOLS
    assert not set(alphabet) & LOOK_ALIKES
    assert len(set(alphabet)) == len(alphabet) >= 50


def test_every_password_has_all_four_classes_and_only_unambiguous_characters() -> None:
    seen = set()
    for _ in range(2000):
        pw = random_password()
        assert len(pw) == 16
        assert not set(pw) & LOOK_ALIKES
        for chars in (UNAMBIGUOUS_UPPER, UNAMBIGUOUS_LOWER, UNAMBIGUOUS_DIGITS, UNAMBIGUOUS_SYMBOLS):
            assert set(pw) & set(chars), pw
        seen.add(pw)
        first_symbol = min(i for i, ch in enumerate(pw) if ch in UNAMBIGUOUS_SYMBOLS)
        seen.add(str(first_symbol))
    # Not a fixed layout: the classes' places move (the symbol is not always at one index).
    assert len({s for s in seen if s.isdigit()}) > 5
