#!/usr/bin/env python3
"""Ferry's transfer benchmark, side by side with socat, in one run.

Run it through benches/run.sh (which builds target/release/ferry first).
It makes its own data, measures each tool several times (alternating, so a
change in the machine's load hits both alike), verifies every Ferry copy
outside the timed section, and prints the ratios last. Everything goes to
127.0.0.1, or inside a sealed netlab of network namespaces (root only).
See docs/BENCHMARKS.md.
"""

import argparse
import hashlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

MiB = 1024 * 1024
HERE = Path(__file__).resolve().parent
REPO = HERE.parent
NETLAB = REPO.parent / "shared" / "netlab" / "netlab"
SOCAT_BUF = "131072"
TIME = "/usr/bin/time"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- machine


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def busy_jiffies():
    """Non-idle CPU time of the whole machine, in clock ticks."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields[:8]) - idle


TICK = os.sysconf("SC_CLK_TCK")
NCPU = os.cpu_count() or 1


def machine():
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    flags = open("/proc/cpuinfo").read()
    return {
        "cpu": cpu,
        "cores": NCPU,
        "sha_ni": " sha_ni" in flags,
        "aes_ni": " aes " in flags,
        "kernel": os.uname().release,
        "mem_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
    }


# ---------------------------------------------------------------- data


def make_random_file(path, size, _name):
    # os.urandom is fast enough and incompressible.
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 8 * MiB)
            f.write(os.urandom(n))
            left -= n


def make_small_tree(root, count, size):
    """`count` files of `size` bytes in nested folders (10 x 10 x N)."""
    root.mkdir(parents=True)
    per_leaf = max(1, -(-count // 100))
    made = 0
    a = 0
    while made < count:
        for b in range(10):
            leaf = root / f"d{a:02}" / f"e{b:02}"
            leaf.mkdir(parents=True, exist_ok=True)
            for c in range(per_leaf):
                if made == count:
                    break
                (leaf / f"f{c:04}.bin").write_bytes(os.urandom(size))
                made += 1
            if made == count:
                break
        a += 1


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(MiB)
            if not b:
                return h.hexdigest()
            h.update(b)


def tree_digest(root):
    """Relative path -> sha256 of every file under root, plus the folder list."""
    files, dirs = {}, set()
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        dirs.add(rel)
        for name in filenames:
            p = os.path.join(dirpath, name)
            files[os.path.normpath(os.path.join(rel, name))] = sha256_file(p)
    return files, dirs


def clear_dir(d, settle=False):
    """Empties `d`. `settle` (a folder on a disk): then writes every dirty
    page back, untimed, so each timed run starts with no writeback left over
    from the one before (else a run pays for its predecessor's 1 GiB)."""
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    if settle:
        os.sync()


def fs_type(path):
    """The file system type holding `path` (the longest matching mount point)."""
    path = os.path.realpath(path)
    best, kind = "", "?"
    with open("/proc/self/mounts") as mounts:
        for line in mounts:
            fields = line.split()
            point = fields[1].replace("\\040", " ")
            inside = path == point or path.startswith(point.rstrip("/") + "/")
            if inside and len(point) >= len(best):
                best, kind = point, fields[2]
    return kind


# ---------------------------------------------------------------- running


def parse_time_v(path):
    out = {}
    try:
        text = Path(path).read_text()
    except OSError:
        return out
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("Maximum resident set size (kbytes):"):
            out["rss_kib"] = int(line.split(":")[1])
        elif line.startswith("User time (seconds):"):
            out["user"] = float(line.split(":")[1])
        elif line.startswith("System time (seconds):"):
            out["sys"] = float(line.split(":")[1])
        elif line.startswith("Exit status:"):
            out["exit"] = int(line.split(":")[1])
    return out


def listening(pid, port):
    """True when a socket of pid's network namespace listens on port."""
    want = f":{port:04X}"
    for name in ("tcp", "tcp6"):
        try:
            with open(f"/proc/{pid}/net/{name}") as f:
                for line in f.readlines()[1:]:
                    cols = line.split()
                    if cols[1].endswith(want) and cols[3] == "0A":
                        return True
        except OSError:
            pass
    return False


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Env:
    def __init__(self, work, ferry, netns=None):
        self.work = work
        self.ferry = str(ferry)
        self.netns = netns  # None, or (prefix, rx_host, tx_host)

    def prefix(self, host):
        """Command prefix that runs in netlab host `host` ("rx"/"tx"), or nothing."""
        if not self.netns:
            return []
        prefix, rx, tx = self.netns
        return [str(NETLAB), "exec", str(rx if host == "rx" else tx)]

    def env(self, who):
        e = dict(os.environ)
        e["FERRY_INTERFACES"] = "lo"
        e["FERRY_CONFIG_DIR"] = str(self.work / f"cfg-{who}")
        e["FERRY_DATA_DIR"] = str(self.work / f"data-{who}")
        e["RUST_LOG"] = "warn"
        if self.netns:
            e["NETLAB_PREFIX"] = self.netns[0]
            e["FERRY_INTERFACES"] = "eth0"
        return e


def run_pair(env, rx_cmd, tx_cmd_for_port, port=None, ferry=False, timeout=600, extra=None):
    """Starts the receiver, waits until it listens, then times the sender
    until both have exited. Returns wall seconds and both /usr/bin/time records.
    `extra` maps "rx"/"tx" to environment variables added for that side."""
    extra = extra or {}
    rx_time = env.work / "rx.time"
    tx_time = env.work / "tx.time"
    rx_out = env.work / "rx.out"
    for p in (rx_time, tx_time):
        p.unlink(missing_ok=True)
    with open(rx_out, "w") as out:
        rx = subprocess.Popen(
            env.prefix("rx") + [TIME, "-v", "-o", str(rx_time)] + rx_cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**env.env("rx"), **extra.get("rx", {})},
        )
    deadline = time.monotonic() + 30
    while True:
        if rx.poll() is not None:
            raise RuntimeError(f"receiver exited early: {rx_out.read_text()[-2000:]}")
        if ferry:
            first = rx_out.read_text().split("\n", 1)[0]
            if first.startswith("Listening on port "):
                port = int(first.split()[3].rstrip(";"))
                break
        elif listening(rx.pid, port):
            break
        if time.monotonic() > deadline:
            rx.kill()
            raise RuntimeError("receiver did not start listening")
        time.sleep(0.005)
    busy0 = busy_jiffies()
    load = loadavg()
    t0 = time.monotonic()
    tx = subprocess.Popen(
        env.prefix("tx") + [TIME, "-v", "-o", str(tx_time)] + tx_cmd_for_port(port),
        stdout=subprocess.DEVNULL,
        stderr=open(env.work / "tx.err", "w"),
        env={**env.env("tx"), **extra.get("tx", {})},
    )
    # Popen.wait(timeout=...) polls with sleeps of up to 50 ms, which would
    # quantise the measurement: wait without a timeout, and let a watchdog
    # kill both if they hang.
    watchdog = threading.Timer(timeout, lambda: (tx.kill(), rx.kill()))
    watchdog.start()
    try:
        tx_rc = tx.wait()
        if tx_rc != 0:
            # The sender gave up: a receiver still waiting for it (the
            # LocalSend peer waits for its session) is not worth 10 minutes.
            try:
                rx.wait(timeout=10)
            except subprocess.TimeoutExpired:
                rx.kill()
        rx_rc = rx.wait()
    finally:
        watchdog.cancel()
    wall = time.monotonic() - t0
    busy = (busy_jiffies() - busy0) / TICK
    rx_t, tx_t = parse_time_v(rx_time), parse_time_v(tx_time)
    if tx_rc != 0 or rx_rc != 0:
        raise RuntimeError(
            f"failed: sender exit {tx_rc}, receiver exit {rx_rc}\n"
            f"receiver: {rx_out.read_text()[-1500:]}\n"
            f"sender: {(env.work / 'tx.err').read_text()[-1500:]}"
        )
    ours = sum(t.get("user", 0) + t.get("sys", 0) for t in (rx_t, tx_t))
    sides = {f"{side}_{k}": t.get(k) for side, t in (("rx", rx_t), ("tx", tx_t)) for k in ("user", "sys")}
    # CPU the rest of the machine used meanwhile (other developers' builds...).
    other = max(0.0, busy - ours) / (wall * NCPU)
    return {
        "wall": wall,
        "load": load,
        "other_cpu": other,
        "cpu": ours,
        "rx_cpu": rx_t.get("user", 0) + rx_t.get("sys", 0),
        "tx_cpu": tx_t.get("user", 0) + tx_t.get("sys", 0),
        "rx_rss_kib": rx_t.get("rss_kib"),
        "tx_rss_kib": tx_t.get("rss_kib"),
        **sides,
    }


