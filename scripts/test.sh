#!/usr/bin/env bash
# Runs the whole test suite (the README's test command and what .ci/run calls). Installs missing system packages
# as root, builds the native shim and the solution, runs xunit, and ends with one summary line
# "tests: N passed, N failed, N skipped".
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/bootstrap.sh --tests

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
log="$(mktemp)"
# The Slurm engine tests run on a real single-node cluster (two fake GPUs) started here and stopped on exit.
export MIPIN_SLURM_DIR="${MIPIN_SLURM_DIR:-$(mktemp -d /tmp/mipin-slurm-test.XXXXXX)}" MIPIN_SLURM_PORT="${MIPIN_SLURM_PORT:-26817}"
trap 'scripts/slurm-local.sh stop || true; rm -f "$log"' EXIT
scripts/slurm-local.sh start
eval "$(scripts/slurm-local.sh env)"
set +e
dotnet test MipIn.sln -c Release --nologo "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# Sum the per-assembly lines "Passed!  - Failed: 0, Passed: 111, Skipped: 0, Total: 111, ...".
summary=$(grep -Eo 'Failed: +[0-9]+, Passed: +[0-9]+, Skipped: +[0-9]+' "$log" |
  awk -F'[:,]' '{f+=$2; p+=$4; s+=$6} END {printf "%d passed, %d failed, %d skipped", p, f, s}')
if [[ -z "$summary" || "$summary" == "0 passed, 0 failed, 0 skipped" ]]; then
  echo "tests: no test ran (build failure?)"
  exit $((status == 0 ? 1 : status))
fi
echo "tests: $summary"
exit "$status"
