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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog

from idops.config import School
from idops.config.region import Principals, Shard
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
    starts_at: datetime | None = None
    limits: tuple[str, ...] = ()  # a request awaiting approval: the limits it exceeds


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


class Recipients:
    """Configured people of a tenant (a school's principals, a municipality's IT admins) as mail
    recipients: enabled users with a mailbox, each user and group read once per run."""

    def __init__(self, directory: Directory) -> None:
        self.directory = directory
        self._users: dict[str, Recipient | None] = {}
        self._groups: dict[str, list[str]] = {}

    async def of(self, who: Principals) -> list[Recipient]:
        ids = list(who.object_ids)
        for gid in who.group_ids:
            ids += await self._members(gid)
        found: dict[str, Recipient] = {}
        for oid in dict.fromkeys(i.lower() for i in ids):
            recipient = await self.user(oid)
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

    async def user(self, oid: str) -> Recipient | None:
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
    delivery = await deliver_digests(
        c,
        [(p, school.principals, sender, entry(p, persons.get(p.person_id), school.name)) for p, school, sender in due],
        lambda lang, entries: digest_text(lang, entries, c.config.settings.api.public_url),
        counts,
    )
    async with uow:
        for period, _, _ in due:
            if not delivery.outcome(period.id)[0]:
                continue  # tried again on the next run
            if await uow.substitutes.transition(period.id, list(NOTICED), notified_at=now):
                delivery.record(uow, now, actor, "expiry_notice", period, counts)
        await uow.commit()
    return counts.as_dict()


@dataclass
class Delivery:
    """What ``deliver_digests`` reached: per period, the digests naming it, or why nobody is told
    (``no_recipient``, ``not_configured``, ``failed``)."""

    unreached: dict[str, str] = field(default_factory=dict)
    in_digests: dict[str, set[tuple[str, str, str]]] = field(default_factory=lambda: defaultdict(set))
    sent: set[tuple[str, str, str]] = field(default_factory=set)

    def outcome(self, period_id: str) -> tuple[bool, str | None]:
        """(whether the period counts as noticed now, why nobody was told). Not noticed: a recipient
        could not be read or a digest naming it failed — tried again on the next run."""
        reason = self.unreached.get(period_id)
        if reason == "failed" or (reason is None and not self.in_digests[period_id] <= self.sent):
            return False, None
        return True, reason

    def record(
        self, uow: SubstitutesUnitOfWork, at: datetime, actor: str, action: str, period: SubstitutePeriod,
        counts: Counts,
    ) -> None:
        """Audit a period marked noticed (inside the caller's transaction) and count it."""
        _, reason = self.outcome(period.id)
        uow.audit.record(
            at=at,
            actor=actor,
            action=action,
            subject_type="period",
            subject_id=period.id,
            person_id=period.person_id,
            school=period.school,
            details={"recipients": len(self.in_digests[period.id]), **({"reason": reason} if reason else {})},
        )
        counts.add(reason or "periods")


async def deliver_digests(
    c: SubstituteDeps,
    due: Sequence[tuple[SubstitutePeriod, Principals, str | None, Entry]],
    text: Callable[[str, list[Entry]], tuple[str, str]],
    counts: Counts,
) -> Delivery:
    """Send each recipient one digest (``text(lang, entries)`` → subject, body) of the periods naming them:
    ``due`` holds each period with the people to tell, the sender mailbox (None: not configured) and its
    entry. Counts ``mails``, ``failed`` mails and ``recipients``; Graph is called outside transactions."""
    delivery = Delivery()
    digests: dict[tuple[str, str, str], _Digest] = {}
    finders: dict[str, Recipients] = {}
    for period, who, sender, item in due:
        if not sender:
            delivery.unreached[period.id] = "not_configured"
            continue
        finder = finders.setdefault(period.tenant_id, Recipients(c.directories.for_tenant(period.tenant_id)))
        try:
            recipients = await finder.of(who)
        except GraphError as exc:
            log.warning("notify_recipients_failed", period_id=period.id, error=type(exc).__name__)
            delivery.unreached[period.id] = "failed"
            continue
        if not recipients:
            delivery.unreached[period.id] = "no_recipient"
            continue
        for recipient in recipients:
            key = (period.tenant_id, sender, recipient.mail.lower())
            digests.setdefault(key, _Digest(period.tenant_id, sender, recipient)).entries.append(item)
            delivery.in_digests[period.id].add(key)
    for key, digest in digests.items():
        subject, body = text(digest.recipient.lang, digest.entries)
        try:
            await c.directories.for_tenant(digest.tenant_id).send_mail(
                digest.sender, [digest.recipient.mail], subject, body
            )
        except GraphError as exc:
            log.warning("notify_failed", periods=len(digest.entries), error=type(exc).__name__)
            counts.add("failed")
            continue
        delivery.sent.add(key)
        counts.add("mails")
    counts.add("recipients", len({key[2] for key in delivery.sent}))
    return delivery


def _longest_window(c: SubstituteDeps) -> timedelta:
    hours = [
        c.config.policy_for(m, s).notify_before_hours for m in c.config.region.municipalities for s in m.schools
    ]
    return timedelta(hours=max(hours, default=0))


def entry(period: SubstitutePeriod, person: SubstitutePerson | None, school_name: str) -> Entry:
    name = f"{person.given_name} {person.surname}".strip() if person else ""
    return Entry(
        period.id, name or "–", person.user_principal_name if person else None, school_name, period.ends_at,
        period.starts_at, tuple(period.approval_limits.split(",")) if period.approval_limits else (),
    )


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
