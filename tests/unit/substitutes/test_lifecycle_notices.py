"""Expiry notices: one digest per principal per run, principals by object id and by (nested) group, in
Finnish (English too for an English reader) with the substitute's name, the school in the genitive, the end
on the Helsinki clock and a link to the extend page; none for a period shorter than the window."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from idops.graph.errors import GraphUnavailable
from idops.substitutes.changes import extend
from idops.substitutes.notices import notify_expiring

if TYPE_CHECKING:
    from idops.graph.fake import SentMail
    from tests.unit.substitutes.conftest import Substitutes

WINDOW = timedelta(hours=48)  # notify_before_hours in config/idops.toml


def principal_group(sub: Substitutes) -> str:
    found = sub.c.config.region.school(sub.body().school)
    assert found is not None
    return found[1].principals.group_ids[0]


def mails(sub: Substitutes) -> list[SentMail]:
    return list(sub.state().outbox)


async def test_a_principal_gets_one_digest_naming_every_substitute_ending_soon(sub: Substitutes) -> None:
    a = await sub.request(days=5)
    b = await sub.request(given="Bertta", surname="Björk", days=4)
    sub.clock.advance(timedelta(days=3, hours=1))  # both now end within 48 h

    counts = await notify_expiring(sub.c.uow(), sub.c)

    assert counts == {"periods": 2, "recipients": 1, "mails": 1}
    [mail] = mails(sub)
    assert (mail.sender, mail.to) == ("idops-noreply@tampere.fi", ("rehtori0.hervanta@sijaiset.tampere.fi",))
    assert mail.subject == "2 sijaistunnusta päättyy pian"
    body = mail.body
    assert "Hervannan koulun sijainen Aino Äijälä (aino.aijala@sijaiset.tampere.fi)" in body
    assert "Hervannan koulun sijainen Bertta Björk" in body
    assert "päättyy 4.12.2026 klo 8.00" in body  # 06:00 UTC on the Helsinki clock
    assert f"jatka: http://127.0.0.1:8000/substitutes/{a}#extend-title" in body
    assert body.index("Bertta") < body.index("Aino")  # the soonest end first
    assert "Substitute" not in body  # Finnish only for a reader whose language is unknown
    assert await sub.actions(b) == ["requested", "account_created", "provisioned", "expiry_notice"]
    assert await notify_expiring(sub.c.uow(), sub.c) == {}  # once


async def test_principals_by_group_get_it_too_and_one_listed_twice_gets_one_mail(sub: Substitutes) -> None:
    st = sub.state()
    deputy = st.add_user("vararehtori@sijaiset.tampere.fi", mail="vararehtori@tampere.fi", preferred_language="en-GB")
    found = sub.c.config.region.school(sub.body().school)
    assert found is not None
    inner = st.add_group("Vararehtorit", [deputy.id])
    st.groups[principal_group(sub)].members.update({inner.id: None, found[1].principals.object_ids[0]: None})
    await sub.request(days=3)
    sub.clock.advance(timedelta(days=2))

    counts = await notify_expiring(sub.c.uow(), sub.c)

    assert counts == {"periods": 1, "recipients": 2, "mails": 2}
    by_to = {m.to[0]: m for m in mails(sub)}
    assert set(by_to) == {"rehtori0.hervanta@sijaiset.tampere.fi", "vararehtori@tampere.fi"}
    english = by_to["vararehtori@tampere.fi"]
    assert english.subject.startswith("Substitute account ends 03 Dec 2026 08:00: Aino Äijälä / Sijaistunnus päättyy")
    assert "Aino Äijälä, substitute at Hervannan koulu" in english.body
    assert "ends 03 Dec 2026 08:00 (Helsinki time)" in english.body
    assert english.body.index("extend:") < english.body.index("jatka:")  # English first, Finnish after


async def test_a_period_shorter_than_the_window_gets_no_notice_but_one_extended_past_it_does(sub: Substitutes) -> None:
    pid = await sub.request(days=1)
    assert await notify_expiring(sub.c.uow(), sub.c) == {}
    sub.clock.advance(timedelta(hours=20))
    assert await notify_expiring(sub.c.uow(), sub.c) == {}
    await extend(sub.c.uow(), sub.c, sub.principal(), pid, sub.clock.now() + timedelta(days=3))
    assert await notify_expiring(sub.c.uow(), sub.c) == {}  # 3 days left: not yet
    sub.clock.advance(timedelta(days=1, hours=1))
    assert await notify_expiring(sub.c.uow(), sub.c) == {"periods": 1, "recipients": 1, "mails": 1}


async def test_a_failed_mail_is_sent_again_on_the_next_run(sub: Substitutes) -> None:
    await sub.request(days=3)
    sub.clock.advance(timedelta(days=2))
    sub.directory().fail_next("send_mail", GraphUnavailable("down", status=503))
    assert await notify_expiring(sub.c.uow(), sub.c) == {"failed": 1}
    assert mails(sub) == []
    assert await notify_expiring(sub.c.uow(), sub.c) == {"periods": 1, "recipients": 1, "mails": 1}


async def test_without_a_sender_or_a_principal_nothing_is_sent_and_it_is_counted(sub: Substitutes) -> None:
    await sub.request(days=3)
    found = sub.c.config.region.school(sub.body().school)
    assert found is not None
    del sub.state().users[found[1].principals.object_ids[0]]  # the principal left; the group is empty
    sub.clock.advance(timedelta(days=2))
    assert await notify_expiring(sub.c.uow(), sub.c) == {"no_recipient": 1}
    assert mails(sub) == []
