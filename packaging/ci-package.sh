#!/usr/bin/env bash
# The packaging part of CI, run by .ci/run after the tests: builds the release
# binary (once), builds the .deb from it, then installs, checks and removes it
# with packaging/check-deb.sh. Prints how long each step took.
# Runs as root on a fresh Debian 12 that has only Rust, Cargo and gcc: it
# installs desktop-file-utils and appstream with apt-get, and cargo-deb.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

start=$SECONDS
timings=()
timed() { # label command...
    local label="$1" t0=$SECONDS
    shift
    echo "ci-package: == $label"
    "$@"
    timings+=("$(printf '%-26s %4ss' "$label" $((SECONDS - t0)))")
}

[ "$(id -u)" = 0 ] || { echo "ci-package: must run as root (apt-get, dpkg -i)" >&2; exit 1; }

apt_tools() {
    export DEBIAN_FRONTEND=noninteractive
    # The lists are needed to install the tools and, by check-deb.sh, the
    # package's run-time dependencies.
    apt-get update -q
    local need=()
    command -v desktop-file-validate >/dev/null || need+=(desktop-file-utils)
    command -v appstreamcli >/dev/null || need+=(appstream)
    if [ ${#need[@]} -gt 0 ]; then
        apt-get install -y -q --no-install-recommends "${need[@]}"
    fi
}

# CI checks the packaging (files, metadata, install, run, remove), not the
# optimiser: its release build uses thin LTO and parallel codegen units,
# which take minutes less on CI's 2 cores than the release profile's fat LTO
# with one unit (the whole CI run must stay near 25 minutes). Packages for
# people are built by packaging/build-deb.sh with the profile as written.
release_build() {
    CARGO_PROFILE_RELEASE_LTO=thin CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
        cargo build --release --locked
}

deb=""
package() { deb="$(packaging/build-deb.sh --no-build | tail -n 1)"; }

timed "apt tools" apt_tools
timed "release build" release_build
timed "cargo-deb + package" package
timed "install/check/remove" packaging/check-deb.sh "$deb"

echo "ci-package: timings"
printf '  %s\n' "${timings[@]}"
echo "ci-package: total $((SECONDS - start))s; package $deb"
