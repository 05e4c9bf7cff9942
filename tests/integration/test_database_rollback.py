"""Method 5 on the lab's real PostgreSQL 15 with the real pg_dump and pg_restore: the cases P01-P15 of
cases/postgres.md (P13 is test_traffic_scale.py), the parallel and standby paths, and the playbook."""

from __future__ import annotations

import os
import shutil
import subprocess
import signal
import sys
import threading
import time
import uuid
from pathlib import Path

import psycopg2
import pytest
from conftest import REPO, run_module, run_playbook

DB_FIXTURE = REPO / "lab" / "db_fixture.py"
RESTORER_PASSWORD = (REPO / ".lab" / "restorer-password")


def restorer_env() -> dict:
    """The non-superuser's connection; its role and password file exist once db_fixture made them (a fresh lab has neither)."""
    dbf("roles")
    return {"PGUSER": "easymo_restorer", "PGPASSWORD": RESTORER_PASSWORD.read_text().strip()}


def dbf(*args: str) -> None:
    subprocess.run([sys.executable, str(DB_FIXTURE), *args], check=True, capture_output=True)


def name(prefix: str) -> str:
    return "%s_%s" % (prefix, uuid.uuid4().hex[:6])


def query(db: str, sql: str, env: dict | None = None):
    kwargs = {"dbname": db}
    if env:
        kwargs.update(user=env["PGUSER"], password=env["PGPASSWORD"])
    conn = psycopg2.connect(**kwargs)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall() if cur.description else None
    finally:
        conn.close()


def state(db: str) -> dict:
    """What "exactly as before" means here: tables, their exact counts and views."""
    tables = query(db, "SELECT schemaname || '.' || tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1")
    out = {t: query(db, "SELECT count(*), md5(string_agg(x::text, '' ORDER BY x::text)) FROM %s x" % t)[0] for (t,) in tables}
    out["views"] = query(db, "SELECT table_schema || '.' || table_name FROM information_schema.views WHERE table_schema = 'public' ORDER BY 1")
    out["columns"] = query(db, "SELECT column_name FROM information_schema.columns WHERE table_name = 'orders' ORDER BY 1")
    return out


@pytest.fixture
def dbs():
    made = []
    yield made
    for db in made:
        dbf("drop", db)
        for (other,) in query("postgres", "SELECT datname FROM pg_database WHERE datname LIKE '%s\\_%%'" % db):
            dbf("drop", other)


def backup(db: str, dest: Path, env: dict | None = None, prefix: str | None = None) -> dict:
    result = run_module("db_backup", {"db": db, "dest_dir": str(dest), "name_prefix": prefix or db}, env=env)
    assert not result.get("failed"), result.get("msg")
    return result


def restore(db: str, env: dict | None = None, check: bool = False, **args) -> dict:
    return run_module("db_restore", dict({"db": db}, **args), env=env, check=check)


def test_p03_restore_into_a_migrated_database_equals_the_backup_exactly(dbs, tmp_path):
    db = name("p03")
    dbs.append(db)
    dbf("agent-core", db, "--rows", "20000")
    taken = backup(db, tmp_path)
    before = state(db)
    dbf("bad-migration", db)
    migrated = state(db)
    assert migrated != before and migrated["views"] == [("public.order_ai_scores",)]

    result = restore(db, backup=taken["archive"], safety_dump_dir=str(tmp_path / "safety"))
    assert result["outcome"] == "restored" and not result.get("failed"), result.get("msg")
    assert state(db) == before  # the view, the new table, the new column and the new row are gone; nothing doubled
    assert query(db, "SELECT count(*), count(DISTINCT id) FROM orders")[0] == (20000, 20000)
    assert query(db, "SELECT count(*) FROM pg_constraint WHERE conrelid = 'orders'::regclass AND contype = 'p'")[0][0] == 1
    assert result["archive"]["checks"]["full_read"] == "every block read" and result["errors"] == []

    verified = run_module("db_verify", {"db": db, "manifest": taken["manifest"]})
    assert verified["passed"] is True and verified["missing_constraints"] == [] and verified["constraint_inventory"] is True

    # Idempotent: the database matches the manifest, so a second run changes nothing.
    again = restore(db, backup=taken["archive"], safety_dump_dir=str(tmp_path / "safety"))
    assert again["changed"] is False and again["outcome"] == "already_restored"


