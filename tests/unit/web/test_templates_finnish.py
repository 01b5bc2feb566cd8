"""Every template rendered in Finnish, in its troublesome states (a failed period with Graph's error
recorded, every audit action, jobs with errors, MFA methods, unknown apps…), through the pages' own
``render``: no text node may hold an English word or a ``snake_case`` code, and no text key may be
left unresolved. A template without a context here fails the test, so new pages are covered too.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from starlette.requests import Request

from idops.auth.scope import Caller, Role, Scope
from idops.config import Config
from idops.kit.clock import FrozenClock
from idops.sessions.service import LiveSession, SessionUser
from idops.substitutes.reconcile import DRIFT_ACTIONS
from idops.web import render as render_module
from idops.web.charts import trend_chart
from idops.web.render import TEMPLATES, WebRequest, render
from idops.web.reports import headline_explained
from idops.web.session import PageSession
from idops.web.texts import EN, FI, actor_label, code_groups, event_label, job_label, method_label, problem_note
from tests.conftest import REPO

# Common English words that are not Finnish words (so "on", "me", "se"… stay out).
ENGLISH = frozenset(
    [
        "the",
        "and",
        "of",
        "with",
        "for",
        "from",
        "this",
        "that",
        "these",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "not",
        "none",
        "null",
        "true",
        "false",
        "yes",
        "error",
        "errors",
        "failed",
        "requested",
        "created",
        "provisioned",
        "activated",
        "expired",
        "revoked",
        "deleted",
        "missing",
        "principal",
        "admin",
        "account",
        "accounts",
        "school",
        "schools",
        "user",
        "users",
        "status",
        "job",
        "jobs",
        "run",
        "runs",
        "found",
        "page",
        "sign",
        "signed",
        "code",
        "password",
        "download",
        "report",
        "single",
        "login",
        "coverage",
        "trend",
        "target",
        "below",
        "staff",
        "pupil",
        "pupils",
        "municipality",
        "region",
        "date",
        "time",
        "start",
        "end",
        "name",
        "names",
        "back",
        "home",
        "help",
        "accessibility",
        "statement",
        "contact",
        "support",
        "undefined",
        "unknown",
        "other",
        "partial",
        "succeeded",
        "skipped",
        "running",
        "abandoned",
        "scheduled",
        "active",
        "ended",
        "activate",
        "expire",
        "reconcile",
        "purge",
        "housekeeping",
        "sync",
    ]
)
# Product names and the like, which are not translated.
ALLOWED = ("Windows Hello for Business", "Microsoft Authenticator", "OpenID Connect", "Power BI", "Entra ID")
SNAKE = re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b")
WORD = re.compile(r"[A-Za-zÅÄÖåäö]+")

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


class TextNodes(HTMLParser):
    """Visible text nodes and the attributes people read (alt, title, aria-label, placeholder);
    English-language islands (``lang="en"``) and scripts are skipped."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self._skip: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("script", "style") or a.get("lang") == "en" or self._skip:
            self._skip.append(tag)
        for name in ("alt", "title", "aria-label", "placeholder", "data-label", "data-done"):
            if a.get(name) and not self._skip:
                self.texts.append(str(a[name]))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._skip:
            self._skip.pop()

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.texts.append(data.strip())


def offenders(html: str) -> list[str]:
    parser = TextNodes()
    parser.feed(html)
    found = []
    for node in parser.texts:
        plain = node
        for allowed in ALLOWED:
            plain = plain.replace(allowed, "")
        words = {w.lower() for w in WORD.findall(plain)}
        if SNAKE.search(plain) or words & ENGLISH or "{" in plain:
            found.append(node)
    return found


def caller(role: Role = "Principal") -> Caller:
    scope = Scope(
        role,
        frozenset({"tampere/hervanta", "tampere/kaleva"}),
        frozenset({"tampere"}) if role != "Principal" else frozenset(),
    )
    return Caller(oid="o", tid="t", roles=frozenset({role}), scope=scope, name="Riitta Rehtori")