# --------------------------------------------------------------- the tools


def socat_file(env, src, dst, host="127.0.0.1"):
    port = free_port()
    rx = ["socat", "-u", "-b", SOCAT_BUF, f"TCP-LISTEN:{port},reuseaddr", f"OPEN:{dst},creat,trunc"]
    tx = lambda p: ["socat", "-u", "-b", SOCAT_BUF, f"OPEN:{src}", f"TCP:{host}:{p}"]
    return run_pair(env, rx, tx, port=port)


def tar_socat(env, src_root, dst_dir, host="127.0.0.1"):
    port = free_port()
    rx = [
        "sh",
        "-c",
        f"socat -u -b {SOCAT_BUF} TCP-LISTEN:{port},reuseaddr - | tar -C '{dst_dir}' -xf -",
    ]
    tx = lambda p: [
        "sh",
        "-c",
        f"tar -C '{src_root.parent}' -cf - '{src_root.name}' | "
        f"socat -u -b {SOCAT_BUF} - TCP:{host}:{p}",
    ]
    return run_pair(env, rx, tx, port=port)


_TRUST_NEW = {}


def trust_new(binary):
    """`--trust-new` for builds that confirm new devices (protocol 3: a
    script has no person to compare the pairing code), nothing for older
    builds compared with --also, which do not know the flag."""
    if binary not in _TRUST_NEW:
        help_text = subprocess.run(
            [binary, "send", "--help"], capture_output=True, text=True
        ).stdout
        _TRUST_NEW[binary] = ["--trust-new"] if "--trust-new" in help_text else []
    return _TRUST_NEW[binary]


def ferry_send(env, src, dst_dir, host="127.0.0.1", binary=None, timeout=600):
    binary = binary or env.ferry
    rx = [binary, "receive", "--port", "0", "--once", "--yes", "--dir", str(dst_dir)]
    flags = trust_new(binary)
    tx = lambda p: [binary, "send", *flags, "--to", f"{host}:{p}", str(src)]
    return run_pair(env, rx, tx, ferry=True, timeout=timeout)


PEER = HERE / "localsend_peer.py"


def peer_cmd(env):
    """The independent LocalSend peer (benches/localsend_peer.py: written
    from the protocol's README with Python's standard library and curl)."""
    return [sys.executable, str(PEER), "--cert-dir", str(env.work / "peer-cert")]