def test_p03_a_failing_restore_leaves_the_database_exactly_as_before(dbs, tmp_path):
    db = name("p03fail")
    dbs.append(db)
    dbf("agent-core", db, "--rows", "5000")
    query("postgres", "DROP ROLE IF EXISTS p03_reporting; CREATE ROLE p03_reporting NOLOGIN")
    query(db, "GRANT SELECT ON orders TO p03_reporting")
    taken = backup(db, tmp_path)
    dbf("bad-migration", db)
    query(db, "REVOKE ALL ON orders FROM p03_reporting")
    query("postgres", "DROP ROLE p03_reporting")  # the archive now grants to a role the target does not have
    migrated = state(db)
    result = restore(db, backup=taken["archive"], safety_dump_dir=str(tmp_path / "safety"))
    assert result["failed"] is True and "rolled back: the database is exactly as before" in result["msg"]
    assert result["errors"][0]["kind"] == "missing_role" and "p03_reporting" in result["errors"][0]["message"]
    assert state(db) == migrated


def test_p04_partitioned_tables_under_the_same_guarantee(dbs, tmp_path):
    db = name("p04")
    dbs.append(db)
    dbf("agent-core", db, "--rows", "5000", "--partitioned")
    taken = backup(db, tmp_path)
    before = state(db)
    dbf("bad-migration", db)
    query(db, "INSERT INTO order_events VALUES (999999, 1, now())")
    result = restore(db, backup=taken["archive"], safety_dump_dir=str(tmp_path / "safety"))
    assert result["outcome"] == "restored", result.get("msg")
    assert state(db) == before
    assert query(db, "SELECT count(*), count(DISTINCT (id, created_at)) FROM order_events")[0] == (5000, 5000)
    assert run_module("db_verify", {"db": db, "manifest": taken["manifest"]})["passed"] is True


def test_p01_format_from_content_not_name_and_plain_sql_refused(dbs, tmp_path):
    db = name("p01")
    dbs.append(db)
    dbf("agent-core", db, "--rows", "1000")
    taken = backup(db, tmp_path)
    renamed = tmp_path / "backup.dump"
    shutil.copy(taken["archive"], renamed)
    odd = tmp_path / "backup.sql"  # a custom archive under a misleading name
    shutil.copy(taken["archive"], odd)
    for path in (renamed, odd):
        plan = restore(db, check=True, backup=str(path), safety_dump_dir=str(tmp_path / "safety"))
        assert plan["archive"]["header"]["format_detected"] == "custom" and plan["outcome"] in ("planned", "already_restored")
    plain = tmp_path / "plain.dump"
    subprocess.run(["pg_dump", "-f", str(plain), db], check=True)
    refused = restore(db, backup=str(plain), safety_dump_dir=str(tmp_path / "safety"))
    assert refused["failed"] is True and "is a plain SQL dump" in refused["msg"]


def test_p02_truncated_archive_refused_before_anything_changes(dbs, tmp_path):
    db = name("p02")
    dbs.append(db)
    dbf("agent-core", db, "--rows", "5000")
    taken = backup(db, tmp_path)
    dbf("bad-migration", db)
    migrated = state(db)
    data = Path(taken["archive"]).read_bytes()
    short = tmp_path / "copy" / Path(taken["archive"]).name
    short.parent.mkdir()
    short.write_bytes(data[: int(len(data) * 0.7)])
    # The trap: --list reads only the table of contents, so it passes a truncated file.
    assert subprocess.run(["pg_restore", "--list", str(short)], capture_output=True, check=False).returncode == 0
    result = restore(db, backup=str(short), safety_dump_dir=str(tmp_path / "safety"))
    assert result["failed"] is True and "cannot be read to its end" in result["msg"] and "nothing was changed" in result["msg"]
    # With its sha256 beside it, the mismatch is caught first.
    shutil.copy(taken["archive"] + ".sha256", str(short) + ".sha256")
    result = restore(db, backup=str(short), safety_dump_dir=str(tmp_path / "safety"))
    assert result["failed"] is True and "does not match its sha256" in result["msg"]
    assert state(db) == migrated and not (tmp_path / "safety").exists()