def request_for(config: Config, path: str, role: Role = "Principal", lang: str = "fi") -> Request:
    container: Any = SimpleNamespace(config=config, clock=FrozenClock(NOW))
    user = SessionUser("o", "t", (role,), (), "Riitta Rehtori", NOW)
    page = PageSession(LiveSession("s", user, {}, NOW))
    w = WebRequest(container=container, session=page.data, lang=lang, caller=caller(role), page_session=page)
    return Request(
        {"type": "http", "method": "GET", "path": path, "query_string": b"", "headers": [], "state": {"web": w}}
    )


def substitute(status: str, last_error: str | None = None) -> dict[str, Any]:
    return {
        "id": "11111111-2222-4333-8444-555555555555",
        "status": status,
        "school": "tampere/hervanta",
        "person_id": "p",
        "user_principal_name": "aino.makela@sijaiset.tampere.fi",
        "display_name": "Aino Mäkelä (sijainen)",
        "starts_at": NOW,
        "ends_at": NOW + timedelta(days=3),
        "created_at": NOW,
        "created_by": "Principal:o",
        "last_error": last_error,
        "request_id": "a1b2c3d4",
        "overdue_since": None,
        "end_attempted_at": None,
        "end_error": None,
        "revoked_at": NOW if status == "revoked" else None,
        "cancelled_before_start": False,
    }


ACTIONS = (
    "requested",
    "account_created",
    "account_restored",
    "account_reused",
    "provisioned",
    "provisioning_retry",
    "failed",
    "activated",
    "ends_at_changed",
    "revoke_requested",
    "expired",
    "revoked",
    "missing",
    "deleted",
    "expiry_notice",
    "temporary_access_pass_issued",
    "one_time_password_issued",
    "approval_requested",
    "approved",
    "denied",
    "staff_access_pass_issued",
    "brand_new_action",
)
ACTORS = ("Principal:o", "ItAdmin:o", "RegionAdmin:o", "idops", "job:expire", "job:brand_new", "api:x")


def numbers(share: float | None = 0.5) -> dict[str, Any]:
    return {
        "staff_persons": 10,
        "single_account_persons": 8,
        "multi_account_persons": 2,
        "account_coverage": 0.8,
        "apps_in_use": 4,
        "single_login_apps": 3,
        "app_coverage": 0.75,
        "app_users": 20,
        "single_login_app_users": 15,
        "weighted_app_coverage": 0.75,
        "headline_persons": 5,
        "headline_share": share,
    }


def report_view() -> dict[str, Any]:
    school = {
        "path": "tampere/hervanta",
        "municipality": "tampere",
        "school": "hervanta",
        "name": "Hervannan koulu",
        "numbers": numbers(),
        "change": {"headline_share": 0.025},
        "apps": [],
    }
    muni = {
        "key": "tampere",
        "name": "Tampere",
        "signins_available": False,
        "mpassid_home_is_entra": True,
        "headline_eligible": False,
        "numbers": numbers(),
        "change": None,
        "apps": [],
        "separate_apps": [],
        "unknown_apps": [],
        "multi_account_persons": [
            {
                "name": None,
                "enabled_accounts": 2,
                "accounts": [{"tenant": "Tampere", "tenant_id": "t", "user_principal_name": None, "enabled": False}],
            },
            {
                "name": "Anna Aalto",
                "enabled_accounts": 2,
                "accounts": [
                    {
                        "tenant": "Tampere",
                        "tenant_id": "t",
                        "user_principal_name": "anna@edu.tampere.fi",
                        "enabled": True,
                    }
                ],
            },
        ],
        "schools": [school],
    }
    return {
        "id": "r",
        "report_date": "2026-12-01",
        "generated_at": NOW.isoformat(),
        "window": {"start": "2026-11-01", "end": "2026-12-01", "days": 30},
        "previous": {"id": "q", "report_date": "2026-11-30", "generated_at": (NOW - timedelta(days=1)).isoformat()},
        "scope": {"role": "RegionAdmin", "municipality": None, "school": None},
        "region": {
            "key": "seutu",
            "name": "Tampereen seutu",
            "numbers": numbers(),
            "change": {"headline_share": -0.01},
        },
        "headline": {"staff_persons": 10, "headline_persons": 5, "headline_share": 0.5},
        "separate_apps": [{"key": "helmi", "name": "Helmi", "users": 8, "municipalities": ["tampere", "nokia"]}],
        "unknown_apps": [
            {
                "app_id": "0e5a6b1c-3f2d-4b8e-9a61-5c1d2e3f4a01",
                "name": "Quizlet",
                "users": 3,
                "sso_modes": {"t1": "oidc", "t2": None, "t3": "notSupported", "t4": "brandNewMode"},
            }
        ],
        "municipalities": [muni],
    }


