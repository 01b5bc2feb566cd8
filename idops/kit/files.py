"""Files idops keeps on disk — the SQLite database, the demo's signing key and session secret — are
the owner's only: directories idops creates are 0700, files 0600, whatever the process's umask.

A directory that already exists is left as it is (it may be shared: ``/tmp``, a mounted volume); a
file of ours that an older idops created readable by others is tightened to 0600.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import structlog

log = structlog.get_logger("idops.files")

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def private_dir(path: Path) -> Path:
    """``path`` as a directory; the ones created here (it and any missing parents) are 0700."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(parents=True, exist_ok=True)
    for created in reversed(missing):
        os.chmod(created, PRIVATE_DIR)  # mkdir's mode is cut by the umask and not applied to parents
    return path


def private_file(path: Path) -> Path:
    """``path`` as an existing file readable and writable by the owner only: created empty (0600), or
    an existing one of ours tightened. Its directory is made with ``private_dir``.

    An existing file is never opened here: it may be a database this process already has open, and
    closing any descriptor of a file drops every POSIX lock the process holds on it — SQLite's locks
    included (seen as "disk I/O error" in the other connections)."""
    private_dir(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
    except FileExistsError:
        st = os.stat(path)
        if st.st_mode & 0o077 and st.st_uid == os.getuid():
            os.chmod(path, PRIVATE_FILE)
            log.warning("file_permissions_tightened", path=str(path), was=oct(st.st_mode & 0o777))
    return path


def create_once(path: Path, make: Callable[[], bytes]) -> bytes:
    """The content of ``path``, written (0600) with ``make()`` if it does not exist yet. Atomic: of
    processes racing to create it, all read the one that won."""
    private_dir(path.parent)
    if not path.exists():
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
        with os.fdopen(fd, "wb") as f:
            f.write(make())
        try:
            os.link(tmp, path)  # "create if absent" in one step: two racing commands agree on one file
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    return path.read_bytes()