def test_p05_to_p09_supabase_shaped_restore_as_a_non_superuser(dbs, tmp_path):
    db = name("p05")
    dbs.append(db)
    env = restorer_env()
    dbf("supabase", db, "--rows", "3000")
    query(db, "CREATE TABLE public.platform_audit (id int PRIMARY KEY); ALTER TABLE public.platform_audit OWNER TO supabase_admin;"
              " GRANT SELECT ON public.platform_audit TO easymo_restorer")
    taken = backup(db, tmp_path, env=env)
    before = state(db)
    dbf("bad-migration", db, "--as-restorer")
    query(db, "INSERT INTO auth.users (email) VALUES ('after-backup@easymo.lab')")  # the platform's own write

    result = restore(db, env=env, backup=taken["archive"], schemas=["public"], safety_dump_dir=str(tmp_path / "safety"))
    assert result["outcome"] == "restored" and result["errors"] == [], result.get("msg")
    after = state(db)
    assert {k: v for k, v in after.items() if not k.startswith("auth.")} == {k: v for k, v in before.items() if not k.startswith("auth.")}
    reasons = {s["entry"]: s["reason"] for s in result["plan"]["skipped"]}
    # P05: the extension and the table the restorer cannot own are reported, not failures.
    assert reasons["EXTENSION - pgcrypto"].startswith("extension")
    assert "owned by supabase_admin" in reasons["TABLE public platform_audit"]
    # P06: the platform schema auth is left alone (its row written after the backup is still there).
    assert reasons["TABLE auth users"].startswith("platform schema auth")
    assert query(db, "SELECT count(*) FROM auth.users WHERE email = 'after-backup@easymo.lab'")[0][0] == 1
    # P07: grants survive: anon can still read customers.
    assert query(db, "SET ROLE anon; SELECT count(*) FROM customers", env=env)[0][0] == 50
    # P08: the event trigger and the publication are skipped with a note; they still exist, untouched.
    assert reasons["EVENT TRIGGER - lab_ddl_audit"].startswith("event trigger")
    assert reasons["PUBLICATION - supabase_realtime"].startswith("publication")
    assert query(db, "SELECT count(*) FROM pg_event_trigger WHERE evtname = 'lab_ddl_audit'")[0][0] == 1
    # P09: pgcrypto lives in the excluded schema extensions: no "schema does not exist" anywhere.
    assert all(e["kind"] != "missing_schema" for e in result["errors"])

    # P06: restoring the platform schemas needs the explicit option; what this role cannot drop there is left in
    # place and named, never half-restored in silence.
    dbf("bad-migration", db, "--as-restorer")
    forced = restore(db, env=env, backup=taken["archive"], restore_platform_schemas=True, safety_dump_dir=str(tmp_path / "safety"))
    assert forced["outcome"] == "restored", forced.get("msg")
    forced_reasons = {s["entry"]: s["reason"] for s in forced["plan"]["skipped"]}
    assert "left in place: owned by supabase_auth_admin" in forced_reasons["TABLE auth users"]
    assert {"object": "auth.users", "kind": "TABLE", "owner": "supabase_auth_admin"} in forced["plan"]["left_in_place"]