def mfa_context(*, with_data: bool) -> dict[str, Any]:
    row = SimpleNamespace(
        role="staff",
        total=10,
        measured=9,
        unmeasured=1,
        capable=7,
        registered=8,
        capable_share=0.7,
        registered_share=0.8,
        target=1.0,
        below_target=True,
        school="tampere/hervanta",
        municipality="tampere",
        state="stale",
        stale=True,
        source="per_user_scan",
        as_of=NOW,
        unavailable_reason="premium_required",
        used_share=0.6,
        used_users=5,
        used_known_sign_ins=40,
        used_unknown=12,
        signins_available=True,
        excluded=SimpleNamespace(disabled=1, guest=1, excluded_group=1, not_started=0),
        excluded_total=3,
    )
    pupil = SimpleNamespace(**{**vars(row), "role": "pupil", "target": 0.8, "state": "unavailable", "measured": 0,
                               "registered": None, "capable": None, "capable_share": None, "used_share": None,
                               "signins_available": False, "unavailable_reason": "permission_missing"})
    nokia = SimpleNamespace(
        **{**vars(pupil), "municipality": "nokia", "role": None, "unavailable_reason": "sync_failed"}
    )
    days = [date(2026, 11, 30), date(2026, 12, 1)] if with_data else []
    shares = {"staff": {d: 0.7 for d in days}, "pupil": {d: 0.5 for d in days}}
    summary = SimpleNamespace(
        as_of=SimpleNamespace(synced_at=NOW if with_data else None),
        rows=[row, pupil] if with_data else [],
        totals=SimpleNamespace(excluded_total=3) if with_data else None,
        targets={"staff": 1.0, "pupil": 0.8},
        missing=[SimpleNamespace(municipality="nokia", reason="premium_required", users=44),
                 SimpleNamespace(municipality="orivesi", reason="not_synced", users=0)] if with_data else [],
    )
    return {
        "school_name": "Hervannan koulu" if with_data else None,
        "summary": summary,
        "roles": {"staff": row, "pupil": pupil} if with_data else {},
        "schools": [
            {"path": "tampere/hervanta", "municipality": "tampere", "roles": {"staff": row, "pupil": pupil}},
            {"path": "tampere/kaleva", "municipality": "tampere", "roles": {"staff": row}},
        ]
        if with_data
        else [],
        "school_names": {"tampere/hervanta": "Hervannan koulu", "tampere/kaleva": "Kalevan koulu"},
        "municipality_names": {"tampere": "Tampere", "nokia": "Nokia"},
        "chart": trend_chart(
            date(2026, 11, 2), date(2026, 12, 1), shares, {"staff": 1.0, "pupil": 0.8}, ("staff", "pupil")
        ),
        "trend_days": days,
        "shares": shares,
        "missing": [
            {
                "name": "Bert Berg",
                "upn": "bert.berg@edu.tampere.fi",
                "school": "Kalevan koulu",
                "methods": ", ".join(
                    method_label("fi", m) for m in ("email", "windowsHelloForBusiness", "brandNewMethod")
                ),
                "code_href": "/admin/mfa/staff/3e4f5a6b-7c8d-4a1b-9c2d-5b0c6d7e8f90" if with_data else None,
            }
        ],
        "page_size": 50,
        "show_roles": ("staff", "pupil"),
        "csv_href": "/admin/mfa/unregistered.csv",
        "municipality_label": lambda key: {"tampere": "Tampere", "nokia": "Nokia", "orivesi": "Orivesi"}[key],
        "sources": [row, nokia] if with_data else [],
        "overdue": [overdue_end()] if with_data else [],
    }


