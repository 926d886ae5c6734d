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
"""
import json
import os
import re
import shlex
import signal
import subprocess
from dataclasses import dataclass, field

import readers

HYPERFINE = "hyperfine"
GNU_TIME = "/usr/bin/time"
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


@dataclass
class Measurement:
    status: str
    exit_status: object = ""   # int, or "" when unknown
    detail: str = ""
    wall_s: object = ""
    reading: object = None     # readers.Reading when status is OK
    rusage: dict = field(default_factory=dict)


def workload_command(argv, preload, settings):
    """The workload under its allocator, as an argument list for env."""
    env_words = ([f"LD_PRELOAD={preload}"] if preload else []) + [f"{k}={v}" for k, v in settings]
    return ["env", *env_words, *argv]


def measure(name, argv, preload, settings, files, warmup, timeout_s, reader):
    """Run hyperfine once (warm-up runs, then one measured run) and classify it."""
    os.makedirs(os.path.dirname(files.prefix), exist_ok=True)
    timed = ["sh", "-c", REDIRECT_AND_EXEC, "sh", files.stdout, files.stderr,
             GNU_TIME, "-o", files.rusage, "-f", RUSAGE_FORMAT,
             "timeout", "--foreground", "-k", str(KILL_GRACE_S), str(timeout_s),
             *workload_command(argv, preload, settings)]
    hyperfine = [HYPERFINE, "-N", "--ignore-failure", "--runs", "1", "--warmup", str(warmup),
                 "--style", "basic", "--export-json", files.hyperfine_json,
                 "--command-name", name, shlex.join(timed)]
    # The workload must see only the allocator we give it.
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    with open(files.hyperfine_log, "w") as log:
        log.write(shlex.join(hyperfine) + "\n")
        log.flush()
        done = subprocess.run(hyperfine, stdout=log, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL, env=env)
    if done.returncode != 0:
        return Measurement(FAILED_EXIT, detail=f"hyperfine failed (status {done.returncode}); "
                                               f"see {os.path.basename(files.hyperfine_log)}")
    wall_s, exit_code, cpu_times = read_hyperfine(files.hyperfine_json)
    rusage_text = read_text(files.rusage)
    result = classify(exit_code, rusage_text, wall_s, timeout_s)
    result.wall_s = wall_s
    result.rusage = {**parse_rusage(rusage_text), **cpu_times}
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