def test_p10_newest_backup_before_the_deployment_by_the_archives_own_time(dbs, tmp_path):
    db = name("p10")
    dbs.append(db)
    dbf("agent-core", db, "--rows", "500")
    first = backup(db, tmp_path)
    time.sleep(1.2)
    second = backup(db, tmp_path)
    time.sleep(1.2)
    deployed_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    time.sleep(1.2)
    backup(db, tmp_path)  # taken after the deployment: never the one to restore
    os.utime(first["archive"], (time.time() + 3600, time.time() + 3600))  # the file time lies
    (tmp_path / "notes.txt").write_text("not an archive")
    plan = restore(db, check=True, backup_dir=str(tmp_path), deployed_at=deployed_at, safety_dump_dir=str(tmp_path / "safety"))
    assert plan["archive"]["path"] == second["archive"], plan.get("msg")
    assert any(u["path"].endswith("notes.txt") for u in plan["archive"]["unreadable_candidates"])
    none = restore(db, check=True, backup_dir=str(tmp_path), deployed_at="2000-01-01T00:00:00Z", safety_dump_dir=str(tmp_path))
    assert none["failed"] is True and "no archive was created before 2000-01-01T00:00:00Z" in none["msg"]


def test_p11_connected_sessions_reported_or_terminated_never_a_hang(dbs, tmp_path):
    db = name("p11")
    dbs.append(db)
    dbf("agent-core", db, "--rows", "1000")
    taken = backup(db, tmp_path)
    dbf("bad-migration", db)
    app = psycopg2.connect(dbname=db, application_name="agent-core")
    with app.cursor() as cur:
        cur.execute("BEGIN; LOCK TABLE orders IN ACCESS SHARE MODE")
    try:
        started = time.monotonic()
        refused = restore(db, backup=taken["archive"], safety_dump_dir=str(tmp_path / "safety"))
        assert refused["failed"] is True and "still connected" in refused["msg"] and "agent-core" in refused["msg"]
        assert time.monotonic() - started < 30
        done = restore(db, backup=taken["archive"], safety_dump_dir=str(tmp_path / "safety"), terminate_sessions=True)
        assert done["outcome"] == "restored" and done["sessions"]["terminated"] is True, done.get("msg")
    finally:
        app.close()


def test_p12_safety_dump_holds_the_writes_made_after_the_backup(dbs, tmp_path):
    db = name("p12")
    dbs.append(db)
    dbf("agent-core", db, "--rows", "1000")
    taken = backup(db, tmp_path)
    query(db, "INSERT INTO orders (user_id, vendor_id, total_cents, note) VALUES (1, 1, 999, 'written after the backup')")
    refused = restore(db, backup=taken["archive"])
    assert refused["failed"] is True and "No safety dump" in refused["msg"]
    result = restore(db, backup=taken["archive"], safety_dump_dir=str(tmp_path / "safety"))
    assert result["outcome"] == "restored" and result["safety_dump"].startswith(str(tmp_path / "safety"))
    assert query(db, "SELECT count(*) FROM orders WHERE note = 'written after the backup'")[0][0] == 0
    rows = subprocess.run(["pg_restore", "-f", "-", "-a", "-t", "orders", result["safety_dump"]], capture_output=True, text=True,
                          check=False).stdout
    assert "written after the backup" in rows


def test_p14_sizes_shrink_after_a_restore_and_verification_still_passes(dbs, tmp_path):
    db = name("p14")
    dbs.append(db)
    dbf("agent-core", db, "--rows", "20000")
    taken = backup(db, tmp_path)
    query(db, "UPDATE orders SET total_cents = total_cents + 1 WHERE id % 2 = 0")  # dead tuples: bigger than a fresh table
    bloated = query(db, "SELECT pg_total_relation_size('orders')")[0][0]
    restore(db, backup=taken["archive"], safety_dump_dir=str(tmp_path / "safety"))
    verified = run_module("db_verify", {"db": db, "manifest": taken["manifest"]})
    fresh = next(s["bytes"] for s in verified["sizes"] if s["table"] == "public.orders")
    assert fresh < bloated and verified["passed"] is True
    # And verification does catch a real difference: one row more.
    query(db, "INSERT INTO vendors (name) VALUES ('extra')")
    mismatch = run_module("db_verify", {"db": db, "manifest": taken["manifest"]})
    assert mismatch["failed"] is True and "public.vendors: rows 101, expected 100" in mismatch["msg"]


