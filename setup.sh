#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for Nerdbox: checks the prerequisites, installs the host packages
# the shim and the tests need, builds the solution, makes a sample busybox bundle in samples/hello,
# and boots a first VM from it (which builds the guest image, with progress, and prints the
# container's output and timings). After it, `dotnet test Nerdbox.sln` needs nothing more.
# Usage: bash setup.sh [--packages-only]
#   --packages-only    check the prerequisites, install the host packages and stop (no build, no boot)
set -euo pipefail
cd "$(dirname "$0")"

packages_only=0
for arg in "$@"; do
  case "$arg" in
    --packages-only) packages_only=1 ;;
    # Kept for older instructions: the test tools are always installed now.
    --with-test-tools) ;;
    *) echo "setup: unknown option $arg (want --packages-only)"; exit 2 ;;
  esac
done

# Prerequisites: each one checked, every missing one named before anything is installed.
problems=()
[ "$(uname -m)" = "x86_64" ] || problems+=("an x86-64 machine (this is $(uname -m)): the guest kernel and QEMU's microvm are x86-64")
[ -r /etc/debian_version ] && [ "$(cut -d. -f1 /etc/debian_version)" = "12" ] ||
  problems+=("Debian 12 (this is $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME" || echo unknown)): package names and the guest kernel come from Debian 12")
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo"
  else problems+=("root, or sudo without a password: packages are installed with apt-get"); fi
fi
if ! command -v dotnet >/dev/null; then
  problems+=("the .NET 10 SDK (dotnet not found; https://dot.net)")
elif ! dotnet --list-sdks 2>/dev/null | grep -q '^10\.'; then
  problems+=("the .NET 10 SDK (dotnet has: $(dotnet --list-sdks | cut -d' ' -f1 | tr '\n' ' '))")
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  problems+=("Node.js 18 or later with npm: the tests check Mermaid charts with Mermaid's own parser")
elif [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 18 ]; then
  problems+=("Node.js 18 or later (this is $(node --version))")
fi
if [ "${#problems[@]}" -gt 0 ]; then
  echo "setup: this machine lacks what Nerdbox needs:"
  for p in "${problems[@]}"; do echo "  - $p"; done
  exit 1
fi

# QEMU, busybox, crun and the EROFS and decompression tools for the guest image; Chromium for the
# dashboard's browser test; AFL++ for the fuzz pass (docs/fuzzing.md).
# gcc compiles the guest's stand-in for crun's libsystemd; with make, flex, bison, bc and libelf-dev it builds the
# optional minimal guest kernel (image build --kernel minimal).
packages=(qemu-system-x86 busybox-static crun lz4 erofs-utils xz-utils chromium afl++ gcc make flex bison bc libelf-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# apt's package lists are needed to install and, later, to fetch the guest kernel package.
if [ "${#missing[@]}" -gt 0 ] || ! apt-cache show linux-image-cloud-amd64 >/dev/null 2>&1; then
  echo "setup: apt-get update"
  $sudo apt-get update -qq
fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
[ "$packages_only" -eq 1 ] && exit 0

echo "setup: building"
dotnet build Nerdbox.sln -nologo -v q
# The fuzz pass instruments with SharpFuzz's command-line tool, pinned in .config/dotnet-tools.json.
dotnet tool restore >/dev/null
if [ ! -f samples/hello/config.json ] || [ ! -d samples/hello/rootfs ]; then
  dotnet run --project Nerdbox.Shim --no-build -- sample samples/hello
fi
echo "setup: booting a first VM (builds the guest image the first time, about a minute)"
dotnet run --project Nerdbox.Shim --no-build -- run samples/hello
echo "setup: done"
