"""Two real PostgreSQL 15 clusters on loopback: a primary and a synchronous streaming standby.

Started by the test in a temporary directory (as the ``postgres`` OS user when the tests run as
root, since PostgreSQL refuses to run as root), and always stopped and removed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from detente.devtools.cluster import free_port


def _binaries() -> Path:
    """PostgreSQL 15's server binaries (Debian's layout), or the newest installed, for a
    machine where ``./run test`` installed another version."""
    preferred = Path("/usr/lib/postgresql/15/bin")
    if (preferred / "initdb").exists():
        return preferred
    found = sorted(
        (p for p in Path("/usr/lib/postgresql").glob("*/bin/initdb") if p.parts[-3].isdigit()),
        key=lambda p: int(p.parts[-3]),
    )
    return found[-1].parent if found else preferred


BIN = _binaries()


def _as_postgres(args: list[str], **kw: object) -> subprocess.CompletedProcess[bytes]:
    if os.geteuid() == 0:
        args = ["runuser", "-u", "postgres", "--", *args]
    return subprocess.run(args, check=True, capture_output=True, timeout=120, **kw)  # type: ignore[call-overload,no-any-return]


class PgPair:
    """``primary`` and ``standby`` data directories; ``url`` names both hosts (libpq multi-host,
    ``target_session_attrs=read-write``), as a node's config.toml would."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="detente-pgha-"))
        os.chmod(self.root, 0o755)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self.ports = {"primary": free_port(), "standby": free_port()}
        self.dirs = {name: self.root / name for name in self.ports}

    def url(self, db: str = "postgres") -> str:
        hosts = "&".join(f"host=127.0.0.1:{p}" for p in self.ports.values())
        return f"postgresql://postgres@/{db}?{hosts}&target_session_attrs=read-write&connect_timeout=2"

    def one(self, name: str, db: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.ports[name]}/{db}"

    def _conf(self, name: str, extra: str) -> None:
        with open(self.dirs[name] / "postgresql.auto.conf", "a") as f:
            f.write(
                f"port = {self.ports[name]}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.root}'\n{extra}"
            )

    def start(self) -> None:
        primary, standby = self.dirs["primary"], self.dirs["standby"]
        _as_postgres([str(BIN / "initdb"), "-D", str(primary), "-U", "postgres", "--auth=trust", "-N"])
        with open(primary / "pg_hba.conf", "a") as f:
            f.write("host replication postgres 127.0.0.1/32 trust\n")
        self._conf(
            "primary",
            "wal_level = replica\nmax_wal_senders = 4\nfsync = on\n"
            "synchronous_standby_names = 'standby1'\nsynchronous_commit = on\n",
        )
        self.pg_ctl("primary", "start")
        _as_postgres(
            [str(BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(self.ports["primary"]), "-U", "postgres",
             "-D", str(standby), "-R", "-X", "stream"]
        )  # fmt: skip
        self._conf(
            "standby",
            f"primary_conninfo = 'host=127.0.0.1 port={self.ports['primary']} user=postgres "
            "application_name=standby1'\nsynchronous_standby_names = ''\n",
        )
        self.pg_ctl("standby", "start")
        if not self._synchronous():
            raise RuntimeError("the standby did not become synchronous")

    def _synchronous(self) -> bool:
        engine = create_engine(self.one("primary"))
        try:
            for _ in range(100):
                with engine.connect() as c:
                    state = c.execute(text("SELECT sync_state FROM pg_stat_replication")).scalar()
                if state == "sync":
                    return True
                time.sleep(0.1)
            return False
        finally:
            engine.dispose()

    def pg_ctl(self, name: str, *args: str) -> None:
        _as_postgres(
            [
                str(BIN / "pg_ctl"),
                "-D",
                str(self.dirs[name]),
                "-w",
                "-l",
                str(self.root / f"{name}.log"),
                *args,
            ]
        )

    def fail_over(self) -> None:
        """The primary dies at once (no clean shutdown), then the standby is promoted."""
        self.pg_ctl("primary", "stop", "-m", "immediate")
        self.pg_ctl("standby", "promote")

    def create_database(self, name: str) -> None:
        engine = create_engine(self.one("primary"), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as c:
                c.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            engine.dispose()

    def close(self) -> None:
        for name in self.dirs:
            if (self.dirs[name] / "postmaster.pid").exists():
                with contextlib.suppress(subprocess.CalledProcessError):
                    self.pg_ctl(name, "stop", "-m", "immediate")
        shutil.rmtree(self.root, ignore_errors=True)
