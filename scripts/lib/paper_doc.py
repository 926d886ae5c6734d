"""The paper as a list of blocks, written out as Markdown (for the web) and LaTeX (for
the PDF). Text is plain with two marks: `code` and [n] citations (left as they are).

Blocks: ("title", text), ("meta", text), ("h", level, text), ("p", text),
("list", [text...]), ("table", header, rows, caption), ("figure", file, caption),
("code", text).
"""
import re

CODE = re.compile(r"`([^`]+)`")
URL = re.compile(r"(https?://\S+)")
LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                 "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                 "^": r"\textasciicircum{}", "<": r"\textless{}", ">": r"\textgreater{}"}
LATEX_SECTIONS = {1: "section", 2: "subsection", 3: "subsubsection"}
# LaTeX breaks long code words (commands, paths) only where we allow it
CODE_BREAKS = "/-_=:,"
WIDE_TABLE_COLUMNS = 6  # wider tables are set smaller


def markdown(blocks):
    out = []
    for block in blocks:
        kind = block[0]
        if kind == "title":
            out.append(f"# {block[1]}")
        elif kind == "meta":
            out.append(f"*{block[1]}*")
        elif kind == "h":
            out.append("#" * (block[1] + 1) + " " + block[2])
        elif kind == "p":
            out.append(block[1])
        elif kind == "list":
            out.append("\n".join(f"- {item}" for item in block[1]))
        elif kind == "table":
            _, header, rows, caption = block
            lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            lines += ["| " + " | ".join(row) + " |" for row in rows]
            out.append((f"{caption}\n\n" if caption else "") + "\n".join(lines))
        elif kind == "figure":
            _, path, caption = block
            out.append(f"![{caption}]({path})\n\n*{caption}*")
        elif kind == "code":
            out.append("```\n" + block[1] + "\n```")
    return "\n\n".join(out) + "\n"


def escape(text):
    return "".join(LATEX_SPECIAL.get(c, c) for c in text)


def latex_code(text):
    escaped = escape(text)
    for c in CODE_BREAKS:
        escaped = escaped.replace(escape(c), escape(c) + r"\allowbreak{}")
    return r"\texttt{" + escaped + "}"


def latex_inline(text):
    parts = CODE.split(text)
    return "".join(latex_code(p) if i % 2 else latex_plain(p) for i, p in enumerate(parts))


def latex_plain(text):
    """Plain text, with web addresses as \\url (which breaks them across lines)."""
    parts = URL.split(text)
    return "".join(f"\\url{{{p}}}" if i % 2 else escape(p).replace("--", "-{}-")
                   for i, p in enumerate(parts))


def latex(blocks, title_meta=None):
    body = []
    title, meta = "", ""
    for block in blocks:
        kind = block[0]
        if kind == "title":
            title = latex_inline(block[1])
        elif kind == "meta":
            meta = latex_inline(block[1])
        elif kind == "h":
            body.append(f"\\{LATEX_SECTIONS[block[1]]}*{{{latex_inline(block[2])}}}")
        elif kind == "p":
            body.append(latex_inline(block[1]))
        elif kind == "list":
            items = "\n".join(f"  \\item {latex_inline(i)}" for i in block[1])
            body.append(f"\\begin{{itemize}}\n{items}\n\\end{{itemize}}")
        elif kind == "table":
            body.append(latex_table(*block[1:]))
        elif kind == "figure":
            _, path, caption = block
            body.append("\\begin{figure}[H]\n\\centering\n"
                        f"\\includegraphics[width=\\linewidth]{{{path}}}\n"
                        f"\\caption*{{{latex_inline(caption)}}}\n\\end{{figure}}")
        elif kind == "code":
            body.append("\\begin{verbatim}\n" + block[1] + "\n\\end{verbatim}")
    preamble = "\n".join([
        r"\documentclass[10pt,a4paper]{article}",
        r"\usepackage[margin=2cm]{geometry}",
        r"\usepackage{graphicx}",
        r"\usepackage{booktabs}",
        r"\usepackage{longtable}",
        r"\usepackage{float}",
        r"\usepackage{caption}",
        r"\usepackage{microtype}",
        r"\usepackage[hidelinks]{hyperref}",
        r"\setlength{\parindent}{0pt}",
        r"\setlength{\parskip}{0.5em}",
        r"\pdfinfoomitdate=1 \pdftrailerid{} \pdfsuppressptexinfo=-1",  # same bytes every build
        f"\\title{{{title}}}",
        r"\author{}",
        r"\date{}",
        r"\begin{document}",
        r"\maketitle",
        f"\\begin{{center}}\\emph{{{meta}}}\\end{{center}}",
    ])
    return preamble + "\n\n" + "\n\n".join(body) + "\n\n\\end{document}\n"


def latex_table(header, rows, caption):
    columns = "l" + "r" * (len(header) - 1)
    lines = [f"\\begin{{longtable}}{{{columns}}}"]
    if caption:
        lines.append(f"\\caption*{{{latex_inline(caption)}}}\\\\")
    lines += ["\\toprule", " & ".join(latex_inline(h) for h in header) + " \\\\", "\\midrule",
              "\\endhead"]
    lines += [" & ".join(latex_inline(c) for c in row) + " \\\\" for row in rows]
    lines += ["\\bottomrule", "\\end{longtable}"]
    size = "\\small" if len(header) <= WIDE_TABLE_COLUMNS else "\\scriptsize"
    return size + "\n" + "\n".join(lines) + "\n\\normalsize"
