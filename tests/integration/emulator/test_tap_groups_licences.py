"""graph-facts §15 items 3–5: Temporary Access Pass, group membership, licences."""

from __future__ import annotations

import httpx

from idops.emulator.state import EmulatorState
from tests.support.emulator import SKU, STAFF, TENANT, new_user_body

TAP = "/authentication/temporaryAccessPassMethods"


def _uid(state: EmulatorState, n: int = 0) -> str:
    u = state.user_by_upn(TENANT, f"opettaja{n}@edu.tampere.fi")
    assert u is not None
    return u.id


def test_tap_code_only_in_create_response_and_second_replaces_first(
    client: httpx.Client, state: EmulatorState
) -> None:
    uid = _uid(state)
    r = client.post(f"/users/{uid}{TAP}", json={"lifetimeInMinutes": 60, "isUsableOnce": False})
    assert r.status_code == 201
    first = r.json()
    assert first["temporaryAccessPass"]
    assert len(first["temporaryAccessPass"]) == 8
    assert first["@odata.type"] == "#microsoft.graph.temporaryAccessPassAuthenticationMethod"
    listed = client.get(f"/users/{uid}{TAP}").json()["value"]
    assert len(listed) == 1
    assert listed[0]["temporaryAccessPass"] is None
    second = client.post(f"/users/{uid}{TAP}", json={"lifetimeInMinutes": 120}).json()
    listed = client.get(f"/users/{uid}{TAP}").json()["value"]
    assert [x["id"] for x in listed] == [second["id"]] != [first["id"]]


def test_tap_lifetime_outside_policy_is_400(client: httpx.Client, state: EmulatorState) -> None:
    uid = _uid(state)
    assert client.post(f"/users/{uid}{TAP}", json={"lifetimeInMinutes": 481}).status_code == 400
    assert client.post(f"/users/{uid}{TAP}", json={"lifetimeInMinutes": 59}).status_code == 400
    state.tenant(TENANT).tap_policy.maximum_lifetime_in_minutes = 1440
    assert client.post(f"/users/{uid}{TAP}", json={"lifetimeInMinutes": 1440}).status_code == 201


def test_tap_policy_disabled_gives_converged_policy_error(client: httpx.Client, state: EmulatorState) -> None:
    state.tenant(TENANT).tap_policy.state = "disabled"
    pol = client.get(
        "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/temporaryAccessPass"
    ).json()
    assert pol["state"] == "disabled"
    assert pol["maximumLifetimeInMinutes"] == 480
    r = client.post(f"/users/{_uid(state)}{TAP}", json={})
    assert r.status_code == 400
    assert r.json()["error"]["message"] == (
        "Converged UserCredentialPolicy does not allow creating or updating "
        "this authentication method. AuthMethodType [TemporaryAccessPass]."
    )


def test_group_ref_add_remove_and_duplicate_add(client: httpx.Client, state: EmulatorState) -> None:
    uid = client.post("/users", json=new_user_body("sub@sijaiset.tampere.fi")).json()["id"]
    ref = {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{uid}"}
    assert client.post(f"/groups/{STAFF}/members/$ref", json=ref).status_code == 204
    r = client.post(f"/groups/{STAFF}/members/$ref", json=ref)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "Request_BadRequest"
    assert r.json()["error"]["message"] == (
        "One or more added object references already exist for the following modified properties: 'members'."
    )
    assert uid in state.members(TENANT, STAFF)
    assert client.delete(f"/groups/{STAFF}/members/{uid}/$ref").status_code == 204
    assert client.delete(f"/groups/{STAFF}/members/{uid}/$ref").status_code == 404
    assert state.user(TENANT, uid) is not None


def test_member_delete_without_ref_deletes_the_user_itself(
    client: httpx.Client, state: EmulatorState
) -> None:
    uid = _uid(state, 1)
    assert client.delete(f"/groups/{STAFF}/members/{uid}").status_code == 204
    assert state.user(TENANT, uid) is None
    assert state.deleted_user(TENANT, uid) is not None


def test_members_and_transitive_members_page_with_odata_type(
    client: httpx.Client, state: EmulatorState
) -> None:
    nested = state.add_group(TENANT, "nested")
    inner = state.add_user(TENANT, "inner@edu.tampere.fi")
    nested.members[inner.id] = None
    state.add_member(TENANT, STAFF, nested.id)
    direct = client.get(f"/groups/{STAFF}/members", params={"$select": "id,userPrincipalName"}).json()[
        "value"
    ]
    types = {m["@odata.type"] for m in direct}
    assert types == {"#microsoft.graph.user", "#microsoft.graph.group"}
    assert len(direct) == 6
    trans = client.get(f"/groups/{STAFF}/transitiveMembers", params={"$top": "3"}).json()
    ids = [m["id"] for m in trans["value"]]
    while "@odata.nextLink" in trans:
        trans = client.get(trans["@odata.nextLink"]).json()
        ids += [m["id"] for m in trans["value"]]
    assert inner.id in ids
    assert nested.id in ids
    assert len(ids) == 7


def test_assign_licence_rules_and_consumed_units(client: httpx.Client, state: EmulatorState) -> None:
    a, b, c = _uid(state, 0), _uid(state, 1), _uid(state, 2)
    body = {"addLicenses": [{"skuId": SKU, "disabledPlans": []}], "removeLicenses": []}
    assert (
        client.post(f"/users/{a}/assignLicense", json={"addLicenses": body["addLicenses"]}).status_code == 400
    )
    state.tenant(TENANT).users[a].usage_location = None
    r = client.post(f"/users/{a}/assignLicense", json=body)
    assert r.status_code == 400
    assert "usage location" in r.json()["error"]["message"]
    state.tenant(TENANT).users[a].usage_location = "FI"
    r = client.post(f"/users/{a}/assignLicense", json=body)
    assert r.status_code == 200
    assert r.json()["id"] == a
    assert client.post(f"/users/{b}/assignLicense", json=body).status_code == 200
    r = client.post(f"/users/{c}/assignLicense", json=body)
    assert r.status_code == 400
    assert (
        r.json()["error"]["message"] == f"Subscription with SKU {SKU} does not have any available licenses."
    )
    sku = client.get("/subscribedSkus").json()["value"][0]
    assert (sku["consumedUnits"], sku["prepaidUnits"]["enabled"]) == (2, 2)
    client.post(f"/users/{b}/assignLicense", json={"addLicenses": [], "removeLicenses": [SKU]})
    assert client.get("/subscribedSkus").json()["value"][0]["consumedUnits"] == 1


def test_send_mail_is_recorded(client: httpx.Client, state: EmulatorState) -> None:
    msg = {
        "message": {
            "subject": "Tunnus",
            "body": {"contentType": "Text", "content": "Hei"},
            "toRecipients": [{"emailAddress": {"address": "x@example.com"}}],
        }
    }
    assert client.post("/users/opettaja0@edu.tampere.fi/sendMail", json=msg).status_code == 202
    assert state.sent_mail(TENANT)[0].to == ("x@example.com",)
