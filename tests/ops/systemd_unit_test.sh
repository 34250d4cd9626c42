#!/usr/bin/env bash
# `make install` into a staging root, then the installed systemd unit must pass
# `systemd-analyze verify` and score "OK" or better (exposure < 4.0) in
# `systemd-analyze security`, both offline against that root. The host's own units are copied
# in (verify needs sysinit.target and friends). Exit 77 (skipped) without systemd-analyze.
# Usage: systemd_unit_test.sh BUILD_DIR
set -euo pipefail
build=$1
if ! command -v systemd-analyze >/dev/null; then echo "SKIP: no systemd-analyze"; exit 77; fi
stage=$(mktemp -d /tmp/hanse-stage.XXXXXX)
trap 'rm -rf "$stage"' EXIT
DESTDIR=$stage cmake --install "$build" --prefix /usr/local >/dev/null
mkdir -p "$stage/lib/systemd"
cp -a /lib/systemd/system "$stage/lib/systemd/"
unit=/usr/local/lib/systemd/system/hanse.service
test -x "$stage/usr/local/bin/hanse" || { echo "FAIL: hanse not installed"; exit 1; }
"$stage/usr/local/bin/hanse" version
test -s "$stage/usr/local/share/bash-completion/completions/hanse" ||
  { echo "FAIL: the bash completion is not installed"; exit 1; }
systemd-analyze verify --root="$stage" "$unit"
echo "ok   systemd-analyze verify"
systemd-analyze security --offline=true --root="$stage" "$unit" | tail -1
systemd-analyze security --offline=true --threshold=40 --root="$stage" "$unit" >/dev/null
echo "ok   systemd-analyze security: exposure under 4.0"
