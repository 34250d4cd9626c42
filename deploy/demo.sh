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

declare -A NAME=([charite]="Charité Universitätsmedizin" [aphp]="Assistance Publique Hôpitaux de Paris" [umcu]="UMC Utrecht" [karolinska]="Karolinska Institutet" [helix]="Helix Cloud Europe GmbH")
declare -A COUNTRY=([charite]=DE [aphp]=FR [umcu]=NL [karolinska]=SE [helix]=DE)
declare -A KEYTYPE=([charite]=p256 [aphp]=p256 [umcu]=ed25519 [karolinska]=p256 [helix]=p256)
# Helix is established in Germany but, as the subsidiary of a US company, also subject to US law.
declare -A JURISDICTIONS=([charite]="" [aphp]="" [umcu]="" [karolinska]="" [helix]="--jurisdiction DE --jurisdiction US")
MEMBERS=(charite aphp umcu karolinska helix)
FOUNDERS=(charite aphp umcu)
declare -A DID LISTEN

say "1. Five organisations each create their own node (no central party involved)"
for m in "${MEMBERS[@]}"; do
  # shellcheck disable=SC2086
  DID[$m]=$("$HANSE" init --home "$WORK/$m" --name "${NAME[$m]}" --country "${COUNTRY[$m]}" \
            --listen 127.0.0.1:0 --key-type "${KEYTYPE[$m]}" ${JURISDICTIONS[$m]} 2>/dev/null)
  sed -i 's/"gossip_interval_ms": 2000/"gossip_interval_ms": 300/' "$WORK/$m/config.json"
  note "${NAME[$m]} (${COUNTRY[$m]}, ${KEYTYPE[$m]} key): ${DID[$m]}"
done

say "2. Each starts its node: a federation server on mutual TLS, an admin socket for the CLI"
for m in "${MEMBERS[@]}"; do
  "$HANSE" node run --home "$WORK/$m" >"$WORK/$m.log" 2>&1 &
  PIDS+=($!)
  wait_ready "$WORK/$m" "$!"
  LISTEN[$m]=$("$HANSE" status --home "$WORK/$m" --json | sed -n 's/.*"listen": "\(.*\)".*/\1/p')
  "$HANSE" card --home "$WORK/$m" --out "$WORK/$m.card.json"
  note "$m listens on ${LISTEN[$m]}"
done

say "3. Before any trust exists, a call from aphp to charite is refused at the TLS handshake"
if "$HANSE" peer ping --home "$WORK/aphp" "${LISTEN[charite]}" >/dev/null 2>"$WORK/refused.txt"; then
  echo "unexpected: an untrusted node got through"; exit 1
fi
note "refused: $(cut -c1-110 "$WORK/refused.txt")"

say "4. The three founders write a charter (2-of-n to admit, 2-of-n to revoke) and each signs it"
"$HANSE" federation draft --name "European Health Data Federation" --admission-threshold 2 \
  --revocation-threshold 2 --founder "$WORK/charite.card.json" --founder "$WORK/aphp.card.json" \
  --founder "$WORK/umcu.card.json" > "$WORK/charter.json"
for m in "${FOUNDERS[@]}"; do
  "$HANSE" federation sign --home "$WORK/$m" "$WORK/charter.json" --out "$WORK/charter.json" 2>&1 | sed 's/^/   /'
done
for m in "${FOUNDERS[@]}"; do
  note "$m: $("$HANSE" federation join --home "$WORK/$m" "$WORK/charter.json")"
done
note "(the charter's hash is the federation id; every node checks every founder's signature)"

say "5. Founders reach each other over mutual TLS; the peer's DID comes from its certificate"
for m in "${FOUNDERS[@]}"; do
  for p in "${FOUNDERS[@]}"; do
    [ "$m" = "$p" ] && continue
    note "$m -> $p: $("$HANSE" peer ping --home "$WORK/$m" "${DID[$p]}")"
  done
