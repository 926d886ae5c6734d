"""Draw a results set's figures with gnuplot, in the report's style.

Relative figures (one per measure and benchmark group, like the report's four):
grouped bars, one per allocator in the suite's fixed order and colours, y = the
median relative to the baseline's median (lower is better), a dashed line at 1.0
(behind the bars and labels),
error bars from the runs' min-max, every bar labelled with its value; a bar above
the clip is cut at the clip and its label says the real value (in red).
Absolute figures (one per benchmark): the program's own figure and the peak RSS of
each allocator, median with min-max error bars.

Every figure is written as SVG and PNG into <results>/figures/; the gnuplot script
and data of each sit in figures/src/ (run `gnuplot -e "set terminal svg;
set output 'x.svg'" NAME.gp` there to redraw one by hand).
"""
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
FAILED_LABEL = "failed"
KIB_PER_MIB = stats.KIB_PER_MIB
MILLION = 1e6


class PlotError(Exception):
    pass


def draw_all(results_dir, baseline=None, clip=None):
    """Draw every figure of a results set; returns the files written."""
    if not shutil.which(GNUPLOT):
        raise PlotError("gnuplot is not installed (Debian package gnuplot-nox)")
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
            written += render(src_dir, out_dir, name, script, RELATIVE_SIZE)
    for benchmark in context.benchmarks:
        name = f"absolute-{results.slug(benchmark)}"
        script = absolute_figure(context, benchmark, os.path.join(src_dir, name + ".dat"))
        written += render(src_dir, out_dir, name, script, ABSOLUTE_SIZE)
    return written


def first_variant(rows, env):
    return stats.ordered_names(rows, env, "allocators")[0]


class Context:
    """What every figure of one results set shares."""

    def __init__(self, rows, env, baseline):
        self.rows, self.env, self.baseline = rows, env, baseline
        self.cells = stats.cells_of(rows)
        self.benchmarks = stats.ordered_names(rows, env, "benchmarks")
        self.variants = stats.ordered_names(rows, env, "allocators")
        self.group_of = {r["benchmark"]: r["group"] for r in rows}
        self.unit_of = {r["benchmark"]: r["figure_unit"] for r in rows}
        declared = {a["name"]: a["colour"] for a in env.get("allocators", [])}
        self.colour = {v: declared.get(v, fallback_colour(i)) for i, v in enumerate(self.variants)}
        self.higher_is_better = {b["name"]: b.get("higher_is_better", False)
                                 for b in env.get("benchmarks", [])}

    def groups(self):
        return list(dict.fromkeys(self.group_of[b] for b in self.benchmarks))

    def caption(self):
        env = self.env
        runs = env.get("runs", "?")
        runs_text = "1 run" if runs == 1 else f"{runs} runs"
        return (f"{env.get('host', '?')}: {env.get('cpu_model', '?')}, {env.get('cores', '?')} cores; "
                f"{env.get('threads', '?')} threads, {env.get('mode', '?')} mode, median of {runs_text} "
                f"(error bars: min-max); commit {env.get('commit', '?')}")


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
        data.write("# x  bar  low  high  label  label_y  clipped  (one block per allocator)\n")
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
                        data.write(f"{x:.4f} 0 0 0 {quote(FAILED_LABEL)} {pad:.4f} 0\n")
                    continue
                shown = min(versus.ratio, clip)
                clipped = versus.ratio > clip
                label = f"{versus.ratio:.2f}"
                high = min(versus.high, clip)
                # above the error bar, so the two do not cross
                label_y = max(shown, high) + pad
                data.write(f"{x:.4f} {shown:.4f} {min(versus.low, clip):.4f} {high:.4f} "
                           f"{quote(label)} {label_y:.4f} {int(clipped)}\n")
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
            f"title {quote(variant)}",
            f"'' index {j} using 1:3:(0):($4-$3) with {ERROR_BAR} notitle",
            f"'' index {j} using 1:($7 != 0 ? NaN : $6):5 with labels boxed rotate by 90 left "
            f"font \",8\" notitle",
            f"'' index {j} using 1:($7 != 0 ? $6 : NaN):5 with labels boxed rotate by 90 left "
            f"font \",8\" tc rgb {quote(CLIPPED_LABEL_COLOUR)} notitle",
        ]
    title = (f"{ylabel.split(' (')[0]}, {group} workloads, relative to {context.baseline}\n"
             f"{context.caption()}")
    return "\n".join([
        f"set title {quote(title)} font \",10\"",
        f"set ylabel {quote(ylabel)}",
        f"set xrange [-0.6:{len(benchmarks) - 0.4}]",
        f"set yrange [0:{top:.3f}]",
        f"set xtics ({xtics}) nomirror scale 0",
        "set ytics nomirror",
        "set grid ytics lc rgb \"#e0e0e0\"",
        "set key outside right top vertical Left reverse samplen 2",
        f"set boxwidth {bar * 0.95:.4f} absolute",
        "set style fill solid 0.9 border lc rgb \"#333333\"",
        "set style textbox opaque noborder margins 0.5,0.5",  # the 1.0 line stops at labels
        "set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 1.5 lc rgb \"#000000\" back",
        *notes,
        "plot " + ", \\\n     ".join(plots),
        "",
    ])


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
    crowded = n * max(len(v) for v in context.variants) > ABSOLUTE_TICK_CHARACTERS
    xtics = ", ".join(f"{quote(v)} {i}" for i, v in enumerate(context.variants))
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
