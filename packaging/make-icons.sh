#!/usr/bin/env bash
# Renders Ferry's icons from the SVG sources and writes them into the repo:
#   assets/icons/hicolor/<N>x<N>/apps/ferry.png  (N = 16 24 32 48 64 128 256 512)
#   assets/icons/hicolor/scalable/apps/ferry.svg (copy of assets/icon.svg)
#   assets/icon-256.png                          (the window icon, built into the binary)
#   assets/icon.ico                              (Windows: 16-256 px in one file)
#   assets/icon.icns                             (macOS, only where png2icns/iconutil exist)
# Sizes up to 32 px come from assets/icon-small.svg, a simplified drawing that
# stays readable on a pixel grid; larger sizes come from assets/icon.svg.
# The outputs are committed, so a build never needs these tools.
# Needs: rsvg-convert (librsvg2-bin) and ImageMagick (convert or magick).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
assets="$root/assets"
big="$assets/icon.svg"
small="$assets/icon-small.svg"

command -v rsvg-convert >/dev/null || { echo "make-icons: rsvg-convert is missing (apt-get install librsvg2-bin)" >&2; exit 1; }
if command -v magick >/dev/null; then im=(magick); elif command -v convert >/dev/null; then im=(convert); else
    echo "make-icons: ImageMagick is missing (apt-get install imagemagick)" >&2; exit 1
fi

render() { # size output
    local src="$big"
    if [ "$1" -le 32 ]; then src="$small"; fi
    # Strip time stamps and other chunks so re-running gives identical files.
    rsvg-convert --width "$1" --height "$1" --keep-aspect-ratio "$src" \
        | "${im[@]}" png:- -strip -define png:exclude-chunks=date,time "PNG32:$2"
}

for n in 16 24 32 48 64 128 256 512; do
    dir="$assets/icons/hicolor/${n}x${n}/apps"
    mkdir -p "$dir"
    render "$n" "$dir/ferry.png"
done
mkdir -p "$assets/icons/hicolor/scalable/apps"
cp "$big" "$assets/icons/hicolor/scalable/apps/ferry.svg"
cp "$assets/icons/hicolor/256x256/apps/ferry.png" "$assets/icon-256.png"

ico_sizes=(16 24 32 48 64 128 256)
ico_inputs=()
for n in "${ico_sizes[@]}"; do ico_inputs+=("$assets/icons/hicolor/${n}x${n}/apps/ferry.png"); done
"${im[@]}" "${ico_inputs[@]}" "$assets/icon.ico"

# macOS .icns: iconutil on a Mac, png2icns (icnsutils) elsewhere; optional.
if command -v iconutil >/dev/null; then
    set_dir="$(mktemp -d)/ferry.iconset"
    mkdir -p "$set_dir"
    for n in 16 32 128 256 512; do
        cp "$assets/icons/hicolor/${n}x${n}/apps/ferry.png" "$set_dir/icon_${n}x${n}.png"
    done
    iconutil -c icns -o "$assets/icon.icns" "$set_dir"
elif command -v png2icns >/dev/null; then
    png2icns "$assets/icon.icns" "$assets"/icons/hicolor/{16x16,32x32,128x128,256x256,512x512}/apps/ferry.png >/dev/null
fi

echo "make-icons: wrote PNGs for 16-512 px, icon-256.png and icon.ico under $assets"
