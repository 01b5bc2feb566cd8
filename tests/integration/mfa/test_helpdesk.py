"""The MFA helpdesk (``POST /v1/staff/{user_id}/access-pass``) over the emulator: a staff member gets a
TAP; pupils, admins, principals and other municipalities are refused; the audit keeps the reason, never
the code; the pass is rate-limited per admin."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from structlog.testing import capture_logs

from idops.audit.models import AuditEvent
from idops.config import Config
from idops.container import Container
from idops.directory.models import DirectoryMembership, DirectoryUserRow
from idops.emulator.generator import GeneratedRegion, generate_region
from idops.emulator.state import IS_ADMIN
from jobs import sync_mfa
from tests.conftest import TokenFactory, bearer
from tests.integration.mfa.conftest import NOW, region_dicts

SCHOOL = "tampere/hervanta"
RATE = 10


@pytest.fixture
def generated() -> GeneratedRegion:
    region, apps = region_dicts()
    return generate_region(region, apps, seed=3, users_per_tenant=50, now=NOW)


@pytest.fixture
def mfa_config(make_config: Callable[..., Config]) -> Config:
    return make_config(
        graph={"reports_window_seconds": 0.001, "max_backoff_seconds": 0.05},
        api={"staff_tap_rate_per_hour": RATE},
    )


async def _people(container: Container, municipality: str, role: str) -> list[dict[str, Any]]:
    """Counted users of ``role`` in ``municipality`` as the mirror holds them (after a sync)."""
    async with container.uow() as uow:
        rows = await uow.mfa.session.execute(
            select(DirectoryMembership.user_id, DirectoryUserRow.upn.label("user_principal_name"))
            .join(DirectoryUserRow, DirectoryUserRow.user_id == DirectoryMembership.user_id)
            .where(DirectoryMembership.municipality == municipality, DirectoryMembership.role == role,
                   DirectoryMembership.excluded_reason.is_(None))
            .order_by(DirectoryUserRow.upn)
        )
    people = [dict(r) for r in rows.mappings()]
    assert people, (municipality, role)
    return people


def _tenant(container: Container, municipality: str) -> str:
    found = container.config.region.municipality(municipality)
    assert found is not None
    return found.tenant_id


async def test_the_helpdesk_gives_staff_a_pass_once_and_refuses_everyone_else(
    container: Container, mfa_api: httpx.AsyncClient, generated: GeneratedRegion, make_token: TokenFactory
) -> None:
    """One sync, then every case: the mirror is what the helpdesk decides on."""
    tenant = generated.state.tenants[_tenant(container, "tampere")]
    # One staff member of the school also holds an Entra admin role: the helpdesk must refuse them.
    found = container.config.region.school(SCHOOL)
    assert found is not None
    staff_group = tenant.groups[found[1].staff_group_ids[0]]
    entra_admin_id = next(uid for uid in staff_group.members if uid in tenant.users)
    tenant.users[entra_admin_id].reg_flags |= IS_ADMIN
    assert (await sync_mfa.run(container))["failed"] == 0

    admin = bearer(make_token("ItAdmin", municipality="tampere"))
    region = bearer(make_token("RegionAdmin"))
    target = next(p for p in await _people(container, "tampere", "staff") if p["user_id"] != entra_admin_id)
    pupil = (await _people(container, "tampere", "pupil"))[0]
    elsewhere, unchecked = (await _people(container, "pirkkala", "staff"))[:2]
    # read by the per-user scan (a tenant without P1): whether they are an Entra admin is unknown
    async with container.uow() as uow:
        await uow.mfa.session.execute(update(DirectoryUserRow).where(DirectoryUserRow.user_id == unchecked["user_id"])
                                      .values(registration_source="per_user_scan", is_admin=False))
        await uow.commit()

    async def post(user_id: str, headers: dict[str, str], reason: str = "puhelin hukassa") -> httpx.Response:
        return await mfa_api.post(f"/v1/staff/{user_id}/access-pass", json={"reason": reason}, headers=headers)

    with capture_logs() as logs:
        r = await post(target["user_id"], admin, "puhelin hukassa, tiketti 4711")
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    code = body["temporary_access_pass"]
    assert body["user_principal_name"] == target["user_principal_name"]
    # the emulator holds the pass, with the region's default lifetime (60 min, inside the TAP policy)
    tap = tenant.taps[target["user_id"]]
    assert tap.lifetime_in_minutes == 60 and tap.code == code
    assert code not in repr(logs)

    async with container.uow() as uow:
        events = (await uow.audit.session.execute(
            select(AuditEvent).where(AuditEvent.action == "staff_access_pass_issued")
        )).scalars().all()
    assert len(events) == 1
    event = events[0]
    assert event.subject_id == target["user_id"] and event.actor.startswith("ItAdmin:")
    assert event.details["reason"] == "puhelin hukassa, tiketti 4711"
    assert event.details["credential_id"] == tap.id
    assert code not in repr(event.details) and code not in repr(event.personal)

    # refused: an Entra admin, a pupil (403); another municipality's staff like an unknown id (404)
    assert (await post(entra_admin_id, admin)).status_code == 403
    assert (await post(pupil["user_id"], admin)).status_code == 403
    other = await post(elsewhere["user_id"], admin)
    unknown = await post("00000000-0000-0000-0000-000000000000", admin)
    assert other.status_code == unknown.status_code == 404
    assert other.json()["detail"] == unknown.json()["detail"]
    principal = bearer(make_token("Principal", school=SCHOOL))
    assert (await post(target["user_id"], principal)).status_code == 403
    assert (await post(target["user_id"], admin, "")).status_code == 422
    assert set(tenant.taps) == {target["user_id"]}

    # rate-limited per admin: every attempt above counts (5; the 422 never reached the handler),
    # refused ones too (probing for staff is what the limit is for); another admin is not held back
    codes = [(await post(target["user_id"], admin)).status_code for _ in range(RATE - 4)]
    assert codes == [200] * (RATE - 5) + [429]
    # the region admin sees every municipality — but gets no pass for someone who might be an admin
    assert (await post(elsewhere["user_id"], region)).status_code == 200
    refused = await post(unchecked["user_id"], region)
    assert refused.status_code == 403 and "Ylläpitäjäroolia ei voitu tarkistaa" in refused.json()["detail"]
    assert unchecked["user_id"] not in generated.state.tenants[_tenant(container, "pirkkala")].taps
    assert elsewhere["user_id"] in generated.state.tenants[_tenant(container, "pirkkala")].taps

    # the pages: the MFA page links each unregistered staff member to the helpdesk form
    await _web_flow(mfa_api, generated.state.tenants[_tenant(container, "tampere")].taps, target["user_id"])


def _form_value(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, name
    return found.group(1)


async def _web_flow(client: httpx.AsyncClient, taps: dict[str, Any], user_id: str) -> None:
    page = await client.get("/sign-in")
    signed = await client.post("/sign-in/demo", data={"csrf": _form_value(page.text, "csrf"), "who": "region"})
    assert signed.status_code == 303
    dashboard = await client.get("/admin/mfa")
    assert dashboard.status_code == 200
    assert re.search(r'href="/admin/mfa/staff/[0-9a-f-]{36}" class="staff-code"', dashboard.text)

    form = await client.get(f"/admin/mfa/staff/{user_id}")
    assert form.status_code == 200 and 'id="give-staff-code"' in form.text
    fields = {"csrf": _form_value(form.text, "csrf"), "once": _form_value(form.text, "once")}
    before = taps[user_id].id
    no_reason = await client.post(f"/admin/mfa/staff/{user_id}", data={**fields, "reason": " "})
    assert no_reason.status_code == 422 and taps[user_id].id == before
    fields["once"] = _form_value(no_reason.text, "once")
    shown = await client.post(f"/admin/mfa/staff/{user_id}", data={**fields, "reason": "puhelin hukassa"})
    assert shown.status_code == 200, shown.text
    assert shown.headers["cache-control"] == "no-store"
    assert f'data-code="{taps[user_id].code}"' in shown.text and taps[user_id].id != before
    again = await client.post(f"/admin/mfa/staff/{user_id}", data={**fields, "reason": "puhelin hukassa"},
                              follow_redirects=False)
    assert again.status_code == 303  # a reload shows no second code