def test_parallel_restore_and_swap_and_a_prestaged_standby(dbs, tmp_path):
    db = name("par")
    dbs.append(db)
    dbf("agent-core", db, "--rows", "5000")
    taken = backup(db, tmp_path)
    before = state(db)
    dbf("bad-migration", db)
    result = restore(db, backup=taken["archive"], mode="parallel", jobs=2)
    assert result["outcome"] == "restored" and result["previous_database"].startswith(db + "_before_rollback_"), result.get("msg")
    assert state(db) == before and state(result["previous_database"])["views"] == [("public.order_ai_scores",)]

    # Pre-staged: a standby right after the backup, swapped in later in seconds.
    later = backup(db, tmp_path)
    prepared = restore(db, backup=later["archive"], mode="parallel", swap=False)
    assert prepared["outcome"] == "standby_prepared" and prepared["plan"]["standby"].startswith(db + "_rollback_")
    dbf("bad-migration", db)
    swapped = restore(db, backup=later["archive"], mode="standby")
    assert swapped["outcome"] == "restored" and swapped["plan"]["standby"] == prepared["plan"]["standby"], swapped.get("msg")
    assert state(db) == before
    # A standby made from another backup than the one chosen is never used.
    newest = backup(db, tmp_path)
    stale = restore(db, backup=newest["archive"], mode="standby")
    assert stale["failed"] is True and "A standby older than the chosen backup is never used" in stale["msg"]
    refused = restore("postgres", backup=newest["archive"], mode="parallel")
    assert refused["failed"] is True and "impossible for the database postgres" in refused["msg"]


