"""What the Python tests that run real node processes share: a free loopback port, waiting for
a condition, and stopping the processes with their logs shown on failure."""
import os
import shutil
import socket
import subprocess
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
