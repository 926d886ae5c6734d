"""One measured run: hyperfine times it, GNU time reports the kernel's accounting.

The command hyperfine times (with no shell of its own, -N) is

    sh -c 'exec >OUT 2>ERR; exec "$@"'  /usr/bin/time -o RUSAGE -f FORMAT
        timeout --foreground -k GRACE LIMIT  env [LD_PRELOAD=lib] [VAR=VALUE...]  program args

sh and env replace themselves (exec), so the only processes besides the workload are
GNU time and timeout, both small C programs: the wall time includes about a
millisecond of their start-up, the same for every allocator. GNU time's numbers
come from wait4()'s rusage of timeout, which covers the workload it waited for
(peak RSS is the largest of the two, and timeout's own is ~2 MiB); user and
system time are hyperfine's (the same accounting, finer resolution). Every file is
rewritten by each run, so after warm-up runs they hold the measured (last) run.
timeout runs in the foreground (it would otherwise put the workload in a process
group of its own), so Ctrl-C reaches the workload and an interrupted suite leaves
nothing running; the workloads are single processes, which is all it can then stop.

Memory over time: while hyperfine runs, a thread of the harness finds the workload
(the first process down the chain that is not one of the wrappers) and reads its
resident set from /proc/PID/statm every RSS_INTERVAL_S: a counter the kernel keeps,
so a read costs microseconds whatever the process's size (smaps_rollup walks the page
tables). The samples of the measured run are kept (run-K.rss.csv); their mean and the
last one go into the CSV beside the peak from rusage.

The caller's allocator variables (SHARDALLOC_*, MIMALLOC_*, MALLOC_CONF, TCMALLOC_*,
GLIBC_TUNABLES, LD_PRELOAD, ...: checks.ALLOCATOR_VARIABLE) never reach a run: a run
has exactly its variant's settings and preload.
"""
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field

import checks
import readers

HYPERFINE = "hyperfine"
# GNU time (not the shell's keyword): Debian's, else one on PATH (a lent machine
# gets a copy through scripts/device-run).
GNU_TIME = "/usr/bin/time" if os.path.exists("/usr/bin/time") else (shutil.which("time") or "/usr/bin/time")
# After the time limit timeout(1) sends SIGTERM; a program still alive this much
# later gets SIGKILL.
KILL_GRACE_S = 5
TIMEOUT_EXIT_STATUS = 124   # timeout(1)'s exit status when the limit was reached
SHELL_EXIT_SIGNAL_BASE = 128  # the shell's convention: exit status 128+N = killed by signal N
# GNU time's format: one `key=value` a line (GNU time expands the \n).
RUSAGE_FIELDS = (
    ("user_s", "U"), ("sys_s", "S"), ("maxrss_kib", "M"), ("minor_faults", "R"),
    ("major_faults", "F"), ("voluntary_switches", "w"), ("involuntary_switches", "c"),
)
RUSAGE_FORMAT = "\\n".join(f"{key}=%{code}" for key, code in RUSAGE_FIELDS)
SIGNALLED_LINE = re.compile(r"Command terminated by signal (\d+)")
EXITED_LINE = re.compile(r"Command exited with non-zero status (\d+)")
STDERR_LINES_KEPT = 2         # of a failed run's stderr, in the CSV's detail column
STDERR_CHARACTERS_KEPT = 300
REDIRECT_AND_EXEC = 'exec >"$1" 2>"$2"; shift 2; exec "$@"'
# RSS sampling: every 10 ms is 100 points a second, enough to see a purge delay of
# 10 ms act, and costs well under 1% of a core (a few small /proc reads per sample).
RSS_INTERVAL_S = 0.01
# The processes between hyperfine and the workload; the sampler looks past them.
WRAPPERS = ("hyperfine", "sh", "time", "timeout", "env", "taskset")
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024
TASKSET = "taskset"

OK = "ok"
FAILED_EXIT = "failed-exit"        # non-zero exit status: the program's own check, a usage error
FAILED_SIGNAL = "failed-signal"    # killed by a signal: a crash, an abort
FAILED_TIMEOUT = "failed-timeout"  # still running at the time limit
FAILED_CHECK = "failed-check"      # exited 0, but its output lacks the figure or fails our check
STATUSES = (OK, FAILED_EXIT, FAILED_SIGNAL, FAILED_TIMEOUT, FAILED_CHECK)


