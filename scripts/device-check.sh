#!/usr/bin/env bash
# The CUDA check of MipIn on a GPU machine without .NET (docs/bench.md, "GPU"). Needs .device/ from
# scripts/package-device.sh (carried by the device tool) and a python3 with a CUDA torch (its CMake config builds the
# native shim). Everything it measures goes to OUT (the device tool's $OUT; default results/device-check):
#   summary.md        what ran, each step's status and seconds, libtorch/GPU/driver, mipin info, the largest map
#                     difference per method between cuda and cpu, the quickstart leaderboards compared (cuda vs cpu,
#                     every metric within 0.01)
#   bench.csv/.txt    mipin bench --devices cuda: mobilenet_v2, resnet50, vgg19 x gradient, gradcam, fused,
#                     mipin-explain at batch 32 and 128, beside PyTorch tuned for the GPU (channels-last, cudnn.benchmark)
#   leaderboard-cuda.csv, leaderboard-cpu.csv, grid-cuda.png, log.txt (every step's output)
# Usage:
#   bash scripts/device-check.sh                 on the GPU machine (about 5 minutes on one H200)
#   scripts/device-check.sh --dry-run            here, without a GPU: packs .device/ when missing, unpacks it, builds the
#                                                shim against Debian's libtorch with the same commands, and runs every
#                                                step on cpu at the smallest sizes (cpu stands in for cuda)
# Options: --out DIR, --skip-bench, --time-limit SECONDS (default 480: steps still pending then are skipped),
#   --package DIR (the package from scripts/package-device.sh; default .device).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

dry_run=0; skip_bench=0; limit=480; out="${OUT:-}"; package="$root/.device"
while (($#)); do
  case "$1" in
    --dry-run) dry_run=1 ;;
    --skip-bench) skip_bench=1 ;;
    --out) out="$2"; shift ;;
    --time-limit) limit="$2"; shift ;;
    --package) package="$(realpath -m "$2")"; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "device-check: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
out="${out:-$root/results/device-check$( ((dry_run)) && echo -dry-run)}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
work="$(mktemp -d /tmp/mipin-device-check.XXXXXX)"
log="$out/log.txt"; summary="$out/summary.md"
: > "$log"
start=$(date +%s)
failures=0

note() { echo "$*" | tee -a "$log" >&2; }
# step NAME COMMAND...: runs one step with its output in log.txt, records status and seconds in the summary.
step() {
  local name="$1"; shift
  local now=$(date +%s)
  if (( now - start > limit )); then
    echo "| $name | skipped (time limit ${limit}s reached) | |" >> "$work/steps.md"; failures=$((failures + 1)); return 1
  fi
  note "=== $name: $*"
  local t0=$(date +%s.%N) status
  "$@" >> "$log" 2>&1; status=$?
  local secs=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$t0" "$(date +%s.%N)")
  if ((status == 0)); then echo "| $name | ok | $secs |" >> "$work/steps.md"
  else echo "| $name | **failed** (exit $status; see log.txt) | $secs |" >> "$work/steps.md"; failures=$((failures + 1)); fi
  return $status
}

# ---------------------------------------------------------------------------------------------- the package
if [[ ! -f "$package/mipin.tar.xz" ]]; then
  if ((dry_run)); then scripts/package-device.sh --out "$package" || exit 1
  else echo "device-check: $package/mipin.tar.xz missing: run scripts/package-device.sh here and carry .device" >&2; exit 1; fi
fi
tar -C "$work" -xJf "$package/mipin.tar.xz"
mipin="$work/mipin/mipin"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

if ((dry_run)); then
  python=/usr/bin/python3
  torch_dir=/usr/lib/x86_64-linux-gnu/cmake/Torch
  device=cpu
else
  python="$(command -v python3)"
  torch_dir="$("$python" -c 'import torch; print(torch.utils.cmake_prefix_path)')/Torch"
  device=cuda
fi
torch_lib="$("$python" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))' 2>/dev/null || true)"
export LD_LIBRARY_PATH="$package/lib${torch_lib:+:$torch_lib}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export MIPIN_NATIVE_LIB="$work/native/libmipin_torch.so"
nproc_=$(nproc)
export MIPIN_THREADS="${MIPIN_THREADS:-$nproc_}"

# ---------------------------------------------------------------------------------------------- the steps
build_shim() {
  cmake -S native -B "$work/native" -DCMAKE_BUILD_TYPE=Release -DTorch_DIR="$torch_dir" &&
    cmake --build "$work/native" -j "$nproc_" &&
    ldd "$work/native/libmipin_torch.so"
}
step "build the shim against $torch_dir" build_shim || { note "device-check: the shim did not build; nothing else can run"; }

info() {
  "$mipin" info | tee "$work/info.txt"
  if [[ "$device" == cuda ]]; then grep -Eq '^cuda +available, [1-9]' "$work/info.txt" || { echo "mipin info sees no CUDA device"; return 1; }; fi
}
step "mipin info" info

