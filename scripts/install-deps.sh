#!/usr/bin/env bash
# Installs the Debian 12 packages MSN Lens needs, and only those that are missing.
# Safe to run repeatedly: with everything present it does nothing and touches no network.
set -euo pipefail

packages=(
  # toolchain
  cmake g++ make ninja-build ccache pkg-config
  # engine: LibTorch (CPU, 1.13) with a fast BLAS, OpenCV for images, JSON
  libtorch-dev libopenblas0-pthread libgloo-dev zlib1g-dev
  # headers of the oneDNN that Debian's LibTorch links: the fused CPU encoder
  libdnnl-dev
  libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev
  nlohmann-json3-dev libcli11-dev
  # the engine's Qt-free test suites
  libgtest-dev
  # desktop app and its tests
  qt6-base-dev qt6-charts-dev qt6-svg-dev libqt6opengl6-dev libgl-dev
  # running the window headless and taking screenshots
  xvfb xauth imagemagick
  # the figure export's tests open its SVG and PDF with real converters
  librsvg2-bin poppler-utils
  # pretraining data for the bundled model and its tests (MIT licensed)
  dataset-fashion-mnist
  # the .deb (CPack runs dpkg-shlibdeps) and the check of its desktop entry
  dpkg-dev desktop-file-utils
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo_cmd=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Debian's reference BLAS is ~10x slower than OpenBLAS for LibTorch's fp32 GEMMs. Installing
# OpenBLAS normally wins the alternatives by priority; make sure nobody pinned the slow one.
blas_alt=/etc/alternatives/libblas.so.3-x86_64-linux-gnu
if [ -e "$blas_alt" ] && ! readlink -f "$blas_alt" | grep -q openblas; then
  target=$(update-alternatives --list libblas.so.3-x86_64-linux-gnu | grep openblas-pthread | head -n1 || true)
  if [ -n "$target" ]; then
    echo "install-deps: selecting OpenBLAS ($target) for libblas.so.3"
    sudo_cmd=(); [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
    "${sudo_cmd[@]}" update-alternatives --set libblas.so.3-x86_64-linux-gnu "$target"
  fi
fi
exit 0
