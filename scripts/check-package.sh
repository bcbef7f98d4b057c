#!/usr/bin/env bash
# Builds the .deb (CPack) from BUILD_DIR, unpacks it into a scratch root and checks it as a
# user's machine would see it: the Depends line names the runtime packages, the desktop entry
# validates and names an installed icon, and the app started from an unrelated folder with no
# arguments opens the bundled model from the package (never the source tree) and renders.
#   scripts/check-package.sh [BUILD_DIR]
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
ROOT=$(mktemp -d)
trap 'rm -rf "$ROOT"' EXIT

(cd "$BUILD" && cpack -G DEB > "$ROOT/cpack.log") || { cat "$ROOT/cpack.log"; exit 1; }
DEB=$(ls -t "$BUILD"/package/msnlens_*.deb | head -1)
echo "package: $DEB ($(du -h "$DEB" | cut -f1))"

depends=$(dpkg-deb -f "$DEB" Depends)
echo "Depends: $depends"
for want in libqt6widgets6 libqt6charts6 libqt6svg6 libtorch libopencv-imgcodecs libopenblas0; do
  grep -q "$want" <<<"$depends" || { echo "Depends lacks $want"; exit 1; }
done

dpkg-deb -x "$DEB" "$ROOT/root"
usr="$ROOT/root/usr"
for f in bin/msnlens bin/msnlens-cli share/applications/msnlens.desktop share/icons/hicolor/scalable/apps/msnlens.svg \
         share/icons/hicolor/256x256/apps/msnlens.png share/man/man1/msnlens.1 share/man/man1/msnlens-cli.1 \
         share/msnlens/models/msn-fmnist/model.safetensors share/msnlens/models/msn-fmnist/classes.fewshot; do
  [ -e "$usr/$f" ] || { echo "missing from the package: /usr/$f"; exit 1; }
done
desktop-file-validate "$usr/share/applications/msnlens.desktop"
grep -q '^Icon=msnlens$' "$usr/share/applications/msnlens.desktop"

# The app from the package, started elsewhere with no arguments, then the CLI on the packaged model.
cd "$ROOT"
# A real X server where there is one to start (Qt's offscreen plugin prints notes of its own).
run_app=(env -u XDG_RUNTIME_DIR QT_QPA_PLATFORM=offscreen)
command -v xvfb-run > /dev/null && run_app=(env -u XDG_RUNTIME_DIR -u QT_QPA_PLATFORM xvfb-run -a -s "-screen 0 1600x1000x24")
"${run_app[@]}" "$usr/bin/msnlens" --screenshot "$ROOT/shot.png" > "$ROOT/app.log" 2>&1 || { cat "$ROOT/app.log"; exit 1; }
[ -s "$ROOT/shot.png" ] || { echo "no screenshot"; cat "$ROOT/app.log"; exit 1; }
if [ -s "$ROOT/app.log" ]; then echo "the app wrote to the console:"; cat "$ROOT/app.log"; exit 1; fi
"$usr/bin/msnlens-cli" info --model "$usr/share/msnlens/models/msn-fmnist" > "$ROOT/info.log"
grep -q "share/msnlens/models/msn-fmnist" "$ROOT/info.log" || { cat "$ROOT/info.log"; exit 1; }
echo "package OK: installs, validates, and the app opens its bundled model from $usr/share/msnlens"
