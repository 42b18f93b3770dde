#!/usr/bin/env python3
"""upvault's benchmark: upvault beside nginx and rustypaste, on this machine, in one run.

Started by bench/run.sh (which installs the tools and builds upvault); stdlib only. Every
server listens on 127.0.0.1, every loop is bounded in count and time, and every process this
script starts is stopped when it ends (normally, on an error or on SIGINT/SIGTERM).

Environment (all optional):
  BENCH_QUICK=1         smoke run: 64 MiB files, 1 run, 3 s wrk, 100 000 rows instead of 1 000 000
  BENCH_SIZE_MIB=N      size of the transfer file (default 1024, quick 64)
  BENCH_RUNS=N          repetitions of each measurement, medians are reported (default 3, quick 1)
  BENCH_WRK_SECS=N      duration of each wrk run (default 10, quick 3)
"""

import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

MiB = 1 << 20
QUICK = os.environ.get("BENCH_QUICK") == "1"
SIZE = int(os.environ.get("BENCH_SIZE_MIB", 64 if QUICK else 1024)) * MiB
RUNS = max(1, int(os.environ.get("BENCH_RUNS", 1 if QUICK else 3)))
WRK_SECS = max(1, int(os.environ.get("BENCH_WRK_SECS", 3 if QUICK else 10)))
LISTING_SIZES = [1_000, 10_000, 100_000]
BIG_STORED = 100_000 if QUICK else 1_000_000
CONCURRENCY = [1, 2, 4, 8]
RSS_STREAMS = 4

# Hard time limits (seconds) of single steps; a step over its limit fails the run.
TRANSFER_TIMEOUT = 600
API_TIMEOUT = 120
START_TIMEOUT = 60

HOST = "127.0.0.1"
PASSWORD = "bench-password-not-secret"
FAKE_BLOB = "f" * 64  # blob row shared by seeded file rows (no bytes behind it: never read)


def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def wait_port(port, proc, timeout=START_TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode} while starting")
        try:
            with socket.create_connection((HOST, port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"port {port} not open after {timeout}s")


class Processes:
    """The servers this run started; all are stopped by stop_all()."""

    def __init__(self, pidfile):
        self.procs = {}
        self.pidfile = pidfile

    def start(self, name, argv, log_path, env=None, cwd=None):
        with open(log_path, "ab") as out:
            proc = subprocess.Popen(
                argv, stdout=out, stderr=out, stdin=subprocess.DEVNULL,
                env=env, cwd=cwd, start_new_session=True,
            )
        self.procs[name] = proc
        self._write_pids()
        return proc

    def stop(self, name, timeout=20):
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        self._write_pids()

    def stop_all(self):
        for name in list(self.procs):
            self.stop(name)

    def _write_pids(self):
        if self.pidfile:
            with open(self.pidfile, "w") as out:
                out.write("".join(f"{p.pid}\n" for p in self.procs.values() if p.poll() is None))


def no_proxy_opener():
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


OPENER = no_proxy_opener()


def api(base, endpoint, **params):
    """POSTs form parameters to /api/v2/{endpoint}; the decoded success envelope."""
    data = urllib.parse.urlencode(params).encode()
    with OPENER.open(f"{base}/api/v2/{endpoint}", data=data, timeout=API_TIMEOUT) as answer:
        body = json.load(answer)
    if body.get("_status") != "success":
        raise RuntimeError(f"{endpoint} failed: {body}")
    return body


CURL_STATS = "\n%{http_code} %{time_total} %{size_upload} %{size_download}"


def curl(args, timeout=TRANSFER_TIMEOUT):
    """Runs curl; (body, http_code, time_total, seconds on the wall clock)."""
    argv = ["curl", "-sS", "--noproxy", "*", "-H", "Expect:", "-w", CURL_STATS, *args]
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, timeout=timeout, check=True)
    wall = time.perf_counter() - started
    body, _, stats = done.stdout.decode(errors="replace").rpartition("\n")
    code, total, _, _ = stats.split()
    if not code.startswith("2"):
        raise RuntimeError(f"curl {args[-1]}: HTTP {code}: {body[:300]}")
    return body, int(code), float(total), wall


