"""Unit tests stay inside the process: no TCP/UDP socket, no connection, no database server, no child
process. Every phase of every test under ``tests/unit`` (fixture set-up, the call, teardown) runs under
``forbid_io()``: reaching out raises ``LeftTheProcess`` where it happens, and if the code under test swallows
that, the phase fails anyway — a unit test that quietly reaches the emulator or PostgreSQL cannot hide.
Such a test belongs in ``tests/integration``.

A unit test that needs a database gets SQLite, whatever ``IDOPS_TEST_DATABASE_URL`` says: ``database_url``
is overridden here, so ``clean_db``, ``db``, ``uow``, ``make_config``, ``config`` and ``api`` of
``tests/conftest.py`` all stand on a migrated SQLite file of this worker.
"""

from __future__ import annotations

import asyncio
import os
import platform
import socket
import subprocess
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import psycopg
import pytest

from idops.migrations import upgrade

INET = (socket.AF_INET, socket.AF_INET6)

# The standard library asks ``uname -p`` once per process for ``platform.processor()``; azure.identity does
# that when it is first imported (its user agent). Ask now, before any test runs, not inside the guard.
platform.processor()
# urllib3 opens an AF_INET6 socket at import to learn whether the host has IPv6; msal (under azure.identity's
# credentials) imports it lazily, in whichever test first builds a credential. Import it now.
import urllib3  # noqa: E402, F401


class LeftTheProcess(RuntimeError):
    """A unit test opened a network socket, connected somewhere or started a process."""


# Recorders of the active guards, innermost last: a violation is charged to the innermost only, so a
# test of the guard can nest one inside the guard of its own phase.
_recorders: list[list[str]] = []
_originals: list[tuple[Any, str, Any]] = []
_INHERITED = object()  # the patched name was not the owner's own (``socket.socket.connect`` is ``_socket``'s)


def _refuse(what: str) -> NoReturn:
    _recorders[-1].append(what)
    raise LeftTheProcess(f"a unit test must stay in its process, but it tried {what}; "
                         "a test that needs this belongs in tests/integration")


def _socket_init(original: Callable[..., None]) -> Callable[..., None]:
    def init(self: socket.socket, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        family = self.family
        if family in INET:  # an AF_UNIX socketpair (every event loop's self-pipe) is in-process
            self.close()
            _refuse(f"to open a {family.name} socket")

    return init


def _refusing(what: str) -> Callable[..., NoReturn]:
    def refuse(*args: Any, **kwargs: Any) -> NoReturn:
        shown = ", ".join(repr(a) for a in (*args[1:4], *kwargs.values()) if isinstance(a, str | tuple | list | int))
        _refuse(f"{what}({shown})")

    return refuse


def _patches() -> list[tuple[Any, str, Any]]:
    loop = asyncio.base_events.BaseEventLoop
    refused: list[tuple[Any, str, str]] = [
        (socket.socket, "connect", "socket.connect"),
        (socket.socket, "connect_ex", "socket.connect_ex"),
        (loop, "create_connection", "asyncio create_connection"),
        (loop, "create_server", "asyncio create_server"),
        (subprocess.Popen, "__init__", "subprocess.Popen"),
        (os, "fork", "os.fork"),
        (os, "system", "os.system"),
        (os, "posix_spawn", "os.posix_spawn"),
        (os, "posix_spawnp", "os.posix_spawnp"),
    ]
    patches: list[tuple[Any, str, Any]] = [(owner, name, _refusing(what)) for owner, name, what in refused]
    patches.append((socket.socket, "__init__", _socket_init(socket.socket.__init__)))
    # psycopg connects in libpq (C), past Python's socket module: refuse it by name.
    for cls in (psycopg.Connection, psycopg.AsyncConnection):
        patches.append((cls, "connect", classmethod(_refusing(f"{cls.__name__}.connect"))))
    patches.append((psycopg, "connect", _refusing("psycopg.connect")))  # an alias bound at import
    return patches


@contextmanager
def forbid_io() -> Iterator[list[str]]:
    """Refuse sockets, connections and processes inside the block; yields what was tried (also what the
    code under test caught). Nests: the innermost guard is charged."""
    if not _recorders:
        for owner, name, replacement in _patches():
            _originals.append((owner, name, vars(owner).get(name, _INHERITED)))
            setattr(owner, name, replacement)
    tried: list[str] = []
    _recorders.append(tried)
    try:
        yield tried
    finally:
        _recorders.pop()
        if not _recorders:
            while _originals:
                owner, name, original = _originals.pop()
                if original is _INHERITED:
                    delattr(owner, name)
                else:
                    setattr(owner, name, original)


def _guarded(phase: str) -> Generator[None, Any, Any]:
    with forbid_io() as tried:
        result = yield
    if tried:
        pytest.fail(f"unit test {phase} left the process (and the error was caught): {'; '.join(tried)}; "
                    "move the test to tests/integration", pytrace=False)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, Any, Any]:
    return (yield from _guarded("set-up"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    return (yield from _guarded("call"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, Any, Any]:
    return (yield from _guarded("teardown"))


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated SQLite file per test worker, also when ``IDOPS_TEST_DATABASE_URL`` names PostgreSQL."""
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('unit-db') / 'idops.db'}"
    upgrade(url)
    return url
