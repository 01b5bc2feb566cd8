"""User principal names and mail nicknames from people's names.

Graph allows only ``A-Z a-z 0-9 ' . - _ ! # ^ ~`` in the local part, at most 64 characters,
no leading/trailing or double dot. Finnish letters are transliterated (ä→a, ö→o, å→a),
everything else is folded to ASCII; what cannot be folded is dropped. We emit only
``[a-z0-9.-]`` — a strict subset — so a UPN can never surprise a filter or a URL.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable

MAX_LOCAL = 64
MAX_NAME_PART = 64  # givenName / surname accepted by idops (Graph allows 64)

# Letters NFKD does not decompose into ASCII.
_SPECIAL = str.maketrans(
    {
        "ß": "ss", "ẞ": "ss", "æ": "ae", "Æ": "ae", "ø": "o", "Ø": "o", "œ": "oe", "Œ": "oe",
        "đ": "d", "Đ": "d", "ð": "d", "Ð": "d", "þ": "th", "Þ": "th", "ł": "l", "Ł": "l",
        "ı": "i", "ŋ": "n", "Ŋ": "n", "ŧ": "t", "Ŧ": "t", "ʼ": "", "’": "", "‘": "", "`": "", "´": "",
        "ʻ": "", "ʿ": "", "ʾ": "",
    }
)
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—_.·,/]+")
_NOT_ALLOWED = re.compile(r"[^a-z0-9-]")
_HYPHENS = re.compile(r"-{2,}")


def search_key(given_name: str, surname: str) -> str:
    """What person search compares: folded, space-separated, lowercase."""
    return f"{_part(given_name)} {_part(surname)}".replace("-", " ").strip()


def base_local_part(given_name: str, surname: str) -> str:
    """'Anna-Liisa' 'Äijälä' → 'anna-liisa.aijala' (hyphens inside a part kept as '-')."""
    given = _part(given_name)
    family = _part(surname)
    local = ".".join(p for p in (given, family) if p)
    if not local:
        # A name of only unfoldable script (e.g. Han characters): stable and still personal.
        digest = hashlib.sha256(f"{given_name}\x00{surname}".encode()).hexdigest()[:8]
        local = f"sijainen.{digest}"
    return local


def _part(text: str) -> str:
    """Fold one name part keeping its inner hyphens and spaces as '-' ('Öhman-Ström' → 'ohman-strom')."""
    text = unicodedata.normalize("NFKC", text).translate(_SPECIAL)
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_only = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower().replace("'", "")
    hyphened = _SEPARATORS.sub("-", ascii_only)
    cleaned = _NOT_ALLOWED.sub("", hyphened)
    return _HYPHENS.sub("-", cleaned).strip("-")


def candidates(given_name: str, surname: str, *, limit: int = 200) -> Iterable[str]:
    """Local parts to try in order: base, base2, base3, … each within Graph's 64 characters."""
    base = base_local_part(given_name, surname)
    for n in range(1, limit + 1):
        suffix = "" if n == 1 else str(n)
        yield _fit(base, MAX_LOCAL - len(suffix)) + suffix


def _fit(local: str, max_len: int) -> str:
    """Shorten to ``max_len`` keeping the surname readable: the given name gives way first."""
    if len(local) <= max_len:
        return local
    given, dot, family = local.partition(".")
    if not dot or not given:
        return local[:max_len].rstrip(".-")
    family = family[: max(1, max_len - 1 - min(len(given), 8))].rstrip(".-")
    given = given[: max_len - 1 - len(family)].rstrip(".-")
    return f"{given}.{family}" if given else family


def choose_upn(
    given_name: str, surname: str, domain: str, taken: Callable[[str], bool]
) -> tuple[str, str]:
    """First free ``(upn, mail_nickname)``; ``taken(upn)`` says whether a UPN is already used."""
    for local in candidates(given_name, surname):
        upn = f"{local}@{domain}"
        if not taken(upn):
            return upn, local
    raise ValueError("no free user principal name after 200 attempts")


def display_name(template: str, given_name: str, surname: str) -> str:
    """The display name keeps the person's own letters and marks the account as a substitute's."""
    return template.format(given_name=given_name.strip(), surname=surname.strip())[:256]


def clean_name_part(value: str) -> str:
    """Normalise whitespace and refuse control characters (validation, not transliteration)."""
    value = unicodedata.normalize("NFC", value)
    if any(unicodedata.category(ch).startswith("C") for ch in value):
        raise ValueError("name contains control characters")
    return " ".join(value.split())
