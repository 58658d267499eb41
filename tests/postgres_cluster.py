"""A private PostgreSQL cluster on a free loopback port, for tests and benchmarks.

The suite runs its storage, search, CLI and crawl tests on PostgreSQL as well as
SQLite, against a real server, never a mock. ``.ci/run`` starts one cluster for
the whole run (``python3 -m tests.postgres_cluster start DIR`` prints its admin URL,
exported as ``SILKROAD_TEST_POSTGRES``) and stops it in a trap; without that
variable the test session starts its own from the installed binaries. Each test
gets a database of its own, dropped afterwards.

``initdb`` refuses to run as root, so as root the cluster belongs to the
``postgres`` system user. Durability is off (fsync, synchronous commit): a
test cluster is thrown away, and it makes CREATE DATABASE and commits fast.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

ADMIN_USER = "silkroad"
ENV_URL = "SILKROAD_TEST_POSTGRES"


def pg_binary(name: str) -> str | None:
    """``name`` from PATH, else from the newest /usr/lib/postgresql/*/bin (Debian)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return candidates[-1] if candidates else None


def available() -> bool:
    return all(pg_binary(name) for name in ("initdb", "pg_ctl"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_owner(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@dataclass(frozen=True)
class Cluster:
    base: Path
    port: int

    @property
    def data(self) -> Path:
        return self.base / "data"

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://{ADMIN_USER}@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        stop_cluster(self.base)


def start_cluster(base: Path | None = None) -> Cluster:
    """initdb + pg_ctl start in ``base`` (a new temporary folder by default)."""
    base = Path(base or tempfile.mkdtemp(prefix="silkroad-pg-"))
    base.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    os.chmod(base, 0o755)
    initdb, pg_ctl = pg_binary("initdb"), pg_binary("pg_ctl")
    if initdb is None or pg_ctl is None:
        raise RuntimeError("PostgreSQL is not installed (no initdb/pg_ctl)")
    data = base / "data"
    subprocess.run(_as_owner([initdb, "-D", str(data), "-U", ADMIN_USER, "--auth=trust",
                              "-E", "UTF8", "--locale=C.UTF-8"]),
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    port = _free_port()
    options = (f"-p {port} -k {base} -h 127.0.0.1 -c fsync=off -c synchronous_commit=off "
               "-c full_page_writes=off -c max_connections=200")
    subprocess.run(_as_owner([pg_ctl, "-D", str(data), "-o", options,
                              "-l", str(base / "server.log"), "-w", "-t", "60", "start"]),
                   check=True, stdout=subprocess.DEVNULL)
    (base / "port").write_text(str(port))
    return Cluster(base, port)


def stop_cluster(base: Path) -> None:
    pg_ctl = pg_binary("pg_ctl")
    data = Path(base) / "data"
    if pg_ctl and (data / "postmaster.pid").exists():
        subprocess.run(_as_owner([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"]),
                       check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    shutil.rmtree(base, ignore_errors=True)


def _admin_connection(admin_url: str):  # type: ignore[no-untyped-def]
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(admin_url)
    return psycopg.connect(host=url.host, port=url.port, user=url.username,
                           dbname=url.database, autocommit=True, connect_timeout=10)


def create_database(admin_url: str, name: str | None = None) -> str:
    """A new empty database on the server; returns its URL."""
    from sqlalchemy.engine import make_url

    name = name or "t_" + uuid.uuid4().hex[:16]
    with _admin_connection(admin_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_database(admin_url: str, url: str) -> None:
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    with _admin_connection(admin_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main(argv: list[str]) -> int:
    """``start DIR`` prints the admin URL; ``stop DIR`` stops and removes it."""
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        print("usage: python3 -m tests.postgres_cluster start|stop DIR", file=sys.stderr)
        return 2
    if argv[0] == "start":
        print(start_cluster(Path(argv[1])).admin_url)
    else:
        stop_cluster(Path(argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