def median(values):
    return statistics.median(values) if values else None


def gbps(size, seconds):
    return size / seconds / 1e9


# ----------------------------------------------------------------------------- the servers


class Nginx:
    def __init__(self, procs, work, binary):
        self.dir = os.path.join(work, "nginx")
        self.www = os.path.join(self.dir, "www")
        os.makedirs(os.path.join(self.www, "put"), exist_ok=True)
        os.makedirs(os.path.join(self.dir, "body-tmp"), exist_ok=True)
        self.port = free_port()
        self.base = f"http://{HOST}:{self.port}"
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as out:
            out.write(f"""
user root;
worker_processes auto;
daemon off;
pid {self.dir}/nginx.pid;
error_log {self.dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log {self.dir}/access.log;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path {self.dir}/body-tmp;
    client_max_body_size 0;
    types {{ application/json json; }}
    default_type application/octet-stream;
    server {{
        listen {HOST}:{self.port};
        root {self.www};
        location /put/ {{
            dav_methods PUT;
            create_full_put_path on;
        }}
    }}
}}
""")
        self.proc = procs.start("nginx", [binary, "-c", conf, "-p", self.dir],
                                os.path.join(self.dir, "stderr.log"))
        wait_port(self.port, self.proc)


class Upvault:
    def __init__(self, procs, work, binary):
        self.procs = procs
        self.binary = binary
        self.dir = os.path.join(work, "upvault")
        os.makedirs(self.dir, exist_ok=True)
        self.db = os.path.join(self.dir, "upvault.db")
        self.port = free_port()
        self.base = f"http://{HOST}:{self.port}"
        self.config = os.path.join(self.dir, "upvault.toml")
        self.log = os.path.join(self.dir, "server.log")
        with open(self.config, "w") as out:
            out.write(f"""listen = "{HOST}:{self.port}"
data_dir = "{self.dir}"

[rate_limit]
# wrk sends tens of thousands of requests a second from one address with one token.
enabled = false
""")
        user = json.loads(self.cli("user", "add", "bench", "--password", PASSWORD,
                                   "--package", "3", "--json"))
        self.account_id = str(user["id"])
        keys = json.loads(self.cli("apikey", "create", "bench", "--json"))
        self.start()
        answer = api(self.base, "authorize", key1=keys["key1"], key2=keys["key2"])
        self.token = answer["data"]["access_token"]
        assert answer["data"]["account_id"] == self.account_id

    def cli(self, *args):
        done = subprocess.run([self.binary, "--config", self.config, *args], capture_output=True,
                              check=True, timeout=API_TIMEOUT)
        return done.stdout.decode()

    def start(self):
        self.proc = self.procs.start("upvault", [self.binary, "--config", self.config, "serve"],
                                     self.log)
        wait_port(self.port, self.proc)

    def stop(self):
        self.procs.stop("upvault")

    def auth(self):
        return {"access_token": self.token, "account_id": self.account_id}

    def upload_args(self, path):
        return ["-F", f"access_token={self.token}", "-F", f"account_id={self.account_id}",
                "-F", f"upload_file=@{path};filename=bench.bin",
                f"{self.base}/api/v2/file/upload"]

    def upload(self, path):
        body, _, _, wall = curl(self.upload_args(path))
        answer = json.loads(body)
        item = answer["data"][0]
        if item.get("error") or answer.get("_status") != "success":
            raise RuntimeError(f"upload failed: {body[:300]}")
        return item, wall

    def download_url(self, file_id):
        return api(self.base, "file/download", file_id=file_id, **self.auth())["data"]["download_url"]

    def create_folder(self, name):
        return api(self.base, "folder/create", folder_name=name, **self.auth())["data"]["id"]

    def seed_files(self, folder_id, count, tag):
        """Inserts `count` file rows (one shared blob row) while the server is stopped."""
        now = int(time.time())
        account = int(self.account_id)
        folder = int(folder_id) if folder_id is not None else None

        def rows():
            for i in range(count):
                yield (account, folder, f"{tag}{i:09d}", f"seed-{tag}-{i:07d}.txt", "text/plain",
                       "txt", 1234, FAKE_BLOB, f"{i:032x}", f"{i:032x}", f"{i:064x}", now)

        con = sqlite3.connect(self.db, timeout=60)
        try:
            with con:
                con.execute("INSERT OR IGNORE INTO blobs (key, size_bytes, ref_count, created_at) "
                            "VALUES (?, 1234, 0, ?)", (FAKE_BLOB, now))
                con.executemany(
                    "INSERT INTO files (account_id, folder_id, short_url, filename, mime_type, "
                    "extension, size_bytes, blob_key, md5, delete_hash, unique_hash, uploaded_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows())
                con.execute("UPDATE blobs SET ref_count = ref_count + ? WHERE key = ?",
                            (count, FAKE_BLOB))
            return con.execute("SELECT count(*) FROM files").fetchone()[0]
        finally:
            con.close()
            # The rows' writeback would otherwise compete with the runs that follow (a run
            # after a million rows once saw its p99 go from 3.5 to 15 ms).
            os.sync()


class Rustypaste:
    def __init__(self, procs, work, binary):
        self.dir = os.path.join(work, "rustypaste")
        os.makedirs(os.path.join(self.dir, "upload"), exist_ok=True)
        self.port = free_port()
        self.base = f"http://{HOST}:{self.port}"
        conf = os.path.join(self.dir, "config.toml")
        with open(conf, "w") as out:
            out.write(f"""[server]
address = "{HOST}:{self.port}"
max_content_length = "64GB"
upload_path = "{self.dir}/upload"
timeout = "600s"
expose_version = false
expose_list = false

[paste]
random_url = {{ type = "alphanumeric", length = 8 }}
default_extension = "txt"
mime_override = []
mime_blacklist = []
duplicate_files = true
""")
        env = dict(os.environ, CONFIG=conf)
        env.pop("AUTH_TOKEN", None)
        self.proc = procs.start("rustypaste", [binary], os.path.join(self.dir, "server.log"),
                                env=env, cwd=self.dir)
        wait_port(self.port, self.proc)

    def upload(self, path):
        body, _, _, wall = curl(["-F", f"file=@{path};filename=bench.bin", f"{self.base}/"])
        url = body.strip()
        if not url.startswith("http://"):
            raise RuntimeError(f"rustypaste upload failed: {body[:300]}")
        return url, wall

    def clear(self):
        upload = os.path.join(self.dir, "upload")
        for name in os.listdir(upload):
            path = os.path.join(upload, name)
            if os.path.isfile(path):
                os.remove(path)


# ----------------------------------------------------------------------------- measurements


def download_seconds(url):
    _, _, total, _ = curl(["-o", "/dev/null", url])
    return total


def wrk(url, seconds):
    """wrk -t2 -c64; (requests per second, p99 in ms, requests)."""
    done = subprocess.run(["wrk", "-t2", "-c64", f"-d{seconds}s", "--latency", url],
                          capture_output=True, text=True, timeout=seconds + 60, check=True)
    out = done.stdout
    if re.search(r"Non-2xx or 3xx responses: (\d+)", out) or "Socket errors" in out:
        raise RuntimeError(f"wrk saw errors against {url.split('?')[0]}:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out).groups()
    p99_ms = float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]
    return rps, p99_ms, requests


def proc_io_write_bytes(pid):
    with open(f"/proc/{pid}/io") as status:
        for line in status:
            if line.startswith("write_bytes:"):
                return int(line.split()[1])
    return 0


def proc_cpu_seconds(pids):
    """User + system CPU time of processes (all their threads), in seconds."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def child_pids(pid):
    """The direct children of a process (nginx's workers)."""
    with open(f"/proc/{pid}/task/{pid}/children") as children:
        return [int(child) for child in children.read().split()]


def proc_status_kib(pid, field):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def run_concurrently(argvs, timeout=TRANSFER_TIMEOUT, on_tick=None):
    """Starts every curl at once; wall seconds until all have ended. Fails if any failed."""
    started = time.perf_counter()
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for argv in argvs]
    try:
        deadline = time.monotonic() + timeout
        while any(p.poll() is None for p in procs):
            if time.monotonic() > deadline:
                raise RuntimeError(f"concurrent transfers not done after {timeout}s")
            if on_tick:
                on_tick()
            time.sleep(0.02)
        wall = time.perf_counter() - started
        for proc in procs:
            out, err = proc.communicate()
            code = out.decode(errors="replace").rsplit("\n", 1)[-1].split()[0]
            if proc.returncode != 0 or not code.startswith("2"):
                raise RuntimeError(f"transfer failed ({proc.returncode}, HTTP {code}): {err[:300]}")
            if b'"error":"' in out:
                raise RuntimeError(f"upload refused: {out[:300]}")
        return wall
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def curl_argv(args):
    return ["curl", "-sS", "--noproxy", "*", "-H", "Expect:", "-w", CURL_STATS, *args]


def make_file(path, size):
    with open(path, "wb") as out:
        left = size
        while left:
            chunk = os.urandom(min(left, 4 * MiB))
            out.write(chunk)
            left -= len(chunk)
        out.flush()
        os.fsync(out.fileno())


def machine():
    model = "unknown"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        found = re.search(r"Model name:\s*(.+)", out)
        model = found.group(1).strip() if found else model
    except (OSError, subprocess.SubprocessError):
        pass
    mem_kib = 0
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "os": platform.platform(),
    }


