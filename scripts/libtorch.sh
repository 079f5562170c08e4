#!/usr/bin/env bash
# Prints the libtorch directory the build should use, installing it on first use.
#
# - If LIBTORCH is set, that directory is used as it is (a user's own libtorch).
# - Otherwise torch 2.13.0 (the version tch 0.26 is built for) is installed from PyPI
#   into the git-ignored folder .libtorch/ of the repository, once; later calls reuse it.
#   Only the minimal set is fetched: the torch wheel (which carries a complete libtorch)
#   and the two CUDA runtime libraries libtorch_cpu.so links against (~540 MB).
# - EXPLAINER_CUDA=1 also installs the CUDA libraries libtorch_cuda.so needs to compute on a
#   GPU (`--device cuda`): the wheel's own Linux requirements (cuda-toolkit, cuDNN, NCCL, …,
#   several GB), read from its METADATA so the versions are the ones the wheel was built with.
#   The CPU path never needs them.
set -euo pipefail

if [ -n "${LIBTORCH:-}" ]; then
  if [ ! -d "$LIBTORCH/lib" ]; then
    echo "explainer: LIBTORCH=$LIBTORCH has no lib/ folder; point it at a libtorch directory" >&2
    exit 1
  fi
  echo "$LIBTORCH"
  exit 0
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$root/.libtorch"
stamp="$dir/.installed-torch-2.13.0"

if [ ! -f "$stamp" ]; then
  echo "explainer: first use: installing libtorch (torch 2.13.0 from PyPI, ~540 MB) into $dir" >&2
  tmp="$dir.partial"
  rm -rf "$tmp"
  python3 -m pip install --quiet --root-user-action=ignore --no-deps --no-compile --target "$tmp" \
    torch==2.13.0 nvidia-cuda-runtime==13.0.96 nvidia-cuda-cupti==13.0.85 >&2
  # Move into place only when complete, so an interrupted install is never reused.
  rm -rf "$dir"
  mv "$tmp" "$dir"
  touch "$stamp"
  echo "explainer: libtorch installed" >&2
fi

cuda_stamp="$dir/.installed-cuda-libraries"
if [ "${EXPLAINER_CUDA:-0}" = 1 ] && [ ! -f "$cuda_stamp" ]; then
  metadata="$dir/torch-2.13.0.dist-info/METADATA"
  # `Requires-Dist: nvidia-cudnn-cu13==9.20.0.48; platform_system == "Linux"` → the requirement.
  mapfile -t reqs < <(sed -n 's/^Requires-Dist: \(\(cuda-toolkit\|nvidia-\)[^;]*\);.*platform_system == "Linux".*/\1/p' "$metadata")
  if [ "${#reqs[@]}" -eq 0 ]; then
    echo "explainer: $metadata lists no CUDA requirements; cannot install the CUDA libraries" >&2
    exit 1
  fi
  echo "explainer: EXPLAINER_CUDA=1: installing the CUDA libraries of torch 2.13.0 (${reqs[*]}) into $dir" >&2
  tmp="$dir.cuda-partial"
  rm -rf "$tmp"
  python3 -m pip install --quiet --root-user-action=ignore --no-compile --target "$tmp" "${reqs[@]}" >&2
  # Merge (pip --target would replace the nvidia/ folder the CPU install already has); the
  # libraries sit where libtorch_cuda.so's rpath looks ($ORIGIN/../../nvidia/…).
  cp -a "$tmp/." "$dir/"
  rm -rf "$tmp"
  touch "$cuda_stamp"
  echo "explainer: CUDA libraries installed" >&2
fi
echo "$dir/torch"
