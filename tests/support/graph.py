"""Graph test data shared by the unit tests of the in-memory fake and the contract suite (integration):
one tenant, its verified domain, a new substitute account, and a marked transaction scope."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from idops.graph.port import ManagedMarker, NewUser
from idops.kit.db import enter_transaction, leave_transaction

TENANT = "11111111-2222-4333-8444-555555555555"
DOMAIN = "koulu.example.fi"
MARKER = ManagedMarker("extensionAttribute15", "idops-managed")
MARKED = {MARKER.attribute: MARKER.value}


def make_new_user(local: str = "sijainen.testi", **kw: Any) -> NewUser:
    fields: dict[str, Any] = {
        "user_principal_name": f"{local}@{DOMAIN}",
        "display_name": "Testi Sijainen (sijainen)",
        "mail_nickname": local,
        "given_name": "Testi",
        "surname": "Sijainen",
        "account_enabled": True,
        "password": "Kx9!vbn-Qwe2zz",
        "employee_type": "Substitute",
        "extension_attributes": MARKED,
    }
    fields.update(kw)
    return NewUser(**fields)


@contextmanager
def transaction_scope() -> Iterator[None]:
    """Mark the running task as inside a database transaction, as the unit of work does."""
    enter_transaction()
    try:
        yield
    finally:
        leave_transaction()
