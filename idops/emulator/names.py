"""Name pools for generated people: mostly Finnish, some Swedish, Sámi, Estonian, Russian,
Vietnamese, Somali, Arabic and Kurdish names, as in a Finnish school. Plus UPN transliteration."""

from __future__ import annotations

import functools
import re

FINNISH_GIVEN = (
    "Aino",
    "Eino",
    "Väinö",
    "Ilmari",
    "Helmi",
    "Onni",
    "Aada",
    "Leevi",
    "Eetu",
    "Siiri",
    "Elina",
    "Jukka",
    "Päivi",
    "Sanna",
    "Mikko",
    "Tiina",
    "Juha",
    "Satu",
    "Kari",
    "Anne",
    "Minna",
    "Timo",
    "Pekka",
    "Outi",
    "Heikki",
    "Marjatta",
    "Ville",
    "Lotta",
    "Niilo",
    "Iida",
    "Eemeli",
    "Veeti",
    "Pihla",
    "Lumi",
    "Enni",
    "Kerttu",
    "Tuomas",
    "Jääkko",
    "Sisko",
    "Aleksi",
    "Emilia",
    "Venla",
    "Otso",
    "Ukko",
    "Hilla",
    "Sohvi",
)
FINNISH_SUR = (
    "Virtanen",
    "Korhonen",
    "Mäkinen",
    "Nieminen",
    "Mäkelä",
    "Hämäläinen",
    "Laine",
    "Heikkinen",
    "Koskinen",
    "Järvinen",
    "Lehtonen",
    "Lehtinen",
    "Saarinen",
    "Salminen",
    "Heinonen",
    "Niemi",
    "Heikkilä",
    "Kinnunen",
    "Salonen",
    "Turunen",
    "Salo",
    "Laitinen",
    "Tuominen",
    "Rantanen",
    "Karjalainen",
    "Jokinen",
    "Mattila",
    "Savolainen",
    "Lahtinen",
    "Ahonen",
    "Pöllänen",
    "Väisänen",
    "Kärkkäinen",
    "Öhman",
    "Ylönen",
    "Kyllönen",
)
OTHER = (
    # Swedish-speaking Finns
    (("Björn", "Åsa", "Linnéa", "Mårten", "Elsa", "Gustav"), ("Lindström", "Åberg", "Sjöberg", "Holmqvist")),
    # Sámi
    (("Máret", "Ánde", "Sárá", "Nilla", "Ristenrávdná"), ("Aikio", "Näkkäläjärvi", "Guttorm", "Valle")),
    # Estonian / Russian
    (("Kätlin", "Jüri", "Olga", "Dmitri", "Jelena"), ("Tamm", "Saar", "Ivanova", "Smirnov", "Kuznetsov")),
    # Vietnamese
    (("Nguyễn Thị", "Minh", "Thảo", "Quang", "Lan"), ("Nguyễn", "Trần", "Lê", "Phạm", "Đặng")),
    # Somali
    (("Abdirahman", "Hodan", "Faadumo", "Ayaan", "Mohamed"), ("Warsame", "Abdi", "Farah", "Ali", "Hassan")),
    # Arabic / Kurdish
    (
        ("Fatima", "Omar", "Layla", "Yusuf", "Rojin", "Dilan"),
        ("Al-Sayed", "Haddad", "Karim", "Mahmoud", "Barzani"),
    ),
)

_TRANS = str.maketrans(
    {
        "ä": "a",
        "ö": "o",
        "å": "a",
        "é": "e",
        "ü": "u",
        "á": "a",
        "č": "c",
        "đ": "d",
        "ŋ": "n",
        "š": "s",
        "ŧ": "t",
        "ž": "z",
        "ễ": "e",
        "ị": "i",
        "ả": "a",
        "ầ": "a",
        "ạ": "a",
        "ặ": "a",
        "ê": "e",
        "ơ": "o",
        "ư": "u",
        "ó": "o",
        "í": "i",
        "ú": "u",
        "ñ": "n",
    }
)
_NOT_UPN = re.compile(r"[^a-z0-9.\-]")


@functools.lru_cache(maxsize=65536)
def upn_local(given: str, surname: str) -> str:
    """``Jääkko Öhman`` → ``jaakko.ohman``: Entra UPNs allow no ä/ö/å (graph-facts §1)."""
    raw = f"{given}.{surname}".lower().translate(_TRANS).replace(" ", "").replace("'", "")
    return re.sub(r"\.{2,}", ".", _NOT_UPN.sub("", raw)).strip(".")
