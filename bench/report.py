"""Turns bench.py's raw results into figures, targets, a printed table, JSON, Markdown and SVG.

Run alone (`python3 bench/report.py`) it re-renders docs/ from bench/results/latest.json.
"""

import json
import os
import statistics
import sys

MiB = 1 << 20


def median(values):
    return statistics.median(values)


def gbps(size, seconds):
    return size / seconds / 1e9


def figures(r):
    """Medians and ratios: a list of rows (what, upvault, reference, ratio, target, ok)."""
    size = r["size_bytes"]
    raw = r["raw_seconds"]
    speed = {name: gbps(size, median(values)) for name, values in raw.items()}
    label = f"{size // MiB} MiB" if size < 1 << 30 else f"{size / (1 << 30):g} GiB"
    info = r["info_small"]
    big = r["info_big"]
    info_rps = median(info["rps"])
    info_p99 = median(info["p99_ms"])
    nginx_rps = median(r["nginx_info"]["rps"])
    big_rps = median(big["rps"])
    listing = {int(n): median(v["ms"]) for n, v in r["listing"].items()}
    requests = sum(info["requests"]) + sum(big["requests"])
    written = sum(info["write_bytes"]) + sum(big["write_bytes"])
    per_request = written / requests if requests else 0.0
    rss_mib = r["peak_rss_kib"] / 1024

    def row(what, up, ref, unit, target, ok, ratio=None, ref_name=""):
        return {"what": what, "upvault": up, "reference": ref, "unit": unit,
                "reference_name": ref_name, "ratio": ratio, "target": target, "ok": ok}

    def at_least(what, up, ref, unit, minimum, ref_name):
        """A row whose target is upvault / reference ≥ minimum."""
        ratio = up / ref
        return row(what, up, ref, unit, f"≥ {minimum} ×", ratio >= minimum, ratio, ref_name)

    rows = [
        at_least(f"upload {label}, durable (GB/s)", speed["upvault_upload"],
                 speed["nginx_put_sync"], "GB/s", 0.8, "nginx PUT + sync"),
        at_least(f"download {label} (GB/s)", speed["upvault_download"],
                 speed["nginx_download"], "GB/s", 0.8, "nginx sendfile"),
        at_least("/file/info, wrk -t2 -c64 (req/s)", info_rps, nginx_rps, "req/s", 0.5,
                 "nginx static JSON"),
        row("/file/info p99 latency (ms)", info_p99, median(r["nginx_info"]["p99_ms"]),
            "ms", "< 10 ms", info_p99 < 10, None, "nginx static JSON"),
    ]
    if 10_000 in listing:
        rows.append(row("/folder/listing, 10 000 files (ms)", listing[10_000], None, "ms",
                        "< 100 ms", listing[10_000] < 100))
    rows += [
        row(f"peak RSS, {r['rss_streams']} uploads + {r['rss_streams']} downloads (MiB)",
            rss_mib, None, "MiB", "< 64 MiB", rss_mib < 64),
        at_least(f"upload {label} vs rustypaste (GB/s)", speed["upvault_upload"],
                 speed["rustypaste_upload"], "GB/s", 1.0, "rustypaste"),
        at_least(f"download {label} vs rustypaste (GB/s)", speed["upvault_download"],
                 speed["rustypaste_download"], "GB/s", 1.0, "rustypaste"),
        at_least(f"/file/info req/s, {big['stored']:,} vs {info['stored']:,} files stored",
                 big_rps, info_rps, "req/s", 0.8, f"{info['stored']:,} files"),
    ]
    # A database write per request would dirty at least one 4 KiB page (a WAL frame) each time;
    # what is left is the log's page accounting and the once-a-minute expiry refresh.
    rows.append(row("disk bytes written per /file/info (excl. log)", per_request, None,
                    "B/req", "< 64 B (a DB write is ≥ 4 KiB)", per_request < 64))

    growth = {
        "listing_ms": {str(n): listing[n] for n in sorted(listing)},
        "listing_bytes": {n: v["bytes"] for n, v in r["listing"].items()},
        "info_rps": {str(info["stored"]): info_rps, str(big["stored"]): big_rps},
        "upload_aggregate_gbps": {n: v["aggregate_gbps"] for n, v in r["scaling"].items()},
    }
    if "cpu_us" in info and "cpu_us" in r["nginx_info"]:
        # The server's CPU time per request (wrk runs on the same cores): why the ratio is what
        # it is, in a figure that drifts less with the machine's speed than req/s.
        growth["info_cpu_us"] = {"upvault": median(info["cpu_us"]),
                                 "nginx": median(r["nginx_info"]["cpu_us"])}
    return rows, growth, speed


