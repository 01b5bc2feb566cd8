"""graph-facts §15 items 1–2 and the envelope every response shares (auth, ids, error shape)."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime

import httpx

from idops.emulator.render import USER_PROPS, USER_TIME_PROPS, user_json
from idops.emulator.server import EmulatorServer
from idops.emulator.state import EmulatorState, User
from tests.support.emulator import STAFF, TENANT, new_user_body


def test_missing_token_is_401_with_graph_error_shape_and_request_id(server: EmulatorServer) -> None:
    r = httpx.get(f"{server.base_url}/users")
    assert r.status_code == 401
    err = r.json()["error"]
    assert err["code"] == "InvalidAuthenticationToken"
    assert err["message"] == "Access token is empty."
    assert err["innerError"]["request-id"] == r.headers["request-id"]
    assert r.headers["client-request-id"] == err["innerError"]["client-request-id"]
    assert "date" in err["innerError"]


def test_unknown_tenant_token_is_401(server: EmulatorServer) -> None:
    r = httpx.get(f"{server.base_url}/users", headers={"Authorization": "Bearer emu.nope"})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_client_request_id_is_echoed_on_success(client: httpx.Client) -> None:
    r = client.get("/users", headers={"client-request-id": "abc-123"})
    assert r.status_code == 200
    assert r.headers["client-request-id"] == "abc-123"
    assert r.headers["request-id"]


def test_double_slash_paths_are_collapsed(server: EmulatorServer) -> None:
    r = httpx.get(f"{server.url}/v1.0//users", headers={"Authorization": f"Bearer emu.{TENANT}"})
    assert r.status_code == 200


def test_create_returns_201_with_default_properties_only(client: httpx.Client, state: EmulatorState) -> None:
    r = client.post(
        "/users",
        json=new_user_body(
            "sade.sijainen@sijaiset.tampere.fi",
            employeeType="Substitute",
            onPremisesExtensionAttributes={"extensionAttribute15": "idops"},
        ),
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["@odata.context"].endswith("$metadata#users/$entity")
    assert body["userPrincipalName"] == "sade.sijainen@sijaiset.tampere.fi"
    assert "accountEnabled" not in body
    assert "passwordProfile" not in body
    u = state.user_by_upn(TENANT, "SADE.sijainen@sijaiset.tampere.fi")
    assert u is not None
    assert u.employee_type == "Substitute"
    assert [x.id for x in state.users_with_marker(TENANT, "extensionAttribute15", "idops")] == [body["id"]]


def test_select_returns_non_default_properties_but_never_the_password(client: httpx.Client) -> None:
    r = client.post("/users", json=new_user_body("a.b@edu.tampere.fi", employeeId="123"))
    uid = r.json()["id"]
    r = client.get(f"/users/{uid}", params={"$select": "id,accountEnabled,employeeId,passwordProfile"})
    assert r.json()["accountEnabled"] is True
    assert r.json()["employeeId"] == "123"
    assert r.json()["passwordProfile"] is None
    assert client.get(f"/users/{uid}", params={"$select": "nope"}).status_code == 400


def test_duplicate_upn_is_400_object_conflict(client: httpx.Client) -> None:
    assert client.post("/users", json=new_user_body("dup@edu.tampere.fi")).status_code == 201
    r = client.post("/users", json=new_user_body("DUP@edu.tampere.fi"))
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["code"] == "Request_BadRequest"
    assert err["details"] == [{"code": "ObjectConflict", "target": "userPrincipalName"}]


def test_accented_or_unverified_upn_and_weak_password_are_400(client: httpx.Client) -> None:
    assert client.post("/users", json=new_user_body("säde@edu.tampere.fi")).status_code == 400
    r = client.post("/users", json=new_user_body("x@gmail.com"))
    assert r.status_code == 400
    assert "verified domain" in r.json()["error"]["message"]
    body = new_user_body("weak@edu.tampere.fi")
    body["passwordProfile"] = {"password": "abc"}
    assert "complexity" in client.post("/users", json=body).json()["error"]["message"]


def test_patch_is_204_and_revoke_is_200_value_true(client: httpx.Client, state: EmulatorState) -> None:
    u = state.user_by_upn(TENANT, "opettaja0@edu.tampere.fi")
    assert u is not None
    r = client.patch(
        f"/users/{u.id}",
        json={"accountEnabled": False, "onPremisesExtensionAttributes": {"extensionAttribute1": "x"}},
    )
    assert r.status_code == 204
    assert r.content == b""
    assert u.account_enabled is False
    assert u.ext == {"extensionAttribute1": "x"}
    client.patch(f"/users/{u.id}", json={"onPremisesExtensionAttributes": {"extensionAttribute1": None}})
    assert u.ext is None
    assert u.sign_in_sessions_valid_from is None
    r = client.post(f"/users/{u.user_principal_name}/revokeSignInSessions")
    assert r.status_code == 200
    assert r.json()["value"] is True
    assert u.sign_in_sessions_valid_from is not None


def test_leave_date_without_its_permission_is_403_and_changes_nothing(
    client: httpx.Client, state: EmulatorState
) -> None:
    u = state.user_by_upn(TENANT, "opettaja0@edu.tampere.fi")
    assert u is not None
    state.set_leave_date_writable(TENANT, False)
    r = client.patch(f"/users/{u.id}", json={"accountEnabled": False, "employeeLeaveDateTime": "2026-06-01T00:00:00Z"})
    assert (r.status_code, r.json()["error"]["code"]) == (403, "Authorization_RequestDenied")
    assert u.account_enabled is True and u.employee_leave_date_time is None  # nothing half-applied
    body = new_user_body("leaving@edu.tampere.fi", employeeLeaveDateTime="2026-06-01T00:00:00Z")
    assert client.post("/users", json=body).status_code == 403
    assert state.user_by_upn(TENANT, "leaving@edu.tampere.fi") is None
    assert client.patch(f"/users/{u.id}", json={"accountEnabled": False}).status_code == 204


def test_delete_restore_purge_cycle(client: httpx.Client, state: EmulatorState) -> None:
    uid = client.post("/users", json=new_user_body("leaver@edu.tampere.fi")).json()["id"]
    assert client.delete(f"/users/{uid}").status_code == 204
    assert client.get(f"/users/{uid}").status_code == 404
    deleted = client.get("/directory/deletedItems/microsoft.graph.user").json()["value"]
    assert [d["id"] for d in deleted] == [uid]
    assert deleted[0]["deletedDateTime"]
    r = client.post(f"/directory/deletedItems/{uid}/restore")
    assert r.status_code == 200
    assert r.json()["@odata.type"] == "#microsoft.graph.user"
    assert client.get(f"/users/{uid}").status_code == 200
    client.delete(f"/users/{uid}")
    assert client.delete(f"/directory/deletedItems/{uid}").status_code == 204
    assert client.post(f"/directory/deletedItems/{uid}/restore").status_code == 404


def test_restore_fails_when_upn_was_reused(client: httpx.Client) -> None:
    uid = client.post("/users", json=new_user_body("reuse@edu.tampere.fi")).json()["id"]
    client.delete(f"/users/{uid}")
    assert client.post("/users", json=new_user_body("reuse@edu.tampere.fi")).status_code == 201
    r = client.post(f"/directory/deletedItems/{uid}/restore")
    assert r.status_code == 400
    assert "userPrincipalName" in r.json()["error"]["message"]


def test_replication_delay_hides_new_user_then_releases_it(
    server: EmulatorServer, client: httpx.Client
) -> None:
    server.faults.replication_delay_s = 0.3
    uid = client.post("/users", json=new_user_body("fresh@edu.tampere.fi")).json()["id"]
    r = client.get(f"/users/{uid}")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "Request_ResourceNotFound"
    assert client.patch(f"/users/{uid}", json={"accountEnabled": False}).status_code == 404
    r = client.post(
        f"/groups/{STAFF}/members/$ref",
        json={"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{uid}"},
    )
    assert r.status_code == 400
    assert r.json()["error"]["message"] == (
        "The source resource object or one of the objects being referenced don't exist."
    )
    time.sleep(0.35)
    assert client.get(f"/users/{uid}").status_code == 200


def test_users_page_through_at_least_three_pages(state: EmulatorState, client: httpx.Client) -> None:
    for i in range(245):
        state.add_user(TENANT, f"p{i}@edu.tampere.fi")
    seen: list[str] = []
    url: str | None = "/users?$top=100&$select=id,userPrincipalName"
    pages = 0
    while url:
        body = client.get(url).json()
        pages += 1
        seen += [u["id"] for u in body["value"]]
        url = body.get("@odata.nextLink")
        if url:
            assert url.startswith("http://127.0.0.1:")
            assert "$skiptoken=" in url
            assert "$select=" in url
    assert pages == 3
    assert len(seen) == len(set(seen)) == 250


def test_top_outside_1_to_999_is_400(client: httpx.Client) -> None:
    assert client.get("/users", params={"$top": "1000"}).status_code == 400
    assert client.get("/users", params={"$top": "0"}).status_code == 400


def test_filter_on_users_by_upn_and_licence_lambda(client: httpx.Client, state: EmulatorState) -> None:
    u = state.user_by_upn(TENANT, "opettaja1@edu.tampere.fi")
    assert u is not None
    u.licenses = (("c9b5543c-634a-5e4f-bc36-20377d0d9793", ()),)
    r = client.get("/users", params={"$filter": "userPrincipalName eq 'OPETTAJA1@edu.tampere.fi'"})
    assert [x["id"] for x in r.json()["value"]] == [u.id]
    r = client.get(
        "/users",
        params={"$filter": "assignedLicenses/any(s:s/skuId eq c9b5543c-634a-5e4f-bc36-20377d0d9793)"},
    )
    assert [x["id"] for x in r.json()["value"]] == [u.id]


def test_every_time_property_renders_as_date_time_offset_text() -> None:
    when = datetime(2026, 3, 2, 6, 0, 30, 123456, tzinfo=UTC)
    times = {f.name: when for f in dataclasses.fields(User) if "datetime" in str(f.type) and f.name != "reg_changed_at"}
    u = User(id="u1", user_principal_name="u1@x.fi", display_name="U", **times)
    rendered = user_json(u, sorted(USER_PROPS))
    assert {k for k, v in rendered.items() if v == "2026-03-02T06:00:30Z"} == USER_TIME_PROPS
    assert not any(isinstance(v, datetime) for v in rendered.values())