done

say "6. Karolinska and Helix apply: one endorsement is not enough, two admit each on every node"
note "aphp proposes: $("$HANSE" member propose --home "$WORK/aphp" "$WORK/karolinska.card.json")"
note "umcu proposes: $("$HANSE" member propose --home "$WORK/umcu" "$WORK/helix.card.json")"
sleep 1
run "$HANSE" member pending --home "$WORK/umcu"
note "charite endorses: $("$HANSE" member endorse --home "$WORK/charite" "${DID[karolinska]}")"
note "charite endorses: $("$HANSE" member endorse --home "$WORK/charite" "${DID[helix]}")"
sleep 1
note "karolinska and helix join, fetching the records from umcu and checking them themselves:"
run "$HANSE" federation join --home "$WORK/karolinska" "$WORK/charter.json" --bootstrap "${LISTEN[umcu]}"
run "$HANSE" federation join --home "$WORK/helix" "$WORK/charter.json" --bootstrap "${LISTEN[umcu]}"

publish() {  # member name title description keywords themes language issued
  local m=$1 name=$2 title=$3 desc=$4 kw=$5 themes=$6 lang=$7 issued=$8
  head -c $((20000 + RANDOM)) /dev/urandom > "$WORK/$m/data/$name.csv"
  cat > "$WORK/$name.json" <<JSON
{"name": "$name", "title": "$title", "description": "$desc",
 "keywords": [$kw], "themes": [$themes], "license": "https://creativecommons.org/licenses/by/4.0/",
 "media_type": "text/csv", "language": "$lang", "issued": "$issued", "content": "$name.csv",
 "personal_data_class": "pseudonymised",
 "policy": {"@context": "http://www.w3.org/ns/odrl.jsonld", "@type": "Offer",
            "permission": [{"action": "use", "constraint": [{"leftOperand": "purpose",
              "operator": "eq", "rightOperand": "https://w3id.org/dpv#MedicalResearch"}]}]}}
JSON
  note "$m publishes \"$title\" -> $("$HANSE" dataset publish --home "$WORK/$m" "$WORK/$name.json")"
}

say "7. Each member publishes datasets: the node hashes the content, signs a VC (vc+jwt), stores and indexes it"
publish charite icu-stays "ICU stays Berlin 2019-2023" "Pseudonymised intensive care stays with diagnoses and outcomes" '"icu", "intensive care", "outcomes"' '"health"' de 2024-02-01
publish charite sepsis-cohort "Sepsis cohort" "Sepsis patients with lab values and antibiotic timing" '"sepsis", "antibiotics", "lab"' '"health", "infectious disease"' en 2023-06-15
publish aphp covid-admissions "COVID-19 admissions Paris region" "Daily hospital admissions and ICU occupancy for COVID-19" '"covid", "icu", "admissions"' '"health", "epidemiology"' fr 2022-01-10
publish aphp air-quality-hospitals "Air quality around Paris hospitals" "PM2.5 and NO2 near 38 hospital sites, hourly" '"air quality", "pm25", "no2"' '"environment", "health"' fr 2024-05-20
publish umcu rare-disease-registry "Rare disease registry Netherlands" "Registry of rare metabolic disorders with genotype data" '"rare disease", "genotype", "registry"' '"health", "genomics"' nl 2021-09-01

publish karolinska rare-cancer-cohort "Rare cancer cohort Sweden" "Paediatric rare cancer cohort with treatment outcomes" '"cancer", "paediatric", "outcomes"' '"health", "oncology"' en 2023-11-02

say "8. Gossip replicated every member's signed documents to every node (each verified on arrival);
   search runs on the local replica: BM25 ranking, filters, pages"
