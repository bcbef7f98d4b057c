#!/usr/bin/env bash
# What msnlens-bench measures MSN Lens against, installed where missing (Debian 12): PyTorch for
# the eager reference and the ONNX export (python3-torch), Node.js, and ONNX Runtime's CPU
# library from npm (onnxruntime-node, pinned in scripts/ort/package-lock.json) into
# scripts/ort/node_modules. Not needed by `make run` or `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(python3-torch python3-numpy)
command -v node > /dev/null || packages+=(nodejs)
command -v npm > /dev/null || packages+=(npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-bench-deps: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# --ignore-scripts: the package's install script only fetches GPU binaries; the CPU library
# ships in the tarball.
if [ ! -d scripts/ort/node_modules/onnxruntime-node ]; then
  echo "install-bench-deps: npm ci onnxruntime-node (scripts/ort)"
  (cd scripts/ort && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
fi
