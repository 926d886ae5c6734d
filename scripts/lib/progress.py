"""Progress lines while a suite runs: what runs, k of n, elapsed, time left.

The estimate of a job is the mean duration of the finished jobs of the same
benchmark (allocators differ, but far less than benchmarks do), else of all finished
jobs, else FIRST_GUESS_S; jobs that include warm-up runs count that many times more.
"""
import sys
import time

FIRST_GUESS_S = 2.0


def clock(seconds):
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    def __init__(self, jobs, log_file=None, stream=sys.stdout):
        """`jobs`: (benchmark, invocations) for every planned hyperfine call, in order;
        invocations = 1 + warm-up runs in it."""
        self.jobs = jobs
        self.done = 0
        self.durations = {}   # benchmark -> [seconds per run]
        self.start = time.monotonic()
        self.log_file = log_file
        self.stream = stream
        self.job_start = None

    def estimate(self, benchmark):
        own = self.durations.get(benchmark)
        if own:
            return sum(own) / len(own)
        every = [d for ds in self.durations.values() for d in ds]
        return sum(every) / len(every) if every else FIRST_GUESS_S

    def seconds_left(self):
        return sum(self.estimate(b) * n for b, n in self.jobs[self.done:])

    def begin(self, benchmark, variant, run, runs):
        """Print the start of the job's line; finish() completes it."""
        elapsed = time.monotonic() - self.start
        width = len(str(len(self.jobs)))
        text = (f"[{self.done + 1:{width}}/{len(self.jobs)}  {clock(elapsed)} elapsed, "
                f"~{clock(self.seconds_left())} left]  {benchmark} / {variant}, run {run} of {runs} ... ")
        self.emit(text, end="")
        self.job_start = time.monotonic()

    def finish(self, benchmark, outcome):
        duration = time.monotonic() - self.job_start
        _, invocations = self.jobs[self.done]
        self.durations.setdefault(benchmark, []).append(duration / invocations)
        self.done += 1
        self.emit(outcome)

    def note(self, text):
        self.emit(text)

    def emit(self, text, end="\n"):
        print(text, end=end, file=self.stream, flush=True)
        if self.log_file:
            self.log_file.write(text + end)
            self.log_file.flush()