sleep 2
run "$HANSE" search --home "$WORK/karolinska" outcomes
run "$HANSE" search --home "$WORK/charite" icu outcomes
note "a live query asks every member now (2 s deadline) and verifies each answer itself:"
run "$HANSE" search --home "$WORK/umcu" --live outcomes
run "$HANSE" search --home "$WORK/aphp" "icu theme:epidemiology issued>=2022-01-01"
run "$HANSE" search --home "$WORK/aphp" "theme:environment sort:-issued"
note "a malformed query is refused with a pointer to the problem:"
run "$HANSE" search --home "$WORK/aphp" "icu colour:red" || true

say "9. A qualification body attests hosting: UMC Utrecht's audit office certifies two members"
note "(a certification credential is a signed VC; it replicates like any document and only its issuer can revoke it)"
run "$HANSE" credential issue --home "$WORK/umcu" --subject "${DID[aphp]}" --certification health-data-hosting
run "$HANSE" credential issue --home "$WORK/umcu" --subject "${DID[helix]}" --certification health-data-hosting

say "10. Charité publishes ICU vitals under its own rules"
note "EU-established members holding a health-data-hosting certification from UMC Utrecht, for"
note "medical research, at most 3 uses, deleted after 30 days, the provider informed"
head -c 3000000 /dev/urandom > "$WORK/charite/data/icu-vitals.csv"
cat > "$WORK/icu-vitals.json" <<JSON
{"name": "icu-vitals-2024", "title": "ICU vital signs 2024",
 "description": "Minute-level vital signs of pseudonymised ICU stays", "keywords": ["icu", "vitals"],
 "themes": ["health"], "license": "https://creativecommons.org/licenses/by-nc/4.0/",
 "media_type": "text/csv", "language": "en", "content": "icu-vitals.csv",
 "personal_data_class": "special-category",
 "policy": {"@context": ["http://www.w3.org/ns/odrl.jsonld", {"hanse": "https://w3id.org/hanse/v1#"}],
   "@type": "Offer",
   "permission": [{"action": "use", "constraint": [
     {"leftOperand": "purpose", "operator": "eq", "rightOperand": {"@id": "hanse:MedicalResearch"}},
     {"leftOperand": "spatial", "operator": "isPartOf", "rightOperand": "EU"},
     {"leftOperand": "hanse:jurisdiction", "operator": "isPartOf", "rightOperand": "EU"},
     {"leftOperand": "hanse:certification", "operator": "eq", "rightOperand": "health-data-hosting",
      "hanse:issuer": ["${DID[umcu]}"]},
     {"leftOperand": "count", "operator": "lteq", "rightOperand": 3}],
    "duty": [{"action": "delete", "constraint": [{"leftOperand": "elapsedTime", "operator": "eq", "rightOperand": "P30D"}]},
             {"action": "inform"}]}],
   "prohibition": [{"action": "distribute"}]}}
JSON
ICU=$("$HANSE" dataset publish --home "$WORK/charite" "$WORK/icu-vitals.json")
note "published $ICU"
for _ in $(seq 1 50); do
  "$HANSE" dataset show --home "$WORK/aphp" "$ICU" >/dev/null 2>&1 && \
  "$HANSE" dataset show --home "$WORK/helix" "$ICU" >/dev/null 2>&1 && break
  sleep 0.2
done

say "11. AP-HP negotiates: Charité's node evaluates the policy against what it has verified about AP-HP"
note "(its signed participant self-description, the certification credential; both signatures on the agreement)"
AGREEMENT=$("$HANSE" contract request --home "$WORK/aphp" "$ICU" --purpose hanse:MedicalResearch 2>/dev/null)
note "agreement $AGREEMENT"
run "$HANSE" contract show --home "$WORK/charite" "$AGREEMENT"
note "the data travels over mutual TLS, bound to the agreement; AP-HP checks the SHA-256 against the signed self-description:"
run "$HANSE" fetch --home "$WORK/aphp" "$AGREEMENT" --out "$WORK/aphp-icu-vitals.csv"

