#!/usr/bin/env bash
# Builds the node image from this repository (deploy/container: no base image is pulled) and
# runs a two-node federation in two containers: non-root, read-only root file system, the
# homes on volumes, host networking on two loopback ports. The containers are administered
# through their admin sockets on the volumes. Both stop on SIGTERM with exit code 0.
# Exit 77 (skipped) only when podman cannot run a container on this machine, with the reason.
# Usage: container_test.sh HANSE_BINARY SOURCE_DIR
set -euo pipefail
hanse=$(realpath "$1")
src=$(realpath "$2")
if ! command -v podman >/dev/null || ! command -v runc >/dev/null; then
  echo "SKIP: podman and runc are not installed (make deps installs them)"; exit 77
fi
if ! podman info >/dev/null 2>&1; then
  echo "SKIP: podman info fails on this machine: $(podman info 2>&1 | tail -1)"; exit 77
fi
id=$$
tag=localhost/hanse:test-$id
work=$(mktemp -d /tmp/hanse-container.XXXXXX)
P=(podman --runtime runc --cgroup-manager=cgroupfs)
RUN=(--network host --read-only --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
cleanup() {
  for n in a b; do "${P[@]}" rm -f -t 5 "hanse-$n-$id" >/dev/null 2>&1 || true; done
  for n in a b; do "${P[@]}" volume rm -f "hanse-$n-$id" >/dev/null 2>&1 || true; done
  "${P[@]}" rmi -f "$tag" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
cp -r "$src/deploy/container/." "$work/context"
bash "$src/deploy/container/build-rootfs.sh" "$hanse" "$work/context/rootfs"
"${P[@]}" build -q -t "$tag" -f "$work/context/Containerfile" "$work/context" >/dev/null
echo "ok   image built: $tag"
if ! "${P[@]}" run --rm "${RUN[@]}" "$tag" version; then
  echo "SKIP: podman cannot run a container here (see its error above)"; exit 77
fi

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
declare -A home listen
for n in a b; do
  "${P[@]}" volume create "hanse-$n-$id" >/dev/null
  listen[$n]=127.0.0.1:$(port)
  "${P[@]}" run --rm "${RUN[@]}" -v "hanse-$n-$id:/var/lib/hanse" "$tag" init \
    --home /var/lib/hanse/home --name "Org $n" --country DE --listen "${listen[$n]}" >/dev/null
  "${P[@]}" run -d --name "hanse-$n-$id" "${RUN[@]}" -v "hanse-$n-$id:/var/lib/hanse" "$tag" >/dev/null
  home[$n]=$("${P[@]}" volume inspect "hanse-$n-$id" --format '{{.Mountpoint}}')/home
done
for n in a b; do
  for _ in $(seq 100); do "$hanse" status --home "${home[$n]}" >/dev/null 2>&1 && break; sleep 0.2; done
  "$hanse" status --home "${home[$n]}" | head -2
  test "$("${P[@]}" exec "hanse-$n-$id" /usr/local/bin/hanse version | cut -d' ' -f1)" = hanse
  "$hanse" card --home "${home[$n]}" --out "$work/$n.card"
done
echo "ok   both containers serve"
"$hanse" federation draft --name Containers --admission-threshold 1 --revocation-threshold 1 \
  --founder "$work/a.card" --founder "$work/b.card" >"$work/charter.json"
for n in a b; do "$hanse" federation sign --home "${home[$n]}" "$work/charter.json" --out "$work/charter.json"; done
for n in a b; do "$hanse" federation join --home "${home[$n]}" "$work/charter.json"; done
printf 'a,b\n1,2\n' >"${home[a]}/data/boxed.csv"
cat >"$work/boxed.json" <<'JSON'
{"name": "boxed", "title": "Data from a container", "license": "CC-BY-4.0",
 "media_type": "text/csv", "language": "en", "content": "boxed.csv",
 "policy": {"@type": "Offer", "permission": [{"action": "use"}]}}
JSON
"$hanse" dataset publish --home "${home[a]}" "$work/boxed.json" || { for n in a b; do echo "--- $n"; "${P[@]}" logs "hanse-$n-$id" 2>&1 | tail -15; done; exit 1; }
for _ in $(seq 60); do
  "$hanse" search --home "${home[b]}" container | grep -q boxed && break; sleep 0.5
done
"$hanse" search --home "${home[b]}" container | grep -q boxed || { echo "FAIL: b never saw a's dataset"; exit 1; }
"$hanse" peer ping --home "${home[b]}" "${listen[a]}" >/dev/null
echo "ok   the containers formed a federation and replicated a dataset"
for n in a b; do
  "${P[@]}" stop -t 20 "hanse-$n-$id" >/dev/null
  code=$("${P[@]}" inspect "hanse-$n-$id" --format '{{.State.ExitCode}}')
  test "$code" = 0 || { echo "FAIL: container $n exited $code on SIGTERM"; "${P[@]}" logs "hanse-$n-$id" | tail -5; exit 1; }
done
echo "ok   SIGTERM stops both with exit code 0"
