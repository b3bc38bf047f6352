#!/usr/bin/env bash
# Runs one harness of Nerdbox.Fuzz under afl-fuzz (AFL++), coverage-guided through SharpFuzz.
# Usage: bash Nerdbox.Fuzz/fuzz.sh TARGET [SECONDS]      (no SECONDS: until Ctrl+C)
# Environment:
#   FUZZ_BUILD  a built Nerdbox.Fuzz output folder (default: build it, Release, into Nerdbox.Fuzz/bin/Release/net10.0)
#   FUZZ_WORK   where the instrumented copy lives, reused while the build is unchanged (default: /tmp/nerdbox-fuzz)
#   FUZZ_OUT    afl-fuzz's output folder; findings in $FUZZ_OUT/TARGET/default/crashes and hangs (default: $FUZZ_WORK/findings)
#   (the script sets NERDBOX_FUZZ_SCRATCH for the harnesses' scratch files and removes it at the end)
# Prints afl-fuzz's status lines; its counters end up in $FUZZ_OUT/TARGET/default/fuzzer_stats.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"

target="${1:-}"
seconds="${2:-}"
if [ -z "$target" ] || [ ! -d "$here/corpus/$target" ]; then
  echo "usage: fuzz.sh TARGET [SECONDS]; targets: $(ls "$here/corpus" | tr '\n' ' ')" >&2
  exit 2
fi
if ! command -v afl-fuzz >/dev/null; then
  echo "fuzz: afl-fuzz is missing: install AFL++ (apt-get install afl++; setup.sh does)" >&2
  exit 3
fi

build="${FUZZ_BUILD:-}"
if [ -z "$build" ]; then
  dotnet build "$here/Nerdbox.Fuzz.csproj" -c Release -nologo -v q >&2
  build="$here/bin/Release/net10.0"
fi
work="${FUZZ_WORK:-/tmp/nerdbox-fuzz}"
out="${FUZZ_OUT:-$work/findings}"
instrumented="$work/instrumented"

# The assemblies whose code parses untrusted input, instrumented in a copy of the build (never in place).
# The harness itself and the runtime's own assemblies stay as they are.
targets=(Nerdbox.Api Nerdbox.Http2 Nerdbox.Telemetry Nerdbox.Engine Nerdbox.TraceViewer Google.Protobuf)
if [ ! -f "$instrumented/.done" ] || [ -n "$(find "$build" -maxdepth 1 -name '*.dll' -newer "$instrumented/.done")" ]; then
  echo "fuzz: instrumenting ${targets[*]} in $instrumented" >&2
  rm -rf "$instrumented"
  mkdir -p "$work"
  cp -r "$build" "$instrumented"
  (cd "$root" && dotnet tool restore >/dev/null)
  for t in "${targets[@]}"; do
    (cd "$root" && dotnet tool run sharpfuzz "$instrumented/$t.dll") >&2
  done
  # The canary's planted bug is found through coverage too: of the harnesses' own code, only its bug is instrumented.
  (cd "$root" && dotnet tool run sharpfuzz "$instrumented/Nerdbox.Fuzz.dll" Nerdbox.Fuzz.Harnesses.PlantedBug) >&2
  touch "$instrumented/.done"
fi

# dotnet is not instrumented itself (the managed code is), and this is no dedicated fuzzing box:
# no CPU pinning, no core-dump or CPU-governor set-up, no screen.
export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
limit=()
[ -n "$seconds" ] && limit=(-V "$seconds")
mkdir -p "$out"
rm -rf "${out:?}/$target"
# The file targets write each input to a scratch folder, in memory where there is /dev/shm; afl-fuzz ends
# the target with SIGKILL, so the folder is removed here.
scratch="$(mktemp -d /dev/shm/nerdbox-fuzz-XXXXXX 2>/dev/null || mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
export NERDBOX_FUZZ_SCRATCH="$scratch"
afl-fuzz -i "$here/corpus/$target" -o "$out/$target" -t 10000 -m none "${limit[@]}" -- dotnet "$instrumented/Nerdbox.Fuzz.dll" "$target"
