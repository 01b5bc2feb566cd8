"""graph-facts §15 items 6–9: reports, $batch, throttling/faults, advanced queries."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from idops.emulator.server import EmulatorServer
from idops.emulator.state import EmulatorState
from tests.support.emulator import OTHER, TENANT

REG = "/reports/authenticationMethods/userRegistrationDetails"


def test_registration_report_pages_and_filters(client: httpx.Client, state: EmulatorState) -> None:
    for i in range(5, 230):
        state.add_user(TENANT, f"opettaja{i}@edu.tampere.fi")
    u = state.user_by_upn(TENANT, "opettaja3@edu.tampere.fi")
    assert u is not None
    state.set_registration(TENANT, u.id, registered=True, methods=("fido2", "mobilePhone"))
    body = client.get(REG).json()
    rows = list(body["value"])
    pages = 1
    while "@odata.nextLink" in body:
        body = client.get(body["@odata.nextLink"]).json()
        rows += body["value"]
        pages += 1
    assert pages == 3
    assert len(rows) == 230
    r = client.get(REG, params={"$filter": "methodsRegistered/any(m:m eq 'fido2')"}).json()["value"]
    assert [x["id"] for x in r] == [u.id]
    assert r[0]["isMfaCapable"] is True
    r = client.get(
        REG, params={"$filter": "startswith(userPrincipalName,'opettaja3') and isMfaRegistered eq true"}
    )
    assert [x["userPrincipalName"] for x in r.json()["value"]] == ["opettaja3@edu.tampere.fi"]


def test_registration_report_lags(client: httpx.Client, state: EmulatorState) -> None:
    st = state.tenant(TENANT)
    st.report_lag = timedelta(hours=3)
    u = state.user_by_upn(TENANT, "opettaja0@edu.tampere.fi")
    assert u is not None
    state.set_registration(TENANT, u.id, registered=True, at=datetime.now(UTC))
    row = client.get(f"{REG}/{u.id}").json()
    assert row["isMfaRegistered"] is False
    st.report_lag = timedelta(0)
    assert client.get(f"{REG}/{u.id}").json()["isMfaRegistered"] is True


def test_non_premium_tenant_gets_403_on_reports(server: EmulatorServer) -> None:
    h = {"Authorization": f"Bearer emu.{OTHER}"}
    for path in (REG, "/auditLogs/signIns"):
        r = httpx.get(server.base_url + path, headers=h)
        assert r.status_code == 403
        assert r.json()["error"]["code"] == "Authentication_RequestFromNonPremiumTenantOrB2CTenant"


def test_sign_ins_window_newest_first_interactive_only(client: httpx.Client, state: EmulatorState) -> None:
    u = state.user_by_upn(TENANT, "opettaja0@edu.tampere.fi")
    assert u is not None
    base = datetime(2026, 3, 1, tzinfo=UTC)
    for h in range(30):
        state.add_signin(TENANT, u, "app-1", "M365", base + timedelta(hours=h), mfa=h % 2 == 0)
    st = state.tenant(TENANT)
    old = st.signins[0]
    st.signins.append(
        type(old)(**{**{f: getattr(old, f) for f in old.__slots__}, "id": "ni", "is_interactive": False})
    )
    q = {
        "$filter": "createdDateTime ge 2026-03-01T05:00:00Z and createdDateTime lt 2026-03-01T15:00:00Z",
        "$top": "4",
    }
    body = client.get("/auditLogs/signIns", params=q).json()
    got = list(body["value"])
    while "@odata.nextLink" in body:
        body = client.get(body["@odata.nextLink"]).json()
        got += body["value"]
    stamps = [g["createdDateTime"] for g in got]
    assert len(got) == 10
    assert stamps == sorted(stamps, reverse=True)
    assert stamps[0] == "2026-03-01T14:00:00Z"
    assert stamps[-1] == "2026-03-01T05:00:00Z"
    mfa = [g for g in got if g["conditionalAccessStatus"] == "success"]
    assert all("Mfa" in g["appliedConditionalAccessPolicies"][0]["enforcedGrantControls"] for g in mfa)
    assert "ni" not in {g["id"] for g in got}
    assert client.get("/auditLogs/signIns", params={"$top": "1001"}).status_code == 400


def test_service_principals_list(client: httpx.Client, state: EmulatorState) -> None:
    state.add_service_principal(TENANT, "d6fee0fb-bff2-53b7-9e96-dd64433598e6", "M365", "oidc")
    r = client.get("/servicePrincipals", params={"$select": "id,appId,displayName,preferredSingleSignOnMode"})
    assert r.json()["value"][0]["preferredSingleSignOnMode"] == "oidc"


# --- $batch ------------------------------------------------------------------------------------


def _batch(client: httpx.Client, reqs: list[dict[str, object]]) -> httpx.Response:
    return client.post("/$batch", json={"requests": reqs})


def test_batch_limits_ids_and_relative_urls(client: httpx.Client) -> None:
    many = [{"id": str(i), "method": "GET", "url": "/users"} for i in range(21)]
    assert _batch(client, many).status_code == 400
    assert (
        _batch(
            client,
            [{"id": "a", "method": "GET", "url": "/users"}, {"id": "A", "method": "GET", "url": "/users"}],
        ).status_code
        == 400
    )
    assert (
        _batch(
            client, [{"id": "a", "method": "GET", "url": "https://graph.microsoft.com/v1.0/users"}]
        ).status_code
        == 400
    )


def test_batch_depends_on_gives_424_and_responses_are_shuffled(client: httpx.Client) -> None:
    reqs: list[dict[str, object]] = [
        {"id": "bad", "method": "GET", "url": "/users/nobody"},
        {"id": "dep", "method": "GET", "url": "/users", "dependsOn": ["bad"]},
    ]
    reqs += [
        {"id": str(i), "method": "GET", "url": f"/users/opettaja{i % 5}@edu.tampere.fi"} for i in range(18)
    ]
    r = _batch(client, reqs)
    assert r.status_code == 200
    items = {x["id"]: x for x in r.json()["responses"]}
    assert items["bad"]["status"] == 404
    assert items["dep"]["status"] == 424
    assert all(items[str(i)]["status"] == 200 for i in range(18))
    orders = {tuple(x["id"] for x in _batch(client, reqs).json()["responses"]) for _ in range(3)}
    assert any(o != tuple(x["id"] for x in reqs) for o in orders)


def test_batch_write_needs_content_type_and_ignores_odata_type(client: httpx.Client) -> None:
    body = {"@odata.type": "#microsoft.graph.user", "accountEnabled": False}
    r = _batch(
        client,
        [
            {"id": "1", "method": "PATCH", "url": "/users/opettaja0@edu.tampere.fi", "body": body},
            {
                "id": "2",
                "method": "PATCH",
                "url": "users/opettaja1@edu.tampere.fi",
                "body": body,
                "headers": {"Content-Type": "application/json"},
            },
        ],
    )
    items = {x["id"]: x for x in r.json()["responses"]}
    assert items["1"]["status"] == 400
    assert items["2"]["status"] == 204


def test_batch_item_429_carries_retry_after_in_item_headers(
    server: EmulatorServer, client: httpx.Client
) -> None:
    server.faults.add_rule("batch_429", retry_after=1, remaining=2)
    r = _batch(client, [{"id": str(i), "method": "GET", "url": "/users"} for i in range(5)])
    assert r.status_code == 200
    throttled = [x for x in r.json()["responses"] if x["status"] == 429]
    assert len(throttled) == 2
    assert all(x["headers"]["Retry-After"] == "1" for x in throttled)
    assert server.log.count(in_batch=True) == 5
    assert server.log.round_trips() == 1


# --- faults --------------------------------------------------------------------------------------


def test_429_with_and_without_retry_after_then_503_504(server: EmulatorServer, client: httpx.Client) -> None:
    f = server.faults
    f.add_rule("429", retry_after=0, remaining=1, path_prefix="/users")
    f.add_rule("429", retry_after=None, remaining=1, path_prefix="/users")
    f.add_rule("503", remaining=1)
    f.add_rule("504", remaining=1, method="GET")
    r1, r2, r3, r4, r5 = (client.get("/users", headers={"Retry-Attempt": str(i)}) for i in range(5))
    assert (r1.status_code, r1.headers["Retry-After"]) == (429, "0")
    assert r1.json()["error"]["code"] == "TooManyRequests"
    assert r2.status_code == 429
    assert "Retry-After" not in r2.headers
    assert (r3.status_code, r4.status_code, r5.status_code) == (503, 504, 200)
    log = server.log.snapshot()
    assert [e.throttled for e in log] == [True, True, False, False, False]
    assert [e.retry_attempt for e in log] == ["0", "1", "2", "3", "4"]


def test_dropped_connection_surfaces_as_protocol_error(server: EmulatorServer, client: httpx.Client) -> None:
    server.faults.add_rule("drop", remaining=1)
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        client.get("/users")
    assert client.get("/users").status_code == 200


def test_latency_fault_delays(server: EmulatorServer, client: httpx.Client) -> None:
    server.faults.add_rule("latency", latency_ms=150, jitter_ms=20, remaining=1)
    t0 = time.monotonic()
    client.get("/users")
    assert time.monotonic() - t0 >= 0.15


class ManualClock:
    """Monotonic seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_reports_bucket_throttles_after_five_and_refills(
    server: EmulatorServer, client: httpx.Client
) -> None:
    clock = ManualClock()
    server.faults.clock = clock
    server.faults.set_budget("reports", 5, 10.0)
    server.faults.time_scale = 0.1  # 10 s → 1 s: 5 tokens per second
    codes = [client.get(REG).status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]
    r = client.get(REG)
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) >= 1
    assert client.get("/users").status_code == 200  # other classes have their own budget
    # Usage accrues while throttled: two requests over budget leave a deficit of -2 tokens.
    clock.now += 0.5  # +2.5 tokens: 0.5 — still less than one
    assert client.get(REG).status_code == 429  # (and that one costs a token too: -0.5)
    clock.now += 0.4  # +2 tokens: 1.5
    assert client.get(REG).status_code == 200
    assert any(e.throttled for e in server.log.snapshot())


