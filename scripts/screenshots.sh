#!/usr/bin/env bash
# Regenerates docs/screenshots from the bundled model with the app's own --screenshot and
# --export-figure under Xvfb (needs xvfb-run and ImageMagick's montage for the gallery).
#   scripts/screenshots.sh [COMPARE_MODEL]   (the Compare tab's second model; default: none, no compare.png)
set -euo pipefail
cd "$(dirname "$0")/.."
APP=build/bin/msnlens
OUT=docs/screenshots
IMAGES=(resources/images/fashion/*.png)
GALLERY_IMAGE=resources/images/fashion/00000-ankle-boot.png
shot() { xvfb-run -a -s '-screen 0 1600x1000x24' "$APP" --model resources/models/msn-fmnist "$@"; }

for view in attention heads masking sweep causes classes lens; do
  shot "${IMAGES[@]}" --screenshot "$OUT/$view.png" --view "$view"
done
if [ $# -ge 1 ]; then shot "${IMAGES[@]}" --compare "$1" --screenshot "$OUT/compare.png" --view compare; fi

# Every Show method on one image (the exported figure: title, map, colour bar) in one 4 x 2 gallery.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
methods=(attention rollout grad-rollout chefer occlusion similarity token-norms pca)  # the figures' titles name them
for m in "${methods[@]}"; do
  shot "$GALLERY_IMAGE" --show "$m" --export-figure "$tmp/$m.png"
done
files=("${methods[@]/#/$tmp/}")
montage "${files[@]/%/.png}" -geometry 400x370+4+4 -tile 4x2 -background white "$OUT/explanations.png"
