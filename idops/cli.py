"""The ``idops`` command. argparse and lazy imports keep ``idops --help`` fast (no msgraph, no FastAPI)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from idops.config import Config


def _load(args: argparse.Namespace, **overrides: Any) -> Config:
    from idops.config import ConfigError, load_config

    try:
        return load_config(args.config_dir, **overrides)
    except ConfigError as exc:
        print("idops: configuration is not valid:", file=sys.stderr)
        for p in exc.problems:
            print(f"  {p}", file=sys.stderr)
        raise SystemExit(2) from exc


def _logging(config: Config) -> None:
    from idops.kit.logging import configure_logging

    configure_logging(config.settings.logging.format, config.settings.logging.level)


def cmd_config_check(args: argparse.Namespace) -> int:
    config = _load(args, **({"demo": True} if args.demo else {}))
    if config.settings.auth.mode == "entra" and not config.settings.auth.region_admin_tenant_ids:
        print("idops: warning: idops.toml: auth.region_admin_tenant_ids is empty: no token is a region admin",
              file=sys.stderr)
    token_env = config.settings.api.metrics_token_env
    if config.metrics_access() == "token" and not os.environ.get(token_env):
        print(f"idops: warning: api.metrics = 'token' but {token_env} is not set: /metrics answers 401 to everyone",
              file=sys.stderr)
    n_schools = sum(len(m.schools) for m in config.region.municipalities)
    print(
        f"configuration OK: {config.config_dir} — {len(config.region.municipalities)} municipalities, "
        f"{len(config.region.tenants())} tenants, {n_schools} schools, {len(config.apps.apps)} apps"
    )
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
    from idops.app import create_app

    if config.settings.demo:
        _print_demo_help(config, args)
    app = create_app(config)
    uvicorn.run(app, host=args.host, port=args.port, log_config=None, proxy_headers=True, access_log=False)
    return 0


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
    from idops.jobruntime.runner import UnknownJob, run_job
    from jobs.registry import JOBS

    if args.name not in JOBS:
        print(f"idops jobs run: unknown job {args.name!r}; known: {', '.join(JOBS)}", file=sys.stderr)
        return 2
    config = _load(args)
    _logging(config)

    async def main() -> int:
        c = await start(config)
        try:
            record = await run_job(c, args.name, trigger="cli")
        except UnknownJob:
            return 2
        finally:
            await c.aclose()
        print(f"{record.name}: {record.outcome} {record.counts} {record.error or ''}".rstrip())
        return {"succeeded": 0, "skipped": 0, "partial": 1}.get(record.outcome, 1)

    return asyncio.run(main())


def cmd_scheduler(args: argparse.Namespace) -> int:
    from idops.bootstrap import start
    from idops.jobruntime.runner import publish_last_successes
    from idops.jobruntime.scheduler import start_scheduler, stop_scheduler

    config = _load(args)
    _logging(config)

    async def main() -> None:
        c = await start(config)
        await publish_last_successes(c)
        scheduler = start_scheduler(c)
        metrics = _metrics_server(c)
        try:
            await (metrics.serve() if metrics is not None else asyncio.Event().wait())
        finally:
            stop_scheduler(c, scheduler)
            await c.aclose()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
    return 0


def _metrics_server(c: Any) -> Any:
    """The scheduler's own ``/metrics`` and ``/healthz`` (``[scheduler] metrics_host``/``metrics_port``;
    access as ``[api] metrics``), served from memory by uvicorn in this event loop; None when port 0."""
    import uvicorn

    from idops.kit.metrics import metrics_app, metrics_token

    s = c.config.settings
    if not s.scheduler.metrics_port:
        return None
    app = metrics_app(c.metrics, access=c.config.metrics_access(), token=metrics_token(s.api.metrics_token_env))
    server_config = uvicorn.Config(app, host=s.scheduler.metrics_host, port=s.scheduler.metrics_port,
                                   log_config=None, access_log=False, lifespan="off")
    return uvicorn.Server(server_config)


def cmd_emulator_serve(args: argparse.Namespace) -> int:
    from idops.emulator.__main__ import serve

    serve(host=args.host, port=args.port, users_per_tenant=args.users, seed=args.seed, config_dir=args.config_dir)
    return 0


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
    check.set_defaults(func=cmd_config_check)

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
