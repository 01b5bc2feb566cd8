"""The ``idops`` command. argparse and lazy imports keep ``idops --help`` fast (no msgraph, no FastAPI)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import uvicorn

    from idops.config import Config
    from idops.container import Container


def _load(args: argparse.Namespace, **overrides: Any) -> Config:
    from idops.config import ConfigError, load_config

    try:
        config = load_config(args.config_dir, **overrides)
    except ConfigError as exc:
        print("idops: configuration is not valid:", file=sys.stderr)
        for p in exc.problems:
            print(f"  {p}", file=sys.stderr)
        raise SystemExit(2) from exc
    for warning in config.warnings:
        print(f"idops: warning: {warning}", file=sys.stderr)
    return config


def _logging(config: Config) -> None:
    from idops.kit.logging import configure_logging

    configure_logging(config.settings.logging.format, config.settings.logging.level)


def cmd_config_check(args: argparse.Namespace) -> int:
    config = _load(args, **({"demo": True} if args.demo else {}))
    n_schools = sum(len(m.schools) for m in config.region.municipalities)
    print(
        f"configuration OK: {config.config_dir} — {len(config.region.municipalities)} municipalities, "
        f"{len(config.region.tenants())} tenants, {n_schools} schools, {len(config.apps.apps)} apps"
    )
    if args.online:
        _logging(config)  # to stderr: the table on stdout stays clean
        return _online_check(config)
    return 0


def _online_check(config: Config) -> int:
    """Per tenant: a token (its tid) and a proof of every permission an enabled feature needs; exit 2
    when a token is wrong or a needed permission is missing."""
    from idops.bootstrap import graph_only
    from idops.graph.credentials import GraphConfigError
    from idops.graph.onboarding import check_online, render

    async def main() -> int:
        async with graph_only(config) as directories:
            results = await check_online(config, directories)
        print(render(results))
        return 2 if any(r.failed for r in results) else 0

    try:
        return asyncio.run(main())
    except GraphConfigError as exc:
        print(f"idops: {exc}", file=sys.stderr)
        return 2


def cmd_entra_permissions(args: argparse.Namespace) -> int:
    from idops.graph.permissions import FEATURES, markdown_table, permission_names

    if args.markdown:
        print(markdown_table())
        return 0
    fi = args.lang == "fi"
    chosen = [f for f in FEATURES if not args.feature or f.key in args.feature]
    for f in chosen:
        print(f"{f.key} — {f.name_fi if fi else f.name_en}")
        for perm, uses in f.grants():
            extra = [x for x in (
                "Entra ID P1/P2" if perm.premium else "",
                f"+ {perm.directory_role} role" if perm.directory_role else "",
            ) if x]
            print(f"  {perm.name}" + (f"  ({', '.join(extra)})" if extra else ""))
            for use in uses:
                print(f"      {use.why_fi if fi else use.why_en}")
        print(f"  {'ilman' if fi else 'without'}: {f.disabled_fi if fi else f.disabled_en}\n")
    print(("Myönnettävät sovellusoikeudet" if fi else "Application permissions to grant") + ": "
          + ", ".join(permission_names(chosen)))
    return 0


def cmd_entra_consent(args: argparse.Namespace) -> int:
    from idops.graph.permissions import admin_consent_url

    config = _load(args, **({"demo": True} if args.demo else {}))
    client_id = args.client_id
    for tenant, conn in config.region.tenants().items():
        munis = ", ".join(m.key for m in config.region.municipalities_of_tenant(tenant))
        cid = client_id or conn.client_id
        if cid is None:
            print(f"{tenant} ({munis}): no client_id in [graph] (give --client-id)")
            continue
        print(f"{tenant} ({munis}): {admin_consent_url(tenant, cid)}")
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from idops.bootstrap import database_url
    from idops.migrations import upgrade

    config = _load(args)
    _logging(config)
    upgrade(database_url(config))
    print("database is at the latest migration")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    overrides: dict[str, Any] = {}
    if args.demo:
        overrides["demo"] = True
    config = _load(args, **overrides)
    _logging(config)
    if taken := _port_in_use(args.host, args.port):
        print(f"idops serve: {args.host}:{args.port} is already in use ({taken}): is another idops serve "
              "or demo running? Stop it or choose another --port.", file=sys.stderr)
        return 1
    from idops.app import create_app

    if config.settings.demo:
        _print_demo_help(config, args)
    app = create_app(config)
    api = config.settings.api
    server = _graceful_server(app)(uvicorn.Config(
        app, host=args.host, port=args.port, log_config=None, access_log=False,
        proxy_headers=True, forwarded_allow_ips=api.forwarded_allow_ips, root_path=api.root_path,
        # in-flight requests (a job run with ?wait=true) get the jobs' grace; the units are handed back after
        timeout_graceful_shutdown=max(1, int(config.settings.scheduler.shutdown_grace_seconds)),
    ))
    server.run()
    return 0


def _port_in_use(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be listened on, checked before start-up: uvicorn binds only after the
    app's start-up, and a second demo's start-up waited on the first one's SQLite file without a word."""
    import socket

    if port == 0:
        return None
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


