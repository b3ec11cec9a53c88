#!/usr/bin/env bash
# Ferry's benchmark in one command: builds target/release/ferry, then measures
# Ferry side by side with socat (and tar|socat|tar) on 127.0.0.1, peak memory
# (by size and by file count: 10 / 10,000 / 100,000 files), the same 1 GiB and
# 10,000 files received onto the machine's own disk (--disk-dir, default
# /var/tmp), LocalSend's protocol (1 GiB into Ferry's LocalSend server, 2,000
# small files sent by Ferry), and, as root, a 1 Gbit/s link in ../shared/netlab. Ratios last.
#
#   benches/run.sh                 # everything (about 10-15 minutes)
#   benches/run.sh --million       # the count part also sends 1,000,000 files
#   benches/run.sh --quick         # 256 MiB, 3 repeats, no netlab, no memory part
#   benches/run.sh --only counts --also /path/to/other/ferry   # before/after
#   benches/run.sh --only small --repeats 9
#   benches/run.sh --help          # all options
#
# Needs: cargo, python3, socat, tar, /usr/bin/time (Debian: apt-get install socat time).
# Traffic goes only to 127.0.0.1 or inside the sealed netlab. See docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export FERRY_INTERFACES=lo

args=()
for a in "$@"; do
    if [ "$a" = --quick ]; then
        args+=(--size-mib 256 --repeats 3 --no-netlab --no-memory --only big --only small --only localsend)
    else
        args+=("$a")
    fi
done

if [ -z "${FERRY_BENCH_BIN:-}" ]; then
    cargo build --release --quiet
    bin=target/release/ferry
else
    bin=$FERRY_BENCH_BIN
fi
exec python3 benches/bench.py --ferry "$bin" "${args[@]}"
