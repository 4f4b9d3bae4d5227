#!/usr/bin/env bash
# Packs what the GPU device machine lacks into .device/ (git-ignored; name it in the device tool's `carry`):
#   .device/mipin.tar.xz       a self-contained, trimmed publish of the `mipin` CLI (the machine has no .NET)
#   .device/lib/               Debian's libturbojpeg.so.0 (JPEG decoding; x86-64, glibc >= 2.36)
#   .device/manifest.txt       what was packed, from which commit, and the sizes
# The native shim is not packed: scripts/device-check.sh builds it there against the torch it finds. The shipped
# sample and checkpoint (data/) travel as tracked files. Fails when the tracked tree plus the package would exceed the
# 64 MiB the device tool carries. The package replaces the folder only once it is complete.
#   scripts/package-device.sh [--out DIR]      DIR: where to pack (default .device; the device tool carries .device)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/.device"
while (($#)); do
  case "$1" in
    --out) [[ $# -ge 2 ]] || { echo "package-device: --out needs a folder" >&2; exit 2; }; out="$(realpath -m "$2")"; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "package-device: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
cd "$root"
scripts/bootstrap.sh
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

stage="$(mktemp -d /tmp/mipin-device-pack.XXXXXX)"
trap 'rm -rf "$stage"' EXIT
pack="$stage/pack"
mkdir -p "$pack/lib"

echo "package-device: publishing mipin (self-contained, linux-x64, trimmed)..." >&2
# Trim mode "partial" trims only the framework's assemblies and keeps ours whole (they use reflection: JSON, YAML,
# CSV), with System.Text.Json's reflection serializer left on; Harness.Client.csproj adds the Roslyn assemblies that
# Orleans' packages drag in and nothing loads. Trim-analysis warnings are expected for those libraries and are not
# errors here. SatelliteResourceLanguages=en keeps no translated messages (globalization is invariant anyway).
# MipInDashboard=false leaves out the Orleans dashboard and ASP.NET Core (5.5 MB compressed): the
# device check never serves it, and with it the package no longer fits. The build goes to its own artifacts folder
# so that it does not disturb the checkout's obj/ and bin/.
if ! log=$(dotnet publish src/Harness.Client/Harness.Client.csproj -c Release -r linux-x64 --self-contained true \
      -p:PublishTrimmed=true -p:TrimMode=partial -p:TreatWarningsAsErrors=false -p:SuppressTrimAnalysisWarnings=true \
      -p:InvariantGlobalization=true -p:JsonSerializerIsReflectionEnabledByDefault=true -p:MipInDashboard=false \
      -p:SatelliteResourceLanguages=en \
      --artifacts-path "$stage/build" -o "$stage/mipin" --nologo -v q 2>&1); then
  echo "$log" >&2
  echo "package-device: dotnet publish failed (see above)" >&2
  exit 1
fi
# The shim built here links Debian's CPU libtorch; the device check builds its own against the GPU machine's torch.
rm -f "$stage/mipin/libmipin_torch.so"
# What the runtime loads only for a debugger, a crash dump, LTTng tracing or a standalone GC (DOTNET_GCName): 1.3 MB
# compressed that the device check never uses. The host starts without them.
rm -f "$stage/mipin/"{createdump,libmscordaccore.so,libmscordbi.so,libcoreclrtraceptprovider.so,libclrgc.so,libclrgcexp.so}
tar -C "$stage" -cf - mipin | xz -9e -T0 > "$pack/mipin.tar.xz"

turbo="$(readlink -f /usr/lib/x86_64-linux-gnu/libturbojpeg.so.0)"
cp "$turbo" "$pack/lib/libturbojpeg.so.0"

tracked=$(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
packed=$(du -cb "$pack" | tail -1 | cut -f1)
limit=$((64 * 1024 * 1024))
{
  echo "commit      $(git rev-parse HEAD)$(git diff --quiet HEAD -- src native || echo ' (+ uncommitted changes)')"
  echo "built       $(date -u +%FT%TZ) on $(. /etc/os-release; echo "$PRETTY_NAME"), .NET SDK $(dotnet --version)"
  echo "mipin       mipin.tar.xz $(du -b "$pack/mipin.tar.xz" | cut -f1) bytes ($(du -sb "$stage/mipin" | cut -f1) unpacked)"
  echo "turbojpeg   lib/libturbojpeg.so.0 from $(dpkg-query -W -f='${Package} ${Version}' libturbojpeg0 2>/dev/null || echo "$turbo")"
  echo "tree        $tracked bytes tracked + $packed bytes in .device/ = $((tracked + packed)) of $limit the device tool carries"
} > "$pack/manifest.txt"
cat "$pack/manifest.txt" >&2
if (( tracked + packed > limit )); then
  echo "package-device: the tracked tree plus the package is over 64 MiB; the device tool would refuse it (nothing written to $out)" >&2
  exit 1
fi
rm -rf "$out"
mkdir -p "$(dirname "$out")"
cp -r "$pack" "$out"
echo "package-device: ready in $out; carry it as .device (the device tool's carry: [\".device\"]) and run: bash scripts/device-check.sh" >&2
