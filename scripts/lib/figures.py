"""Draw a results set's figures with gnuplot, in the report's style.

Relative figures (one per measure and benchmark group, like the report's four):
grouped bars, one per allocator in the suite's fixed order and colours, y = the
median relative to the baseline's median (lower is better), a dashed line at 1.0
(behind the bars and labels),
error bars from the runs' min-max, every bar labelled with its value; a bar above
the clip is cut at the clip and its label says the real value (in red).
Absolute figures (one per benchmark): the program's own figure and the peak RSS of
each allocator, median with min-max error bars.

Memory over time (rss-time-<case>, for the workloads where memory moves during the
run: RSS_OVER_TIME): the RSS samples of each allocator's median-time run, one line
each. Thread scaling (scaling-<benchmark>, for a benchmark run at several thread
counts): the program's figure against threads, one line per allocator.

Every name longer than LEGEND_NAME_MAX is shown abbreviated (`sa#1`) with a key
under the plot. A merged set's caption names each machine.

Every figure is written as SVG and PNG into <results>/figures/; the gnuplot script
and data of each sit in figures/src/ (run `gnuplot -e "set terminal svg;
set output 'x.svg'" NAME.gp` there to redraw one by hand). The same set always gives
the same files, so redrawing a committed set changes nothing.
"""
import csv
import os
import shutil
import subprocess

import environment
import results
import stats

GNUPLOT = "gnuplot"
# The report clips set 1 (real world) at 2.0x and set 2 (stress) at 2.5x; the rest
# of mimalloc-bench (other) is clipped as the stress set.
CLIP = {"real-world": 2.0, "stress": 2.5, "other": 2.5}
DEFAULT_CLIP = 2.5
MEASURES = {  # name -> (CSV column, y label of the relative figure)
    "time": ("time_s", "Relative time (lower is better)"),
    "rss": ("maxrss_kib", "Relative peak RSS (lower is better)"),
}
TERMINALS = {
    "svg": 'set terminal svg size {w},{h} dynamic noenhanced font "sans,11" background rgb "white"',
    "png": 'set terminal pngcairo size {w},{h} noenhanced font "sans,10" background rgb "white"',
}
RELATIVE_SIZE = (960, 520)
ABSOLUTE_SIZE = (960, 420)
CLUSTER_WIDTH = 0.8        # of the 1.0 between two benchmarks, the rest is the gap
LABEL_PAD_FRACTION = 0.015  # of the y range, between a bar's top and its label
ABSOLUTE_TICK_CHARACTERS = 48  # about what fits under one absolute panel unslanted
HEADROOM = 1.18            # y range above the clip, room for the rotated labels
CLIPPED_LABEL_COLOUR = "#b00000"
# Error bars drawn as capped vectors from min to max: gnuplot's yerrorbars style
# paints a blank disc at the median that hides the bar's top.
ERROR_BAR = 'vectors heads size screen 0.004,90 lc rgb "#222222"'
# A clipped error bar ends in an arrow head at the clip: the spread goes further.
CLIPPED_ERROR_BAR = 'vectors head filled size screen 0.008,25 lc rgb "#b00000"'
FAILED_LABEL = "failed"
LEGEND_NAME_MAX = 14   # longer names are abbreviated BASE#k, with a key under the plot
KEY_LINE_HEIGHT_PX = 15
# Workloads whose memory changes during the run (purging, caches, leaks): they get an
# RSS-over-time figure. A name matches when it starts with one of these.
RSS_OVER_TIME = ("mstress", "malloc-large", "mleak", "redis", "larson")
LINE_SIZE = (960, 480)
BAR_PX, CLUSTER_GAP_PX, MAX_WIDTH_PX = 14, 30, 3200  # so many clusters stay readable
CROWDED_CLUSTERS = 8  # beyond this the benchmark names are slanted
KIB_PER_MIB = stats.KIB_PER_MIB
MILLION = 1e6


class PlotError(Exception):
    pass


