"""Notices about approvals: the municipality's approvers get a digest of the requests awaiting their
decision, and the requester is told the decision.

- Approvers are the municipality's configured ``it_admins`` (object ids and the members of its groups;
  region admins are not mailed), each mailed from the municipality's ``notification_sender`` — the expiry
  notice's path (``notices.deliver_digests``, Graph ``sendMail``). One run sends each approver one digest
  of every request not yet announced; a request is announced once (``approvers_notified_at``) when every
  digest naming it went out, or when nobody can be told (counted as ``no_recipient`` / ``not_configured``).
- The requester (the period's ``created_by``) is told the decision once (``decision_notified_at``, claimed
  before the send and given back if it fails): right after the decision (``tell_decision``, called by
  approve and deny) or, if that failed, by the next run of the ``notify_approvals`` job.
- Finnish, with English first for a recipient whose ``preferredLanguage`` is English.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import structlog

from idops.graph.errors import GraphError
from idops.kit.i18n import when
from idops.substitutes.counts import Counts
from idops.substitutes.deps import SubstituteDeps
from idops.substitutes.models import Status, SubstitutePeriod
from idops.substitutes.notices import Entry, Recipients, deliver_digests, entry
from idops.substitutes.repository import SubstitutesUnitOfWork

log = structlog.get_logger("idops.substitutes")

APPROVALS_PAGE = "/admin/approvals"


async def announce_approvals(
    uow: SubstitutesUnitOfWork, c: SubstituteDeps, *, actor: str = "job:notify_approvals"
) -> dict[str, int]:
    """Send the municipalities' approvers one digest each of the requests awaiting approval that no digest
    has named yet. Counts ``periods`` announced, ``mails``, ``recipients``, ``failed`` mails and periods with
    ``no_recipient`` or ``not_configured``; a period whose digest failed is tried again on the next run."""
    counts = Counts()
    now = c.clock.now()
    async with uow:
        pending = await uow.substitutes.approvals_to_announce()
        persons = await uow.substitutes.persons_by_ids(sorted({p.person_id for p in pending}))
    due = []
    for period in pending:
        found = c.config.region.school(period.school)
        if found is None:
            continue
        municipality, school = found
        item = entry(period, persons.get(period.person_id), school.name)
        due.append((period, municipality.it_admins, municipality.notification_sender, item))
    if not due:
        return {}
    public_url = c.config.settings.api.public_url
    delivery = await deliver_digests(c, due, lambda lang, entries: digest_text(lang, entries, public_url), counts)
    async with uow:
        for period, _, _, _ in due:
            if delivery.outcome(period.id)[0] and await uow.substitutes.transition(
                period.id, [Status.AWAITING_APPROVAL], approvers_notified_at=now
            ):
                delivery.record(uow, now, actor, "approval_digest", period, counts)
        await uow.commit()
    return counts.as_dict()


async def tell_decisions(uow: SubstitutesUnitOfWork, c: SubstituteDeps) -> dict[str, int]:
    """Tell every requester not yet told (a send that failed right after the decision). Counts ``told``,
    ``failed`` and ``no_recipient``."""
    async with uow:
        ids = await uow.substitutes.decisions_to_tell()
    counts = Counts()
    for period_id in ids:
        counts.add(await tell_decision(uow, c, period_id))
    return counts.as_dict()


async def tell_decision(uow: SubstitutesUnitOfWork, c: SubstituteDeps, period_id: str) -> str:
    """Mail the requester of a decided period its decision, once. Returns ``told``, ``already`` (someone
    did), ``no_recipient`` (no such user or mailbox, or no sender: marked, not retried) or ``failed``
    (Graph refused: the claim is given back for the next run). Never raises for Graph's sake: the
    decision stands whether or not the mail goes."""
    now = c.clock.now()
    async with uow:
        pair = await uow.substitutes.period_with_person(period_id)
        claimed = pair is not None and await uow.substitutes.claim_decision_notice(period_id, now)
        await uow.commit()
    if pair is None or not claimed:
        return "already"
    period, person = pair
    found = c.config.region.school(period.school)
    sender = found[0].notification_sender if found else None
    _, _, oid = period.created_by.partition(":")
    outcome = "no_recipient"
    if sender and oid and found:
        try:
            recipient = await Recipients(c.directories.for_tenant(period.tenant_id)).user(oid.lower())
            if recipient is not None:
                item = entry(period, person, found[1].name)
                subject, body = decision_text(recipient.lang, period, item, c.config.settings.api.public_url)
                await c.directories.for_tenant(period.tenant_id).send_mail(sender, [recipient.mail], subject, body)
                outcome = "told"
        except GraphError as exc:
            log.warning("decision_notice_failed", period_id=period_id, error=type(exc).__name__)
            outcome = "failed"
    async with uow:
        if outcome == "failed":
            await uow.substitutes.claim_decision_notice(period_id, None)
        else:
            uow.audit.record(
                at=now, actor="idops", action="decision_notice", subject_type="period", subject_id=period_id,
                person_id=period.person_id, school=period.school, details={"outcome": outcome},
            )
        await uow.commit()
    return outcome


# ----------------------------------------------------------------------------------------- texts


@dataclass(frozen=True)
class _Wording:
    greeting: str
    digest_intro: str
    digest_subject_one: str  # "{name}"
    digest_subject_many: str  # "{n}"
    period: str  # "{start}", "{end}"
    over: str  # "{limits}"
    decide: str
    approved_subject: str  # "{name}"
    denied_subject: str  # "{name}"
    approved: str
    denied: str
    reason: str  # "{reason}"
    open_it: str
    closing: str
    limits: dict[str, str]


_FI = _Wording(
    "Hei,",
    "seuraavat sijaistunnuspyynnöt ylittävät kunnan rajan ja odottavat tietohallinnon hyväksyntää.",
    "Sijaistunnuspyyntö odottaa hyväksyntää: {name}",
    "{n} sijaistunnuspyyntöä odottaa hyväksyntää",
    "jakso {start} – {end}",
    "ylittää: {limits}",
    "Hyväksy tai hylkää",
    "Sijaistunnuspyyntö hyväksytty: {name}",
    "Sijaistunnuspyyntö hylätty: {name}",
    "kunnan tietohallinto hyväksyi pyyntösi. Tunnus luodaan, ja kirjautumiskoodin saat idopsista.",
    "kunnan tietohallinto hylkäsi pyyntösi; tunnusta ei luoda.",
    "Perustelu: {reason}",
    "Avaa",
    "Tämä on idopsin automaattinen viesti; siihen ei voi vastata.",
    {
        "quota": "koulun sijaistunnusten enimmäismäärä",
        "seats": "lisenssit loppuneet",
        "max_lead_days": "pyydetty liian aikaisin",
        "max_duration_days": "jakso liian pitkä",
    },
)
_EN = _Wording(
    "Hello,",
    "the following substitute account requests exceed a limit of the municipality and await IT approval.",
    "Substitute request awaits approval: {name}",
    "{n} substitute requests await approval",
    "period {start} – {end} (Helsinki time)",
    "exceeds: {limits}",
    "Approve or deny",
    "Substitute request approved: {name}",
    "Substitute request denied: {name}",
    "the municipality's IT administration approved your request. The account is being created; get the "
    "sign-in code in idops.",
    "the municipality's IT administration denied your request; no account is created.",
    "Reason: {reason}",
    "Open",
    "This is an automatic message from idops; replies are not read.",
    {
        "quota": "the school's maximum number of substitute accounts",
        "seats": "no licences left",
        "max_lead_days": "requested too far ahead",
        "max_duration_days": "period too long",
    },
)


def _lines(w: _Wording, lang: str, e: Entry) -> list[str]:
    """The request: who, where, and the period on the Helsinki clock."""
    start = when(e.starts_at or e.ends_at, lang)
    return [f"{e.name}, {e.school_name}" + (f" ({e.upn})" if e.upn else ""),
            "  " + w.period.format(start=start, end=when(e.ends_at, lang))]


def _in_both(lang: str, build: Callable[[_Wording, str], tuple[str, str]]) -> tuple[str, str]:
    """(subject, body) in Finnish; for an English reader English first, then the Finnish."""
    subject, body = build(_FI, "fi")
    if lang != "en":
        return subject, body
    en_subject, en_body = build(_EN, "en")
    return f"{en_subject} / {subject}", en_body + "\n\n---\n\n" + body


def digest_text(lang: str, entries: Sequence[Entry], public_url: str) -> tuple[str, str]:
    """(subject, body) of one approver's digest."""
    ordered = sorted(entries, key=lambda e: (e.starts_at or e.ends_at, e.name))
    link = public_url.rstrip("/") + APPROVALS_PAGE

    def build(w: _Wording, in_lang: str) -> tuple[str, str]:
        if len(ordered) == 1:
            subject = w.digest_subject_one.format(name=ordered[0].name)
        else:
            subject = w.digest_subject_many.format(n=len(ordered))
        lines = [w.greeting, "", w.digest_intro]
        for e in ordered:
            lines += ["", *_lines(w, in_lang, e)]
            if e.limits:
                lines.append("  " + w.over.format(limits=", ".join(w.limits.get(k, k) for k in e.limits)))
        lines += ["", f"{w.decide}: {link}", "", w.closing]
        return subject, "\n".join(lines)

    return _in_both(lang, build)


def decision_text(lang: str, period: SubstitutePeriod, e: Entry, public_url: str) -> tuple[str, str]:
    """(subject, body) of the requester's notice of the decision (with the approver's reason, if any)."""
    denied = period.status == Status.DENIED
    link = f"{public_url.rstrip('/')}/substitutes/{period.id}"

    def build(w: _Wording, in_lang: str) -> tuple[str, str]:
        subject = (w.denied_subject if denied else w.approved_subject).format(name=e.name)
        lines = [w.greeting, "", w.denied if denied else w.approved, "", *_lines(w, in_lang, e)]
        if period.decision_reason:
            lines += ["", w.reason.format(reason=period.decision_reason)]
        lines += ["", f"{w.open_it}: {link}", "", w.closing]
        return subject, "\n".join(lines)

    return _in_both(lang, build)
