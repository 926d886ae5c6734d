"""The environment record of a results set (environment.json): what a reader needs
to know to trust, repeat or compare the numbers."""
import datetime
import json
import os
import platform
import socket
import subprocess

import allocators as allocator_list
import results

# Keys every record has (the end-to-end test checks them).
REQUIRED_KEYS = (
    "date", "host", "cpu_model", "cores", "memory_kib", "kernel", "glibc", "compiler",
    "commit", "tree_dirty", "command_line", "mode", "runs", "warmup", "threads", "timeout_s",
    "baseline", "tools", "allocators", "benchmarks",
    "cpu_governor", "thp_enabled", "thp_defrag", "pinned", "machine", "caller_variables_removed",
)


def run_text(argv, cwd=None):
    """First line of a command's output, or "" when it cannot run."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, cwd=cwd, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    out = (done.stdout or done.stderr).strip()
    return out.splitlines()[0] if out and done.returncode == 0 else ""


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def memory_kib():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def commit(root):
    """(short commit or "uncommitted", whether the tree differs from it)."""
    head = run_text(["git", "rev-parse", "--short=10", "HEAD"], cwd=root)
    try:
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, cwd=root).stdout
    except OSError:
        status = ""
    return head or "uncommitted", bool(status.strip()) or not head


def package_version(package):
    if package == allocator_list.NO_PACKAGE:
        return ""
    return run_text(["dpkg-query", "-W", "-f=${Version}", package])


def load_average():
    try:
        return list(os.getloadavg())
    except OSError:
        return None


GOVERNOR_PATH = "/sys/devices/system/cpu/cpu{}/cpufreq/scaling_governor"
THP_PATHS = {"thp_enabled": "/sys/kernel/mm/transparent_hugepage/enabled",
             "thp_defrag": "/sys/kernel/mm/transparent_hugepage/defrag"}


def read_first_line(path):
    try:
        with open(path) as f:
            return f.readline().strip()
    except OSError:
        return None


def cpu_governors():
    """The scaling governor of each CPU we may use, as "name" when all agree or
    "cpuN: name, ..." otherwise; "none (no cpufreq)" in most VMs."""
    found = {c: read_first_line(GOVERNOR_PATH.format(c)) for c in sorted(os.sched_getaffinity(0))}
    values = set(found.values())
    if values == {None}:
        return "none (no cpufreq: a VM, or the kernel has no frequency scaling)"
    if len(values) == 1:
        return values.pop()
    return ", ".join(f"cpu{c}: {g}" for c, g in found.items())


def thp_mode(path):
    """The bracketed choice of a THP setting ("always [madvise] never" -> madvise)."""
    text = read_first_line(path)
    if text is None:
        return "unknown"
    for word in text.split():
        if word.startswith("[") and word.endswith("]"):
            return word[1:-1]
    return text


def collect(root, settings, allocators, benchmarks):
    """The record at the start of a suite. `allocators` and `benchmarks` are lists of
    dicts describing what runs; `settings` the run settings and command line."""
    head, dirty = commit(root)
    record = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "host": socket.gethostname(),
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)),
        "memory_kib": memory_kib(),
        "kernel": " ".join((platform.system(), platform.release(), platform.version())),
        "glibc": platform.libc_ver()[1] or run_text(["ldd", "--version"]),
        "compiler": run_text(["gcc", "--version"]),
        "commit": head,
        "tree_dirty": dirty,
        "load_average_at_start": load_average(),
        "cpu_governor": cpu_governors(),
        **{key: thp_mode(path) for key, path in THP_PATHS.items()},
        "tools": {
            "hyperfine": run_text(["hyperfine", "--version"]),
            # Debian's GNU time says "UNKNOWN" to --version; its package knows
            "gnu_time": package_version("time") or run_text(["/usr/bin/time", "--version"]),
            "gnuplot": run_text(["gnuplot", "--version"]),
            "python": platform.python_version(),
        },
        "allocators": allocators,
        "benchmarks": benchmarks,
    }
    record.update(settings)
    return record


def write(path, record):
    with open(path, "w") as f:
        json.dump(record, f, indent=2)
        f.write("\n")


def read(results_dir):
    path = os.path.join(results_dir, results.ENVIRONMENT_NAME)
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}