def localsend_into_ferry(env, src, dst_dir, binary=None, timeout=600):
    """The independent peer sends `src` the way LocalSend's CLI does (no
    sha256, one upload after another on one connection, curl streaming
    the bytes) into `ferry receive`'s LocalSend server, on 127.0.0.1."""
    binary = binary or env.ferry
    port = free_port()
    rx = [binary, "receive", "--port", "0", "--once", "--yes", "--dir", str(dst_dir)]
    tx = lambda p: peer_cmd(env) + ["send", "--to", f"127.0.0.1:{p}", str(src)]
    extra = {"rx": {"FERRY_LOCALSEND_PORT": str(port)}}
    r = run_pair(env, rx, tx, port=port, timeout=timeout, extra=extra)
    return {**r, "ferry_cpu": r["rx_cpu"]}


def ferry_into_localsend(env, src, dst_dir, binary=None, timeout=600):
    """`ferry send --localsend` (prepare-upload with sha256, eight uploads
    at a time on kept-alive connections) into the independent peer's
    LocalSend server, on 127.0.0.1."""
    binary = binary or env.ferry
    rx = peer_cmd(env) + ["receive", "--once", "--dir", str(dst_dir)]
    tx = lambda p: [binary, "send", "--localsend", "--trust-new", "--to", f"127.0.0.1:{p}", str(src)]
    extra = {"tx": {"FERRY_LOCALSEND_PORT": "0"}}
    r = run_pair(env, rx, tx, ferry=True, timeout=timeout, extra=extra)
    return {**r, "ferry_cpu": r["tx_cpu"]}


def ferry_localsend(env, src, dst_dir, binary=None, timeout=600):
    """`ferry send --localsend` into `ferry receive`'s LocalSend server (on a
    port chosen here), both on 127.0.0.1: Ferry on both ends, SHA-256
    checked (the --localsend-ferry-both rows)."""
    binary = binary or env.ferry
    port = free_port()
    rx = [binary, "receive", "--port", "0", "--once", "--yes", "--dir", str(dst_dir)]
    tx = lambda p: [binary, "send", "--localsend", "--trust-new", "--to", f"127.0.0.1:{p}", str(src)]
    extra = {"rx": {"FERRY_LOCALSEND_PORT": str(port)}, "tx": {"FERRY_LOCALSEND_PORT": "0"}}
    r = run_pair(env, rx, tx, port=port, timeout=timeout, extra=extra)
    return {**r, "ferry_cpu": r["cpu"]}


def leftovers(dst_dir):
    bad = []
    for dirpath, _, names in os.walk(dst_dir):
        for n in names:
            if ".ferry-part" in n or n == ".ferry-incomplete":
                bad.append(os.path.join(dirpath, n))
    return bad


# ---------------------------------------------------------------- stats


def stats(values):
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
    }


def fmt_runs(runs, key="wall"):
    s = stats([r[key] for r in runs])
    return f"{s['median']:.3f} s (min {s['min']:.3f}, max {s['max']:.3f})"


def median(runs, key):
    vals = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(vals) if vals else float("nan")


def describe(name, runs, size=None):
    wall = median(runs, "wall")
    rate = f", {size / wall / 1e6:7.0f} MB/s" if size else ""
    rss = ""
    if runs[0].get("rx_rss_kib") is not None:
        rss = (
            f", peak RSS rx {max(r['rx_rss_kib'] for r in runs) / 1024:.1f} MiB"
            f" tx {max(r['tx_rss_kib'] for r in runs) / 1024:.1f} MiB"
        )
    load = ", ".join(f"{r['load']:.2f}" for r in runs)
    other = ", ".join(f"{r['other_cpu'] * 100:.0f}%" for r in runs)
    split = ""
    if runs[0].get("rx_sys") is not None:
        # Where the CPU went, per side: user (hashing, TLS) and system (copies).
        split = (
            f" (receive {median(runs, 'rx_user'):.2f} user + {median(runs, 'rx_sys'):.2f} sys,"
            f" send {median(runs, 'tx_user'):.2f} + {median(runs, 'tx_sys'):.2f})"
        )
    log(
        f"  {name:<22} {fmt_runs(runs)}{rate}, CPU {median(runs, 'cpu'):.2f} s{split}{rss}\n"
        f"  {'':<22} load1 before each run: {load}; other processes' CPU during runs: {other}"
    )


QUIET = 0.15  # "quiet" run: other processes used < 15% of the machine


def paired(ref, runs, ferry_over_ref=False):
    """Ratios of runs made back to back (round i of each), which see about
    the same machine load: median, min, max, and the median over rounds in
    which both runs were quiet (None if there were none)."""
    ratios, quiet = [], []
    for a, b in zip(ref, runs):
        r = b["wall"] / a["wall"] if ferry_over_ref else a["wall"] / b["wall"]
        ratios.append(r)
        if a["other_cpu"] < QUIET and b["other_cpu"] < QUIET:
            quiet.append(r)
    out = stats(ratios)
    out["quiet"] = statistics.median(quiet) if quiet else None
    out["quiet_n"] = len(quiet)
    out["n"] = len(ratios)
    return out


def fmt_ratio(p, unit):
    q = f"{p['quiet']:.3f}{unit} in {p['quiet_n']}" if p["quiet"] is not None else "none"
    return (
        f"{p['median']:.3f}{unit} (median of {p['n']} back-to-back pairs, range "
        f"{p['min']:.3f}-{p['max']:.3f}; quiet pairs: {q})"
    )


# --------------------------------------------------------------- scenarios


def machine_busy(seconds=0.5):
    """Fraction of the machine's CPU in use over `seconds`."""
    b0, t0 = busy_jiffies(), time.monotonic()
    time.sleep(seconds)
    return (busy_jiffies() - b0) / TICK / ((time.monotonic() - t0) * NCPU)


