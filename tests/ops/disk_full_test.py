#!/usr/bin/env python3
"""A node whose disk fills up: it refuses writes with a clear error, stays up and serves reads,
says so in `hanse status` and /readyz, and takes writes again by itself once space is freed.
Nothing acknowledged is lost: after a restart every dataset published before, during and after
the full disk is there and the audit chain verifies.

The home is on a 64 MiB tmpfs mounted by the test (root), in a mount namespace of its own
(`unshare -m`) where there is one, so the mount goes with the test however it ends. Exit 77
(skipped) when this machine cannot mount one.

Usage: disk_full_test.py BUILD/node/hanse
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from node_procs import free_port, http_get as get, print_logs, wait  # noqa: E402

SKIP = 77
RESERVE_MB = 16




def free_bytes(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def fill(path, leave):
    """Writes a ballast file so that about `leave` bytes stay free; 0: until the disk is full."""
    block = b"\0" * (1 << 20)
    with open(path, "ab", buffering=0) as f:
        while True:
            room = free_bytes(os.path.dirname(path)) - leave
            if room <= 0:
                break
            try:
                f.write(block[: min(len(block), room)] if leave else block)
            except OSError:
                break


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    hanse = os.path.abspath(sys.argv[1])
    unshare = ["unshare", "-m", "--propagation", "private"]
    if (os.environ.get("HANSE_DISK_FULL_NS") != "1" and shutil.which("unshare") and
            subprocess.run(unshare + ["true"], capture_output=True).returncode == 0):
        env = dict(os.environ, HANSE_DISK_FULL_NS="1")
        return subprocess.run(unshare + [sys.executable, os.path.abspath(__file__), hanse],
                              env=env).returncode
    root = tempfile.mkdtemp(prefix="hanse-diskfull-")
    disk = os.path.join(root, "disk")
    os.makedirs(disk)
    if os.geteuid() != 0 or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", disk],
            capture_output=True).returncode != 0:
        shutil.rmtree(root)
        print("SKIP: needs root to mount a small tmpfs")
        return SKIP
    home = os.path.join(disk, "home")
    ops = f"127.0.0.1:{free_port()}"
    log_path = os.path.join(root, "node.log")
    node = None
    procs = []

    def hanse_cmd(*args, check=True):
        r = subprocess.run([hanse, *args], capture_output=True, text=True, timeout=60)
        if check and r.returncode != 0:
            raise AssertionError(f"hanse {' '.join(args)}: exit {r.returncode}\n{r.stderr}")
        return r

    def start():
        log = open(log_path, "a")
        p = subprocess.Popen([hanse, "node", "run", "--home", home], stdout=log,
                             stderr=subprocess.STDOUT)
        procs.append(p)
        wait(lambda: hanse_cmd("status", "--home", home, check=False).returncode == 0,
             "node answers")
        return p

    def publish(name):
        data = os.path.join(home, "data", f"{name}.csv")
        if not os.path.exists(data):
            with open(data, "w") as f:
                f.write(f"ward,beds\n{name},12\n")
        spec = os.path.join(root, f"{name}.json")
        with open(spec, "w") as f:
            json.dump({"name": name, "title": f"Beds {name}", "license": "CC-BY-4.0",
                       "media_type": "text/csv", "language": "en", "content": f"{name}.csv",
                       "policy": {"@type": "Offer", "permission": [{"action": "use"}]}}, f)
        return hanse_cmd("dataset", "publish", "--home", home, spec, check=False)

    def status():
        return json.loads(hanse_cmd("status", "--home", home, "--json").stdout)

    def listed():
        out = hanse_cmd("dataset", "list", "--home", home, "--json").stdout
        return {d["id"].rsplit("/", 1)[1] for d in json.loads(out)}

    try:
        hanse_cmd("init", "--home", home, "--name", "Klinikum Nord", "--country", "DE",
                  "--listen", f"127.0.0.1:{free_port()}", "--ops-listen", ops)
        with open(os.path.join(home, "config.json")) as f:
            config = json.load(f)
        config["store_min_free_mb"] = RESERVE_MB
        with open(os.path.join(home, "config.json"), "w") as f:
            json.dump(config, f)
        node = start()
        acknowledged = set()
        for i in range(5):
            r = publish(f"before{i}")
            assert r.returncode == 0, r.stderr
            acknowledged.add(f"before{i}")
        assert status().get("store_writes_refused", "") == ""
        assert get(f"http://{ops}/readyz")[0] == 200

        # Below the reserve: refused with the reason, nothing written, the node stays up.
        ballast = os.path.join(disk, "ballast")
        fill(ballast, (RESERVE_MB // 2) << 20)
        r = publish("refused")
        assert r.returncode != 0, "a publish below the reserve must be refused"
        assert "nearly full" in r.stderr and "MiB free" in r.stderr, r.stderr
        s = status()
        assert "nearly full" in s.get("store_writes_refused", ""), s
        code, body = get(f"http://{ops}/readyz")
        assert code == 503 and "store writes refused" in body, (code, body)
        assert listed() == acknowledged, "reads go on while writes are refused"
        # A disk filled to the last byte (by something else) changes nothing for the node.
        with open(os.path.join(home, "data", "refused2.csv"), "w") as f:
            f.write("ward,beds\nrefused2,12\n")
        fill(ballast + "2", 0)
        r = publish("refused2")
        assert r.returncode != 0 and "nearly full" in r.stderr, r.stderr
        assert node.poll() is None, "the node must stay up on a full disk"
        assert listed() == acknowledged

        # Space back: writes resume by themselves, no restart.
        os.unlink(ballast)
        os.unlink(ballast + "2")
        wait(lambda: status().get("store_writes_refused", "") == "", "writes taken again")
        assert get(f"http://{ops}/readyz")[0] == 200
        for i in range(3):
            r = publish(f"after{i}")
            assert r.returncode == 0, r.stderr
            acknowledged.add(f"after{i}")

        # Nothing acknowledged is lost, and nothing refused appeared.
        node.terminate()
        node.wait(timeout=30)
        node = start()
        assert listed() == acknowledged, (listed(), acknowledged)
        verified = hanse_cmd("audit", "verify", "--home", home, check=False)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        print(f"OK: {len(acknowledged)} datasets kept; refused below the reserve and on a full "
              "disk, resumed without a restart")
        return 0
    except Exception:
        print_logs(root, ["node"])
        raise
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
        subprocess.run(["umount", "-l", disk], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
