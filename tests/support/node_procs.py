"""What the Python tests that run real node processes share: a free loopback port, waiting for
a condition, and stopping the processes with their logs shown on failure."""
import os
import random
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request


def free_port():
    """A loopback port free now, drawn from 20000-32000: below the kernel's ephemeral range, so
    an outgoing connection of a test running beside this one cannot take it before the node
    binds it (the C++ fixtures draw their ports the same way)."""
    for _ in range(200):
        port = random.randint(20000, 32000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free loopback port in 20000-32000")


def http_get(url, timeout=5):
    """(status, body) of a GET; an HTTP error is its status and body, no answer is (0, why)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except (urllib.error.URLError, ConnectionError, socket.timeout) as e:
        return 0, str(e)


def wait(check, what, within=30, every=0.3):
    """check() until it returns something true (returned), or AssertionError after `within` s."""
    deadline = time.time() + within
    while time.time() < deadline:
        result = check()
        if result:
            return result
        time.sleep(every)
    raise AssertionError(f"timed out: {what}")


def print_logs(root, names):
    """The tail of ROOT/<name>.log for each name that has one (after a failure)."""
    for name in names:
        path = os.path.join(root, f"{name}.log")
        if os.path.exists(path):
            with open(path) as f:
                print(f"--- {name}.log\n" + f.read()[-3000:])


def stop_all(procs, root):
    """Terminates the processes (killed after 15 s) and removes ROOT."""
    for p in procs:
        p.terminate()
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
    shutil.rmtree(root, ignore_errors=True)
