#!/usr/bin/env bash
# Installs everything skiff needs on Debian 12 (run as root): the system parts
# (OCI runtime, conmon, overlay tools, the parts the tests drive), the npm
# dependencies, the build, and a `skiff` on PATH. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  echo "scripts/install.sh: run as root (it installs Debian packages)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
pkgs=(
  runc crun conmon catatonit fuse-overlayfs uidmap slirp4netns passt
  containernetworking-plugins iptables aardvark-dns
  skopeo docker-registry umoci busybox-static apache2-utils openssl zstd tmux
  g++ make python3 ca-certificates
  systemd procps iproute2 hyperfine
  # podman: a reference only, for the differential tests (podman loads what
  # skiff saves) and the benchmarks; skiff never runs it.
  podman
)
missing=()
for p in "${pkgs[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# Debian's docker-registry package starts a service on :5000 where systemd runs;
# skiff's tests start their own registries on random loopback ports instead.
npm ci --no-audit --no-fund 2>&1 | grep -v 'Unknown user config' || true
test -d node_modules/@oclif/core || { echo "npm ci failed" >&2; exit 1; }
npm run build
# The native launcher when the build made it (no shell start per command), else bin/skiff.
if [ -x dist/skiff-launch ]; then ln -sf "$PWD/dist/skiff-launch" /usr/local/bin/skiff; else ln -sf "$PWD/bin/skiff" /usr/local/bin/skiff; fi
mkdir -p /usr/local/share/man/man1 && install -m 0644 man/*.1 /usr/local/share/man/man1/
echo "skiff installed: $(skiff version --format '{{.Client.Version}}' 2>/dev/null || skiff version | head -1)"