QUIET_WAIT = 0  # seconds to wait for a quiet machine before each round (--quiet-wait)


def wait_quiet():
    """Waits (up to QUIET_WAIT s) until other processes leave the machine idle."""
    if QUIET_WAIT <= 0:
        return
    deadline = time.monotonic() + QUIET_WAIT
    while True:
        busy = machine_busy()
        if busy < QUIET or time.monotonic() > deadline:
            if busy >= QUIET:
                log(f"    (machine still {busy * 100:.0f}% busy after {QUIET_WAIT} s; measuring anyway)")
            return


def alternate(repeats, pairs):
    """Runs each (name, fn) in turn, `repeats` rounds; returns name -> runs."""
    results = {name: [] for name, _ in pairs}
    for i in range(repeats):
        wait_quiet()
        for name, fn in pairs:
            r = fn()
            results[name].append(r)
            log(
                f"    {name} #{i + 1}: {r['wall']:.3f} s, load {r['load']:.2f}, "
                f"other CPU {r['other_cpu'] * 100:.0f}%"
            )
    return results


def side_by_side(args, dst, reference, ferry, size=None, ferry_over_ref=False):
    """One warm-up of each, then the reference, Ferry and every --also build
    alternating round by round; prints each and returns the runs by name, the
    paired ratio of Ferry and those of the --also builds. `reference` is
    (key, label, run), `ferry` is (label, run(binary=None))."""
    ref_key, ref_label, ref_run = reference
    ferry_label, ferry_run = ferry
    ref_run()
    ferry_run()
    pairs = [(ref_key, ref_run), ("ferry", ferry_run)]
    pairs += [(Path(b).name, lambda b=b: ferry_run(b)) for b in args.also]
    res = alternate(args.repeats, pairs)
    clear_dir(dst)
    describe(ref_label, res[ref_key], size)
    describe(ferry_label, res["ferry"], size)
    for b in args.also:
        describe(Path(b).name, res[Path(b).name], size)
    ratio = paired(res[ref_key], res["ferry"], ferry_over_ref=ferry_over_ref)
    also = {
        Path(b).name: paired(res[ref_key], res[Path(b).name], ferry_over_ref=ferry_over_ref)
        for b in args.also
    }
    return res, ratio, also


