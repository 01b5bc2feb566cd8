"""Language choice (Finnish by default, English on request: ``?lang=en``, cookie, Accept-Language) and
the formats people expect in each language — the one implementation pages, reports and messages share.

Finnish: ``27.11.2026 klo 8.15``, decimal comma, ``87,5 %``, a no-break space as thousands separator and
before ``%``. English: ``27 Nov 2026 08:15``, ``87.5 %``, ``12,345``. Times are Europe/Helsinki.

(Babel was considered: these are five fixed patterns, and CLDR's own Finnish medium date-time is
``27.11.2026 klo 8.15.00`` — it would be used with explicit patterns anyway, for ~30 MB of locale data.)
"""

from __future__ import annotations

from datetime import date, datetime

from starlette.requests import HTTPConnection

from idops.kit.clock import to_helsinki

SUPPORTED = ("fi", "en")
NBSP = "\u00a0"
DASH = "–"


def language_of(request: HTTPConnection, default: str = "fi") -> str:
    explicit = request.query_params.get("lang") or request.cookies.get("lang")
    if explicit in SUPPORTED:
        return explicit
    header = request.headers.get("accept-language", "")
    best, best_q = None, -1.0
    for part in header.split(","):
        tag, _, params = part.strip().partition(";")
        lang = tag.strip().lower().split("-")[0]
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if lang in SUPPORTED and q > best_q:
            best, best_q = lang, q
    return best or default


def when(value: datetime | str | None, lang: str) -> str:
    """``27.11.2026 klo 8.15`` / ``27 Nov 2026 08:15`` on the Helsinki clock; ``–`` for None.
    An ISO 8601 string (as stored report views carry) is read first."""
    if value is None:
        return DASH
    at = to_helsinki(datetime.fromisoformat(value) if isinstance(value, str) else value)
    if lang == "en":
        return at.strftime("%d %b %Y %H:%M")
    return f"{at.day}.{at.month}.{at.year} klo {at.hour}.{at.minute:02d}"


def day(value: date | datetime | str | None, lang: str) -> str:
    """``27.11.2026`` / ``27 Nov 2026`` (a moment is read on the Helsinki clock)."""
    if value is None:
        return DASH
    if isinstance(value, str):
        value = date.fromisoformat(value)
    d = to_helsinki(value).date() if isinstance(value, datetime) else value
    return d.strftime("%d %b %Y") if lang == "en" else f"{d.day}.{d.month}.{d.year}"


def _decimal(text: str, lang: str) -> str:
    return text if lang == "en" else text.replace(".", ",")


def percent(value: float | None, lang: str, digits: int = 1) -> str:
    """A share 0…1: ``0.875`` → ``87,5 %`` (fi) / ``87.5 %`` (en); None → ``–``."""
    if value is None:
        return DASH
    return _decimal(f"{value * 100:.{digits}f}", lang) + NBSP + "%"


def points(value: float | None, lang: str) -> str:
    """A change of a share in percentage points, signed: ``+2,5 %-yks.`` / ``+2.5 pp``."""
    if value is None:
        return DASH
    text = _decimal(f"{value * 100:+.1f}", lang).replace("-", "−")
    return text + NBSP + ("%-yks." if lang != "en" else "pp")


def signed(value: int | None) -> str:
    """``+3`` / ``−2`` (a real minus sign); None → ``–``."""
    return DASH if value is None else f"{value:+d}".replace("-", "−")


def number(value: int | float | None, lang: str) -> str:
    """Thousands separated by a no-break space (fi) or a comma (en); two decimals for a fraction."""
    if value is None:
        return DASH
    s = f"{value:,.2f}" if isinstance(value, float) and not value.is_integer() else f"{int(value):,}"
    if lang != "en":
        s = s.replace(",", NBSP).replace(".", ",")
    return s


_VOWELS = "aeiouyäöå"


def fi_genitive(name: str) -> str:
    """The Finnish genitive of a school's or municipality's name for running text: ``Hervannan koulu`` →
    ``Hervannan koulun``, ``Pirkkalan koulukeskus`` → ``Pirkkalan koulukeskuksen``. Only the last word
    inflects; a name ending otherwise gets the colon form used for codes and foreign names (``ABC:n``)."""
    if not name:
        return name
    last = name[-1].lower()
    if last in _VOWELS:
        return name + "n"
    if name.lower().endswith(("us", "ys", "ös")):
        return name[:-1] + "ksen"
    if name.lower().endswith("nen"):
        return name[:-3] + "sen"
    return name + ":n"
