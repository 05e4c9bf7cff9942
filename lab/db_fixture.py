#!/usr/bin/env python3
"""Method 5's databases on the lab's real PostgreSQL.

  db_fixture.py supabase <db> [--rows N]    a Supabase-shaped database, restored by a non-superuser
  db_fixture.py agent-core <db> [--rows N]  the agent-core database (users, vendors, orders, agent_sessions, agent_fallbacks)
  db_fixture.py bad-migration <db>          the release's migration: a new column, a view and a table on orders, new rows
  db_fixture.py drop <db>
  db_fixture.py roles                       only the roles (and the restorer's password file)

Supabase-shaped means what breaks restores there: the restoring role (`easymo_restorer`, like Supabase's `postgres`)
is not a superuser; NOLOGIN platform roles own `auth` and `storage`; API roles `anon`, `authenticated` and
`service_role` have grants; an extension lives in `extensions`; an event trigger and a publication belong to the
superuser. The restorer's password is in .lab/restorer-password (the lab's own secret).
"""

from __future__ import annotations

import argparse
import contextlib
import secrets
import sys
from pathlib import Path

import psycopg2
from psycopg2 import sql

STATE = Path(__file__).resolve().parent.parent / ".lab"
RESTORER = "easymo_restorer"
PLATFORM_ROLES = ("supabase_admin", "supabase_auth_admin", "supabase_storage_admin")
API_ROLES = ("anon", "authenticated", "service_role")


@contextlib.contextmanager
def admin(dbname: str = "postgres"):
    """An autocommit superuser connection (psycopg2's `with conn` would open a transaction, even in autocommit)."""
    conn = psycopg2.connect(dbname=dbname)
    conn.autocommit = True
    try:
        yield conn
    finally:
        conn.close()


def restorer_password() -> str:
    path = STATE / "restorer-password"
    if not path.exists():
        STATE.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(18))
        path.chmod(0o600)
    return path.read_text().strip()


def ensure_roles() -> None:
    with admin() as conn, conn.cursor() as cur:
        for role in PLATFORM_ROLES + API_ROLES:
            cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
            if not cur.fetchone():
                cur.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
        cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (RESTORER,))
        verb = "ALTER" if cur.fetchone() else "CREATE"
        cur.execute(sql.SQL(verb + " ROLE {} LOGIN NOSUPERUSER CREATEDB PASSWORD %s").format(sql.Identifier(RESTORER)),
                    (restorer_password(),))
        # Like Supabase's postgres: it may grant to the API roles.
        for role in API_ROLES:
            cur.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(role), sql.Identifier(RESTORER)))


def create_database(name: str, owner: str | None = None) -> None:
    with admin() as conn, conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if cur.fetchone():
            drop(name)
        cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)) +
                    (sql.SQL(" OWNER {}").format(sql.Identifier(owner)) if owner else sql.SQL("")))


def drop(name: str) -> None:
    with admin() as conn, conn.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
        cur.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


APP_TABLES = """
CREATE TABLE users (id bigserial PRIMARY KEY, phone text NOT NULL UNIQUE, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE vendors (id bigserial PRIMARY KEY, name text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE orders (id bigserial PRIMARY KEY, user_id bigint NOT NULL REFERENCES users (id),
                     vendor_id bigint NOT NULL REFERENCES vendors (id), total_cents integer NOT NULL,
                     note text NOT NULL DEFAULT '', created_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX orders_user_id ON orders (user_id);
CREATE INDEX orders_created_at ON orders (created_at);
CREATE TABLE agent_sessions (id bigserial PRIMARY KEY, user_id bigint NOT NULL REFERENCES users (id),
                             status text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE agent_fallbacks (id bigserial PRIMARY KEY, user_id text NOT NULL, reason text NOT NULL,
                              created_at timestamptz NOT NULL DEFAULT now());
"""