def overdue_end() -> SimpleNamespace:
    return SimpleNamespace(id="p1", school="tampere/hervanta", display_name="Aino Äijälä (sijainen)",
                           user_principal_name="aino.aijala@sijaiset.tampere.fi", ends_at=NOW,
                           overdue_since=NOW, end_attempted_at=NOW, end_error="GraphUnavailable")


def request_context(config: Config, *, errors: bool, chosen: bool = False) -> dict[str, Any]:
    form = SimpleNamespace(
        given_name="",
        surname="Virtanen",
        email="x",
        mobile_phone="",
        start_date="1.12.2026",
        start_time="8.00",
        end_date="",
        end_time="16.00",
        person_id="",
        force_new_person=errors,
    )
    found = config.region.school("tampere/hervanta")
    assert found is not None
    return {
        "school_path": "tampere/hervanta",
        "school_name": "Hervannan koulu",
        "form": form,
        "errors": (
            {"person" if chosen else "given_name": FI["err_given_name"], "end_date": FI["err_date"]} if errors else {}
        ),
        "results": []
        if errors
        else [
            SimpleNamespace(
                given_name="Ritva",
                surname="Rönkä",
                user_principal_name="ritva.ronka@sijaiset.tampere.fi",
                email_hint="r***@example.fi",
                person_id="p",
                last_ends_at=NOW,
            )
        ],
        "q": "zzzz",
        "too_short": errors,
        "chosen": SimpleNamespace(
            given_name="Ritva", surname="Rönkä", user_principal_name="ritva.ronka@sijaiset.tampere.fi", person_id="p"
        )
        if chosen
        else None,
        "service_error": "Kunnan asetukset eivät salli kertakäyttöistä kirjautumiskoodia." if errors else None,
        "candidates": [
            {"id": "p", "name": "Ritva Rönkä", "upn": "ritva.ronka@sijaiset.tampere.fi",
             "email_hint": "r***@example.fi",
             "last": FI["last_school_at"].format(school="Hervannan koulu", end="1.12.2026")},
        ] if errors and not chosen else [],
        "key": "k",
        "policy": config.policy_for(*found),
        "hours": (7, 17),
        "latest_start": "30.1.2027",
    }


def person(*, scrubbed: bool = False, held: bool = False, periods: tuple[str, ...] = ("active", "expired")
           ) -> dict[str, Any]:
    """The person page's context in one of its states (what ``idops.web.persons`` passes)."""
    p = SimpleNamespace(
        person_id="p",
        municipality="tampere",
        given_name=None if scrubbed else "Aino",
        surname=None if scrubbed else "Mäkelä",
        display_name=None if scrubbed else "Aino Mäkelä (sijainen)",
        email=None if scrubbed else "aino@example.fi",
        mobile_phone=None,
        user_principal_name=None if scrubbed else "aino.makela@sijaiset.tampere.fi",
        entra_user_id=None,
        created_at=NOW,
        account_deleted_at=NOW if scrubbed else None,
        scrubbed_at=NOW if scrubbed else None,
        legal_hold=SimpleNamespace(at=NOW, by="ItAdmin", reason="TRE/123/2026") if held else None,
        scrub_due_at=None if ("active" in periods or held or scrubbed) else NOW + timedelta(days=90),
        periods=[SimpleNamespace(**substitute(st)) for st in periods],
    )
    live = [x for x in p.periods if x.status == "active"]
    return {"p": p, "name": "(henkilötiedot poistettu)" if scrubbed else "Aino Mäkelä (sijainen)",
            "names": {"tampere/hervanta": "Hervannan koulu"}, "open_periods": live}