def draw_all(results_dir, baseline=None, clip=None, rss_over_time=RSS_OVER_TIME):
    """Draw every figure of a results set; returns the files written."""
    if not shutil.which(GNUPLOT):
        raise PlotError("gnuplot is not installed (Debian package gnuplot-nox)")
    # gnuplot runs in figures/src: every path it is given must not depend on our cwd
    results_dir = os.path.abspath(results_dir)
    rows = results.read_rows(results_dir)
    if not rows:
        raise PlotError(f"{results_dir} has no runs")
    env = environment.read(results_dir)
    context = Context(rows, env, baseline or env.get("baseline") or first_variant(rows, env))
    out_dir = os.path.join(results_dir, results.FIGURES_DIR)
    src_dir = os.path.join(out_dir, "src")
    os.makedirs(src_dir, exist_ok=True)
    written = []
    for group in context.groups():
        for measure in MEASURES:
            name = f"{measure}-{group}"
            script = relative_figure(context, group, measure, clip or CLIP.get(group, DEFAULT_CLIP),
                                     os.path.join(src_dir, name + ".dat"))
            written += render(src_dir, out_dir, name, script,
                              context.size(relative_size(context, group)))
    for case in context.cases:
        name = f"absolute-{results.slug(case)}"
        script = absolute_figure(context, case, os.path.join(src_dir, name + ".dat"))
        written += render(src_dir, out_dir, name, script, context.size(ABSOLUTE_SIZE))
    for case in context.cases:
        if context.bench_of[case].startswith(tuple(rss_over_time)):
            name = f"rss-time-{results.slug(case)}"
            script = rss_time_figure(context, case, results_dir, os.path.join(src_dir, name + ".dat"))
            if script:
                written += render(src_dir, out_dir, name, script, context.size(LINE_SIZE))
    for benchmark, machine in context.swept():
        name = f"scaling-{results.slug(benchmark)}" + (f"-{results.slug(machine)}" if machine else "")
        script = scaling_figure(context, benchmark, machine, os.path.join(src_dir, name + ".dat"))
        written += render(src_dir, out_dir, name, script, context.size(LINE_SIZE))
    return written


def first_variant(rows, env):
    return stats.ordered_names(rows, env, "allocators")[0]


class Context:
    """What every figure of one results set shares."""

    def __init__(self, rows, env, baseline):
        self.rows, self.env, self.baseline = rows, env, baseline
        self.cases = stats.ordered_names(rows, env, "cases")
        self.cells = stats.cells_of(rows)
        self.benchmarks = self.cases  # the clusters of the relative figures
        self.variants = stats.ordered_names(rows, env, "allocators")
        first = {}
        for r in rows:
            first.setdefault(r["case"], r)
        self.first_row = first
        self.bench_of = {c: first[c]["benchmark"] for c in self.cases}
        self.group_of = {c: first[c]["group"] for c in self.cases}
        self.unit_of = {c: first[c]["figure_unit"] for c in self.cases}
        declared = {}
        for a in env.get("allocators", []):
            declared.setdefault(a["name"], a["colour"])
        for m in env.get("machines", []):
            for a in m.get("allocators", []):
                declared.setdefault(a["name"], a["colour"])
        self.colour = {v: declared.get(v, fallback_colour(i)) for i, v in enumerate(self.variants)}
        hib = {}
        for b in env.get("benchmarks", []) + [b for m in env.get("machines", [])
                                              for b in m.get("benchmarks", [])]:
            hib.setdefault(b["name"], b.get("higher_is_better", False))
        self.higher_is_better = {c: hib.get(self.bench_of[c], False) for c in self.cases}
        self.shown = abbreviations(self.variants)

    def groups(self):
        return list(dict.fromkeys(self.group_of[c] for c in self.cases))

    def swept(self):
        """(benchmark, machine or "") of every benchmark run at several thread counts."""
        machines = {r.get("machine") for r in self.rows}
        seen = {}
        for r in self.rows:
            seen.setdefault((r["benchmark"], r.get("machine") if len(machines) > 1 else ""),
                            set()).add(r["threads"])
        order = stats.ordered_names(self.rows, self.env, "benchmarks")
        return sorted((k for k, t in seen.items() if len(t) > 1),
                      key=lambda k: (order.index(k[0]), k[1] or ""))

    def key_lines(self):
        """The abbreviation key: one `sa#1 = full name` line each."""
        return [f"{short} = {full}" for full, short in self.shown.items() if short != full]

    def size(self, size):
        """A figure's size, taller by the key's lines."""
        return size[0], size[1] + KEY_LINE_HEIGHT_PX * len(self.key_lines())

    def key_commands(self, size):
        """gnuplot lines that print the abbreviation key under the plot (`size`: the
        figure's size before the key)."""
        lines = self.key_lines()
        if not lines:
            return []
        height = self.size(size)[1]
        top = (KEY_LINE_HEIGHT_PX * len(lines) + 6) / height
        return [f"set bmargin {3 + len(lines)}",
                f"set label {quote(chr(10).join(lines))} at screen 0.01, screen {top:.4f} "
                f"left font \",8\""]

    def caption(self):
        env = self.env
        runs = env.get("runs", "?")
        runs_text = "1 run" if runs == 1 else f"{runs} runs"
        threads = env.get("threads", "?")
        if isinstance(threads, list):
            threads = ",".join(str(t) for t in threads)
        machines = env.get("machines")
        if machines:
            where = "\n".join(f"{m.get('machine')} = {m.get('host', '?')}: {m.get('cpu_model', '?')}, "
                              f"{m.get('cores', '?')} cores, commit {m.get('commit', '?')}"
                              for m in machines)
            return f"merged, median of the runs (error bars: min-max):\n{where}"
        return (f"{env.get('host', '?')}: {env.get('cpu_model', '?')}, {env.get('cores', '?')} cores; "
                f"{threads} threads, {env.get('mode', '?')} mode, median of {runs_text} "
                f"(error bars: min-max); commit {env.get('commit', '?')}")


