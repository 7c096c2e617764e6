"""The benchmark (BENCH.md "Protocol"): the app and the baseline under gunicorn on 127.0.0.1, wrk
on the same machine, signed in as the Owner of the whale workspace.

    python -m bench.run --db postgresql|sqlite --size S|M

Both servers run gunicorn.conf.py (the production settings: access log, worker recycling) with
2 sync workers and KEHU_ENV=production (Redis for rate limits). The benchmark signs in once through
/login and replays the session cookie. Each endpoint gets a warm-up, then the runs go round every
endpoint in turn so slow drift of a shared machine hits all of them alike; figures are medians of
the runs. SQL statements per request come from bench/queries.py (the Flask test client, same
database). The CPU each request cost is read from /proc around every run: the gunicorn serving it
(master and workers), PostgreSQL (every postgres process) and wrk, since all three share the two
cores. The table, with the machine line, is printed and kept in bench/results/.
"""

import argparse
import http.client
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

from bench.common import WHALE_EMAIL, WHALE_PASSWORD, database_env
from bench.queries import app_env, capture, make_app
from bench.target import Endpoint, Target, endpoints, find_target

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
GUNICORN = str(Path(sys.executable).parent / "gunicorn")
APP_PORT, BASELINE_PORT = 8765, 8766
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))  # BENCH.md allows 2-3 sync workers
# DESIGN §6, for the list, filtered list, search and deep page.
BUDGETED = ("contacts list", "contacts htmx", "deep page", "search rare", "search common", "search cjk rare",
            "search cjk common", "filter lifecycle", "filter tag")  # fmt: skip
MIN_RATIO, MAX_P95_MS, MAX_QUERIES = 0.40, 50.0, 5


@dataclass(frozen=True)
class Protocol:
    warmup: int
    seconds: int
    runs: int
    connections: int


PROTOCOLS = {"S": Protocol(warmup=2, seconds=5, runs=3, connections=16), "M": Protocol(5, 20, 3, 16)}


# --- servers -------------------------------------------------------------------------------------


def start_server(app: str, port: int, env: dict, log: Path) -> subprocess.Popen:
    env = {**os.environ, **env, "HOST": "127.0.0.1", "PORT": str(port), "WEB_CONCURRENCY": str(WORKERS)}
    with log.open("w") as out:
        return subprocess.Popen([GUNICORN, "-c", "gunicorn.conf.py", app], cwd=ROOT, env=env, stdout=out, stderr=out)


def wait_until_up(port: int, path: str, seconds: int = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            status, _body, _cookies = request(port, "GET", path)
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"nothing answers on port {port}")


