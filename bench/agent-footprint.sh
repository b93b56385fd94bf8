#!/usr/bin/env bash
# Agent footprint and detection latency, in a namespace pod like the end-to-end test's
# (crates/podwarden-cli/tests/it/agent_e2e.rs): a pid namespace with its own /proc, a busybox
# workload container (own mount namespace, chroot) and the agent sidecar beside it, a real
# `podwarden server` on SQLite on the loopback. Release build.
#
# 1. Footprint: the workload holds 500 processes and 50 TCP connections; the agent's average
#    CPU (% of one core, from utime+stime) and RSS (peak VmHWM, steady mean VmRSS) over
#    FOOTPRINT_SECS (default 60), first idle, then CHURN_SECS (default 30) with 10 short
#    commands a second.
# 2. Detection latency: LATENCY_RUNS (default 20) fake miners (`stratum+tcp://` arguments),
#    from the launch to the alert at the center (agent event time and center creation time).
# 3. Shortest-lived process caught at the default 100 ms poll: 100 processes of lifetime L for
#    L in 5, 10, 20, 50, 100 ms, counted at the center.
#
# Needs root, util-linux (unshare, nsenter), a static busybox at /bin/busybox
# (apt-get install busybox-static) and python3 (standard library only).
# PODWARDEN_BIN=path skips the build. Prints a summary; JSON goes to $OUT (default
# target/agent-footprint.json).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z "${PODWARDEN_BIN:-}" ]]; then
    cargo build --release -q -p podwarden-cli
    PODWARDEN_BIN="$PWD/target/release/podwarden"
fi
export PODWARDEN_BIN
export OUT="${OUT:-$PWD/target/agent-footprint.json}"
exec python3 - "$@" <<'PY'
import json, os, re, shutil, signal, socket, statistics, subprocess, sys, tempfile, threading, time
import urllib.request

BIN = os.environ["PODWARDEN_BIN"]
FOOTPRINT_SECS = int(os.environ.get("FOOTPRINT_SECS", "60"))
CHURN_SECS = int(os.environ.get("CHURN_SECS", "30"))
LATENCY_RUNS = int(os.environ.get("LATENCY_RUNS", "20"))
LIFETIMES = [int(x) for x in os.environ.get("LIFETIMES_MS", "5,10,20,50,100").split(",")]
PER_LIFETIME = int(os.environ.get("PER_LIFETIME", "100"))
ADMIN = "pw_agent_bench_admin_token_0123456789"
TICKS = os.sysconf("SC_CLK_TCK")
POOL = "stratum+tcp://pool.minexmr.example:4444"

