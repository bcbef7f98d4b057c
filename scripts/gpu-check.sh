#!/usr/bin/env bash
# GPU checks on a machine with an NVIDIA GPU and PyTorch (whose wheel carries a CUDA LibTorch):
# builds the Qt-free engine, msnlens-cli and msnlens-bench against that LibTorch, then runs
# scripts/gpu_check.py (CUDA parity on the fixtures, transformers cross-checks, speed beside
# transformers eager and SDPA). Usage: scripts/gpu-check.sh [OUT_DIR]
#
# Machines without the Debian header packages can point MSNLENS_EXTRA_INCLUDE at a folder
# holding nlohmann/ and CLI/ (nlohmann-json and CLI11 headers).
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

generator=()
command -v ninja > /dev/null && generator=(-G Ninja)
cuda_flags=()
if command -v nvcc > /dev/null; then cuda_flags=(-DCMAKE_CUDA_COMPILER="$(command -v nvcc)");
elif [ -x /usr/local/cuda/bin/nvcc ]; then cuda_flags=(-DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc); fi

build() {
  rm -rf "$BUILD"
  cmake -S . -B "$BUILD" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$TORCH_PREFIX" \
        -DCMAKE_INCLUDE_PATH="${MSNLENS_EXTRA_INCLUDE:-}" -DMSNLENS_BUILD_TESTS=OFF "${cuda_flags[@]}" "$@" &&
    cmake --build "$BUILD" -j "$(nproc)" --target msnlens-cli msnlens-bench
}

start=$(date +%s)
if build > "$OUT/build.log" 2>&1; then
  log "built with LibTorch's CUDA API in $(( $(date +%s) - start )) s"
else
  grep -E "error|Error" "$OUT/build.log" | head -20
  log "build with LibTorch's CUDA API failed (build.log); retrying without it"
  if ! build -DMSNLENS_CUDA_API=OFF > "$OUT/build-fallback.log" 2>&1; then
    tail -40 "$OUT/build-fallback.log"
    log "build failed"
    exit 1
  fi
  log "built without the CUDA API (no CUDA graphs, no device names)"
fi

"$PY" scripts/gpu_check.py --cli "$BUILD/bin/msnlens-cli" --bench "$BUILD/bin/msnlens-bench" --data tests/data --out "$OUT"
