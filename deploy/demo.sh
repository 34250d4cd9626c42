#!/usr/bin/env bash
# A local federation on loopback, told as a story: three member organisations create their
# nodes, exchange member cards, and call each other over mutually authenticated TLS.
# Everything lives in a temporary directory that is removed at the end.
set -euo pipefail

HANSE=${HANSE:-hanse}
WORK=$(mktemp -d /tmp/hanse-demo-XXXXXX)
PIDS=()

say()  { printf '\n\033[1m== %s\033[0m\n' "$*"; }
note() { printf '   %s\n' "$*"; }
run()  { printf '   $ %s\n' "$*" | sed "s|$WORK|\$DEMO|g"; "$@" 2>&1 | sed 's/^/     /'; }

cleanup() {
  local code=$?
  for pid in "${PIDS[@]:-}"; do
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && kill -TERM "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  rm -rf "$WORK"
  exit $code
}
trap cleanup EXIT INT TERM

wait_ready() {  # home pid
  for _ in $(seq 1 100); do
    if "$HANSE" status --home "$1" --json >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$2" 2>/dev/null; then echo "node at $1 exited:"; cat "$1.log"; return 1; fi
    sleep 0.1
  done
  echo "node at $1 did not become ready"; cat "$1.log"; return 1
}

declare -A NAME=([charite]="Charité Universitätsmedizin" [aphp]="Assistance Publique Hôpitaux de Paris" [umcu]="UMC Utrecht")
declare -A COUNTRY=([charite]=DE [aphp]=FR [umcu]=NL)
declare -A KEYTYPE=([charite]=p256 [aphp]=p256 [umcu]=ed25519)
MEMBERS=(charite aphp umcu)
declare -A DID LISTEN

say "1. Three member organisations each create their own node (no central party involved)"
for m in "${MEMBERS[@]}"; do
  note "${NAME[$m]} (${COUNTRY[$m]}) creates a home with a ${KEYTYPE[$m]} participant key:"
  DID[$m]=$("$HANSE" init --home "$WORK/$m" --name "${NAME[$m]}" --country "${COUNTRY[$m]}" \
            --listen 127.0.0.1:0 --key-type "${KEYTYPE[$m]}" 2>/dev/null)
  note "  DID ${DID[$m]}"
done

say "2. Each starts its node: a federation server on mutual TLS, an admin socket for the CLI"
for m in "${MEMBERS[@]}"; do
  "$HANSE" node run --home "$WORK/$m" >"$WORK/$m.log" 2>&1 &
  PIDS+=($!)
  wait_ready "$WORK/$m" "$!"
  LISTEN[$m]=$("$HANSE" status --home "$WORK/$m" --json | sed -n 's/.*"listen": "\(.*\)".*/\1/p')
  note "$m listens on ${LISTEN[$m]} (pid $!)"
done

say "3. Before any trust is set up, a call from aphp to charite is refused at the TLS handshake"
if "$HANSE" peer ping --home "$WORK/aphp" "${LISTEN[charite]}" >/dev/null 2>"$WORK/refused.txt"; then
  echo "unexpected: an untrusted node got through"; exit 1
fi
note "refused: $(cut -c1-110 "$WORK/refused.txt")"

say "4. The members exchange signed member cards (DID, CA certificate, endpoint, name, country)"
for m in "${MEMBERS[@]}"; do "$HANSE" card --home "$WORK/$m" --out "$WORK/$m.card.json"; done
run "$HANSE" card --home "$WORK/charite" | cut -c1-100 | head -7
for m in "${MEMBERS[@]}"; do
  for p in "${MEMBERS[@]}"; do
    [ "$m" = "$p" ] && continue
    note "$m trusts $p: $("$HANSE" peer add --home "$WORK/$m" "$WORK/$p.card.json")"
  done
done
note "(the running nodes picked up the new trust list at once: no restart)"

say "5. Every node pings every other over mutual TLS; the peer's DID comes from its certificate"
for m in "${MEMBERS[@]}"; do
  for p in "${MEMBERS[@]}"; do
    [ "$m" = "$p" ] && continue
    note "$m -> $p: $("$HANSE" peer ping --home "$WORK/$m" "${DID[$p]}")"
  done
done

say "6. What one node knows about itself and its peers"
run "$HANSE" status --home "$WORK/umcu"

say "7. Everyone shuts down cleanly (SIGTERM: finish calls in flight, close the store)"
for i in "${!MEMBERS[@]}"; do
  kill -TERM "${PIDS[$i]}"
  if wait "${PIDS[$i]}"; then note "${MEMBERS[$i]} stopped (exit 0)"; else
    echo "${MEMBERS[$i]} exited with $?"; cat "$WORK/${MEMBERS[$i]}.log"; exit 1; fi
  PIDS[$i]=""
done

say "Done: three nodes, no central operator, every call mutually authenticated."
