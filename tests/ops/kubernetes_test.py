#!/usr/bin/env python3
"""deploy/kubernetes rendered with `kubectl kustomize` and checked, then its commands run.

For the base and both overlays (example: init on the volume; keys-in-secret: restore from a
Secret), the rendered objects are checked for what docs/deploy.md promises: one StatefulSet
replica with a volume claim for the home, an init step, probes on the ops port, a restricted
securityContext on every container, requests and limits, a federation Service, and
NetworkPolicies that admit the federation port and nothing else (the example overlay opens the
ops port to the monitoring namespace only).

Then the init container's command line, as rendered (ConfigMap values substituted the way the
kubelet does), is run with the real binary against a directory standing in for the volume:
twice, the second run leaving the home alone. For keys-in-secret, a home made offline and
backed up is restored by the rendered command, twice. The main container's command then runs
the node on that home (its ports moved to free ones), and the probes' paths answer 200.

Exit 77 (skipped) only when kubectl is not installed.
Usage: kubernetes_test.py BUILD/node/hanse SOURCE_DIR
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from node_procs import free_port, print_logs, stop_all, wait  # noqa: E402

SKIP = 77
VOLUME = "/var/lib/hanse"


def render(kubectl, path):
    r = subprocess.run([kubectl, "kustomize", path], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise AssertionError(f"kubectl kustomize {path}: exit {r.returncode}\n{r.stderr}")
    return [d for d in yaml.safe_load_all(r.stdout) if d]


def one(objects, kind, name=None):
    found = [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print(f"ok   {what}")


def check_rendered(objects, label):
    sts = one(objects, "StatefulSet")
    spec = sts["spec"]
    pod = spec["template"]["spec"]
    labels = spec["template"]["metadata"]["labels"]
    check(spec["replicas"] == 1, f"{label}: one replica (two would sign one sequence twice)")
    claims = {c["metadata"]["name"]: c for c in spec["volumeClaimTemplates"]}
    check("home" in claims and claims["home"]["spec"]["resources"]["requests"]["storage"],
          f"{label}: a PersistentVolumeClaim template for the home")
    check(len(pod.get("initContainers", [])) == 1, f"{label}: one init container")
    containers = pod["initContainers"] + pod["containers"]
    for c in containers:
        mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
        check(mounts.get(VOLUME) == "home", f"{label}: {c['name']} mounts the home volume")
        sc = c.get("securityContext", {})
        check(sc.get("readOnlyRootFilesystem") is True and sc.get("allowPrivilegeEscalation") is False
              and sc.get("capabilities", {}).get("drop") == ["ALL"] and not sc.get("privileged"),
              f"{label}: {c['name']} read-only root, no privilege escalation, capabilities dropped")
        res = c.get("resources", {})
        check(all(res.get(k, {}).get(r) for k in ("requests", "limits") for r in ("cpu", "memory")),
              f"{label}: {c['name']} has cpu and memory requests and limits")
    psc = pod["securityContext"]
    check(psc.get("runAsNonRoot") is True and psc.get("runAsUser") == 10001
          and psc.get("seccompProfile", {}).get("type") == "RuntimeDefault",
          f"{label}: the pod runs as uid 10001, non-root, seccomp RuntimeDefault")
    check(psc.get("fsGroupChangePolicy") == "OnRootMismatch",
          f"{label}: the volume is not re-chowned recursively (key modes stay 0600)")
    check(pod.get("automountServiceAccountToken") is False, f"{label}: no API token mounted")
    main = pod["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in main["ports"]}
    for probe, path in (("startupProbe", "/livez"), ("livenessProbe", "/livez"),
                        ("readinessProbe", "/readyz")):
        get = main.get(probe, {}).get("httpGet", {})
        check(get.get("path") == path and get.get("port") in ("ops", ports.get("ops")),
              f"{label}: {probe} GET {path} on the ops port")
    svc = one(objects, "Service", "hanse")
    check(sts["spec"]["serviceName"] == "hanse" and any(
        p["port"] == ports["federation"] and p["targetPort"] in ("federation", ports["federation"])
        for p in svc["spec"]["ports"]), f"{label}: the governing Service carries the federation port")

    # NetworkPolicies selecting the node's pods: what ingress they admit, port by port.
    admitted = {}
    for np in (o for o in objects if o["kind"] == "NetworkPolicy"):
        sel = np["spec"]["podSelector"].get("matchLabels", {})
        if not all(labels.get(k) == v for k, v in sel.items()):
            continue
        check("Ingress" in np["spec"]["policyTypes"], f"{label}: {np['metadata']['name']} governs ingress")
        for rule in np["spec"].get("ingress", []):
            assert rule.get("ports"), f"{np['metadata']['name']}: a rule admits every port"
            for p in rule["ports"]:
                admitted.setdefault(p["port"], []).append(rule.get("from"))
    check(admitted.get(ports["federation"]) == [None],
          f"{label}: the federation port is admitted from anywhere (mutual TLS decides)")
    others = {p: f for p, f in admitted.items() if p != ports["federation"]}
    check(all(p == ports["ops"] and all(f and all("namespaceSelector" in x or "podSelector" in x
                                                  for x in f) for f in fs)
              for p, fs in others.items()),
          f"{label}: no other port is admitted, except the ops port from named sources "
          f"({sorted(others) or 'none'})")
    return sts, objects


def kubelet_args(container, objects):
    """The container's args as the kubelet expands them: $(VAR) from its env (literal values and
    ConfigMap keys)."""
    env = {}
    for e in container.get("env", []):
        if "value" in e:
            env[e["name"]] = e["value"]
        else:
            ref = e["valueFrom"]["configMapKeyRef"]
            env[e["name"]] = one(objects, "ConfigMap", ref["name"])["data"][ref["key"]]
    return [re.sub(r"\$\((\w+)\)", lambda m: env[m.group(1)], a) for a in container["args"]], env


def run(hanse, args, volume, extra_env=None, check_ok=True):
    args = [a.replace(VOLUME, volume) for a in args]
    r = subprocess.run([hanse, *args], capture_output=True, text=True, timeout=60,
                       env={**os.environ, **(extra_env or {})})
    if check_ok and r.returncode != 0:
        raise AssertionError(f"hanse {' '.join(args)}: exit {r.returncode}\n{r.stderr}")
    return r


def http(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return 0


def run_pod(hanse, sts, objects, volume, root, procs, label):
    """The init container's command twice, then the main container's on free ports."""
    pod = sts["spec"]["template"]["spec"]
    init_args, _ = kubelet_args(pod["initContainers"][0], objects)
    first = run(hanse, init_args, volume)
    did = first.stdout.strip()
    check(did.startswith("did:key:"), f"{label}: the init step made a home ({did[:24]}...)")
    home = os.path.join(volume, "home")
    before = {f: os.stat(os.path.join(home, f)).st_mtime_ns for f in os.listdir(home)}
    second = run(hanse, init_args, volume)
    after = {f: os.stat(os.path.join(home, f)).st_mtime_ns for f in os.listdir(home)}
    check(second.stdout.strip() == did and before == after,
          f"{label}: the init step run again leaves the home as it is")
    for key in ("participant.key", "node.key"):
        mode = os.stat(os.path.join(home, key)).st_mode & 0o777
        check(mode == 0o600, f"{label}: {key} is 0600")
    main = pod["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in main["ports"]}
    with open(os.path.join(home, "config.json")) as f:
        config = json.load(f)
    check(config["listen"].endswith(f":{ports['federation']}")
          and config.get("ops_listen", "").endswith(f":{ports['ops']}"),
          f"{label}: the home listens on the container's federation and ops ports")
    # The node itself, as the main container starts it, on free loopback ports.
    ops = free_port()
    config["listen"], config["ops_listen"] = f"127.0.0.1:{free_port()}", f"127.0.0.1:{ops}"
    with open(os.path.join(home, "config.json"), "w") as f:
        json.dump(config, f)
    args, env = kubelet_args(main, objects)
    env = {k: v.replace(VOLUME, volume) for k, v in env.items()}
    log = open(os.path.join(root, f"{label}.log"), "w")
    procs.append(subprocess.Popen([hanse, *args], env={**os.environ, **env}, stdout=log,
                                  stderr=subprocess.STDOUT))
    for probe, path in (("startupProbe", "/livez"), ("readinessProbe", "/readyz")):
        wait(lambda: http(f"http://127.0.0.1:{ops}{path}") == 200, f"{label}: {path}", within=30)
        print(f"ok   {label}: {probe} {path} answers 200 from the node the main container runs")
    return did


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    hanse, src = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    kubectl = shutil.which("kubectl")
    if not kubectl:
        print("SKIP: kubectl is not installed (its `kustomize` renders the manifests)")
        return SKIP
    k8s = os.path.join(src, "deploy", "kubernetes")
    root = tempfile.mkdtemp(prefix="hanse-k8s-")
    procs = []
    try:
        check_rendered(render(kubectl, os.path.join(k8s, "base")), "base")
        example_sts, example = check_rendered(
            render(kubectl, os.path.join(k8s, "overlays", "example")), "example")
        check(all(o["metadata"].get("namespace") == "hospital-nord" for o in example
                  if o["kind"] != "Namespace"), "example: every object is in its namespace")
        lb = one(example, "Service", "hanse-federation")
        check(lb["spec"]["type"] == "LoadBalancer", "example: the federation port has a LoadBalancer")
        check(lb["spec"].get("publishNotReadyAddresses") is True
              and one(example, "Service", "hanse")["spec"].get("publishNotReadyAddresses") is True,
              "example: the federation Services reach a node that is not ready yet")
        pod = example_sts["spec"]["template"]["spec"]
        check(pod["initContainers"][0]["args"][:2] == ["init", "--if-missing"],
              "example: the init step creates the home once (init --if-missing)")
        secret_sts, secret = check_rendered(
            render(kubectl, os.path.join(k8s, "overlays", "keys-in-secret")), "keys-in-secret")
        spod = secret_sts["spec"]["template"]["spec"]
        check(spod["initContainers"][0]["args"][:2] == ["restore", "--if-missing"],
              "keys-in-secret: the init step restores the home from the Secret once")
        vols = {v["name"]: v for v in spod["volumes"]}
        check(vols["identity"]["secret"]["defaultMode"] == 0o400,
              "keys-in-secret: the Secret's files are mounted 0400")

        volume = os.path.join(root, "example-volume")
        os.makedirs(volume)
        did = run_pod(hanse, example_sts, example, volume, root, procs, "example")
        run(hanse, ["status", "--home", os.path.join(volume, "home")], volume)
        print(f"ok   example: `hanse status` reaches the node through the volume's admin socket")

        # keys-in-secret: a home made offline, backed up, the archive where the Secret is mounted.
        offline = os.path.join(root, "offline")
        r = run(hanse, ["init", "--home", offline, "--name", "Hospital Nord", "--country", "DE",
                        "--listen", "0.0.0.0:7400", "--endpoint", "hanse.hospital-nord.example:7400",
                        "--ops-listen", "0.0.0.0:9464"], root)
        offline_did = r.stdout.strip()
        archive = os.path.join(root, "home.tar.zst")
        run(hanse, ["backup", "--home", offline, "--out", archive], root)
        secret_dir = os.path.join(root, "secret")
        os.makedirs(secret_dir)
        mount = next(m["mountPath"] for m in spod["initContainers"][0]["volumeMounts"]
                     if m["name"] == "identity")
        shutil.copy(archive, os.path.join(secret_dir, os.path.basename(
            spod["initContainers"][0]["args"][2])))
        restore_args = [a.replace(mount, secret_dir) for a in spod["initContainers"][0]["args"]]
        spod["initContainers"][0]["args"] = restore_args
        volume2 = os.path.join(root, "secret-volume")
        os.makedirs(volume2)
        restored = run_pod(hanse, secret_sts, secret, volume2, root, procs, "keys-in-secret")
        check(restored == offline_did, "keys-in-secret: the node has the identity made offline")
        print("PASS")
        return 0
    except AssertionError as e:
        print(f"FAIL: {e}")
        print_logs(root, ["example", "keys-in-secret"])
        return 1
    finally:
        stop_all(procs, root)


if __name__ == "__main__":
    sys.exit(main())