@dataclass
class RunFiles:
    """The raw files of one run, all sharing one path prefix."""
    prefix: str

    @property
    def stdout(self): return self.prefix + ".stdout.txt"
    @property
    def stderr(self): return self.prefix + ".stderr.txt"
    @property
    def rusage(self): return self.prefix + ".rusage.txt"
    @property
    def hyperfine_json(self): return self.prefix + ".hyperfine.json"
    @property
    def hyperfine_log(self): return self.prefix + ".hyperfine.log"
    @property
    def rss_samples(self): return self.prefix + ".rss.csv"


@dataclass
class Measurement:
    status: str
    exit_status: object = ""   # int, or "" when unknown
    detail: str = ""
    wall_s: object = ""
    reading: object = None     # readers.Reading when status is OK
    rusage: dict = field(default_factory=dict)


def workload_command(argv, preload, settings, cpus=None):
    """The workload under its allocator, as an argument list for env (after taskset
    when pinned to `cpus`, a list like "0-3")."""
    pin = [TASKSET, "-c", cpus] if cpus else []
    return [*pin, "env", *run_environment(preload, settings), *argv]


def run_environment(preload, settings):
    """The allocator variables a run has: VAR=VALUE words."""
    return ([f"LD_PRELOAD={preload}"] if preload else []) + [f"{k}={v}" for k, v in settings]


def clean_environment():
    """The harness's environment without any allocator variable of the caller's."""
    return {k: v for k, v in os.environ.items() if not checks.ALLOCATOR_VARIABLE.match(k)}


def removed_variables():
    """The caller's allocator variables that runs do not get (for the record)."""
    return sorted(k for k in os.environ if checks.ALLOCATOR_VARIABLE.match(k))


class RssSampler(threading.Thread):
    """Samples the resident set of the workload hyperfine runs (see the module
    comment). A warm-up run is a different process: each new workload process
    starts the samples afresh, so the measured (last) run's remain."""

    def __init__(self, root_pid, interval_s=RSS_INTERVAL_S):
        super().__init__(daemon=True)
        self.root_pid, self.interval_s = root_pid, interval_s
        self.stopped = threading.Event()
        self.pid, self.start_time, self.samples = None, None, []

    def run(self):
        while not self.stopped.wait(self.interval_s):
            pid = workload_pid(self.root_pid)
            if pid is None:
                continue
            rss = resident_kib(pid)
            if not rss:  # gone, or a zombie (statm reads 0 once the memory is released)
                continue
            now = time.monotonic()
            if pid != self.pid:
                self.pid, self.start_time, self.samples = pid, now, []
            self.samples.append((now - self.start_time, rss))

    def stop(self):
        self.stopped.set()
        self.join()
        return self.samples


def children(pid):
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return found


