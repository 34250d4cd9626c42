#!/usr/bin/env python3
"""Runs the two-host walkthrough of docs/operations.md as written, on two network namespaces.

Every fenced block marked `sh host=a` or `sh host=b` runs, in document order, with bash inside
that host's namespace (host A at 10.77.0.1, host B at 10.77.0.2 and 10.77.0.3, joined by a veth
pair). The homes and backup paths of the guide are mapped below a scratch directory per host;
the working directory is shared, as if the operators copied each file they exchange.
Attributes: `background` starts the block as a long-running process (a node) and waits until
its admin socket answers; `expect=TEXT` retries the block (up to 30 s) until its output holds
TEXT. Exit 77 (skipped) only when this machine cannot make network namespaces.

Usage: operations_guide_test.py DOCS/operations.md BUILD/node/hanse
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

SKIP = 77
NAMESPACES = {"a": "hanse-ops-a", "b": "hanse-ops-b"}
ADDRESSES = {"a": ["10.77.0.1/24"], "b": ["10.77.0.2/24", "10.77.0.3/24"]}


def run(cmd, check=True):
    return subprocess.run(cmd, check=check, capture_output=True, text=True)


def make_hosts():
    suffix = str(os.getpid())
    names = {h: f"{n}-{suffix}" for h, n in NAMESPACES.items()}
    veth = {"a": f"hva{suffix}"[:15], "b": f"hvb{suffix}"[:15]}
    for ns in names.values():
        if run(["ip", "netns", "add", ns], check=False).returncode != 0:
            return None
    run(["ip", "link", "add", veth["a"], "type", "veth", "peer", "name", veth["b"]])
    for host, ns in names.items():
        run(["ip", "link", "set", veth[host], "netns", ns])
        for address in ADDRESSES[host]:
            run(["ip", "-n", ns, "addr", "add", address, "dev", veth[host]])
        run(["ip", "-n", ns, "link", "set", veth[host], "up"])
        run(["ip", "-n", ns, "link", "set", "lo", "up"])
    return names


def remove_hosts(names):
    for ns in names.values():
        run(["ip", "netns", "del", ns], check=False)


def blocks(markdown):
    pattern = re.compile(r"^```sh host=(a|b)([^\n]*)\n(.*?)^```", re.M | re.S)
    for m in pattern.finditer(markdown):
        attrs = m.group(2).split()
        expect = next((a[len("expect="):] for a in attrs if a.startswith("expect=")), None)
        yield m.group(1), "background" in attrs, expect, m.group(3)


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    guide, hanse = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    if os.geteuid() != 0 or shutil.which("ip") is None:
        print("SKIP: needs root and iproute2 for network namespaces")
        return SKIP
    names = make_hosts()
    if names is None:
        print("SKIP: this machine cannot create network namespaces")
        return SKIP
    root = tempfile.mkdtemp(prefix="hanse-ops-")
    shared = os.path.join(root, "shared")
    os.makedirs(shared)
    for host in names:
        os.makedirs(os.path.join(root, host, "var", "lib"))
    env = dict(os.environ, PATH=os.path.dirname(hanse) + os.pathsep + os.environ["PATH"])
    background = []
    failures = 0
    try:
        with open(guide, encoding="utf-8") as f:
            steps = list(blocks(f.read()))
        if len(steps) < 10:
            print(f"FAIL: only {len(steps)} runnable blocks found in {guide}")
            return 1
        for n, (host, is_background, expect, script) in enumerate(steps, 1):
            mapped = script.replace("/var/lib/hanse", os.path.join(root, host, "var/lib/hanse"))
            mapped = mapped.replace("/var/backups", os.path.join(root, host, "var/backups"))
            cmd = ["ip", "netns", "exec", names[host], "bash", "-euo", "pipefail", "-c", mapped]
            label = f"step {n} on host {host}: {script.strip().splitlines()[0]}"
            if is_background:
                log = open(os.path.join(root, f"{host}-node.log"), "w")
                background.append((subprocess.Popen(cmd, cwd=shared, env=env, stdout=log,
                                                    stderr=subprocess.STDOUT), log))
                home = os.path.join(root, host, "var/lib/hanse")
                deadline = time.time() + 30
                while time.time() < deadline:
                    st = subprocess.run([hanse, "status", "--home", home], env=env,
                                        capture_output=True, text=True)
                    if st.returncode == 0:
                        break
                    time.sleep(0.2)
                else:
                    print(f"FAIL {label}: the node did not answer within 30 s")
                    return 1
                print(f"ok   {label} (running)")
                continue
            deadline = time.time() + (30 if expect else 0)
            while True:
                r = subprocess.run(cmd, cwd=shared, env=env, capture_output=True, text=True,
                                   timeout=120)
                output = r.stdout + r.stderr
                good = r.returncode == 0 and (expect is None or expect in output)
                if good or time.time() >= deadline:
                    break
                time.sleep(0.5)
            if not good:
                print(f"FAIL {label}\n  exit {r.returncode}" +
                      (f", expected to see {expect!r}" if expect else "") + f"\n{output}")
                failures += 1
                break
            print(f"ok   {label}")
    finally:
        for proc, log in background:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()
        if failures:
            for host in names:
                path = os.path.join(root, f"{host}-node.log")
                if os.path.exists(path):
                    print(f"--- node log, host {host}\n" + open(path).read()[-4000:])
        remove_hosts(names)
        shutil.rmtree(root, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