def contexts(config: Config) -> dict[str, list[tuple[str, Role, dict[str, Any]]]]:
    """template → [(path, role, context)]: each state worth rendering."""
    events = [
        {"at": NOW, "action": event_label("fi", a), "actor": actor_label("fi", ACTORS[i % len(ACTORS)])}
        for i, a in enumerate(ACTIONS)
    ]
    detail = {
        "school_name": "Hervannan koulu",
        "events": events,
        "live": True,
        "latest_end": NOW,
        "max_days": 30,
        "code_token": "tok",
        "can_deliver": True,
        "end_date": "3.12.2026",
        "end_time": "16.00",
    }
    issued = SimpleNamespace(
        kind="one_time_password",
        secret="AbCd#3eFgh",
        valid_from=NOW,
        valid_until=NOW + timedelta(hours=8),
        usable_once=False,
    )
    member = SimpleNamespace(
        user_id="3e4f5a6b-7c8d-4a1b-9c2d-5b0c6d7e8f90", user_principal_name="bert.berg@edu.tampere.fi",
        display_name="Bert Berg", school="tampere/kaleva",
    )
    staff_pass = SimpleNamespace(
        access_pass=SimpleNamespace(code="AbCd#3eFgh", start_date_time=NOW, is_usable_once=True),
        valid_until=NOW + timedelta(hours=1),
    )
    bulk_page = {"school_path": "tampere/hervanta", "school_name": "Hervannan koulu", "key": "k", "max_rows": 50}
    staff_form = {
        "member": member, "school_name": "Kalevan koulu", "action": "/admin/mfa/staff/x", "once": "tok", "issued": None,
    }
    job_run = SimpleNamespace(
        id="5b0c6d7e-8f90-4a1b-9c2d-3e4f5a6b7c8d",
        started_at=NOW,
        outcome="partial",
        error="assign_licence: HTTP 400 Request_BadRequest",
    )
    from idops.web.auth import DemoChoice, DemoMunicipality

    principal = DemoChoice("principal:tampere/hervanta", "Hervannan koulu", "Principal", school="tampere/hervanta")
    return {
        "accessibility.html": [
            ("/saavutettavuus", "Principal", {"feedback_email": "a@example.fi"}),
            ("/saavutettavuus", "Principal", {"feedback_email": ""}),
        ],
        "admin_coverage.html": [
            (
                "/admin/single-login",
                "ItAdmin",
                {"v": report_view(), "explained": headline_explained("fi", report_view())},
            ),
            ("/admin/single-login", "ItAdmin", {"v": None, "explained": []}),
        ],
        "admin_jobs.html": [
            (
                "/admin/jobs",
                "ItAdmin",
                {
                    "jobs": [
                        {
                            "name": "sync_mfa",
                            "label": "MFA-synkronointi",
                            "description": FI["job_sync_mfa_desc"],
                            "last": job_run,
                            "next": NOW,
                            "can_run": True,
                        },
                        {
                            "name": "housekeeping",
                            "label": "Siivous",
                            "description": FI["job_housekeeping_desc"],
                            "last": None,
                            "next": None,
                            "can_run": False,
                        },
                        {
                            "name": "expire",
                            "label": "Päättäminen",
                            "description": FI["job_expire_desc"],
                            "last": job_run,
                            "next": NOW,
                            "running": SimpleNamespace(id="r2", started_at=NOW),
                        },
                    ],
                    "overdue": [overdue_end()],
                    "limited": True,
                },
            )
        ],
        "admin_region.html": [
            (
                "/admin/region",
                "RegionAdmin",
                {
                    "municipalities": [
                        {
                            "key": "tampere",
                            "name": "Tampere",
                            "roles": mfa_context(with_data=True)["roles"],
                            "coverage": numbers(),
                        },
                        {"key": "nokia", "name": "Nokia", "roles": {}, "coverage": None},
                    ],
                    "summary": mfa_context(with_data=True)["summary"],
                    "v": report_view(),
                    "show_roles": ("staff", "pupil"),
                },
            )
        ],
        "bulk.html": [
            ("/schools/tampere/hervanta/bulk", "Principal",
             {**bulk_page, "pasted": "", "error": None, "rows": None, "grid": [("", "", "")] * 5}),
            (
                "/schools/tampere/hervanta/bulk",
                "Principal",
                {**bulk_page, "pasted": "Aino", "error": FI["bulk_rows_count"].format(n=50), "rows": None,
                 "grid": [("Aino Äijälä", "1.12.2026", "")]},
            ),
            (
                "/schools/tampere/hervanta/bulk",
                "Principal",
                {
                    **bulk_page, "pasted": "", "error": None,
                    "rows": [
                        {"line": 1, "text": "Aino Äijälä; 1.12.2026; 5.12.2026",
                         "substitute": substitute("awaiting_approval"), "note": None},
                        {"line": 2, "text": "Bertta", "substitute": None, "note": FI["bulk_unreadable_name"]},
                    ],
                    "grid": [("Bertta", "", "")],
                },
            ),
        ],
        "admin_approvals.html": [
            (
                "/admin/approvals",
                "ItAdmin",
                {
                    "page": SimpleNamespace(
                        items=[{**substitute("awaiting_approval"), "approval_limits": ["quota", "seats"]}], next=None
                    ),
                    "names": {"tampere/hervanta": "Hervannan koulu"},
                },
            ),
            ("/admin/approvals", "ItAdmin", {"page": SimpleNamespace(items=[], next=None), "names": {}}),
        ],
        "admin_substitutes.html": [
            (
                "/admin/substitutes",
                "RegionAdmin",
                {
                    "page": SimpleNamespace(items=[substitute("failed", "assign_licence: HTTP 400")], next="c2"),
                    "school": "",
                    "status_filter": "failed",
                    "statuses": ["requested", "active", "failed"],
                    "schools": [("tampere/hervanta", "Hervannan koulu")],
                    "names": {"tampere/hervanta": "Hervannan koulu"},
                    "cursor": "c1",
                    "title_key": "region_substitutes_title",
                },
            )
        ],
        "coverage_report.html": [
            (
                "/admin/single-login/report",
                "RegionAdmin",
                {
                    "v": report_view(),
                    "explained": headline_explained("fi", report_view()),
                    "municipality_names": {"tampere": "Tampere", "nokia": "Nokia"},
                    "sso_mode_label": lambda mode: __import__("idops.web.texts", fromlist=["x"]).sso_mode_label(
                        "fi", mode
                    ),
                },
            )
        ],
        "demo_clock.html": [("/_demo/clock", "Principal", {"now": NOW, "offset_hours": 24.5})],
        "end_confirm.html": [
            ("/substitutes/x/end", "Principal", {"s": substitute("active"), "school_name": "Hervannan koulu"})
        ],
        "error.html": [
            (
                "/nosuch",
                "Principal",
                {
                    "status_code": 404,
                    "heading": FI["error_404_title"],
                    "message": FI["error_404"],
                    "request_id": "abc123",
                    "sign_in": False,
                },
            ),
            (
                "/v1/x",
                "Principal",
                {
                    "status_code": 401,
                    "heading": FI["error_401_title"],
                    "message": FI["error_401"],
                    "request_id": None,
                    "sign_in": True,
                },
            ),
        ],
        "help.html": [("/ohje", "Principal", {"targets": {"staff": 1.0, "pupil": 0.8}})],
        "person.html": [
            ("/admin/persons/p", "ItAdmin", {**person(), "retention_days": 90, "hold_error": None}),
            ("/admin/persons/p", "ItAdmin", {**person(periods=("expired",)), "retention_days": 90,
                                             "hold_error": FI["person_hold_reason_error"]}),
            ("/admin/persons/p", "RegionAdmin", {**person(held=True), "retention_days": 90, "hold_error": None}),
            ("/admin/persons/p", "ItAdmin", {**person(scrubbed=True, periods=("deleted",)), "retention_days": None,
                                             "hold_error": None}),
        ],
        "erase_confirm.html": [
            ("/admin/persons/p/erase", "ItAdmin", person()),
            ("/admin/persons/p/erase", "ItAdmin", person(periods=("revoked",))),
        ],
        "home.html": [("/", "Principal", {"schools": [("tampere/hervanta", "Hervannan koulu")]})],
        "mfa.html": [
            ("/admin/mfa", "ItAdmin", mfa_context(with_data=True)),
            ("/schools/tampere/hervanta/mfa", "Principal", mfa_context(with_data=False)),
        ],
        "request.html": [
            ("/schools/tampere/hervanta/new", "Principal", request_context(config, errors=False)),
            ("/schools/tampere/hervanta/new", "Principal", request_context(config, errors=True)),
            ("/schools/tampere/hervanta/new", "Principal", request_context(config, errors=False, chosen=True)),
            ("/schools/tampere/hervanta/new", "Principal", request_context(config, errors=True, chosen=True)),
        ],
        "school.html": [
            (
                "/schools/tampere/hervanta",
                "Principal",
                {
                    "school_path": "tampere/hervanta",
                    "school_name": "Hervannan koulu",
                    "groups": {"active": [substitute("active")], "upcoming": [], "ended": [substitute("revoked")]},
                    "seats": 3,
                    "licensed": True,
                    "licence_while": "active",
                },
            ),
            (
                "/schools/tampere/hervanta",
                "Principal",
                {
                    "school_path": "tampere/hervanta",
                    "school_name": "Hervannan koulu",
                    "groups": {"active": [], "upcoming": [],
                               "ended": [{**substitute("revoked"), "cancelled_before_start": True}]},
                    "seats": 0,
                    "licensed": True,
                    "licence_while": "requested",
                },
            ),
        ],
        "sign_in.html": [
            ("/sign-in", "Principal", {"configured": False, "signed_out": True}),
            ("/sign-in", "Principal", {"configured": True, "signed_out": False}),
        ],
        "sign_in_code.html": [
            (
                "/substitutes/x/sign-in-code",
                "Principal",
                {
                    "s": substitute("active"),
                    "school_name": "Hervannan koulu",
                    "issued": issued,
                    "groups": code_groups(issued.secret),
                    "ahead": True,
                    "title": FI["code_title"],
                },
            )
        ],
        "admin_drift.html": [
            (
                "/admin/drift",
                "ItAdmin",
                {
                    "orphans": [{"upn": "ghost@sijaiset.tampere.fi", "municipality": FI["unknown_municipality"],
                                 "first_seen": NOW, "disabled": None}],
                    "corrections": [
                        {"at": NOW, "account": "aino.makela@sijaiset.tampere.fi", "change": event_label("fi", a),
                         "concerns": FI["drift_licence_many"].format(n=8), "actor": actor_label("fi", "job:reconcile")}
                        for a in DRIFT_ACTIONS
                    ],
                    "next": "c2",
                    "cursor": "c1",
                },
            ),
            ("/admin/drift", "RegionAdmin", {"orphans": [], "corrections": [], "next": None, "cursor": ""}),
        ],
        "staff_code.html": [
            ("/admin/mfa/staff/x", "ItAdmin", {**staff_form, "reason": "", "errors": {}, "service_error": None}),
            (
                "/admin/mfa/staff/x",
                "ItAdmin",
                {
                    **staff_form,
                    "reason": "x",
                    "errors": {"reason": FI["staff_code_reason_missing"]},
                    "service_error": "Kunnan Entra-asetukset eivät salli kertakäyttöistä kirjautumiskoodia.",
                },
            ),
            (
                "/admin/mfa/staff/x",
                "ItAdmin",
                {**staff_form, "once": None, "issued": staff_pass, "groups": code_groups("AbCd#3eFgh")},
            ),
        ],
        "sign_in_demo.html": [
            (
                "/sign-in",
                "Principal",
                {
                    "municipalities": [
                        DemoMunicipality(
                            "tampere", "Tampere", [principal], DemoChoice("itadmin:tampere", "Tampere", "ItAdmin")
                        )
                    ],
                    "region": DemoChoice("region", "Tampereen seutu", "RegionAdmin"),
                    "signed_out": "all",
                },
            )
        ],
        "substitute.html": [
            (
                "/substitutes/x",
                "Principal",
                {
                    **detail,
                    "s": substitute("failed", "assign_licence: HTTP 400"),
                    "problem": problem_note("fi", "failed", "assign_licence: HTTP 400"),
                    "errors": {},
                    "service_error": None,
                },
            ),
            (
                "/substitutes/x",
                "ItAdmin",
                {
                    **detail,
                    "s": substitute("provisioning", "create_user: HTTP 503"),
                    "problem": problem_note("fi", "provisioning", "create_user: HTTP 503"),
                    "errors": {"end_date": "Sijaisuusjakso voi olla enintään 30 päivää."},
                    "service_error": "Päättynyttä sijaisuutta ei voi muuttaa.",
                },
            ),
            (
                "/substitutes/x",
                "ItAdmin",
                {
                    **detail,
                    "s": {**substitute("active"), "overdue_since": NOW, "end_attempted_at": NOW,
                          "end_error": "GraphUnavailable"},
                    "problem": None,
                    "live": True,
                    "errors": {},
                    "service_error": None,
                },
            ),
        ],
    }


