"""The paper's figures, drawn by the harness's own figure code (lib/figures.py, the
style of scripts/plot) from the rows the paper uses, into paper/figures/<set>/.
Each is written as SVG and PNG with its gnuplot source in src/; the paper shows the PNG
(pdflatex reads PNG, not SVG)."""
import os

import figures
import results

IMAGE = "png"


class Drawer:
    def __init__(self, out_root, enabled=True):
        self.out_root, self.enabled = out_root, enabled

    def _dirs(self, paper_set):
        out_dir = os.path.join(self.out_root, paper_set.name)
        src_dir = os.path.join(out_dir, "src")
        if self.enabled:
            os.makedirs(src_dir, exist_ok=True)
        return out_dir, src_dir

    def _draw(self, paper_set, name, make_script, size):
        """Draw one figure; returns its path relative to out_root's parent folder
        (paper/), or None when there is nothing to draw."""
        out_dir, src_dir = self._dirs(paper_set)
        relative = os.path.join(os.path.basename(self.out_root), paper_set.name, f"{name}.{IMAGE}")
        if not self.enabled:
            return relative
        script = make_script(os.path.join(src_dir, name + ".dat"))
        if script is None:
            return None
        figures.render(src_dir, out_dir, name, script, size)
        return relative

    def relative(self, paper_set, rows, baseline, group, measure, prefix):
        """The report's figure: one measure of one group relative to the baseline."""
        context = figures.Context(rows, paper_set.env, baseline)
        clip = figures.CLIP.get(group, figures.DEFAULT_CLIP)
        return self._draw(paper_set, f"{prefix}{measure}-{group}",
                          lambda path: figures.relative_figure(context, group, measure, clip, path),
                          context.size(figures.relative_size(context, group)))

    def scaling(self, paper_set, rows, benchmark, machine):
        context = figures.Context(rows, paper_set.env, None)
        return self._draw(paper_set, f"scaling-{results.slug(benchmark)}-{results.slug(machine)}",
                          lambda path: figures.scaling_figure(context, benchmark, "", path),
                          context.size(figures.LINE_SIZE))

    def rss_time(self, paper_set, rows, case):
        context = figures.Context(rows, paper_set.env, None)
        results_dir = os.path.abspath(paper_set.path)
        return self._draw(paper_set, f"rss-time-{results.slug(case)}",
                          lambda path: figures.rss_time_figure(context, case, results_dir, path),
                          context.size(figures.LINE_SIZE))