def test_admin_endpoints_control_faults_and_log(server: EmulatorServer, client: httpx.Client) -> None:
    r = httpx.put(f"{server.url}/_emulator/faults", json={"rules": [{"kind": "503", "remaining": 1}]})
    assert r.status_code == 200
    assert client.get("/users").status_code == 503
    assert len(httpx.get(f"{server.url}/_emulator/log").json()["entries"]) == 1
    assert httpx.delete(f"{server.url}/_emulator/log").status_code == 204
    assert server.log.snapshot() == []
    assert httpx.get(f"{server.url}/_emulator/state").json()[TENANT]["users"] == 5


# --- advanced queries ------------------------------------------------------------------------


def test_ne_not_and_extension_filters_need_consistency_level_and_count(client: httpx.Client) -> None:
    for flt in (
        "accountEnabled ne false",
        "not(accountEnabled eq false)",
        "onPremisesExtensionAttributes/extensionAttribute15 eq 'idops'",
    ):
        r = client.get("/users", params={"$filter": flt})
        assert r.status_code == 400, flt
        assert r.json()["error"]["code"] == "Request_UnsupportedQuery", flt
        r = client.get(
            "/users", params={"$filter": flt, "$count": "true"}, headers={"ConsistencyLevel": "eventual"}
        )
        assert r.status_code == 200, flt


def test_count_rules(client: httpx.Client) -> None:
    r = client.get("/users", params={"$count": "true"})
    assert r.status_code == 200
    assert "@odata.count" not in r.json()
    r = client.get("/users", params={"$count": "true", "$top": "2"}, headers={"ConsistencyLevel": "eventual"})
    assert r.json()["@odata.count"] == 5
    assert (
        "@odata.count"
        not in client.get(r.json()["@odata.nextLink"], headers={"ConsistencyLevel": "eventual"}).json()
    )
    r = client.get("/users/$count")
    assert r.status_code == 400
    assert r.json()["error"]["message"] == "$count is not currently supported."
    assert client.get("/users/$count", headers={"ConsistencyLevel": "eventual"}).text == "5"


def test_malformed_or_unknown_filters_are_400(client: httpx.Client) -> None:
    for flt in (
        "userPrincipalName eq 'unterminated",
        "userPrincipalName eq",
        "bogus eq 1",
        "contains(displayName,'x')",
        "signInSessionsValidFromDateTime ge 2026-01-01T00:00:00Z",
    ):
        assert client.get("/users", params={"$filter": flt}).status_code == 400, flt
