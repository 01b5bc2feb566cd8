"""The readable HTML page of the report: Jinja2, server-rendered, no external assets.

Finnish by default, English on request. Finnish numbers use a decimal comma and a space before
``%`` ("87,5 %"); times are shown in Europe/Helsinki.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from idops.kit.clock import to_helsinki

TEMPLATES = Path(__file__).parent / "templates"

TEXT: dict[str, dict[str, str]] = {
    "fi": {
        "title": "Yhden tunnuksen kattavuus",
        "headline": "Henkilökunnasta yhdellä tunnuksella toimivia",
        "headline_note": "Osuus henkilökunnasta, jolla on täsmälleen yksi käytössä oleva tunnus ja "
                         "jonka kunnan sovelluskartoituksessa ei ole erillistä tunnusta vaativaa sovellusta.",
        "generated": "Laadittu", "window": "Kirjautumistiedot", "days": "vrk",
        "previous": "Edellinen raportti", "no_previous": "Ei aiempaa raporttia vertailtavaksi.",
        "change": "Muutos edellisestä", "region": "Seutu", "municipality": "Kunta", "school": "Koulu",
        "staff_persons": "Henkilökuntaa (henkilöä)", "single_account": "Yksi tunnus",
        "multi_account": "Useita tunnuksia", "account_coverage": "Tunnuskattavuus",
        "app_coverage": "Sovelluskattavuus", "weighted": "Painotettu käyttäjämäärällä",
        "headline_share": "Yhden tunnuksen osuus", "total": "Yhteensä",
        "no_signins": "Ei kirjautumistietoja (tenantilla ei ole Entra ID P1/P2 -lisenssiä)",
        "signins_unknown": "Kirjautumistietoja ei ole vielä luettu",
        "separate_apps": "Sovellukset, jotka vaativat vielä erillisen tunnuksen",
        "app": "Sovellus", "users": "Käyttäjiä", "municipalities": "Kunnat",
        "none": "Ei yhtään.", "unknown_apps": "Sovelluskartoituksesta puuttuvat sovellukset",
        "unknown_note": "Nähty Entra ID:n kirjautumislokeissa, ei sovelluskartoituksessa.",
        "sso_mode": "Kertakirjautumisen tapa (preferredSingleSignOnMode)",
        "persons": "Henkilöt, joilla on useita käytössä olevia tunnuksia",
        "name": "Nimi", "accounts": "Tunnukset", "disabled": "poistettu käytöstä",
        "sign_in": "Kirjautumistapa", "apps": "Sovellukset",
        "entra-sso": "Entra-kertakirjautuminen", "mpassid": "MPASSid",
        "separate-account": "Erillinen tunnus", "unknown": "Ei kartoitettu",
        "lang_switch": "In English", "not_set": "ei asetettu",
        "scrubbed": "(nimi poistettu säilytysajan jälkeen)",
    },
    "en": {
        "title": "Single-login coverage",
        "headline": "Staff working with a single login",
        "headline_note": "Share of staff persons with exactly one enabled account whose municipality's "
                         "catalogue lists no app that needs a separate account.",
        "generated": "Generated", "window": "Sign-in data", "days": "days",
        "previous": "Previous report", "no_previous": "No earlier report to compare with.",
        "change": "Change since last run", "region": "Region", "municipality": "Municipality",
        "school": "School", "staff_persons": "Staff (persons)", "single_account": "One account",
        "multi_account": "Several accounts", "account_coverage": "Account coverage",
        "app_coverage": "Application coverage", "weighted": "Weighted by users",
        "headline_share": "Single-login share", "total": "Total",
        "no_signins": "No sign-in data (the tenant has no Entra ID P1/P2 licence)",
        "signins_unknown": "Sign-in data not read yet",
        "separate_apps": "Applications that still need a separate account",
        "app": "Application", "users": "Users", "municipalities": "Municipalities",
        "none": "None.", "unknown_apps": "Applications missing from the catalogue",
        "unknown_note": "Seen in Entra ID sign-in logs but not in the application catalogue.",
        "sso_mode": "Single sign-on mode (preferredSingleSignOnMode)",
        "persons": "Persons with several enabled accounts",
        "name": "Name", "accounts": "Accounts", "disabled": "disabled",
        "sign_in": "Sign-in", "apps": "Applications",
        "entra-sso": "Entra single sign-on", "mpassid": "MPASSid",
        "separate-account": "Separate account", "unknown": "Not catalogued",
        "lang_switch": "Suomeksi", "not_set": "not set",
        "scrubbed": "(name removed after the retention period)",
    },
}


def percent(value: float | None, lang: str) -> str:
    """``0.875`` → ``87,5 %`` (fi) or ``87.5 %`` (en); None → an en dash."""
    if value is None:
        return "–"
    text = f"{value * 100:.1f}"
    return (text.replace(".", ",") if lang == "fi" else text) + " %"


def points(value: float | None, lang: str) -> str:
    """A change of a share in percentage points, signed: ``+2,5 %-yks.`` / ``+2.5 pp``."""
    if value is None:
        return "–"
    text = f"{value * 100:+.1f}"
    return (text.replace(".", ",") + " %-yks.") if lang == "fi" else (text + " pp")


def signed(value: int | None) -> str:
    return "–" if value is None else f"{value:+d}".replace("-", "−")


def when(value: str | datetime, lang: str) -> str:
    """ISO time → ``27.11.2026 klo 8.15`` (fi) / ``27 Nov 2026 08:15`` (en), Europe/Helsinki."""
    at = to_helsinki(datetime.fromisoformat(value) if isinstance(value, str) else value)
    if lang == "fi":
        return f"{at.day}.{at.month}.{at.year} klo {at.hour}.{at.minute:02d}"
    return at.strftime("%d %b %Y %H:%M")


@cache
def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    return env


def render_page(view: dict[str, Any], lang: str) -> str:
    lang = "en" if lang == "en" else "fi"
    t = TEXT[lang]
    template = _env().get_template("single_login.html")
    return template.render(
        v=view, t=t, lang=lang,
        pct=lambda x: percent(x, lang), pts=lambda x: points(x, lang), signed=signed,
        when=lambda x: when(x, lang),
    )
