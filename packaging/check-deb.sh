#!/usr/bin/env bash
# Checks Ferry's .deb for real on this machine: installs it with dpkg, checks
# that `ferry --version` runs from PATH, that the launcher, the icons and the
# AppStream metadata are installed and valid, then removes the package and
# checks that its files are gone. Exits non-zero with a message on the first
# failure. Needs root, desktop-file-validate (desktop-file-utils) and
# appstreamcli (appstream); packaging/ci-package.sh installs those.
#
# Usage: sudo packaging/check-deb.sh path/to/ferry_<version>_<arch>.deb
set -euo pipefail

step() { echo "check-deb: $*"; }
fail() { echo "check-deb: FAILED: $*" >&2; exit 1; }

[ $# -eq 1 ] || fail "usage: $0 path/to/ferry.deb"
deb="$(realpath "$1")"
[ -f "$deb" ] || fail "no such file: $1"
[ "$(id -u)" = 0 ] || fail "must run as root (it installs and removes the package)"
for tool in dpkg dpkg-deb dpkg-query desktop-file-validate appstreamcli; do
    command -v "$tool" >/dev/null || fail "$tool is not installed (apt-get install desktop-file-utils appstream)"
done

app_id=org.ferry.Ferry
pkg="$(dpkg-deb --field "$deb" Package)"
deb_version="$(dpkg-deb --field "$deb" Version)"
upstream_version="${deb_version%-*}"
[ "$pkg" = ferry ] || fail "package is named '$pkg', expected 'ferry'"
if dpkg-query --show --showformat='${Status}' "$pkg" 2>/dev/null | grep -q ' installed$'; then
    fail "$pkg is already installed; remove it first (dpkg -r $pkg) so this check starts clean"
fi

installed=0
tree="$(mktemp -d)"
cleanup() {
    rm -rf "$tree"
    if [ "$installed" = 1 ]; then
        echo "check-deb: removing $pkg after a failure" >&2
        dpkg -r "$pkg" >/dev/null 2>&1 || true
    fi
}
trap cleanup EXIT

step "package $pkg $deb_version ($(du -h "$deb" | cut -f1))"
dpkg-deb --info "$deb" | sed -n 's/^ \(Depends\|Recommends\):/  \1:/p'

step "AppStream metadata and launcher agree (validate-tree on the unpacked package)"
dpkg-deb --extract "$deb" "$tree"
appstreamcli validate-tree --no-net "$tree" || fail "appstreamcli validate-tree rejected the package's files"

step "installing with dpkg -i"
installed=1
if ! dpkg -i "$deb"; then
    # dpkg does not fetch dependencies; apt can, from the configured sources.
    step "dpkg -i left dependencies missing; fetching them with apt-get -f install"
    DEBIAN_FRONTEND=noninteractive apt-get -f install -y -q \
        || fail "could not install the package's dependencies"
fi
status="$(dpkg-query --show --showformat='${Status}' "$pkg" 2>/dev/null || true)"
[ "$status" = "install ok installed" ] || fail "after installing, dpkg says '$status'"
mapfile -t files < <(dpkg-query --listfiles "$pkg" | while read -r f; do [ -f "$f" ] && echo "$f"; done)

step "ferry --version from PATH"
hash -r
found="$(cd / && command -v ferry)" || fail "ferry is not on PATH"
[ "$found" = /usr/bin/ferry ] || fail "ferry on PATH is $found, not /usr/bin/ferry"
version_out="$(cd / && FERRY_INTERFACES=lo ferry --version)" || fail "ferry --version exited non-zero"
[ "$version_out" = "ferry $upstream_version" ] \
    || fail "ferry --version printed '$version_out', expected 'ferry $upstream_version'"
echo "  $version_out"

step "launcher"
desktop=/usr/share/applications/$app_id.desktop
[ -f "$desktop" ] || fail "$desktop is missing"
desktop-file-validate "$desktop" || fail "desktop-file-validate rejected $desktop"
exec_cmd="$(sed -n 's/^Exec=\([^ ]*\).*/\1/p' "$desktop" | head -n 1)"
command -v "$exec_cmd" >/dev/null || fail "the launcher runs '$exec_cmd', which is not on PATH"
icon_name="$(sed -n 's/^Icon=//p' "$desktop" | head -n 1)"
[ "$icon_name" = "$app_id" ] || fail "the launcher's Icon is '$icon_name', expected '$app_id'"

step "icons"
png_size() { # prints "WIDTHxHEIGHT" from a PNG's IHDR chunk, or nothing
    local sig
    sig="$(od -An -tx1 -N8 "$1" | tr -d ' \n')"
    [ "$sig" = 89504e470d0a1a0a ] || return 0
    od -An -tu4 --endian=big -j16 -N8 "$1" | awk '{print $1 "x" $2}'
}
for n in 16 24 32 48 64 128 256 512; do
    icon=/usr/share/icons/hicolor/${n}x${n}/apps/$icon_name.png
    [ -f "$icon" ] || fail "$icon is missing"
    size="$(png_size "$icon")"
    [ "$size" = "${n}x${n}" ] || fail "$icon is '${size:-not a PNG}', expected ${n}x${n}"
done
svg=/usr/share/icons/hicolor/scalable/apps/$icon_name.svg
[ -f "$svg" ] || fail "$svg is missing"
grep -q '<svg' "$svg" || fail "$svg is not an SVG"
echo "  8 PNGs (16-512 px, sizes checked) and the scalable SVG"

step "AppStream metadata"
metainfo=/usr/share/metainfo/$app_id.metainfo.xml
[ -f "$metainfo" ] || fail "$metainfo is missing"
# --no-net: CI has no business reaching the internet; URLs are not fetched.
appstreamcli validate --no-net "$metainfo" || fail "appstreamcli rejected $metainfo"
grep -q "<launchable type=\"desktop-id\">$app_id.desktop</launchable>" "$metainfo" \
    || fail "$metainfo does not point at $app_id.desktop"

step "docs"
for doc in copyright LICENSE-MIT LICENSE-APACHE INSTALL.md; do
    [ -f "/usr/share/doc/$pkg/$doc" ] || fail "/usr/share/doc/$pkg/$doc is missing"
done

step "removing with dpkg -r"
dpkg -r "$pkg" || fail "dpkg -r $pkg failed"
installed=0
status="$(dpkg-query --show --showformat='${Status}' "$pkg" 2>/dev/null || true)"
case "$status" in
    *" installed") fail "after dpkg -r, dpkg still says '$status'" ;;
esac
for f in "${files[@]}"; do
    [ ! -e "$f" ] || fail "$f is still there after dpkg -r"
done
hash -r
if command -v ferry >/dev/null; then fail "ferry is still on PATH after removal"; fi
echo "  ${#files[@]} files removed"

step "OK: $(basename "$deb") installs, runs, validates and removes cleanly"