def relative_size(context, group):
    """Wider than RELATIVE_SIZE when the clusters need it (thread sweeps, merged sets)."""
    clusters = sum(1 for c in context.cases if context.group_of[c] == group)
    needed = 200 + clusters * (len(context.variants) * BAR_PX + CLUSTER_GAP_PX)
    return max(RELATIVE_SIZE[0], min(needed, MAX_WIDTH_PX)), RELATIVE_SIZE[1]


def abbreviations(variants):
    """{name: shown name}: names up to LEGEND_NAME_MAX as they are, longer ones as
    BASE#k (k counting the abbreviated variants of that base)."""
    shown, count = {}, {}
    for v in variants:
        if len(v) <= LEGEND_NAME_MAX:
            shown[v] = v
            continue
        base = v.split(":")[0].split("-")[0][:LEGEND_NAME_MAX - 3]
        count[base] = count.get(base, 0) + 1
        shown[v] = f"{base}#{count[base]}"
    return shown


def fallback_colour(index):
    palette = ("#8c564b", "#e377c2", "#17becf", "#bcbd22", "#393b79", "#637939")
    return palette[index % len(palette)]


def quote(text):
    """A gnuplot double-quoted string (where \\n is a line break)."""
    escaped = str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '"' + escaped + '"'


def relative_figure(context, group, measure, clip, data_path):
    """Write the data of one relative figure; return its gnuplot script."""
    column, ylabel = MEASURES[measure]
    benchmarks = [b for b in context.benchmarks if context.group_of[b] == group]
    variants = context.variants
    bar = CLUSTER_WIDTH / len(variants)
    top = clip * HEADROOM
    pad = top * LABEL_PAD_FRACTION
    notes = []
    with open(data_path, "w") as data:
        data.write("# x  bar  low  high  label  label_y  clipped  error_bar_clipped  "
                   "(one block per allocator)\n")
        for j, variant in enumerate(variants):
            data.write(f"# {variant}\n")
            for i, benchmark in enumerate(benchmarks):
                x = i + (j - (len(variants) - 1) / 2) * bar
                base = context.cells.get((benchmark, context.baseline))
                cell = context.cells.get((benchmark, variant))
                versus = stats.compare(cell.spread(column) if cell else None,
                                       base.spread(column) if base else None)
                if versus is None:
                    if cell is not None and not cell.ok_runs:
                        data.write(f"{x:.4f} 0 0 0 {quote(FAILED_LABEL)} {pad:.4f} 0 0\n")
                    continue
                shown = min(versus.ratio, clip)
                clipped = versus.ratio > clip
                label = f"{versus.ratio:.2f}"
                high = min(versus.high, clip)
                # above the error bar, so the two do not cross
                label_y = max(shown, high) + pad
                data.write(f"{x:.4f} {shown:.4f} {min(versus.low, clip):.4f} {high:.4f} "
                           f"{quote(label)} {label_y:.4f} {int(clipped)} {int(versus.high > clip)}\n")
            data.write("\n\n")
        for i, benchmark in enumerate(benchmarks):
            base = context.cells.get((benchmark, context.baseline))
            if base is None or base.spread(column) is None:
                notes.append(f'set label {quote("no baseline")} at {i},{top / 2:.3f} center')
    name = os.path.basename(data_path)
    xtics = ", ".join(f"{quote(b)} {i}" for i, b in enumerate(benchmarks))
    plots = []
    for j, variant in enumerate(variants):
        plots += [
            f"{quote(name)} index {j} using 1:2 with boxes lc rgb {quote(context.colour[variant])} "
            f"title {quote(context.shown[variant])}",
            f"'' index {j} using 1:3:(0):($8 != 0 ? NaN : $4-$3) with {ERROR_BAR} notitle",
            f"'' index {j} using 1:3:(0):($8 != 0 ? $4-$3 : NaN) with {CLIPPED_ERROR_BAR} notitle",
            f"'' index {j} using 1:($7 != 0 ? NaN : $6):5 with labels boxed rotate by 90 left "
            f"font \",8\" notitle",
            f"'' index {j} using 1:($7 != 0 ? $6 : NaN):5 with labels boxed rotate by 90 left "
            f"font \",8\" tc rgb {quote(CLIPPED_LABEL_COLOUR)} notitle",
        ]
    title = (f"{ylabel.split(' (')[0]}, {group} workloads, relative to {context.baseline}\n"
             f"{context.caption()}")
    if any(c.spread(column) and base_spread_high(context, c, column) > clip
           for c in context.cells.values() if c.benchmark in benchmarks):
        notes.append(f'set label {quote("red arrow head: the spread goes past the clip")} '
                     f'at graph 0.01, graph 0.97 left font ",8" tc rgb {quote(CLIPPED_LABEL_COLOUR)}')
    return "\n".join([
        f"set title {quote(title)} font \",10\"",
        f"set ylabel {quote(ylabel)}",
        f"set xrange [-0.6:{len(benchmarks) - 0.4}]",
        f"set yrange [0:{top:.3f}]",
        f"set xtics ({xtics}) nomirror scale 0"
        + (" rotate by -30" if len(benchmarks) > CROWDED_CLUSTERS else ""),
        "set ytics nomirror",
        "set grid ytics lc rgb \"#e0e0e0\"",
        "set key outside right top vertical Left reverse samplen 2",
        f"set boxwidth {bar * 0.95:.4f} absolute",
        "set style fill solid 0.9 border lc rgb \"#333333\"",
        "set style textbox opaque noborder margins 0.5,0.5",  # the 1.0 line stops at labels
        "set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 1.5 lc rgb \"#000000\" back",
        *notes,
        *context.key_commands(relative_size(context, group)),
        "plot " + ", \\\n     ".join(plots),
        "",
    ])