LAYOUTS = {"base.html", "_macros.html"}  # rendered inside every page


@pytest.fixture(autouse=True)
def strict_templates(monkeypatch: pytest.MonkeyPatch) -> None:
    """A value a template uses but a page does not pass fails here (pages render it empty)."""
    strict = render_module.environment(strict=True)
    monkeypatch.setattr(render_module, "environment", lambda: strict)


def rendered(config: Config, lang: str) -> list[tuple[str, str]]:
    out = []
    for template, states in contexts(config).items():
        for path, role, ctx in states:
            response = render(
                request_for(config, path, role, lang), template, crumbs=[("/", "Etusivu"), (None, "Tämä")], **ctx
            )
            out.append((template, bytes(response.body).decode()))
    return out


def test_every_template_has_a_context_here(config: Config) -> None:
    templates = {p.name for p in Path(TEMPLATES).glob("*.html")} - LAYOUTS
    assert templates == set(contexts(config)), "add the new template's states to contexts()"


def test_every_template_in_finnish_has_no_english_words_or_code_names(config: Config) -> None:
    problems = {template: bad for template, html in rendered(config, "fi") if (bad := offenders(html))}
    assert not problems, problems


def test_no_graph_error_or_object_id_reaches_a_page(config: Config) -> None:
    for template, html in rendered(config, "fi"):
        assert "HTTP 400" not in html and "assign_licence" not in html and "create_user" not in html, template
        assert "Principal:o" not in html, template