# Maps of four methods for 6 images on the device and on cpu; the largest difference per method, absolute and
# relative to that image's largest map value. Each side trains its own MIP-IN inverse (separate folders).
explain_both() {
  local set=(--methods gradient,gradcam,mipin,center --limit 6)
  ((dry_run)) && set+=(--train-images 8)
  "$mipin" explain "${set[@]}" --device "$device" --trained-dir "$work/inv-dev" --save-maps "$work/maps-dev" --out "$out/grid-$device.png" &&
    "$mipin" explain "${set[@]}" --device cpu --trained-dir "$work/inv-cpu" --save-maps "$work/maps-cpu" --out "$work/grid-cpu.png" &&
    "$python" - "$work/maps-dev" "$work/maps-cpu" > "$work/explain.md" <<'PY'
import array, ast, glob, os, sys
dev, cpu = sys.argv[1], sys.argv[2]

def load(path):
    # A float32 .npy as mipin writes it (format 1.0, '<f4', C order), read without numpy.
    with open(path, "rb") as f:
        data = f.read()
    header_len = int.from_bytes(data[8:10], "little")
    header = ast.literal_eval(data[10:10 + header_len].decode("latin1"))
    assert header["descr"] == "<f4" and not header["fortran_order"], header
    values = array.array("f")
    values.frombytes(data[10 + header_len:])
    return values

worst = {}
for path in sorted(glob.glob(os.path.join(dev, "*.npy"))):
    method = path.rsplit(".", 2)[1]
    a, b = load(path), load(os.path.join(cpu, os.path.basename(path)))
    d = max(abs(x - y) for x, y in zip(a, b)); r = d / max(max(abs(y) for y in b), 1e-12)
    w = worst.setdefault(method, [0.0, 0.0, 0])
    w[0], w[1], w[2] = max(w[0], d), max(w[1], r), w[2] + 1
print("| method | maps | largest abs difference | largest difference / map max |")
print("| --- | --- | --- | --- |")
for m, (d, r, n) in worst.items():
    print(f"| {m} | {n} | {d:.3g} | {r:.3g} |")
PY
}
step "mipin explain on $device and cpu" explain_both

if ((skip_bench == 0)); then
  if ((dry_run)); then bench=(--models mobilenet_v2 --methods gradient,mipin-explain --batch-sizes 2 --iterations 1 --warmup 1 --image-size 64)
  else bench=(--models mobilenet_v2,resnet50,vgg19 --methods gradient,gradcam,fused,mipin-explain --batch-sizes 32,128 --iterations 5 --warmup 2); fi
  step "mipin bench on $device" "$mipin" bench "${bench[@]}" --devices "$device" --threads "$MIPIN_THREADS" --python "$python" --output "$work/bench"
  cp "$work/bench/bench.csv" "$work/bench/bench.txt" "$out/" 2>/dev/null
fi

# The quickstart on the device and on cpu; every leaderboard mean must agree within 0.01.
quickstart_both() {
  local set=(--set "results=$work/results")
  ((dry_run)) && set+=(--set dataset.limit=12 --set training.images=4 --set shard_size=4 --set batch_size=4 --set report.images=0)
  "$mipin" run configs/quickstart.yaml "${set[@]}" --set name=quickstart-dev --set "devices=[$device]" &&
    "$mipin" run configs/quickstart.yaml "${set[@]}" --set name=quickstart-cpu --set "devices=[cpu]" &&
    cp "$work/results/quickstart-dev/leaderboard.csv" "$out/leaderboard-$device.csv" &&
    cp "$work/results/quickstart-cpu/leaderboard.csv" "$out/leaderboard-cpu.csv" &&
    "$python" - "$work/results/quickstart-dev/leaderboard.csv" "$work/results/quickstart-cpu/leaderboard.csv" > "$work/quickstart.md" <<'PY'
import csv, sys
def rows(p):
    return {(r["model"], r["method"], r["layer"], r["metric"]): r for r in csv.DictReader(open(p))}
dev, cpu = rows(sys.argv[1]), rows(sys.argv[2])
bad = []
print("| method | metric | device | cpu | difference |")
print("| --- | --- | --- | --- | --- |")
for key in cpu:
    a, b = dev.get(key, {}).get("mean", ""), cpu[key]["mean"]
    if a == "" and b == "":
        continue
    d = abs(float(a) - float(b)) if a and b else float("inf")
    if d > 0.01:
        bad.append(key)
    print(f"| {key[1]} | {key[3]} | {a} | {b} | {d:.2g} |")
print()
print(f"{len(cpu)} leaderboard rows; {len(bad)} differ by more than 0.01" + (": " + ", ".join("/".join(k[1:]) for k in bad) if bad else ""))
sys.exit(1 if bad or set(dev) != set(cpu) else 0)
PY
}
step "quickstart on $device and cpu" quickstart_both

# ---------------------------------------------------------------------------------------------- the summary
{
  echo "# MipIn device check$( ((dry_run)) && echo ' (dry run: cpu stands in for cuda)')"
  echo
  echo "- date: $(date -u +%FT%TZ); commit: $(git rev-parse HEAD 2>/dev/null || echo unknown); package: $(head -1 "$package/manifest.txt" 2>/dev/null)"
  echo "- python torch: $("$python" -c 'import torch; print(torch.__version__, "CUDA", torch.version.cuda)' 2>/dev/null || echo "not installed for $python (the bench has no PyTorch column)")"
  if command -v nvidia-smi >/dev/null; then
    echo "- GPU: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)"
  fi
  echo "- CPU threads for libtorch: $MIPIN_THREADS; total time $(( $(date +%s) - start )) s"
  echo
  echo "| step | status | seconds |"
  echo "| --- | --- | --- |"
  cat "$work/steps.md"
  for part in info.txt explain.md quickstart.md; do
    [[ -f "$work/$part" ]] || continue
    echo; echo "## ${part%.*}"; echo
    if [[ $part == *.txt ]]; then echo '```'; cat "$work/$part"; echo '```'; else cat "$work/$part"; fi
  done
  [[ -f "$out/bench.txt" ]] && { echo; echo "## bench"; echo; echo '```'; cat "$out/bench.txt"; echo '```'; }
} > "$summary"
rm -rf "$work"
cat "$summary" >&2
if ((failures > 0)); then echo "device-check: $failures step(s) failed or were skipped (see $summary and $log)" >&2; exit 1; fi
echo "device-check: all steps passed; results in $out" >&2
