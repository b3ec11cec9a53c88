#!/usr/bin/env bash
# Builds target/macos/Ferry.app (and optionally a .dmg) on a Mac, with only the
# tools macOS ships (iconutil, plutil, codesign, hdiutil). See README.md here.
# Usage: packaging/macos/make-app.sh [--no-build] [--dmg]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
[ "$(uname -s)" = Darwin ] || { echo "make-app: this script runs on macOS only" >&2; exit 1; }

build=1 dmg=0
for arg in "$@"; do
    case "$arg" in
        --no-build) build=0 ;;
        --dmg) dmg=1 ;;
        *) echo "make-app: unknown option $arg" >&2; exit 2 ;;
    esac
done

target_dir="${CARGO_TARGET_DIR:-$root/target}"
if [ "$build" = 1 ]; then
    MACOSX_DEPLOYMENT_TARGET=11.0 cargo build --release --locked
fi
bin="$target_dir/release/ferry"
[ -x "$bin" ] || { echo "make-app: $bin is missing; build it or drop --no-build" >&2; exit 1; }

version="$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)"
app="$target_dir/macos/Ferry.app"
rm -rf "$app"
mkdir -p "$app/Contents/MacOS" "$app/Contents/Resources"
cp "$bin" "$app/Contents/MacOS/ferry"
cp packaging/macos/Info.plist "$app/Contents/Info.plist"
plutil -replace CFBundleShortVersionString -string "$version" "$app/Contents/Info.plist"
plutil -replace CFBundleVersion -string "$version" "$app/Contents/Info.plist"
plutil -lint "$app/Contents/Info.plist"

iconset="$(mktemp -d)/Ferry.iconset"
mkdir -p "$iconset"
icons=assets/icons/hicolor
for n in 16 32 128 256 512; do
    cp "$icons/${n}x${n}/apps/ferry.png" "$iconset/icon_${n}x${n}.png"
done
cp "$icons/32x32/apps/ferry.png" "$iconset/icon_16x16@2x.png"
cp "$icons/64x64/apps/ferry.png" "$iconset/icon_32x32@2x.png"
cp "$icons/256x256/apps/ferry.png" "$iconset/icon_128x128@2x.png"
cp "$icons/512x512/apps/ferry.png" "$iconset/icon_256x256@2x.png"
iconutil --convert icns --output "$app/Contents/Resources/Ferry.icns" "$iconset"

# Ad-hoc signature: enough for the local machine and for Apple silicon to run
# it. Distribution needs a Developer ID signature and notarisation instead.
codesign --force --deep --sign - "$app"
echo "make-app: built $app"

if [ "$dmg" = 1 ]; then
    out="$target_dir/macos/Ferry-$version.dmg"
    rm -f "$out"
    hdiutil create -volname Ferry -srcfolder "$app" -ov -format UDZO "$out"
    echo "make-app: built $out"
fi