def test_the_checker_catches_english_and_code_names() -> None:
    assert offenders("<p>Ajo activate käynnistetty.</p>") == ["Ajo activate käynnistetty."]
    assert offenders("<td>account_created</td>") == ["account_created"]
    assert offenders("<td>Principal</td>") == ["Principal"]
    assert offenders('<a lang="en" href="?lang=en">In English</a>') == []
    assert offenders("<p>Tapahtuma {name}</p>") == ["Tapahtuma {name}"]
    assert offenders("<td>Windows Hello for Business</td>") == []


def test_both_languages_have_the_same_keys() -> None:
    assert set(FI) == set(EN), set(FI) ^ set(EN)


def test_every_audit_action_and_job_the_code_records_has_words() -> None:
    """A new ``audit.record(action=…)`` or job without a text would show as "Muu tapahtuma" / "Ajo"."""
    from idops.substitutes.models import Status
    from jobs.registry import JOBS

    source = "\n".join(p.read_text() for p in (REPO / "idops").rglob("*.py"))
    literal = set(re.findall(r'action="([a-z_]+)"', source)) - {"store_true", "append"}  # argparse's actions
    dynamic = {f"account_{how}" for how in re.findall(r'\), "(created|restored|reused)"', source)}
    dynamic |= {f"{kind}_issued" for kind in ("temporary_access_pass", "one_time_password")}
    dynamic |= {s.value for s in (Status.EXPIRED, Status.REVOKED, Status.MISSING)} | set(DRIFT_ACTIONS)
    assert len(dynamic) >= 9 and "requested" in literal
    missing = sorted(a for a in literal | dynamic if event_label("fi", a) == FI["event_other"])
    assert not missing, missing
    assert all(job_label("fi", name) != FI["job_other"] and FI.get(f"job_{name}_desc") for name in JOBS)
