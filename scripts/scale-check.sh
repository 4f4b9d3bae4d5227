#!/usr/bin/env bash
# Measures MipIn's operations at ImageNet scale without the data (docs/bench.md, "ImageNet scale without the data"):
# on an N-image folder of links to the shipped sample (scripts/make-scale-val.sh), with MobileNetV2, centre maps and the
# pointing game in shards of 500 images, it times
#   planning (`mipin submit --engine local --dry-run`: .NET start, reading the CSV and the links, sharding, planning),
#   a run killed with SIGKILL after --kill-after finished shards, and `mipin resume` of it: how long until its first
#   new grain has finished, and to the end,
#   `mipin status` with every shard done (three polls), `mipin resume` again with nothing left to do, `mipin verify`,
# and each command's peak RSS (GNU time). Prints a markdown table; with --update-doc FILE it also writes the table
# between FILE's '<!-- generated:scale begin -->' and '<!-- generated:scale end -->' markers, with date and commit.
#   scripts/scale-check.sh [--images N] [--kill-after K] [--work DIR] [--update-doc FILE]
# Defaults: 50,000 images, kill after 25 shards, work folder /tmp/mipin-scale (about 60 MB: links, CSVs, results).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
images=50000
kill_after=25
work=/tmp/mipin-scale
doc=""
usage() { sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
value() {  # the value of option $1, or exit 2 naming it
  [[ $# -ge 2 ]] || { echo "scale-check: $1 needs a value" >&2; exit 2; }
  printf '%s' "$2"
}
while [[ $# -gt 0 ]]; do
  case "$1" in
    --images) images="$(value "$@")"; shift 2 ;;
    --kill-after) kill_after="$(value "$@")"; shift 2 ;;
    --work) work="$(value "$@")"; shift 2 ;;
    --update-doc) doc="$(value "$@")"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "scale-check: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
[[ "$images" =~ ^[1-9][0-9]*$ && "$images" -ge 1000 ]] || { echo "scale-check: --images must be a number >= 1000 (got '$images')" >&2; exit 2; }
shards=$(((images + 499) / 500))
[[ "$kill_after" =~ ^[1-9][0-9]*$ && "$kill_after" -lt "$shards" ]] ||
  { echo "scale-check: --kill-after must be between 1 and $((shards - 1)) (the run has $shards shards; got '$kill_after')" >&2; exit 2; }
begin_marker='<!-- generated:scale begin -->' end_marker='<!-- generated:scale end -->'
if [[ -n "$doc" ]]; then
  [[ -f "$doc" ]] || { echo "scale-check: --update-doc: $doc does not exist" >&2; exit 2; }
  grep -qF "$begin_marker" "$doc" && grep -qF "$end_marker" "$doc" ||
    { echo "scale-check: --update-doc: $doc has no '$begin_marker' ... '$end_marker' markers; add them where the table goes" >&2; exit 2; }
fi
[[ -x /usr/bin/time ]] || { echo "scale-check: needs GNU time (apt-get install time)" >&2; exit 2; }
[[ "$work" =~ ^[A-Za-z0-9._/+-]+$ ]] || { echo "scale-check: --work '$work': use a path of letters, digits and . _ / + - (it goes into a YAML config)" >&2; exit 2; }

"$root/mipin" --version > /dev/null  # installs what is missing and builds, so nothing below pays for it
mipin=(dotnet "$root/src/Harness.Client/bin/Release/net10.0/mipin.dll")
export DOTNET_CLI_TELEMETRY_OPTOUT=1
mkdir -p "$work"
work="$(cd "$work" && pwd)"
val="$work/val"
results="$work/results"
run="$results/scale/run"
logs="$work/logs"
rm -rf "$results" "$logs"
mkdir -p "$logs"
pid=""
# A background mipin (the run to kill, the resume) must not outlive this script, e.g. after Ctrl+C.
trap '[[ -n "$pid" ]] && kill -KILL "$pid" 2> /dev/null; true' EXIT

# The folder, made again only when it does not have N images.
if [[ ! -f "$val/LOC_val_solution.csv" || "$(($(wc -l < "$val/LOC_val_solution.csv") - 1))" -ne "$images" ]]; then
  rm -rf "$val"
  echo "scale-check: making $images linked images in $val (about 90 s for 50,000)" >&2
  "$root/scripts/make-scale-val.sh" "$val" "$images" >&2
fi
config="$work/scale.yaml"
cat > "$config" <<EOF
# Written by scripts/scale-check.sh.
name: scale
models:
  - architecture: mobilenet_v2
    weights: $root/data/models/mobilenet_v2_coral.pth
dataset:
  root: $val
methods: [center]
metrics: [pointing_game]
shard_size: 500
batch_size: 25
seed: 0
devices: [cpu]
results: $results
EOF

# Runs a command under GNU time; sets `seconds` and `rss_mb` (peak resident memory), fails on a non-zero exit.
timed() {
  local name="$1"
  shift
  if ! /usr/bin/time -o "$logs/$name.time" -f "%e %M" "$@" > "$logs/$name.out" 2> "$logs/$name.err"; then
    echo "scale-check: '$*' failed; its output: $logs/$name.out, $logs/$name.err" >&2
    tail -n 20 "$logs/$name.err" >&2
    exit 1
  fi
  read -r seconds rss_kb < <(tail -n 1 "$logs/$name.time")
  rss_mb=$((rss_kb / 1024))
}
finished_shards() { find "$results/scale/shards" -name '*.csv.json' 2> /dev/null | wc -l; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

echo "scale-check: planning" >&2
timed plan "${mipin[@]}" submit "$config" --engine local --dry-run
plan_s=$seconds plan_mb=$rss_mb
rm -rf "$results"

echo "scale-check: running, killed after $kill_after finished shards" >&2
start=$(now)
"${mipin[@]}" run "$config" > "$logs/killed.out" 2> "$logs/killed.err" &
pid=$!
while [[ "$(finished_shards)" -lt "$kill_after" ]]; do
  kill -0 "$pid" 2> /dev/null || { echo "scale-check: the run ended before $kill_after shards (see $logs/killed.err)" >&2; exit 1; }
  sleep 0.2
done
kill -KILL "$pid" 2> /dev/null || true
wait "$pid" 2> /dev/null || true
pid=""
killed_s=$(elapsed "$start")
done_at_kill=$(finished_shards)
[[ "$done_at_kill" -lt "$shards" ]] ||
  { echo "scale-check: every shard finished before the kill landed; use a smaller --kill-after (got $kill_after of $shards)" >&2; exit 1; }

echo "scale-check: resuming after the kill ($done_at_kill shards finished)" >&2
start=$(now)
/usr/bin/time -o "$logs/resume.time" -f "%e %M" "${mipin[@]}" resume "$run" > "$logs/resume.out" 2> "$logs/resume.err" &
pid=$!
first_new=""
while kill -0 "$pid" 2> /dev/null; do
  if [[ -z "$first_new" ]] && grep -q 'finished score/' "$logs/resume.err"; then first_new=$(elapsed "$start"); fi
  sleep 0.1
done
# A resume that ended within the last poll: its first grain finished by then.
if [[ -z "$first_new" ]] && grep -q 'finished score/' "$logs/resume.err"; then first_new=$(elapsed "$start"); fi
wait "$pid" || { echo "scale-check: mipin resume failed; see $logs/resume.err" >&2; tail -n 20 "$logs/resume.err" >&2; exit 1; }
pid=""
[[ -n "$first_new" ]] || { echo "scale-check: mipin resume finished no shard (see $logs/resume.err)" >&2; exit 1; }
read -r resume_s resume_kb < <(tail -n 1 "$logs/resume.time")
resume_mb=$((resume_kb / 1024))
[[ "$(finished_shards)" -eq "$shards" ]] || { echo "scale-check: $(finished_shards) of $shards shards finished after resume" >&2; exit 1; }
rate=$(awk -v n="$((images - done_at_kill * 500))" -v s="$resume_s" 'BEGIN { printf "%.0f", n / s }')

echo "scale-check: status, three polls" >&2
status_s="" status_mb=0
for i in 1 2 3; do
  timed "status$i" "${mipin[@]}" status "$run"
  grep -q '^finished' "$logs/status$i.out" || { echo "scale-check: status does not say finished (see $logs/status$i.out)" >&2; exit 1; }
  status_s="${status_s:+$status_s, }$seconds"
  ((rss_mb > status_mb)) && status_mb=$rss_mb
done

echo "scale-check: resume with every shard done, verify" >&2
timed rerun "${mipin[@]}" resume "$run"
rerun_s=$seconds rerun_mb=$rss_mb
timed verify "${mipin[@]}" verify "$run"
verify_s=$seconds verify_mb=$rss_mb
verified=$(cat "$logs/verify.out" "$logs/verify.err" | grep -o '[0-9]* shard(s) verified, [0-9]* stale' | head -n 1 || true)
[[ -n "$verified" ]] || { echo "scale-check: mipin verify did not say how many shards it verified (see $logs/verify.out)" >&2; exit 1; }
client_mb=$(printf '%s\n' "$plan_mb" "$resume_mb" "$status_mb" "$rerun_mb" "$verify_mb" | sort -n | tail -n 1)

table="$(cat <<EOF
| what | figure | goal |
| --- | --- | --- |
| planning (\`mipin submit --engine local --dry-run\`: .NET start, the ${images}-row CSV and links, $shards shards, $((shards + 1)) grains) | ${plan_s} s, ${plan_mb} MB | ≤ 10 s |
| run killed (SIGKILL) after $done_at_kill of $shards shards | ${killed_s} s | |
| \`mipin resume\` after the kill: first new grain finished (one grain scores 500 images) | ${first_new} s | first new grain ≤ 30 s |
| \`mipin resume\` after the kill, to the end ($((shards - done_at_kill)) shards and the aggregate) | ${resume_s} s (about ${rate} images/s), ${resume_mb} MB | |
| \`mipin status\` with every shard done, three polls | ${status_s} s, ${status_mb} MB | ≤ 2 s per poll |
| \`mipin resume\` with every shard done | ${rerun_s} s, ${rerun_mb} MB | |
| \`mipin verify\` (content hash of every image; ${verified}) | ${verify_s} s, ${verify_mb} MB | |
| client peak RSS (the largest above; resume scores in the same process, with its embedded silo) | ${client_mb} MB | ≤ 1 GB |
EOF
)"
echo "$table"

if [[ -n "$doc" ]]; then
  commit=$(git -C "$root" rev-parse --short HEAD)
  [[ -z "$(git -C "$root" status --porcelain --untracked-files=no)" ]] || commit="$commit with uncommitted changes"
  section="$(printf 'Generated by `scripts/scale-check.sh --images %s --kill-after %s --update-doc %s` on %s at commit %s (%s cores).\n\n%s\n' \
    "$images" "$kill_after" "$doc" "$(date -u '+%Y-%m-%d %H:%M UTC')" "$commit" "$(nproc)" "$table")"
  SECTION="$section" awk -v begin="$begin_marker" -v end="$end_marker" '
    index($0, begin) { print; print ENVIRON["SECTION"]; skipping = 1; next }
    index($0, end) { skipping = 0 }
    !skipping { print }' "$doc" > "$doc.tmp"
  mv "$doc.tmp" "$doc"
  echo "scale-check: wrote the table into $doc" >&2
fi
