#!/usr/bin/env bash
# Makes an ImageNet-val-sized folder without the data: N images (default 50,000) that are symbolic links to the
# shipped sample's 200 JPEGs, under new ids ILSVRC2012_val_00000001 ... , with a matching LOC_val_solution.csv (each
# new id gets the boxes of the image it links to) and the synset mapping. Used to measure planning, status and resume
# at ImageNet scale (docs/bench.md, "ImageNet scale").
#   scripts/make-scale-val.sh OUT_DIR [N]
set -euo pipefail
out="${1:?usage: scripts/make-scale-val.sh OUT_DIR [N]}"
n="${2:-50000}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
sample="$root/data/imagenet-val-sample"
mkdir -p "$out/images"
cp "$sample/LOC_synset_mapping.txt" "$out/"
mapfile -t rows < <(tail -n +2 "$sample/LOC_val_solution.csv" | sort)
count=${#rows[@]}
{
  echo "ImageId,PredictionString"
  for ((i = 1; i <= n; i++)); do
    row="${rows[$(((i - 1) % count))]}"
    source_id="${row%%,*}"
    id=$(printf 'ILSVRC2012_val_%08d' "$i")
    ln -sf "$sample/images/$source_id.JPEG" "$out/images/$id.JPEG"
    echo "$id,${row#*,}"
  done
} > "$out/LOC_val_solution.csv"
echo "wrote $n images (links to the $count sample images) and LOC_val_solution.csv to $out"