def openssl_rate(cipher, piece):
    """Bytes per second `openssl speed` measures for `cipher` over pieces of
    `piece` bytes on this machine (None without openssl)."""
    try:
        out = subprocess.run(
            ["openssl", "speed", "-evp", cipher, "-bytes", str(piece), "-seconds", "1"],
            capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in out.splitlines():
        words = line.split()
        if words and words[0].lower() == cipher and words[-1].endswith("k"):
            return float(words[-1][:-1]) * 1000
    return None


def crypto_floor(size, ferry_runs, socat_runs):
    """Ferry's CPU for one large file against what this CPU cannot avoid:
    two SHA-256 passes (sender and receiver, 64 KiB pieces), two AES-256-GCM
    passes (16 KiB records) at the speeds `openssl speed` measures here (ring
    and sha2 run at the same speeds), plus socat's own CPU for the same bytes
    in the same run (the kernel copies both make). The issue's 3.4 CPU-s
    target was set on a CPU whose SHA-256 ran at 1.8 GB/s; this shows what
    the machine at hand allows."""
    sha, aes = openssl_rate("sha256", 65536), openssl_rate("aes-256-gcm", 16384)
    if not sha or not aes:
        log("  (no CPU floor: openssl speed did not answer)")
        return None
    socat_cpu = median(socat_runs, "cpu")
    floor = 2 * size / sha + 2 * size / aes + socat_cpu
    ferry_cpu = median(ferry_runs, "cpu")
    log(f"  CPU floor here: SHA-256 x2 {2 * size / sha:.2f} s ({sha / 1e9:.2f} GB/s) + "
        f"AES-GCM x2 {2 * size / aes:.2f} s ({aes / 1e9:.2f} GB/s) + socat's own {socat_cpu:.2f} s "
        f"= {floor:.2f} s; Ferry {ferry_cpu:.2f} s ({ferry_cpu / floor:.2f}x the floor)")
    return {"sha256_bps": sha, "aes_gcm_bps": aes, "floor_cpu": floor, "ferry_cpu": ferry_cpu}


def bench_big(env, args, src, size, label, dst=None, send=None, ferry_label="ferry (TLS, SHA-256 x2)"):
    """One large file, `send` (ferry_send unless given) against socat."""
    send = send or ferry_send
    log(f"\n== {label}: one {size / MiB:.0f} MiB random file, file -> file on loopback")
    want = sha256_file(src)
    on_disk = dst is not None
    dst = dst or env.work / "dst"
    socat_dst = dst / "socat.bin"

    def socat_run():
        clear_dir(dst, settle=on_disk)
        r = socat_file(env, src, socat_dst)
        if os.path.getsize(socat_dst) != size:
            raise RuntimeError("socat copy has the wrong size")
        return r

    def ferry_run(binary=None):
        clear_dir(dst, settle=on_disk)
        r = send(env, src, dst, binary=binary)
        got = dst / src.name
        if sha256_file(got) != want or leftovers(dst):
            raise RuntimeError("Ferry's copy does not match (or left partial files)")
        return r

    log("  warm-up (untimed): identities, page cache")
    res, ratio, also = side_by_side(
        args, dst, ("socat", "socat -b 131072", socat_run),
        (ferry_label, ferry_run), size=size)
    floor = crypto_floor(size, res["ferry"], res["socat"]) if send is ferry_send else None
    return {"label": label, "bytes": size, "socat": res["socat"], "ferry": res["ferry"], "ratio": ratio,
            "also": also, "runs": res, "floor": floor}


def bench_small(env, args, tree, count, dst=None, send=None, ferry_label="ferry (every file verified)",
                speed=False):
    """Many small files, `send` (ferry_send unless given) against
    tar|socat|tar; the ratio is Ferry's time over tar's, or with `speed`
    tar's over Ferry's."""
    send = send or ferry_send
    into = "tmpfs" if dst is None else dst
    log(f"\n== small files: {count} x {args.small_size} B in nested folders, into {into}")
    want_files, want_dirs = tree_digest(tree)
    on_disk = dst is not None
    dst = dst or env.work / "dst"

    def tar_run():
        clear_dir(dst, settle=on_disk)
        r = tar_socat(env, tree, dst)
        if len(tree_digest(dst / tree.name)[0]) != count:
            raise RuntimeError("tar copy is incomplete")
        return r

    def ferry_run(binary=None):
        clear_dir(dst, settle=on_disk)
        r = send(env, tree, dst, binary=binary)
        files, dirs = tree_digest(dst / tree.name)
        if files != want_files or dirs != want_dirs or leftovers(dst):
            raise RuntimeError("Ferry's copy of the tree does not match")
        return r

    log("  warm-up (untimed)")
    res, ratio, also = side_by_side(
        args, dst, ("tar|socat|tar", "tar | socat | tar", tar_run),
        (ferry_label, ferry_run), ferry_over_ref=not speed)
    return {"count": count, "tar": res["tar|socat|tar"], "ferry": res["ferry"], "ratio": ratio,
            "also": also, "runs": res}


def bench_localsend(env, args, src, size, tree, count):
    """The LocalSend rows: one large file into Ferry's LocalSend server vs
    socat, and many small files sent by Ferry over LocalSend vs tar|socat|tar
    (as a speed ratio, the way the issue states its target)."""
    # The other end is the independent peer (benches/localsend_peer.py), as
    # a LocalSend device would be; --localsend-ferry-both puts Ferry there.
    # The small files go into Ferry's own LocalSend server unless
    # --localsend-small-into peer: the Python peer's server spends about
    # 0.75 CPU-s on 2,000 uploads (Python per request), three times Ferry's
    # sender, so with it that row timed the peer, not Ferry.
    both = args.localsend_ferry_both
    into_ferry = both or args.localsend_small_into == "ferry"
    big = bench_big(env, args, src, size, "LocalSend protocol",
                    send=ferry_localsend if both else localsend_into_ferry,
                    ferry_label="ferry <- ferry" if both else "peer -> ferry")
    small = bench_small(env, args, tree, count,
                        send=ferry_localsend if into_ferry else ferry_into_localsend,
                        ferry_label="ferry -> ferry" if into_ferry else "ferry -> peer", speed=True)
    return {"bytes": size, "count": count, "big": big, "small": small}


def bench_memory(env, args, base):
    """Peak RSS of both Ferry processes, small vs large inputs."""
    log("\n== memory: peak RSS of ferry send / ferry receive")
    out = {}
    cases = []
    small_file = base / "mem-16MiB.bin"
    make_random_file(small_file, 16 * MiB, "m16")
    cases.append(("1 file, 16 MiB", small_file))
    big_file = base / "mem-2GiB.bin"
    make_random_file(big_file, 2048 * MiB, "m2g")
    cases.append(("1 file, 2 GiB", big_file))
    ten = base / "mem-10"
    make_small_tree(ten, 10, 4096)
    cases.append(("10 files", ten))
    many = base / "mem-10000"
    make_small_tree(many, 10000, 4096)
    cases.append(("10,000 files", many))
    dst = env.work / "dst"
    for label, src in cases:
        runs = []
        for _ in range(max(1, min(args.repeats, 2))):
            clear_dir(dst)
            runs.append(ferry_send(env, src, dst))
        clear_dir(dst)
        rx = max(r["rx_rss_kib"] for r in runs) / 1024
        tx = max(r["tx_rss_kib"] for r in runs) / 1024
        out[label] = {"rx_mib": rx, "tx_mib": tx}
        log(f"  {label:<16} receive {rx:5.1f} MiB, send {tx:5.1f} MiB")
    big_file.unlink()
    return out


def bench_counts(env, args, base):
    """Peak RSS of both Ferry processes by file count (1 KiB files), with the
    time tar|socat|tar takes for the same tree in the same run: memory must
    not grow with the count (issue #18)."""
    counts = [int(c) for c in args.counts.split(",")] + ([1000000] if args.million else [])
    log(f"\n== memory by file count: {', '.join(f'{c:,}' for c in counts)} files of 1 KiB")
    dst = env.work / "dst"
    out = {}
    binaries = [("ferry", env.ferry)] + [(Path(b).name or b, b) for b in args.also]
    for count in counts:
        tree = base / f"count-{count}"
        made = time.monotonic()
        make_small_tree(tree, count, 1024)
        log(f"  made {count:,} files in {time.monotonic() - made:.0f} s")
        row = {}
        clear_dir(dst)
        r = tar_socat(env, tree, dst)
        row["tar"] = {"wall": r["wall"]}
        for name, binary in binaries:
            clear_dir(dst)
            try:
                r = ferry_send(env, tree, dst, binary=binary, timeout=3600)
            except RuntimeError as e:
                log(f"  {name}: failed: {str(e).splitlines()[0]}")
                row[name] = None
                continue
            row[name] = {
                "wall": r["wall"],
                "rx_mib": r["rx_rss_kib"] / 1024,
                "tx_mib": r["tx_rss_kib"] / 1024,
            }
            log(
                f"  {count:>9,} files  {name:<14} receive {row[name]['rx_mib']:5.1f} MiB, send"
                f" {row[name]['tx_mib']:5.1f} MiB, {r['wall']:.2f} s"
                f" ({r['wall'] / row['tar']['wall']:.2f}x tar|socat|tar's {row['tar']['wall']:.2f} s)"
            )
        clear_dir(dst)
        shutil.rmtree(tree)
        out[count] = row
    return out


def bench_netlab(env0, args, src, size):
    prefix = f"fb{os.getpid() % 10**7}"
    e = dict(os.environ, NETLAB_PREFIX=prefix)
    log(f"\n== netlab ({prefix}): 2 hosts, host 1's link capped at {args.netlab_rate}")
    subprocess.run([str(NETLAB), "up", "2"], check=True, env=e, stdout=subprocess.DEVNULL)
    try:
        subprocess.run([str(NETLAB), "rate", "1", args.netlab_rate], check=True, env=e)
        env = Env(env0.work, env0.ferry, netns=(prefix, 2, 1))
        host = subprocess.run(
            [str(NETLAB), "ip", "2"], check=True, env=e, capture_output=True, text=True
        ).stdout.strip()
        want = sha256_file(src)
        dst = env.work / "dst"

        def socat_run():
            clear_dir(dst)
            return socat_file(env, src, dst / "socat.bin", host=host)

        def ferry_run():
            clear_dir(dst)
            r = ferry_send(env, src, dst, host=host)
            if sha256_file(dst / src.name) != want:
                raise RuntimeError("Ferry's copy does not match")
            return r

        res = alternate(args.netlab_repeats, [("socat", socat_run), ("ferry", ferry_run)])
        clear_dir(dst)
        cap = rate_bytes(args.netlab_rate)
        describe("socat (netlab)", res["socat"], size)
        describe("ferry (netlab)", res["ferry"], size)
        return {
            "rate": args.netlab_rate,
            "socat_of_cap": size / median(res["socat"], "wall") / cap,
            "ferry_of_cap": size / median(res["ferry"], "wall") / cap,
            "socat": res["socat"],
            "ferry": res["ferry"],
        }
    finally:
        subprocess.run([str(NETLAB), "down"], env=e)


def rate_bytes(rate):
    units = {"kbit": 1e3, "mbit": 1e6, "gbit": 1e9}
    for u, m in units.items():
        if rate.endswith(u):
            return float(rate[: -len(u)]) * m / 8
    raise ValueError(rate)


# ---------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ferry", default=str(REPO / "target" / "release" / "ferry"))
    ap.add_argument("--repeats", type=int, default=5, help="timed runs per tool (default 5)")
    ap.add_argument("--size-mib", type=int, default=1024, help="large file size (default 1024)")
    ap.add_argument("--big", action="store_true", help="also a 4 GiB file")
    ap.add_argument("--files", type=int, default=10000, help="small file count (default 10000)")
    ap.add_argument("--small-size", type=int, default=4096)
    ap.add_argument("--localsend-ferry-both", action="store_true",
                    help="LocalSend part with Ferry on both ends (default: the independent peer "
                         "benches/localsend_peer.py sends the big file and receives the small ones)")
    ap.add_argument("--localsend-small-into", choices=["ferry", "peer"], default="ferry",
                    help="who receives the LocalSend small files: Ferry's own LocalSend server (default; "
                         "the Python peer's per-request cost would set the time) or benches/localsend_peer.py")
    ap.add_argument("--localsend-files", type=int, default=2000,
                    help="small file count of the LocalSend part (default 2000)")
    ap.add_argument("--disk-dir", default="/var/tmp",
                    help="where the ext4 part receives (the machine's own disk; default /var/tmp)")
    ap.add_argument("--counts", default="10,10000,100000", metavar="N,N,...",
                    help="file counts of the count part (default 10,10000,100000)")
    ap.add_argument("--million", action="store_true",
                    help="the count part also sends 1,000,000 files (about 10 more minutes, 3 GiB tmpfs)")
    ap.add_argument("--only", action="append",
                    choices=["big", "small", "memory", "counts", "ext4", "netlab", "localsend"],
                    help="run only these parts (repeatable)")
    ap.add_argument("--no-netlab", action="store_true")
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--netlab-rate", default="1gbit")
    ap.add_argument("--netlab-repeats", type=int, default=3)
    ap.add_argument("--json", help="also write all measurements to this file")
    ap.add_argument("--quiet-wait", type=float, default=0, metavar="S",
                    help="before each round, wait up to S seconds for other processes to go quiet")
    ap.add_argument("--also", action="append", default=[], metavar="BIN",
                    help="another ferry binary to measure in the same run (compare builds)")
    args = ap.parse_args()

    global QUIET_WAIT
    QUIET_WAIT = args.quiet_wait
    parts = set(args.only or ["big", "small", "memory", "counts", "ext4", "netlab", "localsend"])
    if args.no_netlab:
        parts.discard("netlab")
    if args.no_memory:
        parts.discard("memory")
    if "netlab" in parts and (os.geteuid() != 0 or not NETLAB.exists() or not shutil.which("ip")):
        log("netlab part skipped: it needs root, iproute2 and ../shared/netlab/netlab")
        parts.discard("netlab")
    for tool in ("socat", TIME, "tar"):
        if not shutil.which(tool):
            sys.exit(f"bench: {tool} is missing (apt-get install socat time tar)")
    if "ext4" in parts:
        kind = fs_type(args.disk_dir)
        if kind in ("tmpfs", "ramfs", "?"):
            sys.exit(f"bench: --disk-dir {args.disk_dir} is on {kind}, not a disk; the ext4 part "
                     "receives onto the machine's own disk (try --disk-dir /var/tmp or a folder "
                     "under your home)")
        args.disk_fs = kind
    if not os.access(args.ferry, os.X_OK):
        sys.exit(f"bench: no Ferry binary at {args.ferry} (cargo build --release)")

    # Everything lives in one tmpfs: our own mount when root, else /dev/shm.
    need = args.size_mib * 2 + 256
    if args.big:
        need = max(need, 4096 * 2 + 256)
    if "memory" in parts:
        need += 2048 * 2 + 128
    if "localsend" in parts:
        need += args.localsend_files * 4 * 2 // 1024 + 64
    if "counts" in parts:
        # 4 KiB a file (1 KiB of data in a page) on each side, and inodes.
        most = max([int(c) for c in args.counts.split(",")] + ([1000000] if args.million else []))
        need += most * 4 // 1024 * 2 + 256
    mounted = False
    if os.geteuid() == 0:
        work = Path(tempfile.mkdtemp(prefix="ferry-bench-"))
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={need}m", "tmpfs", str(work)], check=True)
        mounted = True
    else:
        work = Path(tempfile.mkdtemp(prefix="ferry-bench-", dir="/dev/shm"))
    report = {"machine": machine(), "args": vars(args), "work": str(work)}

    def cleanup(*_):
        if mounted:
            subprocess.run(["umount", "-l", str(work)])
            os.rmdir(work)
        else:
            shutil.rmtree(work, ignore_errors=True)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        m = report["machine"]
        log(f"machine: {m['cpu']}, {m['cores']} cores, SHA-NI {m['sha_ni']}, AES-NI {m['aes_ni']}, "
            f"kernel {m['kernel']}; data in tmpfs {work}")
        log(f"ferry: {args.ferry}; load1 at start {loadavg():.2f}")
        env = Env(work, args.ferry)
        data = work / "src"
        data.mkdir()
        big = []
        if parts & {"big", "netlab", "ext4", "localsend"}:
            f = data / "random-1.bin"
            log(f"making {args.size_mib} MiB of random data...")
            make_random_file(f, args.size_mib * MiB, 1)
            big.append((f, args.size_mib * MiB, f"{args.size_mib} MiB"))
        results = {}
        if "big" in parts:
            results["big"] = [bench_big(env, args, big[0][0], big[0][1], big[0][2])]
            if args.big:
                f = data / "random-4g.bin"
                make_random_file(f, 4096 * MiB, 4)
                results["big"].append(bench_big(env, args, f, 4096 * MiB, "4 GiB"))
                f.unlink()
        if parts & {"small", "ext4"}:
            tree = data / "tree"
            log(f"making {args.files} small files...")
            make_small_tree(tree, args.files, args.small_size)
            if "small" in parts:
                results["small"] = bench_small(env, args, tree, args.files)
            if "ext4" in parts:
                # Received onto the machine's own disk, as people receive.
                disk = Path(tempfile.mkdtemp(prefix="ferry-bench-disk-", dir=args.disk_dir))
                try:
                    results["ext4"] = {
                        "big": bench_big(env, args, big[0][0], big[0][1],
                                         f"{big[0][2]} onto {args.disk_dir} ({args.disk_fs})",
                                         dst=disk / "dst"),
                        "small": bench_small(env, args, tree, args.files, dst=disk / "dst"),
                    }
                finally:
                    shutil.rmtree(disk, ignore_errors=True)
            shutil.rmtree(tree)
        if "localsend" in parts:
            tree = data / "ls-tree"
            log(f"making {args.localsend_files} small files for LocalSend...")
            make_small_tree(tree, args.localsend_files, args.small_size)
            results["localsend"] = bench_localsend(
                env, args, big[0][0], big[0][1], tree, args.localsend_files)
            shutil.rmtree(tree)
        if "memory" in parts:
            results["memory"] = bench_memory(env, args, data)
        if "counts" in parts:
            results["counts"] = bench_counts(env, args, data)
        if "netlab" in parts:
            results["netlab"] = bench_netlab(env, args, big[0][0], big[0][1])
        report["results"] = results
        report["load_end"] = loadavg()

        # The summary, last.
        print()
        print(f"Ferry benchmark summary ({m['cpu']}, {m['cores']} cores; load1 at end {loadavg():.2f})")
        for r in results.get("big", []):
            print(
                f"  {r['label']:>9} file, loopback (medians): ferry"
                f" {r['bytes'] / median(r['ferry'], 'wall') / 1e6:.0f} MB/s, socat"
                f" {r['bytes'] / median(r['socat'], 'wall') / 1e6:.0f} MB/s; CPU seconds of both"
                f" processes: ferry {median(r['ferry'], 'cpu'):.2f}, socat {median(r['socat'], 'cpu'):.2f}"
            )
            print(f"      ferry / socat throughput: {fmt_ratio(r['ratio'], 'x')}   (target >= 0.55, gate 0.50)")
            for name, ratio in r.get("also", {}).items():
                print(f"      {name}: {fmt_ratio(ratio, 'x')}, CPU {median(r['runs'][name], 'cpu'):.2f} s")
        if "small" in results:
            r = results["small"]
            print(
                f"  {r['count']} small files (medians): ferry {median(r['ferry'], 'wall'):.3f} s,"
                f" tar|socat|tar {median(r['tar'], 'wall'):.3f} s; CPU seconds: ferry"
                f" {median(r['ferry'], 'cpu'):.2f}, tar|socat|tar {median(r['tar'], 'cpu'):.2f}"
            )
            print(f"      ferry / tar|socat|tar wall time: {fmt_ratio(r['ratio'], 'x')}   (target <= 1.2 for 10,000 files, issue 18; gate 2.0)")
            for name, ratio in r.get("also", {}).items():
                print(f"      {name}: {fmt_ratio(ratio, 'x')}, CPU {median(r['runs'][name], 'cpu'):.2f} s")
        if "localsend" in results:
            r = results["localsend"]
            b = r["big"]
            peer = ("Ferry on both ends" if args.localsend_ferry_both else
                    "1 file sent by benches/localsend_peer.py (Python + curl, from the protocol README)"
                    + (", small files received by Ferry's own LocalSend server (the Python peer's"
                       " server would set that row's time)" if args.localsend_small_into == "ferry"
                       else ", small files received by benches/localsend_peer.py"))
            print(f"  LocalSend rows, {peer}:")
            print(
                f"  LocalSend, {r['bytes'] / MiB:.0f} MiB file into Ferry's LocalSend server (medians):"
                f" ferry {r['bytes'] / median(b['ferry'], 'wall') / 1e6:.0f} MB/s, socat"
                f" {r['bytes'] / median(b['socat'], 'wall') / 1e6:.0f} MB/s"
            )
            print(f"      ferry over LocalSend / socat throughput: {fmt_ratio(b['ratio'], 'x')}   (target >= 0.55)")
            sm = r["small"]
            print(
                f"  LocalSend, {r['count']} small files sent by Ferry (medians): ferry"
                f" {median(sm['ferry'], 'wall'):.3f} s, tar|socat|tar {median(sm['tar'], 'wall'):.3f} s"
            )
            for row, part in (("1 file", b), ("small files", sm)):
                print(f"      CPU seconds (medians), {row}: Ferry's side {median(part['ferry'], 'ferry_cpu'):.2f},"
                      f" both ends {median(part['ferry'], 'cpu'):.2f} (sender {median(part['ferry'], 'tx_cpu'):.2f},"
                      f" receiver {median(part['ferry'], 'rx_cpu'):.2f})")
            # Stated as speed (tar's time over Ferry's), as the issue states it.
            print(f"      ferry over LocalSend speed / tar|socat|tar speed: {fmt_ratio(sm['ratio'], 'x')}   (target >= 0.2)")
        if "memory" in results:
            mem = results["memory"]
            peak = max(max(v["rx_mib"], v["tx_mib"]) for v in mem.values())
            g_big = max(mem["1 file, 2 GiB"][k] - mem["1 file, 16 MiB"][k] for k in ("rx_mib", "tx_mib"))
            g_many = max(mem["10,000 files"][k] - mem["10 files"][k] for k in ("rx_mib", "tx_mib"))
            print(
                f"  peak RSS: max {peak:.1f} MiB (target <= 16); growth 16 MiB->2 GiB {g_big:+.1f} MiB"
                f" (target < 1), 10->10,000 files {g_many:+.1f} MiB (target < 2)"
            )
        if "ext4" in results:
            r = results["ext4"]["big"]
            print(
                f"  {r['label']} (medians): ferry {r['bytes'] / median(r['ferry'], 'wall') / 1e6:.0f} MB/s,"
                f" socat {r['bytes'] / median(r['socat'], 'wall') / 1e6:.0f} MB/s; ferry / socat"
                f" {fmt_ratio(r['ratio'], 'x')}   (target: within 0.05 of the tmpfs ratio)"
            )
            print(
                f"      receiver's system time (medians): ferry {median(r['ferry'], 'rx_sys'):.2f} s,"
                f" socat {median(r['socat'], 'rx_sys'):.2f} s; CPU of both processes: ferry"
                f" {median(r['ferry'], 'cpu'):.2f} s, socat {median(r['socat'], 'cpu'):.2f} s"
            )
            if results.get("big"):
                tmpfs = results["big"][0]["ratio"]["median"]
                print(f"      ext4 ratio - tmpfs ratio (medians, this run): {r['ratio']['median'] - tmpfs:+.3f}"
                      "   (target within +-0.05; run --only big --only ext4 to compare)")
            r = results["ext4"]["small"]
            print(
                f"  {r['count']} small files onto {args.disk_dir}: ferry / tar|socat|tar wall time"
                f" {fmt_ratio(r['ratio'], 'x')}"
            )
        if "counts" in results:
            rows = results["counts"]
            base_row = rows[min(rows)]["ferry"]
            for count, row in rows.items():
                f = row["ferry"]
                if f is None:
                    print(f"  {count:>9,} files of 1 KiB: ferry failed")
                    continue
                print(
                    f"  {count:>9,} files of 1 KiB: peak RSS receive {f['rx_mib']:.1f} MiB, send"
                    f" {f['tx_mib']:.1f} MiB (growth from {min(rows)} files: receive"
                    f" {f['rx_mib'] - base_row['rx_mib']:+.1f}, send {f['tx_mib'] - base_row['tx_mib']:+.1f};"
                    f" target < 2 up to 100,000, peak <= 32 at 1,000,000); time"
                    f" {f['wall'] / row['tar']['wall']:.2f}x tar|socat|tar"
                )
                for name, other in row.items():
                    if name in ("tar", "ferry"):
                        continue
                    said = "failed" if other is None else (
                        f"receive {other['rx_mib']:.1f} MiB, send {other['tx_mib']:.1f} MiB")
                    print(f"      {name}: {said}")
        if "netlab" in results:
            r = results["netlab"]
            print(
                f"  netlab, link capped at {r['rate']}: ferry {r['ferry_of_cap']:.3f} of the cap,"
                f" socat {r['socat_of_cap']:.3f}   (target >= 0.95)"
            )
        if args.json:
            Path(args.json).write_text(json.dumps(report, indent=1, default=str))
    finally:
        cleanup()


if __name__ == "__main__":
    main()
