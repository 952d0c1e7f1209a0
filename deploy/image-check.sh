#!/usr/bin/env bash
# `make image-check`: the install on a bare Debian 12 and the image, checked without any container
# registry (docs/DEPLOY.md § Checking the install and the image). As root, with Debian's packages and
# PyPI reachable:
#   1. debootstrap a minimal Debian 12 (bookworm) root: Python 3.11.2, python3-venv, make;
#   2. in a chroot of it, `make demo` on a copy of the committed tree (what the README's quick start does);
#   3. buildah: the root becomes the base image, the Dockerfile is built on it (`--from`), and the
#      image runs `watcher check`, `watcher once` and `watcher status --check` (healthy).
# WORK (default /var/tmp/gongmo-image-check) keeps the root between runs; SKIP_IMAGE=1 stops after 2.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-/var/tmp/gongmo-image-check}
ROOT=$WORK/bookworm
MIRROR=${MIRROR:-http://deb.debian.org/debian}
[ "$(id -u)" = 0 ] || { echo "image-check: run as root (debootstrap, chroot, buildah)" >&2; exit 2; }
need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
[ -n "${SKIP_IMAGE:-}" ] || command -v buildah >/dev/null || need+=(buildah)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
mkdir -p "$WORK"
t0=$(date +%s)
if [ ! -x "$ROOT/usr/bin/python3" ]; then
  rm -rf "$ROOT"
  debootstrap --variant=minbase --include=python3,python3-venv,make,ca-certificates,git \
    bookworm "$ROOT" "$MIRROR" >"$WORK/debootstrap.log"
fi
t1=$(date +%s)
echo "debian 12 root: $(chroot "$ROOT" python3 --version) ($((t1 - t0)) s)"

# 2. make demo in the chroot, on the committed tree; the host's resolver and CA bundle, no pip config
rm -rf "$ROOT/opt/gongmo-watcher" && mkdir -p "$ROOT/opt/gongmo-watcher"
git archive HEAD | tar -x -C "$ROOT/opt/gongmo-watcher"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
cp /etc/ssl/certs/ca-certificates.crt "$ROOT/etc/ssl/certs/ca-certificates.crt"
chroot "$ROOT" env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root LANG=C.UTF-8 \
  PIP_CERT=/etc/ssl/certs/ca-certificates.crt sh -c 'cd /opt/gongmo-watcher && make demo' >"$WORK/demo.log" 2>&1 \
  || { tail -20 "$WORK/demo.log"; echo "image-check: make demo FAILED on Debian 12" >&2; exit 1; }
t2=$(date +%s)
grep -q "demo" "$WORK/demo.log"
echo "make demo on Debian 12: ok ($((t2 - t1)) s; $(grep -c '' "$WORK/demo.log") lines of output in $WORK/demo.log)"
[ -z "${SKIP_IMAGE:-}" ] || exit 0

# 3. the image, built by buildah on the debootstrapped root instead of python:3.12-slim
base=localhost/gongmo-debian12-base
if ! buildah inspect --type image "$base" >/dev/null 2>&1; then
  ctr=$(buildah from scratch)
  mnt=$(buildah mount "$ctr")
  tar -C "$ROOT" --exclude=./opt/gongmo-watcher -c . | tar -C "$mnt" -x
  buildah umount "$ctr" >/dev/null
  buildah commit -q "$ctr" "$base" >/dev/null
  buildah rm "$ctr" >/dev/null
fi
buildah bud -q --isolation chroot --from "$base" -t localhost/gongmo-watcher:check . >"$WORK/build.log" 2>&1 \
  || { tail -20 "$WORK/build.log"; echo "image-check: image build FAILED" >&2; exit 1; }
t3=$(date +%s)
echo "image built on the Debian 12 root: ok ($((t3 - t2)) s)"
# The image polls a local feed (the demo's NTIS sample on 127.0.0.1; nothing else is contacted).
mkdir -p "$WORK/config"
cat >"$WORK/config/sources.yaml" <<'YAML'
sources:
  - id: ntis-sample
    name: NTIS (sample)
    url: http://127.0.0.1:${FEED_PORT}/ntis.xml
YAML
cat >"$WORK/config/rules.yaml" <<'YAML'
defaults:
  channel: "#gongmo"
rules:
  - name: rnd
    label: 연구개발
    any: [연구개발, R&D, 사업]
YAML
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory watcher/demo_data >/dev/null 2>&1 &
server=$!
ctr=$(buildah from localhost/gongmo-watcher:check)
trap 'kill $server 2>/dev/null || true; buildah rm "$ctr" >/dev/null 2>&1 || true' EXIT
sleep 1
runw() { buildah run --isolation chroot --user watcher --env FEED_PORT="$port" \
           --volume "$WORK/config:/config:ro" "$ctr" -- "$@"; }
runw watcher check
runw watcher once >"$WORK/once.log" 2>&1 || { cat "$WORK/once.log"; exit 1; }
grep -q "ntis-sample" "$WORK/once.log"
runw watcher status --check
echo "image runs check, once and status --check: ok ($(($(date +%s) - t3)) s)"