def _graceful_server(app: Any) -> type[Any]:
    import uvicorn

    class GracefulServer(uvicorn.Server):
        """uvicorn's server, telling the app's job units of SIGTERM at once (they take no more work;
        the app's shutdown then ends them within the grace). The exit is 0 — a requested stop, not a
        death by signal (uvicorn re-raises a captured signal once it has shut down)."""

        def handle_exit(self, sig: int, frame: Any) -> None:
            container = getattr(app.state, "container", None)
            if container is not None:
                container.running_units.request_stop()
            super().handle_exit(sig, frame)
            self._captured_signals.clear()

    return GracefulServer


def _print_demo_help(config: Config, args: argparse.Namespace) -> None:
    m = config.region.municipalities[0]
    school = f"{m.key}/{m.schools[0].key}"
    base = f"http://{args.host}:{args.port}"
    print(
        "\n"
        f"idops demo: API {base}/docs   pages {base}/   (SQLite + built-in Graph emulator, demo data)\n"
        "Tokens (the last word printed is the bearer token):\n"
        f"  ./dev idops dev-token --demo --role Principal --school {school}\n"
        f"  ./dev idops dev-token --demo --role ItAdmin --municipality {m.key}\n"
        "  ./dev idops dev-token --demo --role RegionAdmin\n"
        f"  TOKEN=$(./dev idops dev-token --demo --role RegionAdmin | tail -n1); "
        f"curl -H \"Authorization: Bearer $TOKEN\" {base}/v1/jobs\n",
        flush=True,
    )


