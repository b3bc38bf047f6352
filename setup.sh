#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for Nerdbox: the host packages the shim and its tests need,
# a build of the solution, a sample busybox bundle in samples/hello, and a first VM boot of it
# (which builds the guest image, with progress, and prints the container's output and timings).
# Usage: bash setup.sh [--packages-only] [--with-test-tools]
#   --packages-only    install the host packages and stop (no build, no sample bundle)
#   --with-test-tools  also install what only the tests use: Debian's Chromium, for the dashboard browser test
set -euo pipefail
cd "$(dirname "$0")"

packages_only=0
packages=(qemu-system-x86 busybox-static crun lz4 erofs-utils xz-utils)
test_packages=(chromium)
for arg in "$@"; do
  case "$arg" in
    --packages-only) packages_only=1 ;;
    --with-test-tools) packages+=("${test_packages[@]}") ;;
    *) echo "setup: unknown option $arg (want --packages-only, --with-test-tools)"; exit 2 ;;
  esac
done
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

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

command -v dotnet >/dev/null || { echo "setup: the .NET 10 SDK is needed (dotnet not found)"; exit 1; }
echo "setup: building"
dotnet build Nerdbox.sln -nologo -v q
if [ ! -f samples/hello/config.json ] || [ ! -d samples/hello/rootfs ]; then
  dotnet run --project Nerdbox.Shim --no-build -- sample samples/hello
fi
echo "setup: booting a first VM (builds the guest image the first time, about a minute)"
dotnet run --project Nerdbox.Shim --no-build -- run samples/hello
echo "setup: done"
