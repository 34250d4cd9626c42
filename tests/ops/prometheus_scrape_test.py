#!/usr/bin/env python3
"""A real Prometheus server scrapes two running Hanse nodes of one federation.

Checks: /livez answers, /readyz turns ready once the members reached each other, /metrics passes
`promtool check metrics`, and through Prometheus' HTTP API the node series exist for both
nodes and move (RPC counts grow as the nodes gossip and are pinged).

Usage: prometheus_scrape_test.py BUILD/node/hanse
"""
import json
import re
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from node_procs import free_port, http_get as get, print_logs, stop_all, wait  # noqa: E402

SKIP = 77




def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    hanse = os.path.abspath(sys.argv[1])
    prometheus, promtool = shutil.which("prometheus"), shutil.which("promtool")
    if not prometheus or not promtool:
        print("FAIL: prometheus and promtool are needed (Debian package prometheus; make deps)")
        return 1
    root = tempfile.mkdtemp(prefix="hanse-prom-")
    procs = []

    def hanse_cmd(*args, check=True):
        r = subprocess.run([hanse, *args], cwd=root, capture_output=True, text=True, timeout=60)
        if check and r.returncode != 0:
            raise AssertionError(f"hanse {' '.join(args)}: exit {r.returncode}\n{r.stderr}")
        return r

    try:
        nodes = {}
        for name, country in (("a", "DE"), ("b", "FR")):
            home = os.path.join(root, name)
            port, ops = free_port(), free_port()
            hanse_cmd("init", "--home", home, "--name", f"Org {name}", "--country", country,
                      "--listen", f"127.0.0.1:{port}")
            with open(os.path.join(home, "config.json")) as f:
                config = json.load(f)
            config.update(ops_listen=f"127.0.0.1:{ops}", gossip_interval_ms=500)
            with open(os.path.join(home, "config.json"), "w") as f:
                json.dump(config, f)
            log = open(os.path.join(root, f"{name}.log"), "w")
            procs.append(subprocess.Popen([hanse, "node", "run", "--home", home], stdout=log,
                                          stderr=subprocess.STDOUT))
            nodes[name] = {"home": home, "ops": f"127.0.0.1:{ops}", "port": port}
        for n in nodes.values():
            wait(lambda: hanse_cmd("status", "--home", n["home"], check=False).returncode == 0,
                 "node answers")
            status, body = get(f"http://{n['ops']}/livez")
            assert status == 200 and body == "ok\n", (status, body)
            hanse_cmd("card", "--home", n["home"], "--out", n["home"] + ".card")
        charter = os.path.join(root, "charter.json")
        with open(charter, "w") as f:
            f.write(hanse_cmd("federation", "draft", "--name", "Metrics", "--admission-threshold",
                              "1", "--revocation-threshold", "1", "--founder",
                              nodes["a"]["home"] + ".card", "--founder",
                              nodes["b"]["home"] + ".card").stdout)
        for n in nodes.values():
            hanse_cmd("federation", "sign", "--home", n["home"], charter, "--out", charter)
        for n in nodes.values():
            hanse_cmd("federation", "join", "--home", n["home"], charter)
        for name, n in nodes.items():
            wait(lambda: get(f"http://{n['ops']}/readyz")[0] == 200, f"{name} ready")
            status, text = get(f"http://{n['ops']}/metrics")
            assert status == 200, status
            check = subprocess.run([promtool, "check", "metrics"], input=text,
                                   capture_output=True, text=True)
            assert check.returncode == 0, f"promtool: {check.stdout}{check.stderr}\n{text}"
            for series in ("hanse_rpc_total", "hanse_rpc_duration_seconds_bucket",
                           "hanse_catalog_documents", "hanse_node_certificate_expiry_seconds",
                           "hanse_members{status=\"member\"} 2", "hanse_gossip_rounds_total",
                           "hanse_audit_entries", "hanse_audit_events_total{kind=\"admin.call\"}",
                           "hanse_store_pending_compaction_bytes",
                           "hanse_store_block_cache_total{result=\"hit\"}"):
                assert series in text, f"{series} missing from {name}'s /metrics:\n{text}"
            exported = {line.split()[2] for line in text.splitlines()
                        if line.startswith("# TYPE ")}
        # The Grafana dashboard names only series the node exports.
        dashboard_path = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                      "../../deploy/grafana/hanse-dashboard.json")
        with open(dashboard_path) as f:
            dashboard = json.load(f)
        dashboard_queries = [t["expr"] for panel in dashboard["panels"]
                             for t in panel["targets"]]
        for q in dashboard_queries:
            for series in re.findall(r"hanse_[a-z_]+", q):
                base = re.sub(r"_(bucket|sum|count)$", "", series)
                assert base in exported, f"dashboard query names {series}, not exported: {q}"
        print(f"ok   deploy/grafana/hanse-dashboard.json: {len(dashboard_queries)} queries, "
              "every series exported")
        status, body = get(f"http://{nodes['a']['ops']}/nothing")
        assert status == 404 and "/metrics" in body, (status, body)

        rules = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                             "../../deploy/prometheus/alerts.yml")
        check = subprocess.run([promtool, "check", "rules", rules], capture_output=True, text=True)
        assert check.returncode == 0, f"promtool check rules: {check.stdout}{check.stderr}"
        print("ok   deploy/prometheus/alerts.yml passes promtool check rules")
        rule_tests = os.path.join(os.path.dirname(os.path.abspath(__file__)), "alerts_test.yml")
        check = subprocess.run([promtool, "test", "rules", rule_tests], capture_output=True,
                               text=True)
        assert check.returncode == 0, f"promtool test rules: {check.stdout}{check.stderr}"
        print("ok   tests/ops/alerts_test.yml: the alerts fire on their series (promtool test rules)")

        prom_port = free_port()
        config = os.path.join(root, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    f"rule_files: ['{rules}']\n"
                    "scrape_configs:\n  - job_name: hanse\n    static_configs:\n"
                    f"      - targets: ['{nodes['a']['ops']}', '{nodes['b']['ops']}']\n")
        prom_log = open(os.path.join(root, "prometheus.log"), "w")
        procs.append(subprocess.Popen(
            [prometheus, f"--config.file={config}",
             f"--storage.tsdb.path={os.path.join(root, 'tsdb')}",
             f"--web.listen-address=127.0.0.1:{prom_port}"],
            stdout=prom_log, stderr=subprocess.STDOUT))
        api = f"http://127.0.0.1:{prom_port}/api/v1/query?query="

        def query(q):
            status, body = get(api + urllib.parse.quote(q))
            if status != 200:
                return None
            return json.loads(body)["data"]["result"]

        up = wait(lambda: (r := query("up{job=\"hanse\"} == 1")) and len(r) == 2 and r,
                  "Prometheus scrapes both nodes", within=60)
        print(f"ok   Prometheus scrapes {len(up)} nodes")
        for metric in ("hanse_catalog_documents", "hanse_node_certificate_expiry_seconds",
                       "hanse_members", "hanse_uptime_seconds"):
            wait(lambda: (r := query(metric)) and len({s["metric"]["instance"] for s in r}) == 2,
                 f"{metric} from both nodes")
            print(f"ok   {metric} from both nodes")
        # Gossip per peer: each node names the other, its exchanges work and its lag is short.
        for q in ('hanse_gossip_peer_exchanges_total{result="ok"} > 0',
                  'hanse_gossip_peer_bytes_total{direction="received"} > 0',
                  'hanse_gossip_peer_lag_seconds < 30', 'hanse_gossip_peer_behind_documents'):
            got = wait(lambda: (r := query(q)) and len({s["metric"]["instance"] for s in r}) == 2
                       and r, f"{q} from both nodes", within=30)
            peers = {s["metric"]["peer"] for s in got}
            assert len(peers) == 2 and all(p.startswith("did:key:") for p in peers), got
            print(f"ok   {q}: one peer per node")
        rules_loaded = wait(lambda: (r := get(f"http://127.0.0.1:{prom_port}/api/v1/rules"))[0]
                            == 200 and "HanseCertificateExpiring" in r[1], "alert rules loaded")
        assert rules_loaded
        first = float(wait(lambda: query("sum(hanse_rpc_total)"), "rpc total")[0]["value"][1])
        for _ in range(5):
            hanse_cmd("peer", "ping", "--home", nodes["a"]["home"],
                      f"127.0.0.1:{nodes['b']['port']}")
        wait(lambda: (r := query("sum(hanse_rpc_total)")) and float(r[0]["value"][1]) > first,
             "hanse_rpc_total grows")
        pings = wait(lambda: query("sum(hanse_rpc_total{method=\"Ping\",code=\"OK\"})"),
                     "pings counted")
        print(f"ok   RPC counts move (Ping OK: {pings[0]['value'][1]})")

        # A dataset published by a, found, negotiated and fetched by b: the search, negotiation
        # and transfer series move on both sides.
        data = b"a,b\n" + b"1,2\n" * 50000
        with open(os.path.join(nodes["a"]["home"], "data", "rows.csv"), "wb") as f:
            f.write(data)
        publish = os.path.join(root, "rows.json")
        with open(publish, "w") as f:
            json.dump({"name": "rows", "title": "Rows for the metrics", "license": "CC-BY-4.0",
                       "media_type": "text/csv", "language": "en", "content": "rows.csv",
                       "policy": {"@type": "Offer", "permission": [{"action": "use"}]}}, f)
        hanse_cmd("dataset", "publish", "--home", nodes["a"]["home"], publish)
        found = wait(lambda: json.loads(hanse_cmd("search", "--home", nodes["b"]["home"], "metrics",
                                                  "--json").stdout).get("hits"),
                     "b finds a's dataset")
        dataset = found[0]["id"]
        agreed = json.loads(hanse_cmd("contract", "request", "--home", nodes["b"]["home"], dataset,
                                      "--purpose", "hanse:MedicalResearch", "--json").stdout)
        agreement = agreed["agreement_id"]
        hanse_cmd("fetch", "--home", nodes["b"]["home"], agreement, "--out",
                  os.path.join(root, "rows-fetched.csv"))

        def value(q):
            r = query(q)
            return float(r[0]["value"][1]) if r else None

        for q, want in (
                (f'hanse_transfer_bytes_total{{direction="sent",instance="{nodes["a"]["ops"]}"}}',
                 len(data)),
                (f'hanse_transfer_bytes_total{{direction="received",instance="{nodes["b"]["ops"]}"}}',
                 len(data)),
                (f'hanse_transfers_total{{direction="received",outcome="completed",'
                 f'instance="{nodes["b"]["ops"]}"}}', 1),
                (f'hanse_transfers_active{{direction="sent",instance="{nodes["a"]["ops"]}"}}', 0),
                (f'hanse_catalog_documents{{kind="dataset",instance="{nodes["b"]["ops"]}"}}', 1),
                (f'hanse_catalog_documents{{kind="participant",instance="{nodes["b"]["ops"]}"}}',
                 2),
                (f'hanse_negotiations{{role="provider",state="FINALIZED",'
                 f'instance="{nodes["a"]["ops"]}"}}', 1),
                (f'hanse_negotiations{{role="consumer",state="FINALIZED",'
                 f'instance="{nodes["b"]["ops"]}"}}', 1),
                (f'hanse_search_duration_seconds_count{{scope="local",'
                 f'instance="{nodes["b"]["ops"]}"}} > 0', None)):
            got = wait(lambda: (v := value(q)) is not None and (want is None or v == want) and [v],
                       f"{q} == {want} (last: {value(q)})", within=30)
            print(f"ok   {q}: {got[0]:g}")
        for q in dashboard_queries:
            status, body = get(api + urllib.parse.quote(q))
            assert status == 200 and json.loads(body)["status"] == "success", (q, status, body)
        print("ok   every dashboard query is valid PromQL for this Prometheus")
        return 0
    except AssertionError as e:
        print(f"FAIL: {e}")
        print_logs(root, ("a", "b", "prometheus"))
        return 1
    finally:
        stop_all(procs, root)


if __name__ == "__main__":
    sys.exit(main())
