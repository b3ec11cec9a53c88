#!/usr/bin/env bash
# The packaging part of CI, run by .ci/run after the tests: builds the .deb
# from the binary the tests built, then installs, checks and removes it with
# packaging/check-deb.sh. Prints how long each step took.
# Runs as root on a fresh Debian 12 that has only Rust, Cargo and gcc: it
# installs desktop-file-utils and appstream with apt-get, and cargo-deb.
# It packages the binary `cargo test` built (see stage_binary for why).
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

# CI checks the packaging (files, metadata, the launcher and icons, install,
# `ferry --version` from PATH, removal), which the optimiser does not change.
# So it packages the binary the test step already built (target/debug/ferry:
# our code unoptimised, the dependencies at opt-level 2) instead of compiling
# every dependency a third time with the release profile: that build took
# about ten of CI's minutes on 2 cores, and the whole run must stay near 25.
# cargo-deb takes the binary from $CARGO_TARGET_DIR/release/, so a scratch
# target folder holds a hard link to it there (target/release, where people
# build for real, is never touched), and --fast compresses the package
# quickly. Packages for people: packaging/build-deb.sh, release profile.
stage=""
stage_binary() {
    local built="${CARGO_TARGET_DIR:-$root/target}/debug/ferry"
    if [ ! -x "$built" ]; then
        cargo build --locked
    fi
    stage="$root/target/ci-package"
    rm -rf "$stage"
    mkdir -p "$stage/release"
    ln "$built" "$stage/release/ferry" 2>/dev/null || cp "$built" "$stage/release/ferry"
}

deb=""
package() {
    if ! cargo deb --version >/dev/null 2>&1; then
        cargo install cargo-deb --locked
    fi
    deb="$(CARGO_TARGET_DIR="$stage" cargo deb --no-build --locked --fast | tail -n 1)"
    [ -f "$deb" ] || { echo "ci-package: cargo deb made no package (got: $deb)" >&2; exit 1; }
}

timed "apt tools" apt_tools
timed "stage the test binary" stage_binary
timed "cargo-deb + package" package
timed "install/check/remove" packaging/check-deb.sh "$deb"

echo "ci-package: timings"
printf '  %s\n' "${timings[@]}"
echo "ci-package: total $((SECONDS - start))s; package $deb"
