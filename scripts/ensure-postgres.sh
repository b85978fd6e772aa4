# Sourced by ./run test: make sure a PostgreSQL server answers on 127.0.0.1:5432 and export
# DETENTE_TEST_PG, the URL the store tests use. On the CI machine the server is already
# installed (trust auth, database "test"); on a fresh Debian machine it is installed here.
: "${DETENTE_TEST_PG:=postgresql://postgres@127.0.0.1:5432/test}"

pg_up() { python3 - "$DETENTE_TEST_PG" <<'PY'
import socket, sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
try:
    socket.create_connection((u.hostname or "127.0.0.1", u.port or 5432), 2).close()
except OSError:
    sys.exit(1)
PY
}

if [ "$DETENTE_TEST_PG" != skip ] && ! pg_up; then
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    say "starting PostgreSQL"
    for v in $(ls /etc/postgresql); do as_root pg_ctlcluster --skip-systemctl-redirect "$v" main start || true; done
  else
    say "installing PostgreSQL (once)"
    apt_install postgresql
    for v in $(ls /etc/postgresql); do as_root pg_ctlcluster --skip-systemctl-redirect "$v" main start || true; done
    # A fresh server accepts local socket logins for the postgres user only: give the tests
    # their own role and database with a password for TCP.
    as_root su postgres -c "psql -qc \"DO \\\$\\\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='detente') THEN CREATE ROLE detente LOGIN CREATEDB PASSWORD 'detente'; END IF; END\\\$\\\$\"" >/dev/null
    as_root su postgres -c "createdb -O detente detente_test" 2>/dev/null || true
    DETENTE_TEST_PG=postgresql://detente:detente@127.0.0.1:5432/detente_test
  fi
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
fi
export DETENTE_TEST_PG