def versions(nginx_bin, rustypaste_bin):
    def first_line(argv):
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=10)
            return (done.stdout or done.stderr).strip().splitlines()[0]
        except (OSError, subprocess.SubprocessError, IndexError):
            return "unknown"
    return {
        "nginx": first_line([nginx_bin, "-v"]),
        "wrk": first_line(["wrk", "-v"]).split(" Copyright")[0],
        "curl": first_line(["curl", "--version"]),
        "rustypaste": rustypaste_version(rustypaste_bin),
    }


def rustypaste_version(binary):
    """`rustypaste --version` wants a config file first; cargo knows what it installed."""
    try:
        listed = subprocess.run(["cargo", "install", "--list"], capture_output=True, text=True,
                                timeout=30).stdout
        found = re.search(r"^rustypaste (v[\w.]+)", listed, re.M)
        if found:
            return f"rustypaste {found.group(1)}"
    except (OSError, subprocess.SubprocessError):
        pass
    return f"rustypaste ({binary})"


def main():
    repo = os.environ["BENCH_REPO"]
    work = os.environ["BENCH_WORK"]
    upvault_bin = os.environ["BENCH_UPVAULT"]
    rustypaste_bin = os.environ["BENCH_RUSTYPASTE"]
    nginx_bin = os.environ.get("BENCH_NGINX", shutil.which("nginx") or "/usr/sbin/nginx")
    procs = Processes(os.environ.get("BENCH_PIDFILE"))

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        results = measure(repo, work, upvault_bin, rustypaste_bin, nginx_bin, procs)
    finally:
        procs.stop_all()
    results["machine"] = machine()
    results["versions"] = versions(nginx_bin, rustypaste_bin)
    import report  # bench/report.py: table, JSON, markdown and SVG

    report.write_all(results, repo)