def base_spread_high(context, cell, column):
    """A cell's max relative to its baseline's median (0 without a baseline)."""
    base = context.cells.get((cell.benchmark, context.baseline))
    spread, base_spread = cell.spread(column), base.spread(column) if base else None
    if not spread or not base_spread or base_spread.median <= 0:
        return 0
    return spread.high / base_spread.median


def absolute_figure(context, benchmark, data_path):
    """Write the data of one benchmark's absolute view; return its gnuplot script."""
    unit = context.unit_of[benchmark]
    better = "higher" if context.higher_is_better.get(benchmark) else "lower"
    figure_label = "time (s)" if unit == "s" else f"{unit}"
    medians = [c.spread("figure").median for v in context.variants
               for c in [context.cells.get((benchmark, v))] if c and c.spread("figure")]
    scale = 1.0
    if unit != "s" and medians and max(medians) >= MILLION:  # 57.4 Mops/s reads better than 5.74e+07
        scale, figure_label = MILLION, f"M{unit}"
    with open(data_path, "w") as data:
        data.write("# x  colour  figure_median low high label  rss_mib_median low high label\n")
        for i, variant in enumerate(context.variants):
            cell = context.cells.get((benchmark, variant))
            colour = int(context.colour[variant][1:], 16)
            figure = cell.spread("figure") if cell else None
            if figure:
                figure = stats.Spread(figure.median / scale, figure.low / scale, figure.high / scale,
                                      figure.runs)
            rss = cell.spread("maxrss_kib") if cell else None
            fields = [f"{i}", f"{colour}"]
            if figure:
                fields += [f"{figure.median:.6g}", f"{figure.low:.6g}", f"{figure.high:.6g}",
                           quote(short(figure.median))]
            else:
                fields += ["0", "0", "0", quote(FAILED_LABEL if cell else "")]
            if rss:
                fields += [f"{rss.median / KIB_PER_MIB:.4f}", f"{rss.low / KIB_PER_MIB:.4f}",
                           f"{rss.high / KIB_PER_MIB:.4f}", quote(short(rss.median / KIB_PER_MIB))]
            else:
                fields += ["0", "0", "0", quote(FAILED_LABEL if cell else "")]
            data.write(" ".join(fields) + "\n")
    name = os.path.basename(data_path)
    n = len(context.variants)
    # long variant names under narrow bars overlap unless slanted
    crowded = n * max(len(context.shown[v]) for v in context.variants) > ABSOLUTE_TICK_CHARACTERS
    xtics = ", ".join(f"{quote(context.shown[v])} {i}" for i, v in enumerate(context.variants))
    common = [
        f"set xrange [-0.6:{n - 0.4}]",
        f"set xtics ({xtics}) nomirror scale 0" + (" rotate by -30" if crowded else ""),
        "set format y \"%.3g\"",
        "set ytics nomirror",
        "set yrange [0:*]",
        "set offsets 0, 0, graph 0.12, 0",
        "set grid ytics lc rgb \"#e0e0e0\"",
        "set boxwidth 0.7 absolute",
        "set style fill solid 0.9 border lc rgb \"#333333\"",
        "unset key",
        *context.key_commands(ABSOLUTE_SIZE),
    ]

    def panel(first, label_column, ylabel):
        return [
            f"set ylabel {quote(ylabel)}",
            f"plot {quote(name)} using 1:{first}:2 with boxes lc rgb variable, "
            f"'' using 1:{first + 1}:(0):(${first + 2}-${first + 1}) with {ERROR_BAR}, "
            f"'' using 1:{first + 2}:{label_column} with labels offset 0,0.8 font \",9\"",
        ]

    title = f"{benchmark}: absolute values, median of the runs\n{context.caption()}"
    return "\n".join([
        f"set multiplot layout 1,2 title {quote(title)} font \",10\"",
        *common,
        *panel(3, 6, f"{figure_label}, {better} is better"),
        *panel(7, 10, "peak RSS (MiB), lower is better"),
        "unset multiplot",
        "",
    ])