def fill(cur, rows: int) -> None:
    """About `rows` orders, with users, vendors, sessions and fallbacks in proportion; the same data every time."""
    users, vendors = max(10, rows // 10), max(5, rows // 200)
    cur.execute("INSERT INTO users (phone) SELECT '+2507' || lpad(g::text, 9, '0') FROM generate_series(1, %s) g", (users,))
    cur.execute("INSERT INTO vendors (name) SELECT 'vendor ' || g FROM generate_series(1, %s) g", (vendors,))
    cur.execute("""INSERT INTO orders (user_id, vendor_id, total_cents, note, created_at)
                   SELECT 1 + (g::bigint * 7919) %% %s, 1 + (g::bigint * 104729) %% %s, 500 + (g * 31) %% 20000,
                          repeat(md5(g::text), 2), now() - make_interval(mins => g %% 4000)
                   FROM generate_series(1, %s) g""", (users, vendors, rows))
    cur.execute("""INSERT INTO agent_sessions (user_id, status, updated_at)
                   SELECT 1 + (g * 13) %% %s, CASE WHEN g %% 7 = 0 THEN 'active' ELSE 'completed' END,
                          now() - make_interval(mins => CASE WHEN g %% 7 = 0 THEN g %% 30 ELSE g %% 900 END)
                   FROM generate_series(1, %s) g""", (users, max(10, rows // 4)))
    cur.execute("""INSERT INTO agent_fallbacks (user_id, reason, created_at)
                   SELECT 'u-' || (g %% 3000), (ARRAY['error','timeout','low_confidence'])[1 + g %% 3],
                          now() - make_interval(mins => g %% 1440) FROM generate_series(1, %s) g""", (max(10, rows // 5),))


def supabase(name: str, rows: int) -> None:
    ensure_roles()
    create_database(name)
    with admin(name) as conn, conn.cursor() as cur:
        # Platform objects, owned by roles the restorer cannot become.
        cur.execute("CREATE SCHEMA extensions")
        cur.execute("CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA extensions")
        cur.execute("CREATE SCHEMA auth AUTHORIZATION supabase_auth_admin")
        cur.execute("CREATE TABLE auth.users (id uuid PRIMARY KEY DEFAULT extensions.gen_random_uuid(), email text)")
        cur.execute("ALTER TABLE auth.users OWNER TO supabase_auth_admin")
        cur.execute("INSERT INTO auth.users (email) SELECT 'user' || g || '@easymo.lab' FROM generate_series(1, 20) g")
        cur.execute("CREATE SCHEMA storage AUTHORIZATION supabase_storage_admin")
        # As on Supabase, the restoring role can read the platform schemas (so it can back them up), not own them.
        cur.execute("GRANT USAGE ON SCHEMA auth, storage, extensions TO %s" % RESTORER)
        cur.execute("GRANT SELECT ON auth.users TO %s" % RESTORER)
        cur.execute("""CREATE FUNCTION public.lab_ddl_audit() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN END $$""")
        cur.execute("CREATE EVENT TRIGGER lab_ddl_audit ON ddl_command_end EXECUTE FUNCTION public.lab_ddl_audit()")
        cur.execute("ALTER FUNCTION public.lab_ddl_audit() OWNER TO supabase_admin")
        cur.execute("GRANT ALL ON SCHEMA public TO %s" % RESTORER)
        cur.execute("GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role")
    conn = psycopg2.connect(dbname=name, user=RESTORER, password=restorer_password())
    with conn, conn.cursor() as cur:
        cur.execute(APP_TABLES)
        cur.execute("CREATE TABLE customers (id bigserial PRIMARY KEY, name text NOT NULL)")
        cur.execute("INSERT INTO customers (name) SELECT 'customer ' || g FROM generate_series(1, 50) g")
        cur.execute("GRANT SELECT ON customers TO anon")
        cur.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO service_role")
        fill(cur, rows)
        cur.execute("ANALYZE")
    conn.close()
    with admin(name) as conn, conn.cursor() as cur:
        cur.execute("CREATE PUBLICATION supabase_realtime FOR TABLE public.orders")


def agent_core(name: str, rows: int, partitioned: bool = False) -> None:
    create_database(name)
    with admin(name) as conn, conn.cursor() as cur:
        cur.execute(APP_TABLES)
        if partitioned:
            # Events by month, partitioned; what P04 restores under the same guarantee as plain tables.
            cur.execute("""CREATE TABLE order_events (id bigint NOT NULL, order_id bigint NOT NULL REFERENCES orders (id),
                           created_at timestamptz NOT NULL, PRIMARY KEY (id, created_at)) PARTITION BY RANGE (created_at)""")
            cur.execute("CREATE TABLE order_events_old PARTITION OF order_events FOR VALUES FROM (MINVALUE) TO ('2026-01-01')")
            cur.execute("CREATE TABLE order_events_new PARTITION OF order_events FOR VALUES FROM ('2026-01-01') TO (MAXVALUE)")
        fill(cur, rows)
        if partitioned:
            cur.execute("""INSERT INTO order_events SELECT g, 1 + g %% %s, TIMESTAMPTZ '2025-06-01' + make_interval(days => g %% 400)
                           FROM generate_series(1, %s) g""", (rows, rows))
        cur.execute("ANALYZE")


BAD_MIGRATION = """
ALTER TABLE orders ADD COLUMN ai_score numeric;
CREATE VIEW order_ai_scores AS SELECT id, ai_score FROM orders;
CREATE TABLE order_ai_events (id bigserial PRIMARY KEY, order_id bigint NOT NULL REFERENCES orders (id), payload text);
INSERT INTO orders (user_id, vendor_id, total_cents, note, ai_score) VALUES (1, 1, 4200, 'written by v2.0', 0.93);
INSERT INTO order_ai_events (order_id, payload) SELECT max(id), 'scored' FROM orders;
"""


def bad_migration(name: str, user: str | None = None) -> None:
    kwargs = {"dbname": name}
    if user == RESTORER:
        kwargs.update(user=RESTORER, password=restorer_password())
    conn = psycopg2.connect(**kwargs)
    with conn, conn.cursor() as cur:
        cur.execute(BAD_MIGRATION)
    conn.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["supabase", "agent-core", "bad-migration", "drop", "roles"])
    parser.add_argument("db", nargs="?")
    parser.add_argument("--rows", type=int, default=100000)
    parser.add_argument("--partitioned", action="store_true")
    parser.add_argument("--as-restorer", action="store_true", help="bad-migration: run it as the non-superuser")
    args = parser.parse_args(argv[1:])
    if args.command == "roles":
        ensure_roles()
        return 0
    if not args.db:
        parser.error("%s needs the database name" % args.command)
    if args.command == "supabase":
        supabase(args.db, args.rows)
    elif args.command == "agent-core":
        agent_core(args.db, args.rows, args.partitioned)
    elif args.command == "bad-migration":
        bad_migration(args.db, RESTORER if args.as_restorer else None)
    else:
        drop(args.db)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