work = tempfile.mkdtemp(prefix="pw-agent-bench-")
started = []  # Popen objects to stop at the end
pause_pid = None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api(port, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
    req.add_header("Authorization", f"Bearer {ADMIN}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"null")


def children(ppid):
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = open(f"/proc/{name}/stat").read()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == ppid:
            out.append(int(name))
    return out


def wait_child(ppid, what):
    deadline = time.time() + 10
    while time.time() < deadline:
        kids = children(ppid)
        if len(kids) == 1:
            return kids[0]
        time.sleep(0.02)
    sys.exit(f"{what}: no child of {ppid}")


def cleanup(*_):
    if pause_pid:
        try:
            os.kill(pause_pid, signal.SIGKILL)
        except OSError:
            pass
    for p in reversed(started):
        try:
            p.kill()
            p.wait(timeout=5)
        except Exception:
            pass
    shutil.rmtree(work, ignore_errors=True)


signal.signal(signal.SIGTERM, lambda *_: (cleanup(), sys.exit(1)))

try:
    # The root filesystem.
    rootfs = os.path.join(work, "rootfs")
    for d in ["bin", "sbin", "usr/bin", "usr/sbin", "etc", "tmp", "proc", "dev", "root", "var/www/html"]:
        os.makedirs(os.path.join(rootfs, d), exist_ok=True)
    shutil.copy("/bin/busybox", os.path.join(rootfs, "bin/busybox"))
    subprocess.run(["chroot", rootfs, "/bin/busybox", "--install", "-s"], check=True)
    subprocess.run(["mknod", "-m", "666", os.path.join(rootfs, "dev/null"), "c", "1", "3"], check=True)
    open(os.path.join(rootfs, "etc/passwd"), "w").write("root:x:0:0:root:/root:/bin/sh\n")
    open(os.path.join(rootfs, "etc/group"), "w").write("root:x:0:\n")
    open(os.path.join(rootfs, "var/www/html/index.html"), "w").write("<html>shop</html>\n")

    # The center.
    port = free_port()
    server_log = open(os.path.join(work, "server.log"), "w")
    env = dict(os.environ, PODWARDEN_BOOTSTRAP_TOKEN=ADMIN, PODWARDEN_LOG="warn")
    for k in ["PODWARDEN_DATABASE", "PODWARDEN_LISTEN", "PODWARDEN_CONFIG"]:
        env.pop(k, None)
    server = subprocess.Popen([BIN, "server", "--listen", f"127.0.0.1:{port}", "--database",
                               f"sqlite://{work}/center.db"], env=env, stdin=subprocess.DEVNULL,
                              stdout=server_log, stderr=server_log)
    started.append(server)
    for _ in range(600):
        try:
            api(port, "GET", "/api/v1/protection")
            break
        except Exception:
            time.sleep(0.1)
    api(port, "PUT", "/api/v1/protection", {"enabled": True})
    token = api(port, "POST", "/api/v1/enrollment-tokens", {})["token"]

    # The pod: pid namespace + the pause process's mount namespace (the agent's container).
    unshare = subprocess.Popen(["unshare", "--pid", "--fork", "--mount-proc", "--kill-child",
                                "sleep", "1000000"], stdin=subprocess.DEVNULL)
    started.append(unshare)
    pause_pid = wait_child(unshare.pid, "pause")

    # A peer for the 50 connections, outside the pod.
    peer = socket.socket()
    peer.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    peer.bind(("127.0.0.1", 0))
    peer.listen(128)
    peer_port = peer.getsockname()[1]
    held = []

    def accept_forever():
        while True:
            held.append(peer.accept())

    threading.Thread(target=accept_forever, daemon=True).start()

    # The workload: httpd, 50 connections (nc fed by a sleep), the rest idle sleeps: 500.
    http_port = free_port()
    script = (
        f"httpd -p 127.0.0.1:{http_port} -h /var/www/html; "
        f"i=0; while [ $i -lt 50 ]; do sleep 1000000 | nc 127.0.0.1 {peer_port} & i=$((i+1)); done; "
        f"i=0; while [ $i -lt 398 ]; do sleep 1000000 & i=$((i+1)); done; wait"
    )
    workload = subprocess.Popen(["nsenter", "-t", str(pause_pid), "--pid", "--mount", "--",
                                 "unshare", "--mount", "--", "chroot", rootfs, "/bin/sh", "-c", script],
                                env=dict(os.environ, PATH="/bin:/sbin:/usr/bin:/usr/sbin"),
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    started.append(workload)
    workload_pid = wait_child(workload.pid, "workload")
    deadline = time.time() + 30
    while True:
        in_pod = subprocess.run(["nsenter", "-t", str(pause_pid), "--pid", "--mount", "--",
                                 "sh", "-c", "ls -d /proc/[0-9]* | wc -l"],
                                capture_output=True, text=True).stdout.strip()
        if len(held) >= 50 and int(in_pod or 0) >= 500:
            break
        if time.time() > deadline:
            sys.exit(f"workload not ready: {len(held)} connections, {in_pod} processes")
        time.sleep(0.2)

    def run_in_workload(argv, wait=False):
        p = subprocess.Popen(["nsenter", "-t", str(workload_pid), "--pid", "--mount", "--root",
                              "--wd", "--"] + argv,
                             env=dict(os.environ, PATH="/bin:/sbin:/usr/bin:/usr/sbin"),
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        if wait:
            p.wait()
        else:
            started.append(p)
        return p

    # The agent sidecar.
    agent_log = open(os.path.join(work, "agent.log"), "w")
    agent_nsenter = subprocess.Popen(
        ["nsenter", "-t", str(pause_pid), "--pid", "--mount", "--", BIN, "agent", "--mode",
         "sidecar", "--server", f"http://127.0.0.1:{port}", "--token", token,
         "--state-dir", os.path.join(work, "agent-state")],
        env=dict(os.environ, POD_NAME="bench-0", POD_NAMESPACE="bench", PODWARDEN_LOG="warn"),
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=agent_log)
    started.append(agent_nsenter)
    agent = wait_child(agent_nsenter.pid, "agent")
    t_start = time.time()
    while True:
        assets = api(port, "GET", "/api/v1/assets?agent=online")
        if assets["total"] == 1:
            asset = assets["items"][0]["id"]
            break
        if time.time() - t_start > 60:
            sys.exit("agent did not come online: " + open(os.path.join(work, "agent.log")).read())
        time.sleep(0.2)
    online_after = time.time() - t_start

    def cpu_ticks():
        f = open(f"/proc/{agent}/stat").read().rsplit(")", 1)[1].split()
        return int(f[11]) + int(f[12])  # utime, stime (fields 14, 15)

    def mem():
        fields = dict(l.split(":", 1) for l in open(f"/proc/{agent}/status").read().splitlines() if ":" in l)
        kb = lambda k: int(fields[k].split()[0])
        return kb("VmRSS"), kb("VmHWM"), int(fields["Threads"])

    def measure(seconds, churn=False):
        rss, samples = [], []
        c0, t0 = cpu_ticks(), time.time()
        n = 0
        while time.time() - t0 < seconds:
            s0, w0 = cpu_ticks(), time.time()
            if churn:
                for _ in range(10):
                    run_in_workload(["sh", "-c", f"echo {n} > /tmp/churn; cat /etc/passwd > /dev/null"], wait=True)
                    n += 1
                    time.sleep(0.1)
            else:
                time.sleep(1)
            r, hwm, threads = mem()
            rss.append(r)
            samples.append(100.0 * (cpu_ticks() - s0) / TICKS / (time.time() - w0))
        elapsed = time.time() - t0
        r, hwm, threads = mem()
        return {
            "seconds": round(elapsed, 1),
            "cpu_percent_of_one_core": round(100.0 * (cpu_ticks() - c0) / TICKS / elapsed, 3),
            "cpu_percent_max_1s": round(max(samples), 2),
            "rss_steady_mib": round(statistics.mean(rss) / 1024, 1),
            "rss_peak_mib": round(hwm / 1024, 1),
            "threads": threads,
            "commands_run": n,
        }

    time.sleep(10)  # warm-up: first sweep of the web root, first heartbeats
    tcp_rows = sum(len(open(f"/proc/{agent}/net/{t}").read().splitlines()) - 1 for t in ["tcp", "tcp6"])
    idle = measure(FOOTPRINT_SECS)
    churn = measure(CHURN_SECS, churn=True) if CHURN_SECS > 0 else None
    pod_processes = int(subprocess.run(["nsenter", "-t", str(pause_pid), "--pid", "--mount", "--",
                                        "sh", "-c", "ls -d /proc/[0-9]* | wc -l"],
                                       capture_output=True, text=True).stdout.strip() or 0)

    # Detection latency.
    def alerts_matching(q):
        page = api(port, "GET", f"/api/v1/alerts?per_page=500&q={q}")
        return page["items"]

    latencies = []
    for i in range(LATENCY_RUNS):
        marker = f"lat-{i}-x"
        t0 = time.time()
        run_in_workload(["sh", "-c", "sleep 2; :", "xmrig", "-o", POOL, "--rig-id", marker])
        while True:
            found = alerts_matching(marker)
            if found:
                seen = time.time()
                a = found[0]
                latencies.append({
                    "launch_to_agent_event_ms": a["first_seen"] - t0 * 1000,
                    "agent_event_to_center_ms": a["created_at"] - a["first_seen"],
                    "launch_to_center_ms": a["created_at"] - t0 * 1000,
                    "launch_to_api_poll_ms": (seen - t0) * 1000,
                })
                break
            if time.time() - t0 > 20:
                latencies.append(None)
                break
            time.sleep(0.01)
        time.sleep(0.3)

    def pct(values, q):
        values = sorted(values)
        return round(values[min(len(values) - 1, int(q * len(values)))], 1)

    lat_summary = {}
    ok = [l for l in latencies if l]
    for key in ["launch_to_agent_event_ms", "agent_event_to_center_ms", "launch_to_center_ms", "launch_to_api_poll_ms"]:
        vals = [l[key] for l in ok]
        if vals:
            lat_summary[key] = {"p50": pct(vals, 0.5), "p95": pct(vals, 0.95), "max": round(max(vals), 1)}
    lat_summary["missed"] = len(latencies) - len(ok)

    # Shortest-lived process caught: sequential runs inside the pod, 37 ms apart (not a divisor
    # of the poll interval, so the phases spread).
    short = {}
    for life in LIFETIMES:
        loop = (f"i=0; while [ $i -lt {PER_LIFETIME} ]; do "
                f"sh -c 'usleep {life * 1000}; :' xmrig -o {POOL} --rig-id short-{life}-$i-x; "
                f"usleep 37000; i=$((i+1)); done")
        t0 = time.time()
        run_in_workload(["sh", "-c", loop], wait=True)
        took = time.time() - t0
        time.sleep(3)
        caught = set()
        for a in alerts_matching(f"short-{life}-"):
            cmd = a.get("process_cmdline") or ""
            # The loop's own command line names `short-L-$i-x`: only numbered markers count.
            caught.update(w for w in cmd.split() if re.fullmatch(rf"short-{life}-\d+-x", w))
        short[f"{life}ms"] = {"caught": len(caught), "of": PER_LIFETIME, "run_seconds": round(took, 1)}

    status = api(port, "GET", f"/api/v1/assets/{asset}")["findings"].get("agent_status") or {}
    result = {
        "binary": BIN,
        "pod_processes": pod_processes,
        "connections_held": len(held),
        "tcp_rows_visible": tcp_rows,
        "online_after_s": round(online_after, 1),
        "idle": idle,
        "churn_10_per_s": churn,
        "latency": lat_summary,
        "shortest_lived": short,
        "agent_status": {k: status.get(k) for k in ["collectors", "poll_interval_ms", "rss_bytes", "cpu_millis_total", "web_roots"]},
    }
    print(json.dumps(result, indent=2))
    with open(os.environ["OUT"], "w") as f:
        json.dump(result, f, indent=2)
    goals = []
    for phase in ["idle", "churn_10_per_s"]:
        r = result[phase]
        if r:
            goals.append(f"{phase}: cpu {r['cpu_percent_of_one_core']}% of a core (goal < 2), "
                         f"rss peak {r['rss_peak_mib']} MiB / steady {r['rss_steady_mib']} MiB (goal < 40)")
    print("\n".join(goals))
finally:
    cleanup()
PY
