"""What idops writes to disk is the owner's only, whatever the umask: the data directory it creates
is 0700; the SQLite database (and the WAL files SQLite makes next to it), the demo's signing key and
session secret are 0600. A database file an older idops left readable by others is tightened; a
directory that already existed (it may be shared) is left alone."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from idops.bootstrap import bootstrap, database_url
from idops.config import Config
from idops.kit.files import private_file
from tests.conftest import NoDirectories


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """The usual 022: files would be 0644, directories 0755, unless idops says otherwise."""
    before = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(before)


async def test_the_data_directory_database_key_and_secret_are_the_owners_only(
    tmp_path: Path, make_config: Callable[..., Config], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IDOPS_SESSION_SECRET", raising=False)  # the demo stores a secret of its own
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    data = shared / "srv" / "var"
    config = make_config(data_dir=data, database={"url": f"sqlite+aiosqlite:///{data}/idops.db"})
    container = bootstrap(config, directories=NoDirectories())
    try:
        async with container.database.engine.connect() as conn:  # SQLite writes its WAL files now
            await conn.execute(text("CREATE TABLE probe (x INTEGER)"))
            await conn.commit()
            wal = [data / "idops.db-wal", data / "idops.db-shm"]
            assert all(p.exists() for p in wal)
            assert {p.name: mode(p) for p in wal} == {"idops.db-wal": 0o600, "idops.db-shm": 0o600}
    finally:
        await container.aclose()
    assert {p.name: mode(p) for p in data.iterdir()} == {
        "idops.db": 0o600, "demo-signing-key.pem": 0o600, "web-session-secret": 0o600,
    }
    assert mode(data) == 0o700 and mode(data.parent) == 0o700  # both created here
    assert mode(shared) == 0o755  # was there before: not ours to change


def test_an_existing_database_readable_by_others_is_tightened(
    tmp_path: Path, make_config: Callable[..., Config]
) -> None:
    db = tmp_path / "old.db"
    db.write_bytes(b"")
    db.chmod(0o644)
    folder = mode(tmp_path)
    url = database_url(make_config(database={"url": f"sqlite+aiosqlite:///{db}"}))
    assert url == f"sqlite+aiosqlite:///{db}" and mode(db) == 0o600
    assert mode(tmp_path) == folder  # the folder untouched
    private_file(db)  # idempotent
    assert mode(db) == 0o600
