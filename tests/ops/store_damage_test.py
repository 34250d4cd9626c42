#!/usr/bin/env python3
"""A node never serves a partial catalogue from a damaged store. Each kind of damage to a stopped
node's store (a byte flipped in a table file or its footer, a truncated or deleted table file, a
cut or flipped write-ahead log, a missing or flipped MANIFEST, a missing or garbled CURRENT)
either makes `hanse node run` refuse to start with an error that names what is damaged and says
to restore, or (damage only a full read finds) is found by the store scrub within seconds of the
start: status names the file, writes are refused and /readyz answers 503. A store that starts and
passes the scrub still holds every dataset.

Usage: store_damage_test.py BUILD/node/hanse
"""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from node_procs import free_port, http_get as get, wait  # noqa: E402

DATASETS = 60




def flip(path, offset):
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0xFF]))


def largest_table(store):
    return max(glob.glob(store + "/*.sst"), key=os.path.getsize)


def each(pattern, do):
    paths = glob.glob(pattern)
    assert paths, f"nothing matches {pattern}"
    for p in paths:
        do(p)


# name: (damage, what the refusal must name; None: the damage may only be found by the scrub)
DAMAGE = {
    "table_byte_flipped": (lambda s: flip(largest_table(s), os.path.getsize(largest_table(s)) // 3),
                           None),
    "table_footer_flipped": (lambda s: flip(largest_table(s),
                                            os.path.getsize(largest_table(s)) - 20), None),
    "table_truncated": (lambda s: os.truncate(largest_table(s),
                                              os.path.getsize(largest_table(s)) // 2),
                        "table file"),
    "table_deleted": (lambda s: os.unlink(largest_table(s)), "is missing"),
    "wal_cut_in_half": (lambda s: each(s + "/*.log",
                                       lambda p: os.truncate(p, os.path.getsize(p) // 2)),
                        "lost"),
    "wal_byte_flipped": (lambda s: each(s + "/*.log", lambda p: flip(p, os.path.getsize(p) // 2)),
                         "corrupt"),
    "manifest_deleted": (lambda s: each(s + "/MANIFEST-*", os.unlink), "manifest"),
    "manifest_byte_flipped": (lambda s: each(s + "/MANIFEST-*",
                                             lambda p: flip(p, os.path.getsize(p) // 2)),
                              "MANIFEST"),
    "current_deleted": (lambda s: os.unlink(s + "/CURRENT"), "CURRENT"),
    "current_garbled": (lambda s: open(s + "/CURRENT", "w").write("garbage\n"), "CURRENT"),
}


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    hanse = os.path.abspath(sys.argv[1])
    root = tempfile.mkdtemp(prefix="hanse-damage-")
    procs = []

    def hanse_cmd(*args, check=True):
        r = subprocess.run([hanse, *args], capture_output=True, text=True, timeout=60)
        if check and r.returncode != 0:
            raise AssertionError(f"hanse {' '.join(args)}: exit {r.returncode}\n{r.stderr}")
        return r

    def start(home, ops=None):
        log = open(home + ".log", "a")
        p = subprocess.Popen([hanse, "node", "run", "--home", home], stdout=log,
                             stderr=subprocess.STDOUT)
        procs.append(p)
        deadline = time.time() + 20
        while time.time() < deadline:
            if p.poll() is not None:
                return p
            if hanse_cmd("status", "--home", home, check=False).returncode == 0:
                return p
            time.sleep(0.1)
        raise AssertionError(f"{home}: neither started nor refused")

    def stop(p):
        p.terminate()
        p.wait(timeout=30)

    def count(home):
        r = hanse_cmd("dataset", "list", "--home", home, "--json", check=False)
        return len(json.loads(r.stdout)) if r.returncode == 0 else -1

    try:
        base = os.path.join(root, "base")
        hanse_cmd("init", "--home", base, "--name", "Klinikum Nord", "--country", "DE",
                  "--listen", "127.0.0.1:0")
        node = start(base)
        for i in range(DATASETS):
            with open(f"{base}/data/f{i}.csv", "w") as f:
                f.write(f"ward,beds\n{i},2\n" * 50)
            spec = os.path.join(root, f"s{i}.json")
            with open(spec, "w") as f:
                json.dump({"name": f"d{i}", "title": f"Beds {i} " + "ward " * 20,
                           "license": "CC-BY-4.0", "media_type": "text/csv", "language": "en",
                           "content": f"f{i}.csv",
                           "policy": {"@type": "Offer", "permission": [{"action": "use"}]}}, f)
            hanse_cmd("dataset", "publish", "--home", base, spec)
            if i == DATASETS // 2:  # a restart flushes: table files and a fresh log
                stop(node)
                node = start(base)
        stop(node)
        assert glob.glob(base + "/store/*.sst") and glob.glob(base + "/store/*.log")

        failures = []
        for name, (damage, named) in DAMAGE.items():
            home = os.path.join(root, name)
            shutil.copytree(base, home, ignore=shutil.ignore_patterns("*.sock"))
            damage(home + "/store")
            ops = f"127.0.0.1:{free_port()}"
            with open(home + "/config.json") as f:
                config = json.load(f)
            config["ops_listen"] = ops
            with open(home + "/config.json", "w") as f:
                json.dump(config, f)
            p = start(home)
            if p.poll() is not None:  # refused to start
                log = open(home + ".log").read()
                error = log.strip().splitlines()[-1] if log.strip() else ""
                ok = p.returncode != 0 and "restore" in error and (named is None or named in error)
                print(f"{name}: refused: {error[:200]}")
                if not ok:
                    failures.append(f"{name}: the refusal does not name {named!r} and the "
                                    f"recovery: {error}")
                continue
            # Started: the scrub must find the damage, or the store must be whole.
            try:
                wait(lambda: json.loads(hanse_cmd("status", "--home", home, "--json").stdout)
                     .get("store_scrub"), "the first scrub", within=30)
            except AssertionError:
                failures.append(f"{name}: started and no scrub reported within 30 s")
                stop(p)
                continue
            s = json.loads(hanse_cmd("status", "--home", home, "--json").stdout)
            scrub = s["store_scrub"]
            if scrub.startswith("ok"):
                n = count(home)
                print(f"{name}: started, scrub ok, {n} datasets")
                if n != DATASETS:
                    failures.append(f"{name}: served {n} of {DATASETS} datasets after a clean "
                                    "scrub")
            else:
                code, body = get(f"http://{ops}/readyz")
                print(f"{name}: started, scrub: {scrub[:160]}")
                if ".sst" not in scrub or "restore" not in scrub:
                    failures.append(f"{name}: the scrub does not name the file and recovery: "
                                    f"{scrub}")
                if not s.get("store_writes_refused"):
                    failures.append(f"{name}: a damaged store still takes writes")
                if code != 503 or "store writes refused" not in body:
                    failures.append(f"{name}: /readyz {code} {body!r} for a damaged store")
            stop(p)
        if failures:
            print("FAIL:\n  " + "\n  ".join(failures))
            return 1
        print(f"OK: {len(DAMAGE)} kinds of damage, none served as a partial catalogue")
        return 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
