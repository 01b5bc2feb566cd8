"""Code delivery by e-mail (municipality policy ``code_delivery``): the emulator's sent-mail log holds
exactly one message with the code, the API answer holds none, and no log line or database value holds it."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
import structlog

from idops.config import Config
from tests.conftest import demo_sign_in
from tests.integration.substitutes.conftest import Api
from tests.integration.substitutes.test_secrets import Collect, database_text, stdlib_logs

__all__ = ["stdlib_logs"]  # the fixture, shared


@pytest.fixture
def sub_config(make_config: Callable[..., Config]) -> Config:
    return make_config(graph={"max_backoff_seconds": 0.2, "replication_wait_seconds": 5.0},
                       policy={"code_delivery": True})


async def test_the_code_is_mailed_once_to_the_substitute_and_exists_nowhere_else(
    api: Api, stdlib_logs: Collect
) -> None:
    tenant = api.emulator.state.tenant(api.tenant())
    municipality = api.container.config.region.municipality("tampere")
    assert municipality is not None and municipality.notification_sender
    with structlog.testing.capture_logs() as events:
        r = await api.request(contact={"email": "aino.aijala@example.org"})
        assert r.status_code == 201, r.text
        sub = r.json()
        sent = await api.client.post(f"/v1/substitutes/{sub['id']}/access-pass", params={"deliver": "email"},
                                     headers=api.principal())
        assert sent.status_code == 200, sent.text
        # without a contact address there is nothing to deliver to
        other = await api.request(given="Bertta", surname="Björk")
        refused = await api.client.post(f"/v1/substitutes/{other.json()['id']}/access-pass",
                                        params={"deliver": "email"}, headers=api.principal())
        assert refused.status_code == 409

    body = sent.json()
    assert "temporary_access_pass" not in body and body["delivered_to"] == "a***@example.org"
    user_id = tenant.upn_index[sub["user_principal_name"].lower()]
    code = tenant.taps[user_id].code
    mails = [m for m in tenant.sent_mail if code in m.body]
    assert len(mails) == 1 and len(tenant.sent_mail) == 1
    mail = mails[0]
    assert mail.to == ("aino.aijala@example.org",) and mail.sender.lower() == municipality.notification_sender
    assert sub["user_principal_name"] in mail.body and "Voimassa:" in mail.body and "myaccount" in mail.body

    # the page: the principal chooses e-mail; the answer shows where it went, never the code
    await demo_sign_in(api.client, "principal:tampere/hervanta")
    page = await api.client.get(f"/substitutes/{sub['id']}")
    assert 'id="mail-code"' in page.text
    once = re.search(r'name="once" value="([^"]+)"', page.text)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert once and csrf
    mailed = await api.client.post(f"/substitutes/{sub['id']}/sign-in-code", follow_redirects=True,
                                   data={"csrf": csrf.group(1), "once": once.group(1), "deliver": "email"})
    assert "a***@example.org" in mailed.text and "Koodia ei näytetä" in mailed.text
    code = tenant.taps[user_id].code  # the second pass replaced the first
    assert code not in mailed.text and [m for m in tenant.sent_mail if code in m.body] == [tenant.sent_mail[-1]]

    logged = [json.dumps(e, default=str) for e in events] + stdlib_logs.lines
    assert not [line for line in logged if code in line], "the code was logged"
    stored = database_text(api.container.config.settings.database.url)
    assert code not in stored and "a***@example.org" in stored  # the audit names the masked address
