"""The unit tests' guard (``tests/unit/conftest.py``): a unit test that opens a socket, connects, reaches
PostgreSQL or starts a process fails — even when the code under test catches the error — and a unit test's
database is SQLite whatever ``IDOPS_TEST_DATABASE_URL`` says."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys

import psycopg
import pytest

from idops.kit.db import Database
from tests.unit.conftest import LeftTheProcess, forbid_io


def test_a_tcp_or_udp_socket_is_refused_and_recorded() -> None:
    with forbid_io() as tried:
        with pytest.raises(LeftTheProcess, match="AF_INET socket"):
            socket.socket()
        with pytest.raises(LeftTheProcess, match="AF_INET6 socket"):
            socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        with pytest.raises(LeftTheProcess, match="AF_INET socket"):
            socket.create_connection(("127.0.0.1", 9))
    assert len(tried) == 3


def test_a_connection_on_any_socket_is_refused() -> None:
    with forbid_io() as tried:
        a, b = socket.socketpair()  # in-process, as every event loop's self-pipe: allowed
        with a, b, pytest.raises(LeftTheProcess, match=r"socket\.connect"):
            a.connect("/run/postgresql/.s.PGSQL.5432")
    assert tried == ["socket.connect('/run/postgresql/.s.PGSQL.5432')"]


async def test_asyncio_tcp_connections_and_servers_are_refused() -> None:
    with forbid_io() as tried:
        with pytest.raises(LeftTheProcess, match="asyncio create_connection"):
            await asyncio.open_connection("127.0.0.1", 5432)
        with pytest.raises(LeftTheProcess, match="asyncio create_server"):
            await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        await asyncio.sleep(0)  # the loop itself still runs
    assert len(tried) == 2


async def test_postgresql_is_refused_before_libpq_opens_its_socket() -> None:
    with forbid_io() as tried:
        with pytest.raises(LeftTheProcess, match=r"AsyncConnection\.connect"):
            await psycopg.AsyncConnection.connect("postgresql://postgres@127.0.0.1:55432/postgres")
        with pytest.raises(LeftTheProcess, match=r"psycopg\.connect"):
            psycopg.connect("postgresql://postgres@127.0.0.1:55432/postgres")
    assert len(tried) == 2


def test_child_processes_are_refused() -> None:
    with forbid_io() as tried:
        with pytest.raises(LeftTheProcess, match=r"subprocess\.Popen"):
            subprocess.run([sys.executable, "-c", "pass"], check=True)
        with pytest.raises(LeftTheProcess, match=r"os\.fork"):
            os.fork()
    assert len(tried) == 2


async def test_asyncio_child_processes_are_refused() -> None:
    with forbid_io() as tried, pytest.raises(LeftTheProcess, match=r"subprocess\.Popen"):
        await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    assert len(tried) == 1


def test_a_unit_test_that_catches_the_error_still_fails(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        "from tests.unit.conftest import pytest_runtest_call, pytest_runtest_setup, pytest_runtest_teardown\n"
    )
    pytester.makepyfile(
        """
        import socket

        def test_hides_a_connection():
            try:
                socket.create_connection(("127.0.0.1", 55432))
            except Exception:
                pass

        def test_stays_inside():
            assert sum([1, 2]) == 3
        """
    )
    result = pytester.runpytest_inprocess(*(f"-pno:{p}" for p in ("xdist", "cacheprovider", "playwright", "asyncio")))
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*unit test call left the process (and the error was caught)*AF_INET socket*"])


async def test_the_unit_database_is_sqlite_whatever_the_environment_says(database_url: str, db: Database) -> None:
    assert database_url.startswith("sqlite+aiosqlite:///")
    assert db.engine.dialect.name == "sqlite"