def fmt(value, unit):
    if value is None:
        return "—"
    if unit == "req/s":
        return f"{value:,.0f}"
    if unit in ("ms", "MiB", "B/req"):
        return f"{value:.2f}" if value < 10 else f"{value:.1f}"
    return f"{value:.2f}"


def table_text(rows, growth):
    head = ("what", "upvault", "reference", "ratio", "target", "result")
    lines = []
    body = [(r["what"], fmt(r["upvault"], r["unit"]),
             (f"{fmt(r['reference'], r['unit'])} ({r['reference_name']})"
              if r["reference"] is not None else "—"),
             f"{r['ratio']:.2f} ×" if r["ratio"] is not None else "—",
             r["target"], "PASS" if r["ok"] else "MISS") for r in rows]
    widths = [max(len(str(x[i])) for x in [head, *body]) for i in range(len(head))]
    for line in [head, tuple("-" * w for w in widths), *body]:
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(line, widths)).rstrip())
    lines.append("")
    lines.append("listing time: " + ", ".join(
        f"{int(n):,} files {ms:.1f} ms" for n, ms in growth["listing_ms"].items()))
    lines.append("/file/info req/s: " + ", ".join(
        f"{int(n):,} stored {v:,.0f}" for n, v in growth["info_rps"].items()))
    lines.append("aggregate upload: " + ", ".join(
        f"{n} at once {v:.2f} GB/s" for n, v in growth["upload_aggregate_gbps"].items()))
    if "info_cpu_us" in growth:
        cpu = growth["info_cpu_us"]
        lines.append(f"server CPU per /file/info request: upvault {cpu['upvault']:.1f} µs, "
                     f"nginx (static JSON) {cpu['nginx']:.1f} µs")
    return "\n".join(lines)


def table_markdown(rows):
    out = ["| what | upvault | reference | ratio | target | result |",
           "|---|---:|---:|---:|---|---|"]
    for r in rows:
        ref = (f"{fmt(r['reference'], r['unit'])} ({r['reference_name']})"
               if r["reference"] is not None else "—")
        ratio = f"{r['ratio']:.2f} ×" if r["ratio"] is not None else "—"
        out.append(f"| {r['what']} | {fmt(r['upvault'], r['unit'])} | {ref} | {ratio} | "
                   f"{r['target']} | {'✅ pass' if r['ok'] else '❌ miss'} |")
    return "\n".join(out)


def escape(text):
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


# Value labels stay readable where they cross a target tick.
HALO = 'stroke="#fff" stroke-width="3" paint-order="stroke"'