def cmd_dev_token(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from idops.auth.demo import DemoRefused, DemoSigner, demo_claims

    if not args.demo:
        print("idops dev-token: demo tokens exist only in the demo: add --demo (and run idops serve --demo)",
              file=sys.stderr)
        return 2
    config = _load(args, demo=True)
    try:
        claims = demo_claims(
            config, role=args.role, now=datetime.now(UTC), school=args.school, municipality=args.municipality
        )
    except DemoRefused as exc:
        print(f"idops dev-token: refused: {exc}", file=sys.stderr)
        return 3
    except ValueError as exc:
        print(f"idops dev-token: {exc}", file=sys.stderr)
        return 2
    signer = DemoSigner.load_or_create(config.resolve_path(config.settings.data_dir))
    print(f"Demo bearer token ({args.role}, valid 8 h):\n{signer.sign(claims)}")
    return 0


def cmd_jobs_list(args: argparse.Namespace) -> int:
    from jobs.registry import JOBS

    for name, spec in JOBS.items():
        print(f"{name:22} {spec.description}")
    return 0


def cmd_jobs_run(args: argparse.Namespace) -> int:
    from idops.bootstrap import start
    from idops.jobruntime.runner import UnknownJob
    from idops.jobruntime.signals import run_until_stopped
    from jobs.registry import JOBS

    if args.name not in JOBS:
        print(f"idops jobs run: unknown job {args.name!r}; known: {', '.join(JOBS)}", file=sys.stderr)
        return 2
    config = _load(args)
    _logging(config)

    async def main() -> int:
        c = await start(config)
        try:
            record = await run_until_stopped(c, args.name, trigger="cli")
        except UnknownJob:
            return 2
        finally:
            await c.aclose()
        print(f"{record.name}: {record.outcome} {record.counts} {record.error or ''}".rstrip())
        # interrupted: stopped on request (SIGTERM); the next run resumes it
        return {"succeeded": 0, "skipped": 0, "interrupted": 0, "partial": 1}.get(record.outcome, 1)

    return asyncio.run(main())


def cmd_scheduler(args: argparse.Namespace) -> int:
    import structlog

    from idops.bootstrap import start
    from idops.jobruntime.runner import publish_last_successes
    from idops.jobruntime.scheduler import shut_down, start_scheduler
    from idops.jobruntime.signals import stop_on_signals

    config = _load(args)
    _logging(config)
    log = structlog.get_logger("idops.scheduler")

    async def main() -> None:
        c = await start(config)
        stopping = stop_on_signals(c)
        await publish_last_successes(c)
        scheduler = start_scheduler(c)
        metrics = _metrics_server(c)
        serving = asyncio.create_task(metrics.serve())
        log.info("scheduler_started", holder=c.holder)
        try:
            await stopping.wait()
            log.info("scheduler_stopping", grace_seconds=config.settings.scheduler.shutdown_grace_seconds)
        finally:
            await shut_down(c, scheduler)  # units end within the grace or are handed back; leases released
            metrics.should_exit = True  # /healthz answered until the units are done
            await serving
            await c.aclose()
        log.info("scheduler_stopped")

    asyncio.run(main())
    return 0


def _metrics_server(c: Container) -> uvicorn.Server:
    """The scheduler's own ``/metrics`` and ``/healthz`` (``[scheduler] metrics_host``/``metrics_port``;
    access as ``[api] metrics``), served from memory by uvicorn in this event loop. SIGTERM / SIGINT
    stay with ``stop_on_signals`` (uvicorn's own handlers would end the server at once, before the job
    units); the scheduler stops the server after them."""
    import contextlib

    import uvicorn

    class _Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    from idops.kit.metrics import metrics_app, metrics_token

    s = c.config.settings
    app = metrics_app(c.metrics, access=c.config.metrics_access(), token=metrics_token(s.api.metrics_token_env))
    server_config = uvicorn.Config(app, host=s.scheduler.metrics_host, port=s.scheduler.metrics_port,
                                   log_config=None, access_log=False, lifespan="off")
    return _Server(server_config)


def cmd_emulator_serve(args: argparse.Namespace) -> int:
    from idops.config import default_config_dir
    from idops.emulator.__main__ import serve

    config_dir = args.config_dir or default_config_dir(demo=True)  # the emulator serves the demo region by default
    serve(host=args.host, port=args.port, users_per_tenant=args.users, seed=args.seed, config_dir=config_dir)
    return 0


def cmd_healthcheck(args: argparse.Namespace) -> int:
    from idops.healthcheck import main as healthcheck

    return healthcheck()


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config-dir", type=Path, default=None,
        help="directory with idops.toml, region.toml, apps.toml (default: $IDOPS_CONFIG_DIR or ./config)",
    )
    p = argparse.ArgumentParser(prog="idops", description="Identity operations for the schools of a region.",
                                parents=[common])
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", parents=[common], help="run the API, pages and (if enabled) the scheduler")
    s.add_argument("--demo", action="store_true", help="SQLite + built-in Graph emulator + demo data")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.set_defaults(func=cmd_serve)

    cfg = sub.add_parser("config", parents=[common], help="configuration tools")
    cfg_sub = cfg.add_subparsers(dest="config_command", required=True)
    check = cfg_sub.add_parser("check", parents=[common], help="validate the configuration; non-zero exit on problems")
    check.add_argument("--demo", action="store_true", help="check it as the demo's (demo sign-in allowed)")
    check.add_argument("--online", action="store_true",
                       help="also obtain a token per tenant and probe every permission an enabled feature needs")
    check.set_defaults(func=cmd_config_check)

    entra = sub.add_parser("entra", parents=[common], help="Entra ID onboarding (docs/entra-setup.md)")
    entra_sub = entra.add_subparsers(dest="entra_command", required=True)
    perms = entra_sub.add_parser("permissions", parents=[common],
                                 help="the minimal Graph application permissions per feature, and why")
    perms.add_argument("--feature", action="append",
                       choices=["substitutes", "leave_dates", "one_time_password", "mfa", "single_login", "notices",
                                "helpdesk"], help="only this feature (repeatable)")
    perms.add_argument("--lang", choices=["fi", "en"], default="en")
    perms.add_argument("--markdown", action="store_true", help="the table of docs/entra-setup.md")
    perms.set_defaults(func=cmd_entra_permissions)
    consent = entra_sub.add_parser("consent-urls", parents=[common],
                                   help="the admin-consent URL of the Graph app for every tenant of the region")
    consent.add_argument("--client-id", help="the Graph app's client id (default: each tenant's [graph] client_id)")
    consent.add_argument("--demo", action="store_true", help="read the demo configuration")
    consent.set_defaults(func=cmd_entra_consent)

    db = sub.add_parser("db", parents=[common], help="database tools")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", parents=[common], help="apply migrations").set_defaults(func=cmd_db_upgrade)

    j = sub.add_parser("jobs", parents=[common], help="scheduled jobs")
    j_sub = j.add_subparsers(dest="jobs_command", required=True)
    j_sub.add_parser("list", parents=[common], help="list jobs").set_defaults(func=cmd_jobs_list)
    jr = j_sub.add_parser("run", parents=[common], help="run one job now (for cron / Kubernetes CronJob)")
    jr.add_argument("name")
    jr.set_defaults(func=cmd_jobs_run)

    sub.add_parser("scheduler", parents=[common], help="run only the scheduler (deployments with API replicas)"
                   ).set_defaults(func=cmd_scheduler)

    sub.add_parser("healthcheck", parents=[common],
                   help="the container health check: probe this container's role (serve: /healthz, "
                   "scheduler: its metrics port)").set_defaults(func=cmd_healthcheck)

    t = sub.add_parser("dev-token", parents=[common], help="print a demo bearer token (with --demo only)")
    t.add_argument("--demo", action="store_true", help="required: demo tokens exist only in the demo")
    t.add_argument("--role", required=True, choices=["Principal", "ItAdmin", "RegionAdmin"])
    t.add_argument("--school", help="municipality/school, for --role Principal")
    t.add_argument("--municipality", help="municipality key, for --role ItAdmin")
    t.set_defaults(func=cmd_dev_token)

    e = sub.add_parser("emulator", parents=[common], help="the built-in Microsoft Graph emulator")
    e_sub = e.add_subparsers(dest="emulator_command", required=True)
    es = e_sub.add_parser("serve", parents=[common], help="serve a generated region on loopback")
    es.add_argument("--users", type=int, default=400, help="users per tenant")
    es.add_argument("--seed", type=int, default=1)
    es.add_argument("--host", default="127.0.0.1")
    es.add_argument("--port", type=int, default=8765)
    es.set_defaults(func=cmd_emulator_serve)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
