"""Approval notices: the municipality's IT admins get one digest of the requests awaiting approval (sent
once, in Finnish — English first for an English reader), and the requester is told the decision once,
through the expiry notice's path (Graph sendMail from the municipality's sender)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from idops.graph.errors import GraphUnavailable
from idops.kit.errors import NotFound
from idops.substitutes import approvals, views
from idops.substitutes.approval_notices import announce_approvals, tell_decisions
from idops.substitutes.bulk import request_many

if TYPE_CHECKING:
    from tests.unit.substitutes.conftest import MakeSubstitutes, Substitutes

SENDER = "idops-noreply@tampere.fi"
ADMIN_MAIL = "it.tuki@tampere.fi"
ADMIN_EN_MAIL = "it.support@tampere.fi"


async def waiting(make_sub: MakeSubstitutes, n: int = 3) -> tuple[Substitutes, list[str]]:
    """Tampere's IT admins in the directory (one by object id, one through the admin group, who reads
    English), and ``n`` requests over the quota of Hervanta awaiting approval, made in one bulk call."""
    sub = await make_sub(policy={"on_limit": "approval"})
    m = sub.c.config.region.municipality("tampere")
    assert m is not None
    state = sub.state()
    state.add_user(ADMIN_MAIL, "IT-tuki", id=m.it_admins.object_ids[0], mail=ADMIN_MAIL)
    en = state.add_user(ADMIN_EN_MAIL, "IT support", mail=ADMIN_EN_MAIL, preferred_language="en-GB")
    state.add_group("IT-ylläpito", [en.id], id=m.it_admins.group_ids[0])
    found = sub.c.config.region.school(sub.SCHOOL)
    assert found is not None
    quota = sub.c.config.policy_for(*found).quota
    bodies = [sub.body(days=2, given=f"Aino{chr(65 + i)}") for i in range(quota + n)]
    outcomes = await request_many(sub.c.uow(), sub.c, sub.principal(), bodies, None)
    over = [o.result.period_id for o in outcomes if o.result and o.result.awaiting_approval]
    assert len(over) == n
    return sub, over


async def test_the_approvers_get_one_digest_each_once_in_finnish(make_sub: MakeSubstitutes) -> None:
    sub, over = await waiting(make_sub)
    sub.state().outbox.clear()
    counts = await announce_approvals(sub.c.uow(), sub.c)
    assert counts == {"periods": 3, "mails": 2, "recipients": 2}
    by_to = {m.to: m for m in sub.state().outbox}
    assert set(by_to) == {(ADMIN_MAIL,), (ADMIN_EN_MAIL,)} and {m.sender for m in by_to.values()} == {SENDER}
    fi = by_to[(ADMIN_MAIL,)]
    assert fi.subject == "3 sijaistunnuspyyntöä odottaa hyväksyntää"
    assert "odottavat tietohallinnon hyväksyntää" in fi.body and fi.body.count("AinoK Äijälä") == 1
    assert "ylittää: koulun sijaistunnusten enimmäismäärä" in fi.body and "/admin/approvals" in fi.body
    en = by_to[(ADMIN_EN_MAIL,)]
    assert en.subject.startswith("3 substitute requests await approval / 3 sijaistunnuspyyntöä")
    assert en.body.index("await IT approval") < en.body.index("odottavat tietohallinnon")
    for pid in over:
        assert (await sub.actions(pid))[-1] == "approval_digest"

    assert await announce_approvals(sub.c.uow(), sub.c) == {}  # once
    assert len(sub.state().outbox) == 2


async def test_a_failed_digest_is_sent_on_the_next_run(make_sub: MakeSubstitutes) -> None:
    sub, _ = await waiting(make_sub, n=1)
    sub.state().outbox.clear()
    sub.directory().fail_next("send_mail", GraphUnavailable("down", status=503), times=2)
    assert (await announce_approvals(sub.c.uow(), sub.c)).get("failed") == 2
    assert sub.state().outbox == []
    assert (await announce_approvals(sub.c.uow(), sub.c))["periods"] == 1
    assert len(sub.state().outbox) == 2


async def test_the_requester_is_told_the_decision_once(make_sub: MakeSubstitutes) -> None:
    sub, over = await waiting(make_sub, n=2)
    principal_mail = sub.state().user(sub.principal().oid)
    assert principal_mail is not None and principal_mail.mail
    sub.state().outbox.clear()
    await approvals.approve(sub.c.uow(), sub.c, sub.admin("tampere"), over[0], "flunssaviikko")
    await approvals.deny(sub.c.uow(), sub.c, sub.admin("tampere"), over[1], "kiintiö täynnä")
    approved, denied = sub.state().outbox
    assert approved.to == denied.to == (principal_mail.mail,) and approved.sender == SENDER
    assert approved.subject.startswith("Sijaistunnuspyyntö hyväksytty: AinoK Äijälä")
    assert "hyväksyi pyyntösi" in approved.body and "Perustelu: flunssaviikko" in approved.body
    assert denied.subject.startswith("Sijaistunnuspyyntö hylätty: AinoL Äijälä")
    assert "Perustelu: kiintiö täynnä" in denied.body and f"/substitutes/{over[1]}" in denied.body
    assert await tell_decisions(sub.c.uow(), sub.c) == {}  # nothing left to tell
    assert len(sub.state().outbox) == 2


async def test_a_decision_notice_that_failed_is_sent_by_the_job(make_sub: MakeSubstitutes) -> None:
    sub, over = await waiting(make_sub, n=1)
    sub.state().outbox.clear()
    sub.directory().fail_next("send_mail", GraphUnavailable("down", status=503))
    await approvals.deny(sub.c.uow(), sub.c, sub.admin("tampere"), over[0], "ei tarvetta")
    assert sub.state().outbox == []  # the decision stands; the mail waits
    assert await tell_decisions(sub.c.uow(), sub.c) == {"told": 1}
    assert await tell_decisions(sub.c.uow(), sub.c) == {}
    assert [m.subject for m in sub.state().outbox] == ["Sijaistunnuspyyntö hylätty: AinoK Äijälä"]


async def test_in_a_shared_tenant_only_the_requests_municipality_decides_and_is_mailed(
    make_sub: MakeSubstitutes,
) -> None:
    """Lempäälä and Vesilahti share one tenant: Vesilahti's IT admin neither sees nor decides Lempäälä's
    request (404, as for one that does not exist), and only Lempäälä's IT admins get its digest."""
    sub = await make_sub(policy={"on_limit": "approval"})
    region = sub.c.config.region
    lempaala, vesilahti = region.municipality("lempaala"), region.municipality("vesilahti")
    assert lempaala and vesilahti and lempaala.tenant_id == vesilahti.tenant_id
    state = sub.state(f"lempaala/{lempaala.schools[0].key}")
    for m in (lempaala, vesilahti):
        state.add_user(f"it@{m.key}.fi", "IT", id=m.it_admins.object_ids[0], mail=f"it@{m.key}.fi")
    school = f"lempaala/{lempaala.schools[0].key}"
    long = await sub.request_result(school=school, days=40, caller=sub.principal(school))  # over 30 days
    assert long.awaiting_approval

    with pytest.raises(NotFound):
        await approvals.approve(sub.c.uow(), sub.c, sub.admin("vesilahti"), long.period_id, None)
    with pytest.raises(NotFound):
        await approvals.deny(sub.c.uow(), sub.c, sub.admin("vesilahti"), long.period_id, "ei meidän")
    theirs = await views.list_page(sub.c.uow(), sub.admin("vesilahti"), school=None, status=["awaiting_approval"],
                                   active_on=None, person_id=None, cursor=None, limit=50)
    assert theirs.items == []

    state.outbox.clear()
    assert (await announce_approvals(sub.c.uow(), sub.c))["mails"] == 1
    assert [m.to for m in state.outbox] == [("it@lempaala.fi",)]
    assert state.outbox[0].sender == lempaala.notification_sender
