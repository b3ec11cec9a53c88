#!/usr/bin/env bash
# The window's CPU use while nothing happens: starts `ferry` (no subcommand)
# under Xvfb with discovery on loopback, lets it settle, then reads its CPU
# time from /proc over an idle stretch. Target: ~0 % (no repaint loop).
#
#   benches/gui-idle.sh [FERRY_BINARY] [SECONDS]    # defaults: target/release/ferry, 30
#
# Needs xvfb-run (Debian: apt-get install xvfb). See docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release/ferry}
seconds=${2:-30}
if [ "${FERRY_GUI_IDLE_INNER:-}" != 1 ]; then
    command -v xvfb-run >/dev/null || { echo "needs xvfb-run (apt-get install xvfb)" >&2; exit 2; }
    [ -x "$bin" ] || cargo build --release --quiet
    exec env FERRY_GUI_IDLE_INNER=1 xvfb-run -a -s "-screen 0 1280x800x24" "$0" "$bin" "$seconds"
fi
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
export FERRY_INTERFACES=lo FERRY_CONFIG_DIR="$work/config" FERRY_DATA_DIR="$work/data"
"$bin" >"$work/out.log" 2>&1 &
pid=$!
sleep 8   # first frames, fonts, discovery burst
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
before=$(ticks)
sleep "$seconds"
after=$(ticks)
used=$((after - before))
python3 - "$used" "$hz" "$seconds" <<'PY'
import sys
used, hz, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
cpu = used / hz
print(f"window idle for {seconds:.0f} s: {cpu:.2f} CPU-s = {100 * cpu / seconds:.2f} % of one core")
PY