def svg_chart(rows, growth):
    """Horizontal bars: upvault against its reference (= 1.0) with the target marked."""
    compared = [r for r in rows if r["ratio"] is not None]
    width, left, bar_w, row_h = 900, 330, 440, 46
    top = 56
    height = top + row_h * len(compared) + 40
    scale = max(1.5, max(r["ratio"] for r in compared) * 1.1)
    x = lambda v: left + bar_w * min(v, scale) / scale  # noqa: E731
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
           '<text x="16" y="24" font-size="16" font-weight="bold">upvault against the '
           'references, same machine, same run (reference = 1.0)</text>',
           '<text x="16" y="42" fill="#555">grey: reference · blue/red: upvault (red = target '
           'missed) · black tick: target</text>']
    for i, r in enumerate(compared):
        y = top + i * row_h
        out.append(f'<text x="{left - 8}" y="{y + 14}" text-anchor="end">{escape(r["what"])}</text>')
        out.append(f'<text x="{left - 8}" y="{y + 30}" text-anchor="end" fill="#666">'
                   f'vs {escape(r["reference_name"])}</text>')
        target = float(r["target"].split()[1])
        out.append(f'<rect x="{left}" y="{y + 2}" width="{x(1.0) - left:.1f}" height="14" fill="#b0b0b0"/>')
        colour = "#2f6fd0" if r["ok"] else "#d03a2f"
        out.append(f'<rect x="{left}" y="{y + 19}" width="{x(r["ratio"]) - left:.1f}" height="14" fill="{colour}"/>')
        out.append(f'<line x1="{x(target):.1f}" x2="{x(target):.1f}" y1="{y}" y2="{y + 36}" '
                   'stroke="#000" stroke-width="2"/>')
        out.append(f'<text x="{x(1.0) + 4:.1f}" y="{y + 13}" fill="#555" {HALO}>'
                   f'{escape(fmt(r["reference"], r["unit"]))} {r["unit"]}</text>')
        out.append(f'<text x="{x(r["ratio"]) + 4:.1f}" y="{y + 30}" {HALO}>'
                   f'{escape(fmt(r["upvault"], r["unit"]))} {r["unit"]} ({r["ratio"]:.2f} ×)</text>')
    axis_y = top + row_h * len(compared) + 6
    out.append(f'<line x1="{left}" x2="{left + bar_w}" y1="{axis_y}" y2="{axis_y}" stroke="#999"/>')
    step = 0.5
    v = 0.0
    while v <= scale + 1e-9:
        out.append(f'<text x="{x(v):.1f}" y="{axis_y + 16}" text-anchor="middle" fill="#555">{v:g}×</text>')
        v += step
    out.append("</svg>")
    return "\n".join(out) + "\n"


