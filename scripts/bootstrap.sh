#!/usr/bin/env bash
# Installs what MipIn needs on a Debian bookworm machine and checks the .NET SDK.
#   scripts/bootstrap.sh            packages to build and run
#   scripts/bootstrap.sh --tests    also what the test suite uses (headless Chromium renders the HTML report;
#                                   slurm-wlm + munge run the single-node cluster of the Slurm engine tests;
#                                   redis-server is the membership store of the standing-cluster tests;
#                                   GNU time gives scripts/scale-check.sh each command's peak memory)
# As root, missing Debian packages are installed with apt-get; otherwise the script prints the command to run.
set -euo pipefail

# libfontconfig1 and libfreetype6: SkiaSharp's native library (report and explain pictures) links them.
# libopenblas0-openmp: libtorch's matrix products (every Linear layer) go through libblas.so.3, which is the reference
# BLAS unless an optimised one is installed (about 40x slower; docs/bench.md "BLAS"); the OpenMP build shares
# libtorch's thread count. Installing it switches Debian's libblas.so.3 alternative for every program.
# libdnnl-dev: oneDNN's headers, for the shim's own oneDNN kernels: cached convolutions, Winograd input gradients (the
# default) and convolutions (MIPIN_CONVOLUTION); libtorch-dev already pulls in the library itself.
packages=(cmake g++ make libtorch-dev libdnnl-dev libturbojpeg0-dev libfontconfig1 libfreetype6 libopenblas0-openmp)
if [[ "${1:-}" == "--tests" ]]; then
  packages+=(chromium slurm-wlm munge redis-server time)
fi

if ! command -v dotnet >/dev/null 2>&1; then
  echo "mipin: the .NET 10 SDK is not on PATH. Install it (https://learn.microsoft.com/dotnet/core/install/linux-debian)," >&2
  echo "       then rerun this command." >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} > 0)); then
  if [[ $(id -u) -eq 0 ]]; then
    echo "mipin: installing Debian packages: ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >&2
    apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
  else
    echo "mipin: missing Debian packages: ${missing[*]}" >&2
    echo "       install them as root, then rerun:  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi
