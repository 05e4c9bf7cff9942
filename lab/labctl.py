#!/usr/bin/env python3
"""Start and stop the local lab: a real Kubernetes control plane with KWOK nodes, PostgreSQL, stand-ins.

    labctl.py up      start everything (nothing to do when it already runs)
    labctl.py down    stop what the lab started, by pid
    labctl.py status  what runs

State lives in .lab/ (git-ignored): PKI, kubeconfig, env (shell exports), logs/, pids/, data.
Every process binds 127.0.0.1 on a free port.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

LAB_DIR = Path(__file__).resolve().parent
REPO = LAB_DIR.parent
STATE = Path(os.environ.get("EASYMO_LAB_STATE", REPO / ".lab"))
PKI, LOGS, PIDS = STATE / "pki", STATE / "logs", STATE / "pids"
KUBECONFIG = STATE / "kubeconfig"
PG_OS_USER = "easymo-lab"
PG_BIN = Path(os.environ.get("LAB_PG_BIN", "/usr/lib/postgresql/15/bin"))
NODES = ["kwok-node-0", "kwok-node-1", "kwok-node-2"]
COMPONENTS = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "postgres", "standins", "supabase"]
# The lab's Supabase project (20 lowercase letters, like a real ref; not production's).
SUPABASE_PROJECT_REF = "easymolabprojectrefx"


def say(msg: str) -> None:
    print("[lab %s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


class LabError(Exception):
    pass


# ---------------------------------------------------------------- helpers

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_versions() -> dict[str, str]:
    versions = {}
    for line in (LAB_DIR / "versions.env").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            k, v = line.split("=", 1)
            versions[k] = v
    return versions


def binaries() -> dict[str, Path]:
    out = subprocess.run(["bash", str(LAB_DIR / "build.sh")], stdout=subprocess.PIPE, check=False)
    if out.returncode != 0:
        raise LabError("building the lab binaries failed (see the output above)")
    bindir = Path(out.stdout.decode().strip().splitlines()[-1])
    v = read_versions()
    paths = {
        "etcd": bindir / ("etcd-" + v["ETCD_VERSION"]),
        "kwok": bindir / ("kwok-" + v["KWOK_VERSION"]),
    }
    for t in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl"):
        paths[t] = bindir / ("%s-%s" % (t, v["K8S_VERSION"]))
    # Plain names for people and scripts (kubectl on PATH via .lab/env).
    link_dir = STATE / "bin"
    link_dir.mkdir(parents=True, exist_ok=True)
    for name, path in paths.items():
        link = link_dir / name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(path)
    return paths


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_pid(name: str) -> int | None:
    f = PIDS / (name + ".pid")
    if not f.exists():
        return None
    try:
        pid = int(f.read_text().split()[0])
    except (ValueError, IndexError):
        return None
    return pid if pid_alive(pid) else None


def tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def spawn(name: str, argv: list[str], env: dict | None = None, user: str | None = None) -> int:
    LOGS.mkdir(parents=True, exist_ok=True)
    PIDS.mkdir(parents=True, exist_ok=True)
    log = open(LOGS / (name + ".log"), "ab")
    kwargs = {}
    if user:
        pw = pwd.getpwnam(user)
        kwargs = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            env=env or os.environ.copy(), start_new_session=True, **kwargs)
    (PIDS / (name + ".pid")).write_text(str(proc.pid))
    return proc.pid


def wait_until(name: str, probe, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        pid = read_pid(name)
        if pid is None:
            raise LabError("%s exited during start-up. Last lines of %s:\n%s" % (name, LOGS / (name + ".log"), tail(LOGS / (name + ".log"))))
        try:
            if probe():
                return
        except Exception as exc:  # the component is not up yet; keep the reason for the error
            last = str(exc)
        time.sleep(0.25)
    raise LabError("%s not ready after %ds (%s). Last lines of %s:\n%s" % (name, timeout, last, LOGS / (name + ".log"), tail(LOGS / (name + ".log"))))


def https_ok(url: str) -> bool:
    ctx = ssl.create_default_context(cafile=str(PKI / "ca.crt"))
    ctx.load_cert_chain(str(PKI / "admin.crt"), str(PKI / "admin.key"))
    with urllib.request.urlopen(url, context=ctx, timeout=3) as resp:
        return resp.status == 200


def https_self_signed_ok(url: str) -> bool:
    # controller-manager and scheduler serve /healthz with a certificate they make themselves.
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with urllib.request.urlopen(url, context=ctx, timeout=3) as resp:
        return resp.status == 200


def http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=3) as resp:
        return resp.status == 200


# ---------------------------------------------------------------- PKI

def make_pki() -> None:
    # kwok.crt came later than the rest: a lab made by an older checkout gets it from the CA it already has.
    if (PKI / "admin.crt").exists() and (PKI / "kwok.crt").exists():
        return
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    PKI.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)

    def key():
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def write_key(k, name):
        (PKI / name).write_bytes(k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()))
        os.chmod(PKI / name, 0o600)

    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "easymo-lab-ca")])
    if (PKI / "ca.key").exists():
        ca_key = serialization.load_pem_private_key((PKI / "ca.key").read_bytes(), password=None)
    else:
        ca_key = key()
        ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
              .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
              .not_valid_after(now + datetime.timedelta(days=3650))
              .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
              .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
              .sign(ca_key, hashes.SHA256()))
        (PKI / "ca.crt").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        write_key(ca_key, "ca.key")

    def leaf(name, cn, orgs, server):
        k = key()
        attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)] + [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
        b = (x509.CertificateBuilder().subject_name(x509.Name(attrs)).issuer_name(ca_name).public_key(k.public_key())
             .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
             .not_valid_after(now + datetime.timedelta(days=3650)))
        if server:
            b = b.add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.DNSName("kubernetes"), x509.DNSName("kubernetes.default"),
                x509.DNSName("kubernetes.default.svc"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                x509.IPAddress(ipaddress.ip_address("10.96.0.1"))]), critical=False)
            b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        else:
            b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        cert = b.sign(ca_key, hashes.SHA256())
        (PKI / (name + ".crt")).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        write_key(k, name + ".key")

    if not (PKI / "admin.crt").exists():
        leaf("apiserver", "kube-apiserver", [], True)
        leaf("admin", "easymo-lab-admin", ["system:masters"], False)
        sa = key()
        write_key(sa, "sa.key")
        (PKI / "sa.pub").write_bytes(sa.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    # kwok's kubelet API: kube-apiserver proxies `kubectl logs` to it over TLS, as to a real kubelet.
    leaf("kwok", "kwok-kubelet", [], True)


def write_kubeconfig(api_port: int) -> None:
    KUBECONFIG.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "easymo-lab",
        "clusters": [{"name": "easymo-lab", "cluster": {"server": "https://127.0.0.1:%d" % api_port, "certificate-authority": str(PKI / "ca.crt")}}],
        "users": [{"name": "admin", "user": {"client-certificate": str(PKI / "admin.crt"), "client-key": str(PKI / "admin.key")}}],
        "contexts": [{"name": "easymo-lab", "context": {"cluster": "easymo-lab", "user": "admin"}}],
    }, indent=2))
    os.chmod(KUBECONFIG, 0o600)


# ---------------------------------------------------------------- components

def ports() -> dict[str, int]:
    f = STATE / "ports.json"
    p = json.loads(f.read_text()) if f.exists() else {}
    names = ("etcd_client", "etcd_peer", "apiserver", "kcm", "scheduler", "kwok", "postgres", "standins",
             "supabase_api", "supabase_functions")
    if any(k not in p for k in names):  # a lab made by an older checkout gets ports for what is new
        p.update({k: free_port() for k in names if k not in p})
        STATE.mkdir(parents=True, exist_ok=True)
        f.write_text(json.dumps(p))
    return p


def start_etcd(bins, p) -> None:
    if read_pid("etcd"):
        return
    spawn("etcd", [str(bins["etcd"]), "--name=lab", "--data-dir=%s" % (STATE / "etcd"),
                   "--listen-client-urls=http://127.0.0.1:%d" % p["etcd_client"], "--advertise-client-urls=http://127.0.0.1:%d" % p["etcd_client"],
                   "--listen-peer-urls=http://127.0.0.1:%d" % p["etcd_peer"], "--initial-advertise-peer-urls=http://127.0.0.1:%d" % p["etcd_peer"],
                   "--initial-cluster=lab=http://127.0.0.1:%d" % p["etcd_peer"], "--unsafe-no-fsync",
                   "--watch-progress-notify-interval=5s", "--log-level=warn", "--quota-backend-bytes=4294967296"])
    wait_until("etcd", lambda: b'"true"' in urllib.request.urlopen("http://127.0.0.1:%d/health" % p["etcd_client"], timeout=3).read())


def start_apiserver(bins, p) -> None:
    if read_pid("kube-apiserver"):
        return
    spawn("kube-apiserver", [
        str(bins["kube-apiserver"]), "--etcd-servers=http://127.0.0.1:%d" % p["etcd_client"],
        "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port=%d" % p["apiserver"],
        "--tls-cert-file=%s" % (PKI / "apiserver.crt"), "--tls-private-key-file=%s" % (PKI / "apiserver.key"),
        "--client-ca-file=%s" % (PKI / "ca.crt"),
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        "--service-account-key-file=%s" % (PKI / "sa.pub"), "--service-account-signing-key-file=%s" % (PKI / "sa.key"),
        "--authorization-mode=RBAC", "--service-cluster-ip-range=10.96.0.0/16", "--endpoint-reconciler-type=none",
        "--allow-privileged=true", "--profiling=false", "--v=1",
        # Logs and exec go to the node's kubelet: kwok, at the InternalIP and port it reports for every node.
        "--kubelet-preferred-address-types=InternalIP",
        "--kubelet-certificate-authority=%s" % (PKI / "ca.crt"),
        "--kubelet-client-certificate=%s" % (PKI / "admin.crt"), "--kubelet-client-key=%s" % (PKI / "admin.key")])
    wait_until("kube-apiserver", lambda: https_ok("https://127.0.0.1:%d/readyz" % p["apiserver"]), timeout=90)


def start_controllers(bins, p) -> None:
    if not read_pid("kube-controller-manager"):
        spawn("kube-controller-manager", [
            str(bins["kube-controller-manager"]), "--kubeconfig=%s" % KUBECONFIG, "--leader-elect=false",
            "--service-account-private-key-file=%s" % (PKI / "sa.key"), "--root-ca-file=%s" % (PKI / "ca.crt"),
            "--bind-address=127.0.0.1", "--secure-port=%d" % p["kcm"], "--use-service-account-credentials=false",
            "--authentication-kubeconfig=%s" % KUBECONFIG, "--authorization-kubeconfig=%s" % KUBECONFIG,
            # Fast reactions keep the lab quick; the defaults are tuned for real fleets.
            "--concurrent-deployment-syncs=10", "--concurrent-replicaset-syncs=10", "--v=1"])
    if not read_pid("kube-scheduler"):
        spawn("kube-scheduler", [
            str(bins["kube-scheduler"]), "--kubeconfig=%s" % KUBECONFIG, "--leader-elect=false",
            "--bind-address=127.0.0.1", "--secure-port=%d" % p["scheduler"],
            "--authentication-kubeconfig=%s" % KUBECONFIG, "--authorization-kubeconfig=%s" % KUBECONFIG, "--v=1"])
    wait_until("kube-controller-manager", lambda: https_self_signed_ok("https://127.0.0.1:%d/healthz" % p["kcm"]), timeout=60)
    wait_until("kube-scheduler", lambda: https_self_signed_ok("https://127.0.0.1:%d/healthz" % p["scheduler"]), timeout=60)


def start_kwok(bins, p) -> None:
    if read_pid("kwok"):
        return
    delay = int(os.environ.get("LAB_POD_READY_DELAY_MS", "2000"))
    stages = (LAB_DIR / "kwok-stages.yaml").read_text().replace("__POD_READY_DELAY_MS__", str(delay))
    (STATE / "kwok-stages.yaml").write_text(stages)
    (STATE / "pod_ready_delay_ms").write_text(str(delay))
    # Pod logs: the lab's log writer (in the stand-ins) makes one Logs object per pod; kwok serves its file.
    kubectl(bins, "apply", "-f", str(LAB_DIR / "kwok-logs-crd.yaml"))
    spawn("kwok", [str(bins["kwok"]), "--kubeconfig=%s" % KUBECONFIG, "--config=%s" % (STATE / "kwok-stages.yaml"),
                   "--manage-all-nodes=true", "--server-address=127.0.0.1:%d" % p["kwok"],
                   "--tls-cert-file=%s" % (PKI / "kwok.crt"), "--tls-private-key-file=%s" % (PKI / "kwok.key"),
                   "--enable-crds=Logs",
                   "--node-lease-duration-seconds=40", "--cidr=10.0.0.1/16", "--node-ip=127.0.0.1",
                   "--node-port=%d" % p["kwok"]])
    wait_until("kwok", lambda: https_ok("https://127.0.0.1:%d/healthz" % p["kwok"]), timeout=60)


def kubectl(bins, *args: str, input_text: str | None = None, check: bool = True) -> str:
    out = subprocess.run([str(bins["kubectl"]), "--kubeconfig", str(KUBECONFIG), *args], input=input_text,
                         capture_output=True, text=True, check=False)
    if check and out.returncode != 0:
        raise LabError("kubectl %s failed: %s" % (" ".join(args), out.stderr.strip()))
    return out.stdout


def create_nodes(bins, p) -> None:
    for name in NODES:
        node = {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": name, "labels": {"type": "kwok", "kubernetes.io/hostname": name, "kubernetes.io/os": "linux"},
                             "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"}},
                "spec": {}}
        kubectl(bins, "apply", "-f", "-", input_text=json.dumps(node))
        # kwok sets these only when it first sees a node: a node kept from an older lab (etcd data survives a
        # restart) would still send `kubectl logs` to an address nothing answers.
        status = {"status": {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"}, {"type": "Hostname", "address": name}],
                             "daemonEndpoints": {"kubeletEndpoint": {"Port": p["kwok"]}}}}
        kubectl(bins, "patch", "node", name, "--subresource=status", "--type=merge", "-p", json.dumps(status))

    def ready() -> bool:
        nodes = json.loads(kubectl(bins, "get", "nodes", "-o", "json"))["items"]
        good = 0
        for n in nodes:
            conds = {c["type"]: c["status"] for c in n.get("status", {}).get("conditions", [])}
            if conds.get("Ready") == "True" and not n.get("spec", {}).get("taints"):
                good += 1
        return good >= len(NODES)

    wait_until("kwok", ready, timeout=90)


def ensure_pg_user() -> str | None:
    if os.geteuid() != 0:
        return None  # an ordinary user runs the server as itself
    try:
        pwd.getpwnam(PG_OS_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_OS_USER], check=True)
    return PG_OS_USER


def start_postgres(p) -> None:
    if read_pid("postgres"):
        return
    if not (PG_BIN / "postgres").exists():
        raise LabError("PostgreSQL server binaries not found in %s: install Debian's postgresql package (make setup does)." % PG_BIN)
    user = ensure_pg_user()
    data, sock = STATE / "pg" / "data", STATE / "pg" / "run"
    pw_file = STATE / "pg" / "password"
    (STATE / "pg").mkdir(parents=True, exist_ok=True)
    sock.mkdir(parents=True, exist_ok=True)
    if not pw_file.exists():
        pw_file.write_text(secrets.token_urlsafe(18))
        os.chmod(pw_file, 0o600)
    # The server's user must be able to reach its directories.
    for d in (STATE, STATE / "pg"):
        os.chmod(d, 0o755)
    if user:
        pw = pwd.getpwnam(user)
        for d in (STATE / "pg", sock):
            os.chown(d, pw.pw_uid, pw.pw_gid)
    if not (data / "PG_VERSION").exists():
        tmp_pw = STATE / "pg" / "initpw"
        tmp_pw.write_text(pw_file.read_text())
        if user:
            os.chown(tmp_pw, pwd.getpwnam(user).pw_uid, -1)
        run_as = ["runuser", "-u", user, "--"] if user else []
        out = subprocess.run(run_as + [str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--pwfile", str(tmp_pw),
                                        "--auth-local=scram-sha-256", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"],
                             capture_output=True, text=True, check=False)
        tmp_pw.unlink()
        if out.returncode != 0:
            raise LabError("initdb failed: %s" % (out.stderr or out.stdout))
    argv = [str(PG_BIN / "postgres"), "-D", str(data), "-p", str(p["postgres"]), "-k", str(sock),
            "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
            "-c", "max_connections=100", "-c", "shared_buffers=128MB"]
    spawn("postgres", argv, user=user)
    env = dict(os.environ, PGPASSWORD=pw_file.read_text())
    wait_until("postgres", lambda: subprocess.run([str(PG_BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(p["postgres"]), "-U", "postgres"],
                                                  capture_output=True, env=env, check=False).returncode == 0, timeout=60)


def start_standins(p) -> None:
    if read_pid("standins"):
        return
    env = dict(os.environ, KUBECONFIG=str(KUBECONFIG), EASYMO_LAB_STATE=str(STATE))
    spawn("standins", [sys.executable, str(LAB_DIR / "standins" / "server.py"), "--port", str(p["standins"])], env=env)
    wait_until("standins", lambda: http_ok("http://127.0.0.1:%d/_lab/healthz" % p["standins"]), timeout=30)


def start_supabase(p) -> None:
    token_file = STATE / "supabase_token"
    if not token_file.exists():
        token_file.write_text("sbp_" + secrets.token_hex(20))
        os.chmod(token_file, 0o600)
    (STATE / "supabase-profile.yaml").write_text(
        "# For the real Supabase CLI (SUPABASE_PROFILE): talk to the lab's stand-in.\n"
        "name: easymo-lab\napi_url: http://127.0.0.1:%d\ndashboard_url: http://127.0.0.1:%d/dashboard\n"
        "project_host: lab.invalid\n" % (p["supabase_api"], p["supabase_api"]))
    if read_pid("supabase"):
        return
    spawn("supabase", [sys.executable, str(LAB_DIR / "standins" / "supabase.py"), "--api-port", str(p["supabase_api"]),
                       "--functions-port", str(p["supabase_functions"]), "--token-file", str(token_file),
                       "--project-ref", SUPABASE_PROJECT_REF])
    wait_until("supabase", lambda: http_ok("http://127.0.0.1:%d/_lab/healthz" % p["supabase_api"]), timeout=30)


def write_env(p) -> None:
    pw = (STATE / "pg" / "password").read_text()
    lines = {
        "KUBECONFIG": str(KUBECONFIG),
        "K8S_AUTH_KUBECONFIG": str(KUBECONFIG),
        "PATH": "%s:%s:$PATH" % (REPO / ".venv" / "bin", STATE / "bin"),  # ansible-playbook and kubectl
        "PGHOST": "127.0.0.1",
        "PGPORT": str(p["postgres"]),
        "PGUSER": "postgres",
        "PGPASSWORD": pw,
        "EASYMO_LAB_STANDINS_URL": "http://127.0.0.1:%d" % p["standins"],
        "EASYMO_HEALTH_BASE_URL": "http://127.0.0.1:%d" % p["standins"],
        "EASYMO_LAB_POD_READY_DELAY_MS": (STATE / "pod_ready_delay_ms").read_text().strip(),
        "SUPABASE_API_URL": "http://127.0.0.1:%d" % p["supabase_api"],
        "SUPABASE_ACCESS_TOKEN": (STATE / "supabase_token").read_text().strip(),
        "SUPABASE_PROFILE": str(STATE / "supabase-profile.yaml"),
        "SUPABASE_TELEMETRY_DISABLED": "1",
        "EASYMO_SUPABASE_PROJECT_REF": SUPABASE_PROJECT_REF,
        "EASYMO_FUNCTIONS_URL": "http://127.0.0.1:%d" % p["supabase_functions"],
        "EASYMO_EDGE_REPO": str(STATE / "edge-repo"),
    }
    text = "# Written by lab/labctl.py: source it to talk to the lab.\n"
    text += "".join('export %s="%s"\n' % (k, v) for k, v in lines.items())
    (STATE / "env").write_text(text)
    os.chmod(STATE / "env", 0o600)


# ---------------------------------------------------------------- commands

def up() -> None:
    started = time.monotonic()
    STATE.mkdir(parents=True, exist_ok=True)
    if all(read_pid(c) for c in COMPONENTS) and (STATE / "env").exists():
        write_env(ports())  # what a newer checkout exports (PATH, stand-in URLs) reaches a running lab too
        say("already running (make lab-down stops it)")
        return
    bins = binaries()
    build_done = time.monotonic()
    p = ports()
    make_pki()
    write_kubeconfig(p["apiserver"])
    say("starting etcd");                 start_etcd(bins, p)
    say("starting kube-apiserver");       start_apiserver(bins, p)
    say("starting controller-manager and scheduler"); start_controllers(bins, p)
    say("starting kwok");                 start_kwok(bins, p)
    say("creating %d fake nodes and waiting until Ready and untainted" % len(NODES)); create_nodes(bins, p)
    say("starting PostgreSQL");           start_postgres(p)
    say("starting stand-ins");            start_standins(p)
    say("starting the Supabase stand-in"); start_supabase(p)
    if not (STATE / "edge-repo" / ".git").exists():
        sys.path.insert(0, str(LAB_DIR))
        import edge_fixture  # the lab's own fixture module, beside this file
        edge_fixture.create(STATE / "edge-repo")
    write_env(p)
    say("lab ready in %.1fs (start only, after %.1fs checking binaries); source .lab/env to use it" % (time.monotonic() - build_done, build_done - started))


def down() -> None:
    stopped = []
    for name in reversed(COMPONENTS):
        pid = read_pid(name)
        if pid is None:
            (PIDS / (name + ".pid")).unlink(missing_ok=True)
            continue
        # Only what we started: a pid file of ours, and the process is still that component.
        try:
            os.kill(pid, signal.SIGINT if name == "postgres" else signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 20
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
        (PIDS / (name + ".pid")).unlink(missing_ok=True)
        stopped.append(name)
    say("stopped: %s" % (", ".join(stopped) or "nothing was running"))


def status() -> int:
    running = 0
    for name in COMPONENTS:
        pid = read_pid(name)
        running += bool(pid)
        print("%-24s %s" % (name, ("running (pid %d)" % pid) if pid else "stopped"))
    return 0 if running == len(COMPONENTS) else 1


def main(argv: list[str]) -> int:
    cmd = argv[1] if len(argv) > 1 else "up"
    try:
        if cmd == "up":
            up()
        elif cmd == "down":
            down()
        elif cmd == "status":
            return status()
        elif cmd == "reset":
            down()
            shutil.rmtree(STATE, ignore_errors=True)
            say("removed %s" % STATE)
        else:
            print(__doc__)
            return 2
    except LabError as exc:
        print("lab: %s" % exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