def test_database_rollback_playbook_end_to_end_and_refusals(lab, tmp_path):
    """P13 and P15 through the playbook: traffic stopped until no pod is left, both databases restored and verified,
    each Deployment back at its own count; production refused without confirmation, and always in a drill."""
    env = dict(EASYMO_BACKUP_DIR=str(tmp_path), EASYMO_SUPABASE_DB_PASSWORD=restorer_env()["PGPASSWORD"],
               EASYMO_INCIDENT_DIR=str(tmp_path / "incidents"))
    subprocess.run([sys.executable, str(REPO / "lab" / "fixture.py"), "release", "good"], check=True, capture_output=True)
    dbf("supabase", "supabase_lab_m5", "--rows", "3000")
    dbf("agent-core", "agent_core_m5", "--rows", "5000")
    try:
        inventory = str(REPO / "inventories" / "lab")
        backed = run_playbook(REPO / "playbooks" / "pre_deploy_backup.yml", "-i", inventory, env=env)
        assert backed.returncode == 0, backed.stdout[-3000:]
        time.sleep(1.1)
        deployed_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        before = {"supabase_lab_m5": state("supabase_lab_m5"), "agent_core_m5": state("agent_core_m5")}
        dbf("bad-migration", "supabase_lab_m5", "--as-restorer")
        dbf("bad-migration", "agent_core_m5")
        replicas = {d.metadata.name: d.spec.replicas for d in lab.apps.list_namespaced_deployment("easymo-prod").items}

        # A truncated newest archive: refused in Step 0, before traffic is stopped.
        newest = sorted(tmp_path.glob("agent_core_m5_*.dump"))[-1]
        good_bytes = newest.read_bytes()
        newest.write_bytes(good_bytes[: len(good_bytes) // 2])
        bad = run_playbook(REPO / "playbooks" / "database_rollback.yml", "-i", inventory, "-e", "database_rollback_deployed_at=" + deployed_at, env=env)
        assert bad.returncode != 0 and "does not match its sha256" in " ".join(bad.stdout.split())
        assert {d.metadata.name: d.spec.replicas for d in lab.apps.list_namespaced_deployment("easymo-prod").items} == replicas
        newest.write_bytes(good_bytes)

        proc = run_playbook(REPO / "playbooks" / "database_rollback.yml", "-i", inventory, "-e", "database_rollback_deployed_at=" + deployed_at, env=env)
        assert proc.returncode == 0, proc.stdout[-5000:]
        assert state("supabase_lab_m5") == before["supabase_lab_m5"] and state("agent_core_m5") == before["agent_core_m5"]
        assert {d.metadata.name: d.spec.replicas for d in lab.apps.list_namespaced_deployment("easymo-prod").items} == replicas
        assert "Step 1: stop traffic" in proc.stdout and "Step 4: traffic back" in proc.stdout
        # The incident report names what was restored and where the safety dumps are (P12).
        [report] = [p.read_text() for p in (tmp_path / "incidents").glob("incident_*.md") if "Outcome: completed" in p.read_text()]
        assert "Rollback Method: Database (Method 5)" in report and "| Method 5 (Database) |" in report
        assert "- Database supabase_lab_m5: restored from %s" % tmp_path in report
        assert "safety dump: %s/safety/supabase_lab_m5_safety_" % tmp_path in report
        assert "- Database agent_core_m5: restored from" in report and "previous database kept as agent_core_m5_before_rollback_" in report

        # P15: production is refused without confirmation, and a drill against production always.
        for extra, message in ((["-e", "easymo_environment=production"], "database_rollback_confirm=true"),
                               (["-e", "easymo_environment=production", "-e", "database_rollback_confirm=true",
                                 "-e", "easymo_drill=true"], "A drill never restores production databases")):
            refused = run_playbook(REPO / "playbooks" / "database_rollback.yml", "-i", inventory,
                                   "-e", "database_rollback_deployed_at=" + deployed_at, *extra, env=env)
            assert refused.returncode != 0 and message in " ".join(refused.stdout.split())
        for secret in (env["EASYMO_SUPABASE_DB_PASSWORD"], os.environ["PGPASSWORD"]):
            assert secret not in proc.stdout + proc.stderr + bad.stdout
    finally:
        dbf("drop", "supabase_lab_m5")
        dbf("drop", "agent_core_m5")
        for (other,) in query("postgres", "SELECT datname FROM pg_database WHERE datname LIKE 'agent\\_core\\_m5\\_%'"):
            dbf("drop", other)


def test_server_killed_mid_restore_leaves_it_untouched_or_fully_restored(dbs, tmp_path):
    """The lab's PostgreSQL is stopped like a crash (immediate shutdown) while the restore's COPY runs, then started
    again: the database is either exactly as before or exactly the backup, and the module says which."""
    db = name("kill")
    dbs.append(db)
    dbf("agent-core", db, "--rows", "400000")
    taken = backup(db, tmp_path)
    restored_state = state(db)
    dbf("bad-migration", db)
    migrated = state(db)
    outcome: dict = {}
    worker = threading.Thread(target=lambda: outcome.update(
        restore(db, backup=taken["archive"], safety_dump_dir=str(tmp_path / "safety"))))
    worker.start()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        busy = query("postgres", "SELECT count(*) FROM pg_stat_activity WHERE datname = '%s' AND query LIKE 'COPY public.%%FROM stdin%%'" % db)
        if busy[0][0]:
            break
        time.sleep(0.02)
    else:
        pytest.fail("the restore's COPY never showed up")
    pid = int((REPO / ".lab" / "pg" / "data" / "postmaster.pid").read_text().split()[0])
    os.kill(pid, signal.SIGQUIT)  # immediate shutdown: no checkpoint, crash recovery on the next start
    for _attempt in range(200):
        try:
            os.kill(pid, 0)
            time.sleep(0.05)
        except ProcessLookupError:
            break
    subprocess.run([sys.executable, str(REPO / "lab" / "labctl.py"), "up"], check=True, capture_output=True)
    worker.join(240)
    assert outcome.get("failed") is True, outcome.get("msg")
    now = state(db)
    if now == migrated:
        assert "was rolled back: the database is exactly as before" in outcome["msg"]
    else:
        assert now == restored_state and "fully restored" in outcome["msg"]
    assert outcome["errors"] and outcome["errors"][0]["kind"] in ("connection", "other")
