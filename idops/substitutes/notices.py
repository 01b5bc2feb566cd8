"""Telling principals, a configured time before an account ends, so they can extend it.

One run sends each principal one digest: every period of their schools whose end has come within the
notice window (``notify_before_hours``), each with the substitute's name, the school, the end on the
Helsinki clock and a link to the page where it is extended. Principals are the school's configured object
ids and the (transitive) members of its principal groups; the digest is in Finnish, with English too for
a recipient whose ``preferredLanguage`` is English.

A period no longer than the notice window gets no notice: its end was within the window from the moment
the principal set it (a notice "at once" would only repeat the request). Each period is noticed once;
an extension makes it due again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog

from idops.config import School
from idops.config.region import Shard
from idops.graph.errors import GraphError, GraphNotFound
from idops.graph.port import Directory
from idops.kit.i18n import fi_genitive, when
from idops.substitutes.counts import Counts
from idops.substitutes.deps import SubstituteDeps
from idops.substitutes.models import Status, SubstitutePeriod, SubstitutePerson
from idops.substitutes.repository import SubstitutesUnitOfWork

log = structlog.get_logger("idops.substitutes")

NOTICED = (Status.ACTIVE, Status.SCHEDULED)


@dataclass(frozen=True)
class Recipient:
    mail: str
    lang: str  # "fi" | "en": the language the recipient reads first


@dataclass(frozen=True)
class Entry:
    """One period in a digest."""

    period_id: str
    name: str
    upn: str | None
    school_name: str
    ends_at: datetime


@dataclass
class _Digest:
    tenant_id: str
    sender: str
    recipient: Recipient
    entries: list[Entry] = field(default_factory=list)


def is_due(period: SubstitutePeriod, window: timedelta, now: datetime) -> bool:
    """Does the period's notice go out now? Its end is within the window, and the period is longer than
    the window (see the module's docstring)."""
    return (
        period.notified_at is None
        and now < period.ends_at <= now + window
        and period.ends_at - period.starts_at > window
    )


class _Principals:
    """The principals of a tenant's schools as recipients, each user and group read once per run."""

    def __init__(self, directory: Directory) -> None:
        self.directory = directory
        self._users: dict[str, Recipient | None] = {}
        self._groups: dict[str, list[str]] = {}

    async def of(self, school: School) -> list[Recipient]:
        ids = list(school.principals.object_ids)
        for gid in school.principals.group_ids:
            ids += await self._members(gid)
        found: dict[str, Recipient] = {}
        for oid in dict.fromkeys(i.lower() for i in ids):
            recipient = await self._user(oid)
            if recipient is not None:
                found.setdefault(recipient.mail.lower(), recipient)
        return list(found.values())

    async def _members(self, group_id: str) -> list[str]:
        if group_id not in self._groups:
            try:
                self._groups[group_id] = [
                    m.id async for page in self.directory.list_group_members_bulk(group_id) for m in page
                    if not m.is_group
                ]
            except GraphNotFound:
                log.warning("principal_group_missing", group_id=group_id)
                self._groups[group_id] = []
        return self._groups[group_id]

    async def _user(self, oid: str) -> Recipient | None:
        if oid not in self._users:
            try:
                user = await self.directory.get_user(oid)
            except GraphNotFound:
                user = None
            lang = "en" if user and (user.preferred_language or "").lower().startswith("en") else "fi"
            self._users[oid] = Recipient(user.mail, lang) if user and user.mail and user.account_enabled else None
        return self._users[oid]


async def notify_expiring(
    uow: SubstitutesUnitOfWork, c: SubstituteDeps, *, actor: str = "job:notify_expiring", shard: Shard | None = None
) -> dict[str, int]:
    """Send each principal one digest of the periods of their schools ending within the notice window.

    Counts ``periods`` noticed, ``recipients`` and ``mails`` sent, ``failed`` mails, and periods with
    ``no_recipient`` or whose municipality has no sender (``not_configured``). A period is marked noticed
    once every digest naming it went out; one whose digest failed is tried again on the next run.
    ``shard``: only periods of that tenant / those municipalities (a job unit's)."""
    counts = Counts()
    now = c.clock.now()
    async with uow:
        candidates = await uow.substitutes.due(list(NOTICED), ends_before=now + _longest_window(c), shard=shard)
    due: list[tuple[SubstitutePeriod, School, str | None]] = []
    for period in candidates:
        found = c.config.region.school(period.school)
        if found is None:
            continue
        municipality, school = found
        window = timedelta(hours=c.config.policy_for(municipality, school).notify_before_hours)
        if is_due(period, window, now):
            due.append((period, school, municipality.notification_sender))
    if not due:
        return {}
    async with uow:
        persons = await uow.substitutes.persons_by_ids(sorted({p.person_id for p, _, _ in due}))

    digests: dict[tuple[str, str, str], _Digest] = {}
    in_digests: dict[str, set[tuple[str, str, str]]] = defaultdict(set)
    principals: dict[str, _Principals] = {}
    unreached: dict[str, str] = {}  # period id → why nobody is told ("no_recipient", "not_configured", "failed")
    for period, school, sender in due:
        if not sender:
            unreached[period.id] = "not_configured"
            continue
        finder = principals.setdefault(period.tenant_id, _Principals(c.directories.for_tenant(period.tenant_id)))
        try:
            recipients = await finder.of(school)
        except GraphError as exc:
            log.warning("notify_recipients_failed", period_id=period.id, error=type(exc).__name__)
            unreached[period.id] = "failed"
            continue
        if not recipients:
            unreached[period.id] = "no_recipient"
            continue
        entry = _entry(period, persons.get(period.person_id), school)
        for recipient in recipients:
            key = (period.tenant_id, sender, recipient.mail.lower())
            digests.setdefault(key, _Digest(period.tenant_id, sender, recipient)).entries.append(entry)
            in_digests[period.id].add(key)

    sent: set[tuple[str, str, str]] = set()
    for key, digest in digests.items():
        subject, body = digest_text(digest.recipient.lang, digest.entries, c.config.settings.api.public_url)
        try:
            await c.directories.for_tenant(digest.tenant_id).send_mail(
                digest.sender, [digest.recipient.mail], subject, body
            )
        except GraphError as exc:
            log.warning("notify_failed", periods=len(digest.entries), error=type(exc).__name__)
            counts.add("failed")
            continue
        sent.add(key)
        counts.add("mails")
    counts.add("recipients", len({key[2] for key in sent}))

    async with uow:
        for period, _, _ in due:
            reason = unreached.get(period.id)
            if reason == "failed" or (reason is None and not in_digests[period.id] <= sent):
                continue  # tried again on the next run
            if reason:
                counts.add(reason)
            if await uow.substitutes.transition(period.id, list(NOTICED), notified_at=now):
                uow.audit.record(
                    at=now,
                    actor=actor,
                    action="expiry_notice",
                    subject_type="period",
                    subject_id=period.id,
                    person_id=period.person_id,
                    school=period.school,
                    details={"recipients": len(in_digests[period.id]), **({"reason": reason} if reason else {})},
                )
                if reason is None:
                    counts.add("periods")
        await uow.commit()
    return counts.as_dict()


def _longest_window(c: SubstituteDeps) -> timedelta:
    hours = [
        c.config.policy_for(m, s).notify_before_hours for m in c.config.region.municipalities for s in m.schools
    ]
    return timedelta(hours=max(hours, default=0))


def _entry(period: SubstitutePeriod, person: SubstitutePerson | None, school: School) -> Entry:
    name = f"{person.given_name} {person.surname}".strip() if person else ""
    return Entry(period.id, name or "–", person.user_principal_name if person else None, school.name, period.ends_at)


def _link(public_url: str, period_id: str) -> str:
    return f"{public_url.rstrip('/')}/substitutes/{period_id}#extend-title"


def digest_text(lang: str, entries: Sequence[Entry], public_url: str) -> tuple[str, str]:
    """(subject, body) of one digest: Finnish, and English too (first) for an English reader."""
    ordered = sorted(entries, key=lambda e: (e.ends_at, e.name))
    fi = _body("fi", ordered, public_url)
    if lang != "en":
        return _subject("fi", ordered), fi
    subject = f"{_subject('en', ordered)} / {_subject('fi', ordered)}"
    return subject, _body("en", ordered, public_url) + "\n\n---\n\n" + fi


@dataclass(frozen=True)
class _Wording:
    """A digest's fixed words in one language."""

    greeting: str
    intro: str
    closing: str
    ends: str  # "{when}"
    extend: str
    subject_one: str  # "{when}", "{name}"
    subject_many: str  # "{n}"


_FI = _Wording(
    "Hei,",
    "seuraavat sijaistunnukset päättyvät pian. Jos sijaisuus jatkuu, voit jatkaa tunnuksen voimassaoloa "
    "idopsissa ennen päättymistä.",
    "Tämä on idopsin automaattinen viesti; siihen ei voi vastata.",
    "päättyy {when}",
    "jatka",
    "Sijaistunnus päättyy {when}: {name}",
    "{n} sijaistunnusta päättyy pian",
)
_EN = _Wording(
    "Hello,",
    "the following substitute accounts end soon. If the substitution continues, you can extend the "
    "account in idops before it ends.",
    "This is an automatic message from idops; replies are not read.",
    "ends {when} (Helsinki time)",
    "extend",
    "Substitute account ends {when}: {name}",
    "{n} substitute accounts end soon",
)


def _who(lang: str, e: Entry) -> str:
    if lang == "fi":
        who = f"{fi_genitive(e.school_name)} sijainen {e.name}"
    else:
        who = f"{e.name}, substitute at {e.school_name}"
    return who + (f" ({e.upn})" if e.upn else "")


def _subject(lang: str, entries: Sequence[Entry]) -> str:
    w = _FI if lang == "fi" else _EN
    if len(entries) == 1:
        return w.subject_one.format(when=when(entries[0].ends_at, lang), name=entries[0].name)
    return w.subject_many.format(n=len(entries))


def _body(lang: str, entries: Sequence[Entry], public_url: str) -> str:
    w = _FI if lang == "fi" else _EN
    lines = [w.greeting, "", w.intro]
    for e in entries:
        lines += [
            "",
            _who(lang, e),
            "  " + w.ends.format(when=when(e.ends_at, lang)),
            f"  {w.extend}: {_link(public_url, e.period_id)}",
        ]
    lines += ["", w.closing]
    return "\n".join(lines)