def command_name(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return None


def workload_pid(root_pid):
    """The first process below root_pid that is not a wrapper, or None."""
    pid = root_pid
    for _ in range(len(WRAPPERS) + 2):
        kids = children(pid)
        if not kids:
            return None
        pid = kids[-1]
        name = command_name(pid)
        if name is None:
            return None
        if name not in WRAPPERS:
            return pid
    return None


def resident_kib(pid):
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE_KIB
    except (OSError, ValueError, IndexError):
        return None


def summarise_samples(samples):
    """{rss_mean_kib, rss_final_kib, rss_samples} of a run's samples ({} when none)."""
    if not samples:
        return {"rss_samples": 0}
    values = [kib for _, kib in samples]  # (zero samples are dropped when taken)
    return {"rss_mean_kib": round(sum(values) / len(values)), "rss_final_kib": values[-1],
            "rss_samples": len(values)}


def write_samples(path, samples):
    with open(path, "w") as f:
        f.write("t_s,rss_kib\n")
        for t, kib in samples:
            f.write(f"{t:.4f},{kib}\n")


def measure(name, argv, preload, settings, files, warmup, timeout_s, reader, cpus=None,
            rss_interval_s=RSS_INTERVAL_S):
    """Run hyperfine once (warm-up runs, then one measured run) and classify it.
    rss_interval_s 0: no RSS sampling."""
    os.makedirs(os.path.dirname(files.prefix), exist_ok=True)
    timed = ["sh", "-c", REDIRECT_AND_EXEC, "sh", files.stdout, files.stderr,
             GNU_TIME, "-o", files.rusage, "-f", RUSAGE_FORMAT,
             "timeout", "--foreground", "-k", str(KILL_GRACE_S), str(timeout_s),
             *workload_command(argv, preload, settings, cpus)]
    hyperfine = [HYPERFINE, "-N", "--ignore-failure", "--runs", "1", "--warmup", str(warmup),
                 "--style", "basic", "--export-json", files.hyperfine_json,
                 "--command-name", name, shlex.join(timed)]
    # The workload must see only the allocator we give it.
    env = clean_environment()
    samples = []
    with open(files.hyperfine_log, "w") as log:
        log.write(shlex.join(hyperfine) + "\n")
        log.flush()
        proc = subprocess.Popen(hyperfine, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env)
        sampler = RssSampler(proc.pid, rss_interval_s) if rss_interval_s > 0 else None
        if sampler:
            sampler.start()
        try:
            proc.wait()
        except KeyboardInterrupt:
            proc.wait()
            raise
        finally:
            if sampler:
                samples = sampler.stop()
    if sampler:
        write_samples(files.rss_samples, samples)
    done = proc
    if done.returncode != 0:
        return Measurement(FAILED_EXIT, detail=f"hyperfine failed (status {done.returncode}); "
                                               f"see {os.path.basename(files.hyperfine_log)}")
    wall_s, exit_code, cpu_times = read_hyperfine(files.hyperfine_json)
    rusage_text = read_text(files.rusage)
    result = classify(exit_code, rusage_text, wall_s, timeout_s)
    result.wall_s = wall_s
    result.rusage = {**parse_rusage(rusage_text), **cpu_times,
                     **(summarise_samples(samples) if sampler else {})}
    if result.status == OK:
        try:
            result.reading = reader.read(read_text(files.stdout), argv, wall_s)
        except readers.BadOutput as e:
            result.status, result.detail = FAILED_CHECK, str(e)
    if result.status != OK:
        last_error = last_lines(read_text(files.stderr))
        if last_error:
            result.detail += f"; stderr: {last_error}"
    return result


def read_hyperfine(path):
    """(wall seconds, exit code, {user_s, sys_s}) of the measured run in hyperfine's
    JSON export. Its user and system times come from the same rusage as GNU time's
    but in microseconds, where GNU time prints hundredths."""
    with open(path) as f:
        run = json.load(f)["results"][0]
    exit_codes = run.get("exit_codes") or [None]  # hyperfine < 1.13 does not export them
    cpu_times = {key: run[field] for key, field in (("user_s", "user"), ("sys_s", "system"))
                 if isinstance(run.get(field), (int, float))}
    return run["times"][-1], exit_codes[-1], cpu_times


def parse_rusage(text):
    """GNU time's `key=value` lines -> {key: number}; missing keys are left out."""
    values = {}
    for line in text.splitlines():
        key, eq, value = line.strip().partition("=")
        if eq and key in dict(RUSAGE_FIELDS):
            try:
                values[key] = int(value) if value.isdigit() else float(value)
            except ValueError:
                pass
    return values


def classify(exit_code, rusage_text, wall_s, timeout_s):
    """The status of a finished run from its exit code (as hyperfine saw it: GNU time
    passes the workload's status on) and GNU time's notes."""
    signalled = SIGNALLED_LINE.search(rusage_text)
    exited = EXITED_LINE.search(rusage_text)
    if signalled:
        signal_number = int(signalled.group(1))
        exit_status = SHELL_EXIT_SIGNAL_BASE + signal_number
    else:
        exit_status = int(exited.group(1)) if exited else (exit_code or 0)
        # timeout(1) passes a workload killed by signal N on as exit status 128+N
        is_signal = SHELL_EXIT_SIGNAL_BASE < exit_status < SHELL_EXIT_SIGNAL_BASE + signal.NSIG
        signal_number = exit_status - SHELL_EXIT_SIGNAL_BASE if is_signal else None
    # At the limit timeout(1) sends SIGTERM and exits 124; a workload that ignores it
    # gets SIGKILL after the grace period. Before the limit, both are the workload's own.
    if wall_s >= timeout_s and (exit_status == TIMEOUT_EXIT_STATUS or signal_number == signal.SIGKILL):
        return Measurement(FAILED_TIMEOUT, exit_status, f"timed out after {timeout_s} s")
    if signal_number is not None:
        return Measurement(FAILED_SIGNAL, exit_status,
                           f"killed by signal {signal_number} ({signal_name(signal_number)})")
    if exit_status != 0:
        return Measurement(FAILED_EXIT, exit_status, f"exit status {exit_status}")
    return Measurement(OK, 0)


def signal_name(number):
    try:
        return signal.Signals(number).name
    except ValueError:
        return "unknown"


def read_text(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def last_lines(text):
    """The end of a failed run's stderr: two lines, since a usage message follows
    the error that explains it."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " | ".join(lines[-STDERR_LINES_KEPT:])[:STDERR_CHARACTERS_KEPT]
