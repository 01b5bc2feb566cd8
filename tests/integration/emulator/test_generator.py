"""The region generator at scale and over HTTP: sign-ins paged through the emulator, and the 100 000-user
budget (the generator's in-memory rules: tests/unit/emulator/test_generator.py)."""

from __future__ import annotations

import time
from datetime import timedelta

import httpx
import pytest

from idops.emulator.generator import GeneratedRegion, generate_region
from idops.emulator.server import EmulatorServer
from tests.support.emulator import NOW, load_config, sample_region


@pytest.fixture(scope="module")
def gen() -> GeneratedRegion:
    return sample_region()


def test_sign_ins_over_http_page_by_1000(gen: GeneratedRegion) -> None:
    tid = gen.tenant_ids[0]
    src = gen.state.tenants[tid].signin_source
    assert src is not None
    expected = sum(len(src.day(d)) for d in range(2))
    start, end = NOW - timedelta(days=2), NOW
    with EmulatorServer(gen.state) as srv, httpx.Client(headers={"Authorization": f"Bearer emu.{tid}"}) as c:
        flt = f"createdDateTime ge {start:%Y-%m-%dT%H:%M:%SZ} and createdDateTime lt {end:%Y-%m-%dT%H:%M:%SZ}"
        body = c.get(f"{srv.base_url}/auditLogs/signIns", params={"$filter": flt, "$top": "50"}).json()
        got = len(body["value"])
        while "@odata.nextLink" in body:
            body = c.get(body["@odata.nextLink"]).json()
            got += len(body["value"])
        users = c.get(
            f"{srv.base_url}/users",
            params={"$filter": "employeeType eq 'Substitute'", "$select": "id,employeeHireDate"},
        ).json()["value"]
    assert got == expected > 0
    assert users
    assert all("employeeHireDate" in u for u in users)


def test_100k_users_generate_well_under_20_seconds() -> None:
    region, apps = load_config()
    tenants = len({m["tenant_id"] for m in region["municipalities"]})
    t0 = time.perf_counter()
    g = generate_region(region, apps, seed=1, users_per_tenant=100_000 // tenants, now=NOW)
    elapsed = time.perf_counter() - t0
    total = sum(len(t.users) for t in g.state.tenants.values())
    assert total >= 100_000
    assert elapsed < 10, f"{total} users took {elapsed:.1f} s"