def median_run(cell):
    """The passing run whose time is the median (the lower middle one when even)."""
    runs = sorted((r for r in cell.ok_runs if r["time_s"] is not None), key=lambda r: r["time_s"])
    return runs[(len(runs) - 1) // 2] if runs else None


def read_samples(path):
    """[(t_s, rss_kib)] of a run's RSS samples; [] when there are none."""
    try:
        with open(path, newline="") as f:
            return [(float(r["t_s"]), int(r["rss_kib"])) for r in csv.DictReader(f)]
    except (OSError, ValueError, KeyError):
        return []


def rss_time_figure(context, case, results_dir, data_path):
    """Write the RSS-over-time data of one case; return its script (None: no samples)."""
    blocks = []
    for variant in context.variants:
        cell = context.cells.get((case, variant))
        run = median_run(cell) if cell else None
        samples = read_samples(os.path.join(results_dir, run["raw"] + ".rss.csv")) if run else []
        if samples:
            blocks.append((variant, run["run"], samples))
    if not blocks:
        return None
    with open(data_path, "w") as data:
        data.write("# t_s  rss_mib  (one block per allocator: its median-time run)\n")
        for variant, run, samples in blocks:
            data.write(f"# {variant}, run {run}\n")
            for t, kib in samples:
                data.write(f"{t:.4f} {kib / KIB_PER_MIB:.3f}\n")
            data.write("\n\n")
    name = os.path.basename(data_path)
    plots = [f"{quote(name) if j == 0 else chr(39) * 2} index {j} using 1:2 with lines lw 2 "
             f"lc rgb {quote(context.colour[v])} title {quote(context.shown[v])}"
             for j, (v, _, _) in enumerate(blocks)]
    title = (f"{case}: resident memory over time (each allocator's median-time run, sampled "
             f"every {1000 * measure_interval():.0f} ms)\n{context.caption()}")
    return "\n".join([
        f"set title {quote(title)} font \",10\"",
        "set xlabel \"time since start (s)\"",
        "set ylabel \"RSS (MiB), lower is better\"",
        "set yrange [0:*]",
        "set grid lc rgb \"#e0e0e0\"",
        "set key outside right top vertical Left reverse samplen 2",
        *context.key_commands(LINE_SIZE),
        "plot " + ", \\\n     ".join(plots),
        "",
    ])


def measure_interval():
    import measure
    return measure.RSS_INTERVAL_S


def scaling_figure(context, benchmark, machine, data_path):
    """Write one benchmark's thread-scaling data; return its script."""
    rows = [r for r in context.rows if r["benchmark"] == benchmark
            and (not machine or r.get("machine") == machine)]
    unit = rows[0]["figure_unit"]
    threads = sorted({r["threads"] for r in rows})
    by = {}
    for r in rows:
        if r["status"] == "ok" and r["figure"] is not None:
            by.setdefault((r["variant"], r["threads"]), []).append(r["figure"])
    top = max((max(v) for v in by.values()), default=0)
    scale, label = (MILLION, f"M{unit}") if unit != "s" and top >= MILLION else (1.0, unit)
    label = "time (s)" if unit == "s" else label
    better = "higher" if unit != "s" else "lower"
    drawn = [v for v in context.variants if any((v, t) in by for t in threads)]
    with open(data_path, "w") as data:
        data.write("# threads  median  min  max  (one block per allocator)\n")
        for v in drawn:
            data.write(f"# {v}\n")
            for t in threads:
                spread = stats.spread_of(by.get((v, t), []))
                if spread:
                    data.write(f"{t} {spread.median / scale:.6g} {spread.low / scale:.6g} "
                               f"{spread.high / scale:.6g}\n")
            data.write("\n\n")
    name = os.path.basename(data_path)
    plots = []
    for j, v in enumerate(drawn):
        first = quote(name) if j == 0 else "''"
        plots += [f"{first} index {j} using 1:2 with linespoints lw 2 pt 7 ps 0.7 "
                  f"lc rgb {quote(context.colour[v])} title {quote(context.shown[v])}",
                  f"'' index {j} using 1:3:4 with yerrorbars lc rgb {quote(context.colour[v])} "
                  f"pt -1 notitle"]
    where = f" on {machine}" if machine else ""
    title = f"{benchmark}{where}: scaling with threads (median, error bars min-max)\n{context.caption()}"
    xtics = ", ".join(f'"{t}" {t}' for t in threads)
    return "\n".join([
        f"set title {quote(title)} font \",10\"",
        "set xlabel \"threads\"",
        f"set ylabel {quote(f'{label}, {better} is better')}",
        "set logscale x 2",
        f"set xrange [{threads[0] / 1.3:.3f}:{threads[-1] * 1.3:.3f}]",
        f"set xtics ({xtics})",
        "set yrange [0:*]",
        "set grid lc rgb \"#e0e0e0\"",
        "set key outside right top vertical Left reverse samplen 2",
        *context.key_commands(LINE_SIZE),
        "plot " + ", \\\n     ".join(plots),
        "",
    ])


def short(x):
    if x >= 1e6:
        return f"{x:.3g}"
    return f"{x:.3g}" if x < 100 else f"{x:.0f}"


def render(src_dir, out_dir, name, script, size):
    """Write NAME.gp and draw it as SVG and PNG; returns the image paths."""
    script_path = os.path.join(src_dir, name + ".gp")
    with open(script_path, "w") as f:
        f.write(f"# {name}: drawn by scripts/plot; the terminal and output are set by it\n")
        f.write(script)
    written = []
    for extension, terminal in TERMINALS.items():
        output = os.path.join(out_dir, f"{name}.{extension}")
        setup = f"{terminal.format(w=size[0], h=size[1])}; set output {quote(output)}"
        done = subprocess.run([GNUPLOT, "-e", setup, os.path.basename(script_path)], cwd=src_dir,
                              capture_output=True, text=True)
        if done.returncode != 0 or not os.path.exists(output):
            raise PlotError(f"gnuplot failed on {script_path}: {done.stderr.strip()[-500:]}")
        written.append(output)
    return written
