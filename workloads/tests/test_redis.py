#!/usr/bin/env python3
"""redis-bench: a short run against Debian's redis-server prints the figure and the
server's peak RSS; the server is stopped whatever happens (the client fails, we
get SIGTERM, we are killed outright); bad arguments are rejected with a message."""
import os
import re
import signal
import socket
import subprocess
import tempfile
import time

import tap

REDIS_BENCH = tap.program("redis-bench")
SHORT_RUN = ["-r", "1000000", "-n", "20000", "-q", "-P", "16", "lpush", "a", "1", "2", "3",
             "4", "5", "lrange", "a", "1", "5"]
RESULT = re.compile(r"^lpush a 1 2 3 4 5 lrange a 1 5: ([0-9.]+) requests per second", re.M)
PEAK = re.compile(r"^server peak RSS: ([0-9]+) KiB$", re.M)
PORT = re.compile(r"on 127\.0\.0\.1:([0-9]+), LD_PRELOAD=(\S+)")
STOP_WAIT_S = 10


def port_of(err):
    m = PORT.search(err)
    return int(m[1]) if m else None


def servers_on(port):
    """Pids of redis-server processes still serving the port (from /proc)."""
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                words = f.read().split(b"\0")
        except OSError:
            continue
        if words and b"redis-server" in words[0] and str(port).encode() in words:
            try:
                with open(f"/proc/{pid}/stat") as f:
                    zombie = f.read().rsplit(")", 1)[1].split()[0] == "Z"
            except OSError:
                continue
            if not zombie:
                pids.append(int(pid))
    return pids


def listening(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def check_stopped(port, what):
    tap.check(port is not None and not servers_on(port) and not listening(port),
              f"the server is stopped {what}", f"port {port}, pids {servers_on(port) if port else '?'}")


def sleeping_client(directory):
    """A client that never finishes, to interrupt the wrapper during its run."""
    path = os.path.join(directory, "sleeping-client")
    with open(path, "w") as f:
        f.write("#!/bin/sh\nexec sleep 60\n")
    os.chmod(path, 0o755)
    return path


def greedy_client(directory):
    """A client that touches 200 MiB, then prints a result line."""
    path = os.path.join(directory, "greedy-client")
    with open(path, "w") as f:
        f.write("#!/bin/sh\nexec python3 -c 'x = bytearray(200 << 20); print(\"ping: 1.0 requests "
                "per second\")'\n")
    os.chmod(path, 0o755)
    return path


def peak_rss_under_gnu_time(client, directory):
    """(GNU time's peak RSS in KiB, the wrapper's output) of a run with `client`."""
    rusage = os.path.join(directory, "rusage")
    status, out, err = tap.run(["/usr/bin/time", "-o", rusage, "-f", "%M", REDIS_BENCH, "-q", "ping"],
                               {"REDIS_BENCHMARK": client})
    with open(rusage) as f:
        return int(f.read().split()[-1]), status, out, err


def interrupted_run(client, sig):
    """Start a run whose client sleeps, send `sig` to the wrapper once the server is
    up, and return (exit status, stderr)."""
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    env["REDIS_BENCHMARK"] = client
    proc = subprocess.Popen([REDIS_BENCH] + SHORT_RUN, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    first = proc.stderr.readline()  # the wrapper's "server on 127.0.0.1:PORT" line
    port = port_of(first)
    deadline = time.monotonic() + STOP_WAIT_S
    while port and not listening(port) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)  # the client has started by now
    proc.send_signal(sig)
    try:
        rest = proc.communicate(timeout=STOP_WAIT_S)[1]
    except subprocess.TimeoutExpired:
        proc.kill()
        rest = proc.communicate()[1]
    time.sleep(0.3)  # a server killed through PR_SET_PDEATHSIG needs a moment to go
    return proc.returncode, port, first + rest


def main():
    status, out, err = tap.run([REDIS_BENCH] + SHORT_RUN)
    m, peak = RESULT.search(out), PEAK.search(out)
    tap.check(status == 0 and m is not None and float(m[1]) > 0 and peak is not None
              and int(peak[1]) > 1000, "a short lpush/lrange run prints requests per second "
              "and the server's peak RSS", f"status {status}, stdout {out!r}, stderr {err[-500:]!r}")
    port, started = port_of(err), PORT.search(err)
    tap.check(started is not None and started[2].endswith("redis_libc_malloc.so"),
              "with no allocator the server runs on glibc (the shim)", err[:300])
    check_stopped(port, "after a good run")

    status, out, err = tap.run([REDIS_BENCH] + SHORT_RUN, {"REDIS_BENCHMARK": "/bin/false"})
    tap.check(status == 1 and "client" in err and "failed" in err,
              "a failing client makes the run fail with a message", f"status {status}, {err!r}")
    check_stopped(port_of(err), "when the client fails")

    status, out, err = tap.run([REDIS_BENCH] + SHORT_RUN, {"REDIS_SERVER": "/bin/false"})
    tap.check(status == 1 and "server exited early" in err,
              "a server that exits at once makes the run fail with a message",
              f"status {status}, {err!r}")

    with tempfile.TemporaryDirectory() as directory:
        client = sleeping_client(directory)
        status, port, err = interrupted_run(client, signal.SIGTERM)
        tap.check(status == 128 + signal.SIGTERM and "stopped by signal" in err,
                  "SIGTERM stops the run with status 143", f"status {status}, {err!r}")
        check_stopped(port, "when the wrapper gets SIGTERM")
        status, port, err = interrupted_run(client, signal.SIGKILL)
        check_stopped(port, "when the wrapper is killed (SIGKILL)")
        kib, status, out, err = peak_rss_under_gnu_time(greedy_client(directory), directory)
        server = PEAK.search(out)
        tap.check(status == 0 and server is not None and kib < 100 * 1024 and
                  abs(kib - int(server[1])) < 1024,
                  "GNU time's peak RSS is the server's, not the client's (a 200 MiB client)",
                  f"status {status}, GNU time {kib} KiB, stdout {out!r}, stderr {err[-300:]!r}")

    for what, args in {"no arguments": [], "a -p of its own": ["-p", "6379"] + SHORT_RUN,
                       "a -h of its own": ["-h", "example.org", "-q", "ping"]}.items():
        tap.check_rejects([REDIS_BENCH] + args, what, "redis-bench")
    tap.finish()


if __name__ == "__main__":
    main()