class RssSampler(threading.Thread):
    """Peak resident memory of any worker of each gunicorn master, sampled twice a second."""

    def __init__(self, masters: dict[str, int]):
        super().__init__(daemon=True)
        self.masters, self.peak_kb, self.workers_seen = masters, dict.fromkeys(masters, 0), {m: set() for m in masters}
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(0.5):
            for name, master in self.masters.items():
                for pid in children(master):
                    self.workers_seen[name].add(pid)
                    self.peak_kb[name] = max(self.peak_kb[name], rss_kb(pid))


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def rss_kb(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    found = re.search(r"VmRSS:\s+(\d+) kB", status)
    return int(found.group(1)) if found else 0


# --- CPU per request ------------------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float:
    """CPU seconds of a process and of its children that have exited (utime, stime, cutime, cstime):
    a recycled worker or a closed database backend still counts, through its parent."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(value) for value in fields[11:15]) / CLOCK_TICKS


def postgres_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "comm").read_text().strip() == "postgres":
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def cpu_seconds(master: int) -> dict[str, float]:
    """CPU used so far by one gunicorn (master and workers), by PostgreSQL, and by this process's
    finished children (wrk)."""
    children_usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "server": process_cpu(master) + sum(process_cpu(pid) for pid in children(master)),
        "database": sum(process_cpu(pid) for pid in postgres_pids()),
        "wrk": children_usage.ru_utime + children_usage.ru_stime,
    }


# --- HTTP ----------------------------------------------------------------------------------------


def request(port: int, method: str, path: str, headers: dict | None = None, body: str | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        cookies = SimpleCookie()
        for header in response.msg.get_all("Set-Cookie") or []:
            cookies.load(header)
        return response.status, response.read().decode(), {k: v.value for k, v in cookies.items()}
    finally:
        connection.close()


def sign_in() -> str:
    """Signs in through the login form once; returns the Cookie header to replay."""
    _status, page, cookies = request(APP_PORT, "GET", "/login")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    form = urlencode({"email": WHALE_EMAIL, "password": WHALE_PASSWORD, "csrf_token": token})
    headers = {"Cookie": cookie_header(cookies), "Content-Type": "application/x-www-form-urlencoded"}
    status, _page, new_cookies = request(APP_PORT, "POST", "/login", headers, form)
    if status != 303:
        raise RuntimeError(f"sign-in refused ({status}); rate limited? they reset within the hour")
    return cookie_header({**cookies, **new_cookies})


def cookie_header(cookies: dict) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


def check(endpoint: Endpoint, cookie: str) -> int:
    """One request first: a redirect to /login or an error would otherwise be measured as speed."""
    port = BASELINE_PORT if endpoint.baseline else APP_PORT
    status, body, _cookies = request(port, "GET", endpoint.path, {"Cookie": cookie, **endpoint.headers})
    if status != 200:
        raise RuntimeError(f"{endpoint.name}: {endpoint.path} answered {status}")
    return len(body.encode())


def measured_run(endpoint: Endpoint, cookie: str, seconds: int, connections: int, masters: dict[str, int]) -> dict:
    """A wrk run with the CPU milliseconds each request cost the server, PostgreSQL and wrk."""
    master = masters["baseline" if endpoint.baseline else "app"]
    before = cpu_seconds(master)
    run = wrk(endpoint, cookie, seconds, connections)
    after = cpu_seconds(master)
    for part, used in before.items():
        run[f"{part}_cpu_ms"] = (after[part] - used) * 1000 / max(run["requests"], 1)
    return run


def wrk(endpoint: Endpoint, cookie: str, seconds: int, connections: int) -> dict:
    port = BASELINE_PORT if endpoint.baseline else APP_PORT
    headers = {"Cookie": cookie, **endpoint.headers}
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", "bench/report.lua"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run([*command, f"http://127.0.0.1:{port}{endpoint.path}"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout  # fmt: skip
    run = json.loads(output.strip().splitlines()[-1])
    run["rps"] = run["requests"] / run["seconds"]
    return run


# --- figures -------------------------------------------------------------------------------------


def measure(all_endpoints: list[Endpoint], cookie: str, protocol: Protocol, masters: dict[str, int]) -> dict:
    for endpoint in all_endpoints:
        wrk(endpoint, cookie, protocol.warmup, protocol.connections)
    runs: dict[str, list[dict]] = {endpoint.name: [] for endpoint in all_endpoints}
    for number in range(protocol.runs):
        for endpoint in all_endpoints:
            runs[endpoint.name].append(measured_run(endpoint, cookie, protocol.seconds, protocol.connections, masters))
        print(f"  run {number + 1}/{protocol.runs} done", flush=True)
    return runs


def summary(name: str, runs: list[dict], baseline_rps: float, statements: list | None, size: int) -> dict:
    keys = ("rps", "p50_ms", "p95_ms", "p99_ms", "server_cpu_ms", "database_cpu_ms", "wrk_cpu_ms")
    median = {key: statistics.median(run[key] for run in runs) for key in keys}
    queries = settings = None
    if statements is not None:
        settings = sum("set_config('app.current_workspace'" in sql for sql, _params in statements)
        queries = len(statements) - settings
    failed = sum(run["not_200"] + run["socket_errors"] for run in runs)
    return {"name": name, **median, "ratio": median["rps"] / baseline_rps, "failed": failed, "queries": queries,
            "settings": settings, "bytes": size}  # fmt: skip


def verdict(row: dict) -> str:
    if row["name"] not in BUDGETED:
        return ""
    misses = [label for label, bad in (("ratio", row["ratio"] < MIN_RATIO), ("p95", row["p95_ms"] >= MAX_P95_MS),
                                       ("queries", row["queries"] > MAX_QUERIES)) if bad]  # fmt: skip
    return "MISS " + ",".join(misses) if misses else "ok"


def table(rows: list[dict]) -> str:
    lines = [
        "| endpoint | req/s | x baseline | p50 ms | p95 ms | p99 ms | non-200 | SQL (+RLS set_config) | KB "
        "| CPU ms/req: server, PostgreSQL, wrk | budget |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for r in rows:
        sql = "-" if r["queries"] is None else f"{r['queries']} (+{r['settings']})"
        latency = f"{r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['p99_ms']:.1f}"
        cpu = f"{r['server_cpu_ms']:.2f}, {r['database_cpu_ms']:.2f}, {r['wrk_cpu_ms']:.2f}"
        lines.append(f"| {r['name']} | {r['rps']:.0f} | {r['ratio']:.2f} | {latency} | {r['failed']} | {sql} | "
                     f"{r['bytes'] / 1024:.0f} | {cpu} | {verdict(r)} |")  # fmt: skip
    return "\n".join(lines)


def machine_line(db: str) -> str:
    import gunicorn
    import sqlalchemy as sa

    cpu = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
    memory_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "crm", "templates", "migrations"], cwd=ROOT,
                           capture_output=True, text=True).stdout  # fmt: skip
    engine = sa.create_engine(database_env(db)["DATABASE_URL"])
    with engine.connect() as connection:
        version = connection.scalar(sa.text("SELECT version()" if db == "postgresql" else "SELECT sqlite_version()"))
    engine.dispose()
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split(" [")[0]
    database = version.split(" on ")[0] if db == "postgresql" else f"SQLite {version}"
    return (f"nproc {os.cpu_count()}, {cpu.group(1) if cpu else platform.machine()}, {memory_kb / 2**20:.0f} GiB; "
            f"{platform.platform()}; Python {platform.python_version()}; {database}; "
            f"gunicorn {gunicorn.__version__} ({WORKERS} sync workers); {wrk_version}; "
            f"git {sha.strip()}{' + uncommitted changes' if dirty else ''}")  # fmt: skip


def report(args, target: Target, rows: list[dict], sampler: RssSampler, protocol: Protocol) -> str:
    rss = ", ".join(f"{name} {kb / 1024:.0f} MB ({len(sampler.workers_seen[name])} worker processes seen)"
                    for name, kb in sampler.peak_kb.items())  # fmt: skip
    return "\n".join([
        f"## {args.db}, size {args.size}: {target.contacts:,} live contacts in the whale workspace",
        f"Machine: {machine_line(args.db)}",
        f"Protocol: wrk -t2 -c{protocol.connections}, warm-up {protocol.warmup} s, "
        f"{protocol.runs} runs x {protocol.seconds} s, medians. Peak RSS per worker: {rss}.",
        "",
        table(rows),
    ])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--size", choices=tuple(PROTOCOLS), default="S")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help="measure only this endpoint (repeatable; the baseline is always measured)",
    )
    args = parser.parse_args()
    protocol = PROTOCOLS[args.size]
    target = find_target(args.db)
    all_endpoints = [endpoint for endpoint in endpoints(target)
                     if not args.only or endpoint.baseline or endpoint.name in args.only]  # fmt: skip
    statements = capture(make_app(args.db), target, WHALE_EMAIL)
    RESULTS.mkdir(exist_ok=True)
    baseline_env = {"BASELINE_DATABASE_URL": database_env(args.db)["DATABASE_URL"],
                    "BASELINE_WORKSPACE_ID": str(target.workspace_id)}  # fmt: skip
    servers = {
        "app": start_server("wsgi:app", APP_PORT, app_env(args.db), RESULTS / "app.log"),
        "baseline": start_server("bench.baseline:app", BASELINE_PORT, baseline_env, RESULTS / "baseline.log"),
    }
    sampler = RssSampler({name: process.pid for name, process in servers.items()})
    try:
        wait_until_up(APP_PORT, "/healthz")
        wait_until_up(BASELINE_PORT, "/")
        sampler.start()
        cookie = sign_in()
        sizes = {endpoint.name: check(endpoint, cookie) for endpoint in all_endpoints}
        print(f"measuring {len(all_endpoints)} endpoints on {args.db}, size {args.size}", flush=True)
        runs = measure(all_endpoints, cookie, protocol, {name: process.pid for name, process in servers.items()})
    finally:
        sampler.stopping.set()
        for process in servers.values():
            process.terminate()
            process.wait(timeout=30)
    (RESULTS / f"{args.db}-{args.size}-runs.json").write_text(json.dumps(runs, indent=1))
    baseline_rps = statistics.median(run["rps"] for run in runs["baseline"])
    rows = [summary(e.name, runs[e.name], baseline_rps, statements.get(e.name), sizes[e.name]) for e in all_endpoints]
    text = report(args, target, rows, sampler, protocol)
    (RESULTS / f"{args.db}-{args.size}.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