say "12. Helix asks for the same data and is denied; the trace says which constraint failed and why"
run "$HANSE" contract request --home "$WORK/helix" "$ICU" --purpose hanse:MedicalResearch || true

say "13. Every decision and step is in a hash-chained audit log; AP-HP exports the evidence"
run "$HANSE" audit list --home "$WORK/charite" --subject "$AGREEMENT"
run "$HANSE" audit verify --home "$WORK/aphp"
"$HANSE" evidence export --home "$WORK/aphp" "$AGREEMENT" > "$WORK/evidence.json"
note "the bundle (agreement signed by both, co-signed receipt, cards, audit entries with their chain)"
note "verifies offline, by anyone, with no node:"
run "$HANSE" evidence verify "$WORK/evidence.json"

say "14. Anyone can check the signed documents offline, with no node; a tampered one is caught"
"$HANSE" catalog export --home "$WORK/aphp" --format jws > "$WORK/aphp.jws"
run "$HANSE" document verify "$WORK/aphp.jws"
sed '2s/\(.*\)\..*\.\(.*\)/\1.eyJ0YW1wZXJlZCI6dHJ1ZX0.\2/' "$WORK/aphp.jws" > "$WORK/tampered.jws"
run "$HANSE" document verify "$WORK/tampered.jws" || true
note "the DCAT export (a Dataspace Protocol catalog) starts like this:"
"$HANSE" catalog export --home "$WORK/umcu" --format dcat > "$WORK/umcu.dcat.json"
head -14 "$WORK/umcu.dcat.json" | sed 's/^/     /'

say "15. Unpublishing is a signed tombstone with a higher sequence; it replicates like the rest"
run "$HANSE" dataset unpublish --home "$WORK/aphp" "${DID[aphp]}/datasets/covid-admissions"
sleep 1
run "$HANSE" search --home "$WORK/umcu" covid

say "16. Revocation: two members vote Karolinska out; it is cut off and its datasets leave every catalogue"
note "umcu votes: $("$HANSE" member revoke --home "$WORK/umcu" "${DID[karolinska]}" --reason "membership fee unpaid")"
sleep 1
note "aphp votes: $("$HANSE" member revoke --home "$WORK/aphp" "${DID[karolinska]}" --reason "confirmed by the board")"
sleep 2
run "$HANSE" member list --home "$WORK/charite"
run "$HANSE" search --home "$WORK/charite" cancer
if "$HANSE" peer ping --home "$WORK/karolinska" "${DID[charite]}" >/dev/null 2>&1; then
  echo "unexpected: a revoked member still gets through"; exit 1
fi
note "karolinska's calls are now refused by every member"

EXAMPLES="$(cd "$(dirname "$0")" && pwd)/examples"
say "17. Usage policies: a hospital's offer for health data, evaluated offline with a full trace"
note "EU-established members holding a health-data-hosting certification, for medical research,"
note "at most 3 uses, deleted after 30 days. An EU hospital asks:"
run "$HANSE" policy check --policy "$EXAMPLES/health-policy.json" --request "$EXAMPLES/request-eu-hospital.json"
note "a member that is also subject to US law asks, and is told exactly why not:"
run "$HANSE" policy check --policy "$EXAMPLES/health-policy.json" --request "$EXAMPLES/request-us-subsidiary.json" || true

say "18. What one node knows about itself and its peers"
run "$HANSE" status --home "$WORK/umcu"

say "19. Everyone shuts down cleanly (SIGTERM: finish calls in flight, close the store)"
for i in "${!MEMBERS[@]}"; do
  kill -TERM "${PIDS[$i]}"
  if wait "${PIDS[$i]}"; then note "${MEMBERS[$i]} stopped (exit 0)"; else
    echo "${MEMBERS[$i]} exited with $?"; cat "$WORK/${MEMBERS[$i]}.log"; exit 1; fi
  PIDS[$i]=""
done

say "Done: five nodes, no central operator, every call mutually authenticated, every document signed."
