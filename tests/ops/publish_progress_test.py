#!/usr/bin/env python3
"""`hanse dataset publish` shows the node hashing the content: on a terminal a progress bar
on stderr (the first and the last step at least, ending at 100%), and nothing of it when stderr
is not a terminal (scripts, --json). The dataset is published either way.

Usage: publish_progress_test.py BUILD/node/hanse
"""
import json
import os
import pty
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from node_procs import free_port, print_logs, wait  # noqa: E402

SIZE = 512 << 20  # sparse: hashing it costs no disk


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    hanse = os.path.abspath(sys.argv[1])
    root = tempfile.mkdtemp(prefix="hanse-progress-")
    home = os.path.join(root, "home")
    node = None

    def hanse_cmd(*args, check=True):
        r = subprocess.run([hanse, *args], capture_output=True, text=True, timeout=120)
        if check and r.returncode != 0:
            raise AssertionError(f"hanse {' '.join(args)}: exit {r.returncode}\n{r.stderr}")
        return r

    def spec(name):
        path = os.path.join(root, f"{name}.json")
        with open(path, "w") as f:
            json.dump({"name": name, "title": f"Scans {name}", "license": "CC-BY-4.0",
                       "media_type": "application/octet-stream", "language": "en",
                       "content": "scans.bin",
                       "policy": {"@type": "Offer", "permission": [{"action": "use"}]}}, f)
        return path

    try:
        hanse_cmd("init", "--home", home, "--name", "Klinikum Nord", "--country", "DE",
                  "--listen", f"127.0.0.1:{free_port()}")
        with open(os.path.join(home, "data", "scans.bin"), "wb") as f:
            f.truncate(SIZE)
        log = open(os.path.join(root, "node.log"), "w")
        node = subprocess.Popen([hanse, "node", "run", "--home", home], stdout=log,
                                stderr=subprocess.STDOUT)
        wait(lambda: hanse_cmd("status", "--home", home, check=False).returncode == 0,
             "node answers")

        # On a terminal: stderr is a pty, stdout a pipe (the id stays machine-readable).
        master, slave = pty.openpty()
        p = subprocess.Popen([hanse, "dataset", "publish", "--home", home, spec("tty")],
                             stdout=subprocess.PIPE, stderr=slave)
        os.close(slave)
        seen = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the pty closes when the CLI exits
                break
            if not chunk:
                break
            seen += chunk
        out, _ = p.communicate(timeout=120)
        os.close(master)
        text = seen.decode(errors="replace")
        assert p.returncode == 0, f"exit {p.returncode}: {text}"
        assert out.decode().strip().endswith("/datasets/tty"), out
        steps = text.count("Hashing [")
        assert steps >= 2, f"expected the first and the last step at least: {text!r}"
        assert "512.0 / 512.0 MiB (100%)" in text, text
        print(f"ok   on a terminal: {steps} progress steps, ending at 512.0 / 512.0 MiB (100%)")

        # Not a terminal: no bar, same result.
        r = hanse_cmd("dataset", "publish", "--home", home, spec("pipe"), "--json")
        assert "Hashing" not in r.stderr, r.stderr
        published = json.loads(r.stdout)
        assert published["id"].endswith("/datasets/pipe") and published["outcome"] == "stored", r
        doc = hanse_cmd("dataset", "show", "--home", home, published["id"]).stdout
        assert str(SIZE) in doc, f"the self-description names the size hashed: {doc}"
        print("ok   without a terminal: no bar, the dataset published with its size")
        return 0
    except Exception:
        print_logs(root, ["node.log"])
        raise
    finally:
        if node is not None:
            node.terminate()
            node.wait(timeout=30)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
