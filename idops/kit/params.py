"""Query-parameter types that accept ISO 8601 text only.

Pydantic's lax mode would read ``?to=0.0`` or ``?active_on=6.1e-05`` as a Unix timestamp; an
API for people should say "that is not a date" instead.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from pydantic import AwareDatetime, BeforeValidator

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def iso_only(value: object) -> object:
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise ValueError("an ISO 8601 date is expected, e.g. 2026-11-30 or 2026-11-30T08:00:00+02:00")
    return value


IsoDate = Annotated[date, BeforeValidator(iso_only)]
IsoDateTime = Annotated[AwareDatetime, BeforeValidator(iso_only)]