def markdown(r, rows, growth, text):
    m = r["machine"]
    quick = " (**quick smoke run**: smaller sizes, fewer runs — not the reference figures)" if r["quick"] else ""
    size = r["size_bytes"]
    lines = [
        "# Benchmarks",
        "",
        "Generated by `bench/run.sh` — do not edit by hand. Raw results: "
        "[bench/results/latest.json](../bench/results/latest.json).",
        "",
        f"- **Date:** {r['date']}{quick}",
        f"- **Machine:** {m['cores']} cores, {m['cpu']}, {m['memory_gib']} GiB memory, "
        f"Linux {m['kernel']}",
        f"- **References:** {r['versions']['nginx']}; {r['versions']['rustypaste']}; "
        f"{r['versions']['wrk']}",
        f"- **Method:** every server on 127.0.0.1 on the same disk, started by the harness; "
        f"transfers of one {size // MiB} MiB random file with curl; each figure is the median of "
        f"{r['runs']} runs (listings: of at least 5), upvault and its references interleaved in "
        f"the same run; wrk runs last {r['wrk_seconds']} s. Took {r['elapsed_seconds']} s.",
        "",
        "![upvault against nginx and rustypaste](benchmarks.svg)",
        "",
        "## Targets",
        "",
        table_markdown(rows),
        "",
        "## How cost grows",
        "",
        "| files in the folder | `/folder/listing` | response size |",
        "|---:|---:|---:|",
    ]
    for n, ms in growth["listing_ms"].items():
        lines.append(f"| {int(n):,} | {ms:.1f} ms | {growth['listing_bytes'][n] / MiB:.1f} MiB |")
    lines += ["", "| files stored | `/file/info` req/s |", "|---:|---:|"]
    for n, v in growth["info_rps"].items():
        lines.append(f"| {int(n):,} | {v:,.0f} |")
    lines += ["", f"| concurrent {size // MiB} MiB uploads | aggregate throughput |", "|---:|---:|"]
    for n, v in growth["upload_aggregate_gbps"].items():
        lines.append(f"| {n} | {v:.2f} GB/s |")
    if "info_cpu_us" in growth:
        cpu = growth["info_cpu_us"]
        lines += ["", "| server CPU time per `/file/info` request (user + system) | µs |",
                  "|---|---:|",
                  f"| upvault | {cpu['upvault']:.1f} |",
                  f"| nginx, static JSON | {cpu['nginx']:.1f} |"]
    lines += [
        "",
        "## What is measured",
        "",
        "- **upload**: `curl -F upload_file=@…` to `/api/v2/file/upload`, answered after the bytes "
        "are fsynced and the row committed; reference: the same file by `curl -T` to nginx "
        "(`dav_methods PUT`, body temp on the same disk) followed by `sync FILE`, timed together. "
        "rustypaste (`curl -F file=@…`) is timed as it answers (it does not fsync).",
        "- **download**: `curl -o /dev/null` of a fresh `download_url`; reference: nginx "
        "`sendfile on` serving the same file; both from the page cache (one warm-up each).",
        "- **/file/info**: authenticated GET with `access_token`, `account_id` and `file_id` in the "
        "query string, `wrk -t2 -c64 --latency`; reference: nginx serving a 43-byte JSON file. "
        "Rate limiting is off for the run (one client, one token). Requests are logged by both.",
        "- **peak RSS**: VmHWM of the server (reset through `/proc/PID/clear_refs`, also sampled "
        "every 20 ms) while 4 uploads and 4 downloads of the file run at once.",
        "- **rows**: listing and `/file/info` at scale use file rows inserted straight into the "
        "SQLite database while the server is stopped (one shared blob row).",
        "- **token checks**: bytes the server process dirtied on disk during the wrk runs "
        "(`/proc/PID/io` `write_bytes`, less the growth of its log file), per request. A "
        "database write per request would be at least one 4 KiB WAL frame per request; the few "
        "bytes left are the log's page accounting and the token's expiry refresh, which happens "
        "at most once a minute.",
        "",
        "## Printed by the harness",
        "",
        "```text",
        text,
        "```",
        "",
        "Rerun: `bench/run.sh` (about 10 minutes), `BENCH_QUICK=1 bench/run.sh` (a smoke run), "
        "`cargo bench -p upvault-bench` (criterion micro-benchmarks of the hot paths), "
        "`python3 bench/ab.py info|upload ROUNDS BINARY...` (interleaved A/B runs of release "
        "builds: `/file/info` against nginx with CPU time and system calls per request, or "
        "1 GiB uploads with each server thread's CPU and run-queue time).",
        "",
    ]
    return "\n".join(lines)


def write_all(results, repo):
    rows, growth, _ = figures(results)
    results["figures"] = rows
    results["growth"] = growth
    text = table_text(rows, growth)
    print()
    print(text)
    print()
    out_dir = os.path.join(repo, "bench", "results")
    os.makedirs(out_dir, exist_ok=True)
    name = "quick.json" if results["quick"] else "latest.json"
    with open(os.path.join(out_dir, name), "w") as out:
        json.dump(results, out, indent=2)
        out.write("\n")
    if results["quick"] and not os.environ.get("BENCH_WRITE_DOCS"):
        print(f"quick run: results in bench/results/{name}; docs/ left as they are "
              "(set BENCH_WRITE_DOCS=1 to render them anyway)")
        return
    render(results, repo, rows, growth, text)


def render(results, repo, rows=None, growth=None, text=None):
    if rows is None:
        rows, growth, _ = figures(results)
        text = table_text(rows, growth)
        print(text)
    docs = os.path.join(repo, "docs")
    with open(os.path.join(docs, "benchmarks.svg"), "w") as out:
        out.write(svg_chart(rows, growth))
    with open(os.path.join(docs, "BENCHMARKS.md"), "w") as out:
        out.write(markdown(results, rows, growth, text))
    print("wrote bench/results, docs/BENCHMARKS.md and docs/benchmarks.svg")


if __name__ == "__main__":
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "bench", "results", "latest.json")
    with open(path) as inp:
        loaded = json.load(inp)
    loaded["figures"], loaded["growth"], _ = figures(loaded)
    with open(path, "w") as out:
        json.dump(loaded, out, indent=2)
        out.write("\n")
    render(loaded, root)
