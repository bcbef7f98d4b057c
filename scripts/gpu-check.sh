#!/usr/bin/env bash
# GPU checks on a machine with an NVIDIA GPU and PyTorch (whose wheel carries a CUDA LibTorch):
# builds the Qt-free engine, every GoogleTest suite of it this machine can build (those needing
# OpenCV are not configured without it), msnlens-cli and msnlens-bench against that LibTorch, then
# runs scripts/gpu_check.py: the engine's suites on CUDA, each reported (every view through the
# Workbench, compared with the CPU in fp32; edit-to-result at the released shapes), CUDA parity
# on the fixtures, transformers cross-checks, speed beside transformers eager and SDPA.
# Usage: [SECTIONS=app,parity,transformers,speed] scripts/gpu-check.sh [OUT_DIR]
#
# Header packages the machine lacks travel as Debian .debs in .gpu-deps/ (nlohmann-json3-dev,
# libcli11-dev, libgloo-dev, googletest: `cd .gpu-deps && apt-get download ...`); they are unpacked into a
# scratch folder, never over /. MSNLENS_EXTRA_INCLUDE and MSNLENS_GTEST_SOURCE override.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-${OUT:-gpu-check-out}}
PY=${PYTHON:-python3}
BUILD=${BUILD_DIR:-build-gpu}
mkdir -p "$OUT"
log() { echo "[gpu-check] $*"; }

nvidia-smi -L || log "nvidia-smi not available"
TORCH_PREFIX=$("$PY" -c 'import torch; print(torch.utils.cmake_prefix_path)') || { log "no PyTorch in $PY"; exit 1; }
log "PyTorch $("$PY" -c 'import torch; print(torch.__version__, torch.version.cuda)') at $TORCH_PREFIX"

# One root per package: the c10d code gets Gloo's folder on its include path, and must not get
# another nlohmann-json than LibTorch's with it.
deps=/tmp/msnlens-gpu-deps
include=${MSNLENS_EXTRA_INCLUDE:-}
for f in .gpu-deps/*.deb; do
  [ -e "$f" ] || continue
  root="$deps/$(basename "$f" .deb)"
  mkdir -p "$root" && dpkg -x "$f" "$root"
  [ -d "$root/usr/include" ] && include="$include${include:+;}$root/usr/include"
  [ -d "$root/usr/src/googletest" ] && gtest_src="$root/usr/src/googletest"
done
gtest=${MSNLENS_GTEST_SOURCE:-${gtest_src:-}}

generator=()
command -v ninja > /dev/null && generator=(-G Ninja)
cuda_flags=()
if command -v nvcc > /dev/null; then cuda_flags=(-DCMAKE_CUDA_COMPILER="$(command -v nvcc)");
elif [ -x /usr/local/cuda/bin/nvcc ]; then cuda_flags=(-DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc); fi

configure() {
  rm -rf "$BUILD"
  cmake -S . -B "$BUILD" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$TORCH_PREFIX" \
        -DCMAKE_INCLUDE_PATH="$include" -DMSNLENS_GTEST_SOURCE="$gtest" "${cuda_flags[@]}" "$@"
}
# The engine, its suites and the bench first; msnlens-cli (which also needs the c10d/Gloo
# headers for pretraining) second, so the app's checks run even when it cannot be built.
build() { cmake --build "$BUILD" -j "$(nproc)" --target "$@"; }

start=$(date +%s)
if configure > "$OUT/build.log" 2>&1 && build msnlens-bench test_analyzer test_workbench >> "$OUT/build.log" 2>&1; then
  log "built with LibTorch's CUDA API in $(( $(date +%s) - start )) s"
else
  grep -E "error|Error" "$OUT/build.log" | head -20
  log "build with LibTorch's CUDA API failed (build.log); retrying without it"
  if ! { configure -DMSNLENS_CUDA_API=OFF && build msnlens-bench test_analyzer test_workbench; } > "$OUT/build-fallback.log" 2>&1; then
    tail -40 "$OUT/build-fallback.log"
    log "build failed"
    exit 1
  fi
  log "built without the CUDA API (no CUDA graphs, no device names)"
fi
# The remaining engine suites, each independent of the others: one that fails to build is
# reported by gpu_check.py and the rest still run.
keep_going=(-k)
[ ${#generator[@]} -gt 0 ] && keep_going=(-k 0)
if cmake --build "$BUILD" -j "$(nproc)" --target msnlens_core_tests -- "${keep_going[@]}" > "$OUT/build-tests.log" 2>&1; then
  log "engine suites built in $(( $(date +%s) - start )) s"
else
  grep -E "error" "$OUT/build-tests.log" | head -5
  log "some engine suites did not build (build-tests.log)"
fi
sections=${SECTIONS:-app,parity,transformers,speed}
if build msnlens-cli > "$OUT/build-cli.log" 2>&1; then
  log "msnlens-cli built in $(( $(date +%s) - start )) s"
else
  grep -E "error" "$OUT/build-cli.log" | head -5
  log "msnlens-cli did not build (build-cli.log): the sections that need it are skipped"
  sections=app
fi

PYTHONUNBUFFERED=1 "$PY" scripts/gpu_check.py --cli "$BUILD/bin/msnlens-cli" --bench "$BUILD/bin/msnlens-bench" \
  --build "$BUILD" --data tests/data --out "$OUT" --sections "$sections"