def measure(repo, work, upvault_bin, rustypaste_bin, nginx_bin, procs):
    started = time.time()
    src = os.path.join(work, "payload.bin")
    log(f"writing a {SIZE // MiB} MiB random file; {RUNS} run(s) per measurement")
    make_file(src, SIZE)

    nginx = Nginx(procs, work, nginx_bin)
    with open(os.path.join(nginx.www, "payload.bin"), "wb") as out:
        with open(src, "rb") as inp:
            shutil.copyfileobj(inp, out, 4 * MiB)
    with open(os.path.join(nginx.www, "info.json"), "w") as out:
        out.write('{"status":"success","data":{"file":"info"}}\n')
    rusty = Rustypaste(procs, work, rustypaste_bin)
    up = Upvault(procs, work, upvault_bin)
    log(f"servers up: nginx {nginx.port}, rustypaste {rusty.port}, upvault {up.port}")

    raw = {k: [] for k in ("nginx_put_sync", "upvault_upload", "rustypaste_upload",
                           "nginx_download", "upvault_download", "rustypaste_download")}

    # -- single 1 GiB uploads and downloads, interleaved so that noise hits all alike
    first_file = None
    put_target = os.path.join(nginx.www, "put", "payload.bin")
    for run in range(RUNS):
        started_put = time.perf_counter()
        curl(["-T", src, f"{nginx.base}/put/payload.bin"])
        subprocess.run(["sync", put_target], check=True, timeout=TRANSFER_TIMEOUT)
        raw["nginx_put_sync"].append(time.perf_counter() - started_put)

        item, wall = up.upload(src)
        raw["upvault_upload"].append(wall)
        if int(item["size"]) != SIZE:
            raise RuntimeError(f"upvault stored {item['size']} bytes, not {SIZE}")
        first_file = first_file or item["file_id"]

        rusty.clear()
        url, wall = rusty.upload(src)
        raw["rustypaste_upload"].append(wall)
        log(f"upload run {run + 1}/{RUNS}: nginx+sync {gbps(SIZE, raw['nginx_put_sync'][-1]):.2f}, "
            f"upvault {gbps(SIZE, raw['upvault_upload'][-1]):.2f}, "
            f"rustypaste {gbps(SIZE, wall):.2f} GB/s")

    # Warm the page cache of each copy once, then time downloads.
    for target in (f"{nginx.base}/payload.bin", up.download_url(first_file), url):
        download_seconds(target)
    for run in range(RUNS):
        raw["nginx_download"].append(download_seconds(f"{nginx.base}/payload.bin"))
        raw["upvault_download"].append(download_seconds(up.download_url(first_file)))
        raw["rustypaste_download"].append(download_seconds(url))
        log(f"download run {run + 1}/{RUNS}: nginx {gbps(SIZE, raw['nginx_download'][-1]):.2f}, "
            f"upvault {gbps(SIZE, raw['upvault_download'][-1]):.2f}, "
            f"rustypaste {gbps(SIZE, raw['rustypaste_download'][-1]):.2f} GB/s")
    rusty.clear()
    procs.stop("rustypaste")

    # -- peak RSS: 4 uploads + 4 downloads at once (VmHWM reset first)
    pid = up.proc.pid
    with open(f"/proc/{pid}/clear_refs", "w") as refs:
        refs.write("5")  # resets the peak resident set size
    urls = [up.download_url(first_file) for _ in range(RSS_STREAMS)]
    argvs = [curl_argv(up.upload_args(src)) for _ in range(RSS_STREAMS)]
    argvs += [curl_argv(["-o", "/dev/null", u]) for u in urls]
    sampled = [0]

    def sample():
        sampled[0] = max(sampled[0], proc_status_kib(pid, "VmRSS"))

    rss_wall = run_concurrently(argvs, on_tick=sample)
    peak_rss_kib = max(proc_status_kib(pid, "VmHWM"), sampled[0])
    log(f"peak RSS during {RSS_STREAMS} uploads + {RSS_STREAMS} downloads: "
        f"{peak_rss_kib / 1024:.1f} MiB ({rss_wall:.1f} s)")

    # -- aggregate upload throughput with 1, 2, 4, 8 concurrent uploads
    scaling = {}
    for n in CONCURRENCY:
        walls = []
        for _ in range(RUNS):
            walls.append(run_concurrently([curl_argv(up.upload_args(src)) for _ in range(n)]))
        scaling[str(n)] = {"seconds": walls, "aggregate_gbps": gbps(n * SIZE, median(walls))}
        log(f"{n} concurrent uploads: {scaling[str(n)]['aggregate_gbps']:.2f} GB/s aggregate")

    # -- /file/info under wrk against nginx's tiny static JSON
    info_url = f"{up.base}/api/v2/file/info?" + urllib.parse.urlencode(
        dict(up.auth(), file_id=first_file))
    api(up.base, "file/info", file_id=first_file, **up.auth())  # must answer success

    def info_runs(label, between=None):
        """RUNS wrk runs against /file/info; `between()` runs before each (the reference, so
        that both sample the same minutes: this machine's speed drifts by a third)."""
        out = {"rps": [], "p99_ms": [], "requests": [], "write_bytes": [], "cpu_us": []}
        for _ in range(RUNS):
            if between:
                between()
            before_io = proc_io_write_bytes(up.proc.pid)
            before_log = os.path.getsize(up.log)
            before_cpu = proc_cpu_seconds([up.proc.pid])
            rps, p99, requests = wrk(info_url, WRK_SECS)
            cpu = proc_cpu_seconds([up.proc.pid]) - before_cpu
            written = proc_io_write_bytes(up.proc.pid) - before_io
            logged = os.path.getsize(up.log) - before_log
            out["rps"].append(rps)
            out["p99_ms"].append(p99)
            out["requests"].append(requests)
            out["write_bytes"].append(max(0, written - logged))
            out["cpu_us"].append(cpu / requests * 1e6)
        log(f"upvault /file/info ({label}): {median(out['rps']):.0f} req/s, "
            f"p99 {median(out['p99_ms']):.2f} ms")
        return out

    nginx_info = {"rps": [], "p99_ms": [], "cpu_us": []}
    nginx_workers = child_pids(nginx.proc.pid)

    def nginx_info_run():
        before_cpu = proc_cpu_seconds(nginx_workers)
        rps, p99, requests = wrk(f"{nginx.base}/info.json", WRK_SECS)
        cpu = proc_cpu_seconds(nginx_workers) - before_cpu
        nginx_info["rps"].append(rps)
        nginx_info["p99_ms"].append(p99)
        nginx_info["cpu_us"].append(cpu / requests * 1e6)
    folders = {}
    for n in LISTING_SIZES:
        folders[n] = up.create_folder(f"listing-{n}")
    big_folder = up.create_folder("bulk")
    up.stop()
    stored = up.seed_files(folders[LISTING_SIZES[0]], LISTING_SIZES[0], "a")
    up.start()
    log(f"{stored} file rows stored")
    info_small = info_runs(f"{stored} files stored", between=nginx_info_run)
    log(f"nginx static JSON: {median(nginx_info['rps']):.0f} req/s, "
        f"p99 {median(nginx_info['p99_ms']):.2f} ms")
    info_small["stored"] = stored

    # -- listing of folders of 1 000 / 10 000 / 100 000 files
    listing = {}
    for index, n in enumerate(LISTING_SIZES):
        if index > 0:
            up.stop()
            stored = up.seed_files(folders[n], n, "abcdefgh"[index])
            up.start()
        args = ["-d", f"access_token={up.token}", "-d", f"account_id={up.account_id}",
                "-d", f"parent_folder_id={folders[n]}", f"{up.base}/api/v2/folder/listing"]
        body, _, _, _ = curl(args)  # warm-up and check
        got = len(json.loads(body)["data"]["files"])
        if got != n:
            raise RuntimeError(f"listing of a folder of {n} files returned {got}")
        times = [curl(["-o", "/dev/null", *args])[2] for _ in range(max(RUNS, 5))]
        listing[str(n)] = {"ms": [t * 1000 for t in times], "bytes": len(body)}
        log(f"listing of {n} files: {median(times) * 1000:.1f} ms ({len(body) / MiB:.1f} MiB)")

    # -- /file/info again with BIG_STORED file rows
    up.stop()
    stored = up.seed_files(big_folder, BIG_STORED - stored, "z")
    up.start()
    log(f"{stored} file rows stored")
    info_big = info_runs(f"{stored} files stored")
    info_big["stored"] = stored
    up.stop()

    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "quick": QUICK,
        "size_bytes": SIZE,
        "runs": RUNS,
        "wrk_seconds": WRK_SECS,
        "elapsed_seconds": round(time.time() - started),
        "raw_seconds": raw,
        "peak_rss_kib": peak_rss_kib,
        "rss_streams": RSS_STREAMS,
        "scaling": scaling,
        "nginx_info": nginx_info,
        "info_small": info_small,
        "info_big": info_big,
        "listing": listing,
    }


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main()
