#!/usr/bin/env bash
# Builds Ferry's Debian package with cargo-deb (settings: [package.metadata.deb]
# in Cargo.toml) and prints the path of the .deb on the last line of output.
#
# Usage: packaging/build-deb.sh [--no-build]
#   --no-build  package the release binary that is already built
#               (target/release/ferry) instead of running `cargo build --release`.
# Without it the release build runs, which is quick when the binary is current.
# Installs cargo-deb (`cargo install cargo-deb --locked`) when it is missing.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

build=1
for arg in "$@"; do
    case "$arg" in
        --no-build) build=0 ;;
        -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
        *) echo "build-deb: unknown option: $arg" >&2; exit 2 ;;
    esac
done

if ! cargo deb --version >/dev/null 2>&1; then
    echo "build-deb: installing cargo-deb (about a minute)" >&2
    cargo install cargo-deb --locked
fi

target_dir="${CARGO_TARGET_DIR:-$root/target}"
binary="$target_dir/release/ferry"
if [ "$build" = 1 ]; then
    cargo build --release --locked
elif [ ! -x "$binary" ]; then
    echo "build-deb: --no-build given but $binary does not exist; run cargo build --release first" >&2
    exit 1
fi

# cargo deb prints the .deb's path as its last line.
deb="$(cargo deb --no-build --locked | tail -n 1)"
if [ ! -f "$deb" ]; then
    echo "build-deb: cargo deb did not produce a package (got: $deb)" >&2
    exit 1
fi
echo "build-deb: built $deb" >&2
echo "$deb"
