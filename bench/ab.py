#!/usr/bin/env python3
"""Interleaved A/B runs of upvault builds, for judging a change on this noisy machine.

    python3 bench/ab.py info ROUNDS BINARY...     /file/info under wrk, nginx's static JSON
                                                  run before each round as the yardstick
    python3 bench/ab.py upload ROUNDS BINARY...   1 GiB uploads, per-thread CPU and run-queue
                                                  time of the server

`info` prints, per round and binary: req/s, the ratio to nginx's run of the same round, the
server's CPU time per request (user + system, from /proc) and p99; then the medians, and the
system calls and context switches per request of each binary (perf stat, when perf is there).
`upload` prints the wall time and, for each server thread that ran, its CPU time, the time it
spent runnable but waiting for a CPU (/proc/PID/task/TID/schedstat) and its voluntary and
involuntary context switches.

Needs what bench/run.sh installs (nginx, wrk, curl); builds nothing: pass release binaries
(copy target/release/upvault aside between builds). Every server is stopped at the end.
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

WRK_SECS = int(os.environ.get("BENCH_WRK_SECS", 8))
SYSCALLS = ["raw_syscalls:sys_enter", "syscalls:sys_enter_fcntl", "syscalls:sys_enter_futex",
            "context-switches"]


def start_servers(procs, work, binaries):
    """One upvault per binary, each with its own data directory and one small stored file."""
    servers = []
    small = os.path.join(work, "small.bin")
    with open(small, "wb") as out:
        out.write(os.urandom(1000))
    for index, binary in enumerate(binaries):
        server_dir = os.path.join(work, f"upvault-{index}")
        os.makedirs(server_dir)
        server = bench.Upvault(procs, server_dir, os.path.abspath(binary))
        # Processes knows servers by name: give each its own so all are stopped at the end.
        procs.procs[f"upvault-{index}"] = procs.procs.pop("upvault")
        item, _ = server.upload(small)
        url = f"{server.base}/api/v2/file/info?" + urllib.parse.urlencode(
            dict(server.auth(), file_id=item["file_id"]))
        servers.append((binary, server, url))
    return servers


def per_request_counts(pid, url):
    """System calls and context switches per /file/info request (None without perf)."""
    if not shutil.which("perf"):
        return None
    events = ",".join(SYSCALLS)
    stat = subprocess.Popen(["perf", "stat", "-x,", "-e", events, "-p", str(pid)],
                            stderr=subprocess.PIPE, text=True)
    _, _, requests = bench.wrk(url, WRK_SECS)
    stat.send_signal(2)
    _, err = stat.communicate(timeout=30)
    counts = {}
    for line in err.splitlines():
        fields = line.split(",")
        if len(fields) > 2 and fields[0].replace(".", "").isdigit():
            counts[fields[2]] = float(fields[0]) / requests
    return counts


def info(procs, work, rounds, binaries):
    nginx = bench.Nginx(procs, work, bench_nginx())
    with open(os.path.join(nginx.www, "info.json"), "w") as out:
        out.write('{"status":"success","data":{"file":"info"}}\n')
    servers = start_servers(procs, work, binaries)
    ratios = {binary: [] for binary in binaries}
    cpu = {binary: [] for binary in binaries}
    for round_ in range(rounds):
        nginx_rps, _, _ = bench.wrk(f"{nginx.base}/info.json", WRK_SECS)
        line = f"round {round_ + 1}: nginx {nginx_rps:,.0f}"
        for binary, server, url in servers:
            before = bench.proc_cpu_seconds([server.proc.pid])
            rps, p99, requests = bench.wrk(url, WRK_SECS)
            used = bench.proc_cpu_seconds([server.proc.pid]) - before
            ratios[binary].append(rps / nginx_rps)
            cpu[binary].append(used / requests * 1e6)
            line += (f" | {binary}: {rps:,.0f} ({rps / nginx_rps:.3f}), "
                     f"{cpu[binary][-1]:.1f} µs CPU, p99 {p99:.2f} ms")
        print(line, flush=True)
    for binary, server, url in servers:
        print(f"{binary}: median ratio {statistics.median(ratios[binary]):.3f}, "
              f"median CPU per request {statistics.median(cpu[binary]):.1f} µs")
        counts = per_request_counts(server.proc.pid, url)
        if counts:
            print("  per request: " + ", ".join(f"{name} {value:.2f}"
                                                 for name, value in counts.items()))


def threads(pid):
    """Per thread: (name, run s, run-queue wait s, voluntary, involuntary switches)."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as schedstat:
                run, wait, _ = map(int, schedstat.read().split())
            with open(f"/proc/{pid}/task/{tid}/comm") as comm:
                name = comm.read().strip()
            status = {}
            with open(f"/proc/{pid}/task/{tid}/status") as lines:
                for line in lines:
                    key, _, value = line.partition(":")
                    status[key] = value.strip()
        except FileNotFoundError:
            continue  # the thread ended meanwhile
        out[tid] = (name, run / 1e9, wait / 1e9, int(status["voluntary_ctxt_switches"]),
                    int(status["nonvoluntary_ctxt_switches"]))
    return out


def upload(procs, work, rounds, binaries):
    src = os.path.join(work, "payload.bin")
    bench.make_file(src, 1 << 30)
    servers = start_servers(procs, work, binaries)
    for round_ in range(rounds):
        for binary, server, _ in servers:
            before = threads(server.proc.pid)
            _, wall = server.upload(src)
            after = threads(server.proc.pid)
            rows = []
            for tid, (name, run, wait, vol, invol) in after.items():
                _, run0, wait0, vol0, invol0 = before.get(tid, (name, 0, 0, 0, 0))
                if run - run0 > 0.05:
                    rows.append((run - run0, wait - wait0, vol - vol0, invol - invol0, name))
            rows.sort(reverse=True)
            detail = "; ".join(f"{name} run {run:.2f} s, waiting {wait:.2f} s, "
                               f"switches {vol}+{invol}"
                               for run, wait, vol, invol, name in rows)
            print(f"round {round_ + 1} {binary}: {wall:.2f} s "
                  f"({(1 << 30) / wall / 1e9:.3f} GB/s) | {detail}", flush=True)


def bench_nginx():
    return shutil.which("nginx") or "/usr/sbin/nginx"


def main():
    if len(sys.argv) < 4 or sys.argv[1] not in ("info", "upload"):
        sys.exit(__doc__)
    mode, rounds, binaries = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    work = tempfile.mkdtemp(prefix="upvault-ab.", dir=os.environ.get("BENCH_TMPDIR", "/var/tmp"))
    procs = bench.Processes(os.path.join(work, "pids"))
    try:
        (info if mode == "info" else upload)(procs, work, rounds, binaries)
    finally:
        procs.stop_all()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
