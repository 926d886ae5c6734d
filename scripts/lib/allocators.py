"""The allocators: the declarative list (scripts/allocators.txt), variants, and -a.

A *variant* is an allocator plus environment settings, written
`BASE:VAR=VALUE[:VAR=VALUE...]` (e.g. `sa:SHARDALLOC_PURGE_DELAY=0`). It is an
allocator of its own under that whole name in every table and figure, drawn right
after its base in a lighter shade of the base's colour.

Values may contain `:`, `,` and `=` (jemalloc's `MALLOC_CONF=dirty_decay_ms:0,...`,
glibc's `GLIBC_TUNABLES=glibc.malloc.tcache_count=0`): a `:` starts a new setting
only when what follows is `VAR=` with VAR an environment variable name, and a `,`
starts a new -a item only when what follows is an allocator, `all`, `no-NAME` or a
variant `BASE:...` of a known allocator. A value with `|` is a sweep: one variant a
value (`sa:SHARDALLOC_PURGE_DELAY=0|10|-1`). A variants file gives variants short
names, one a line: `NAME | BASE:VAR=VALUE...`.
"""
import dataclasses
import itertools
import os
import re
import subprocess
from dataclasses import dataclass

import selection
import tables

SCRIPTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ALLOCATOR_LIST = os.path.join(SCRIPTS_DIR, "allocators.txt")
COLUMNS = ("name", "library", "package", "colour", "about", "all")
# The `all` column: whether `-a all` (the default) includes the allocator. Build
# flavours that are not what the report compares (debug) say `no`; a flavour that may
# not be built yet (secure) says `if-built`: in `all` once its library exists.
IN_ALL = ("yes", "no", "if-built")
NO_PRELOAD = "-"          # the library column of the C library's own malloc
NO_PACKAGE = "-"          # the package column of our own build
VARIANT_SEPARATOR = ":"
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
NAME = re.compile(r"^[A-Za-z0-9_.+-]+$")
DEFAULT_BASELINE = "mi"   # the report's figures are relative to mimalloc
# Each further variant of one base mixes this much more white into the base colour.
VARIANT_LIGHTEN_STEP = 0.35
MAX_LIGHTEN = 0.8  # keep a variant visible against the white background
BASE_COLOURS = {}  # base name -> its declared colour, filled by load()
VARIANT_HELP = ("or a variant NAME:VAR=VALUE[:VAR=VALUE...] (e.g. sa:SHARDALLOC_PURGE_DELAY=0; "
                "VALUE may be a sweep 0|10|-1)")
SWEEP_SEPARATOR = "|"
SETTING_START = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


@dataclass(frozen=True)
class Allocator:
    name: str             # as shown everywhere: `sa`, or `sa:SHARDALLOC_PURGE_DELAY=0`
    base: str             # the allocator proper: `sa`
    library: str          # as declared: a path, or NO_PRELOAD
    package: str          # Debian package, or NO_PACKAGE
    colour: str           # "#rrggbb"
    about: str
    settings: tuple = ()  # ((VAR, VALUE), ...): the variant's environment settings
    order: tuple = (0,)   # sort key: list order, variants right after their base
    in_all: str = "yes"   # one of IN_ALL
    spec: str = ""        # for a named variant (variants file): BASE:VAR=VALUE...

    @property
    def settings_text(self):
        return " ".join(f"{k}={v}" for k, v in self.settings)


class VariantError(selection.SelectionError):
    pass


def split_settings(text):
    """`VAR=V1:VAR=V2` -> ["VAR=V1", "VAR=V2"]: a `:` followed by anything but `VAR=`
    belongs to the value before it (`MALLOC_CONF=dirty_decay_ms:0`)."""
    parts = []
    for piece in text.split(VARIANT_SEPARATOR):
        if parts and not SETTING_START.match(piece):
            parts[-1] += VARIANT_SEPARATOR + piece
        else:
            parts.append(piece)
    return parts


def parse_settings(text, context):
    """`VAR=VALUE:VAR=VALUE` -> ((VAR, VALUE), ...); raises VariantError."""
    settings = []
    for part in split_settings(text):
        var, eq, value = part.partition("=")
        if not eq or not ENV_NAME.match(var):
            raise VariantError(f"bad variant setting {part!r} in {context!r}: expected VAR=VALUE "
                               f"with VAR a valid environment variable name")
        settings.append((var, value))
    return tuple(settings)


def expand_sweeps(settings):
    """Each combination of the swept values: a list of settings tuples, in the order
    written (the first swept variable varies slowest)."""
    choices = [[(var, v) for v in value.split(SWEEP_SEPARATOR)] for var, value in settings]
    return [tuple(c) for c in itertools.product(*choices)]


def settings_text(settings):
    return ":".join(f"{k}={v}" for k, v in settings)


def make_variants(spec, by_name, shade_of, name=None):
    """The Allocators of `BASE:VAR=VALUE...` (several for a sweep), or None when spec
    has no `:`. `shade_of(base)` gives the next shade index of that base, so each base's
    variants get successively lighter shades of its own colour. `name`: the short name
    of a variants-file entry (a sweep appends its values: NAME-0, NAME-10)."""
    base_name, sep, rest = spec.partition(VARIANT_SEPARATOR)
    if not sep:
        return None
    if base_name not in by_name:
        raise VariantError(f"variant {spec!r} names an unknown allocator {base_name!r}; "
                           f"valid allocators: {', '.join(by_name)}")
    base = by_name[base_name]
    if base.spec:
        raise VariantError(f"variant {spec!r}: {base_name} is itself a named variant; "
                           f"vary its base instead")
    written = parse_settings(rest, spec)
    swept = [var for var, value in written if SWEEP_SEPARATOR in value]
    made = []
    for settings in expand_sweeps(written):
        if name is None:
            shown = f"{base_name}:{settings_text(settings)}"
        else:
            shown = "-".join([name] + [v for var, v in settings if var in swept])
        all_settings = base.settings + settings
        index = shade_of(base.base)
        made.append(Allocator(
            name=shown, base=base.base, library=base.library, package=base.package,
            colour=lighten(base.colour, VARIANT_LIGHTEN_STEP * (index + 1)),
            about=f"{base.about}, with {' '.join(f'{k}={v}' for k, v in all_settings)}",
            settings=all_settings, order=base.order + (1, index), in_all=base.in_all,
            spec=f"{base_name}:{settings_text(settings)}"))
    return made


def make_variant(spec, by_name, order_index=0):
    """The one Allocator of `BASE:VAR=VALUE...` (no sweep), or None without `:`."""
    made = make_variants(spec, by_name, lambda base: order_index)
    if made is None:
        return None
    if len(made) != 1:
        raise VariantError(f"{spec!r}: a sweep ({SWEEP_SEPARATOR}) cannot stand here")
    return made[0]


def lighten(colour, amount):
    amount = min(amount, MAX_LIGHTEN)  # keep a variant visible against the white background
    rgb = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(c + (255 - c) * amount):02x}" for c in rgb)


def load(path=ALLOCATOR_LIST):
    """The declared allocators, by name, in list order."""
    by_name = {}
    for index, row in enumerate(tables.read_table_or_exit(path, COLUMNS)):
        name, library = row["name"], row["library"]
        where = f"{path}:{row['line']}"
        if not NAME.match(name) or name in by_name or name == selection.ALL:
            raise SystemExit(f"error: {where}: bad or repeated allocator name {name!r}")
        if not re.match(r"^#[0-9a-fA-F]{6}$", row["colour"]):
            raise SystemExit(f"error: {where}: colour must be #rrggbb, got {row['colour']!r}")
        if row["all"] not in IN_ALL:
            raise SystemExit(f"error: {where}: the all column must be one of {', '.join(IN_ALL)}")
        if VARIANT_SEPARATOR in library:
            try:
                variant = make_variant(library, by_name)
            except VariantError as e:
                raise SystemExit(f"error: {where}: {e}")
            by_name[name] = Allocator(name=name, base=variant.base, library=variant.library,
                                      package=variant.package, colour=row["colour"],
                                      about=row["about"], settings=variant.settings,
                                      order=(index,), in_all=row["all"])
        else:
            by_name[name] = Allocator(name=name, base=name, library=library,
                                      package=row["package"], colour=row["colour"],
                                      about=row["about"], order=(index,), in_all=row["all"])
    BASE_COLOURS.update({n: a.colour for n, a in by_name.items() if n == a.base})
    return by_name


def load_variants(path, by_name):
    """A variants file: `NAME | BASE:VAR=VALUE...` a line (`#` comments), for
    experiments too long for a command line. Returns {name: Allocator} in file order
    (a sweep gives several). Raises VariantError naming the file and line."""
    named = {}
    shades = {}
    try:
        lines = open(path).read().splitlines()
    except OSError as e:
        raise VariantError(f"cannot read the variants file: {e}")
    for number, raw in enumerate(lines, 1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        name, bar, spec = (x.strip() for x in text.partition(tables.COLUMN_SEPARATOR))
        where = f"{path}:{number}"
        if not bar or not NAME.match(name) or not spec:
            raise VariantError(f"{where}: expected `NAME | BASE:VAR=VALUE...` with NAME of "
                               f"letters, digits and ._+-, got {text!r}")
        if name in by_name or name in named or name == selection.ALL:
            raise VariantError(f"{where}: the name {name!r} is taken")
        try:
            made = make_variants(spec, by_name, lambda base: next_shade(shades, base), name=name)
        except VariantError as e:
            raise VariantError(f"{where}: {e}")
        if made is None:
            raise VariantError(f"{where}: {spec!r} is not a variant (BASE:VAR=VALUE...)")
        for variant in made:
            if variant.name in named or variant.name in by_name:
                raise VariantError(f"{where}: the name {variant.name!r} is taken")
            named[variant.name] = variant
    return named


def next_shade(shades, base):
    shades[base] = shades.get(base, -1) + 1
    return shades[base]


def choose(spec, by_name, named_variants=None, root=None):
    """Parse an -a value into Allocators in figure order; raises SelectionError.
    `named_variants` (from a variants file) are selectable by name and shade on from
    the file's. With `root`, `all` leaves out `if-built` allocators whose library is
    missing."""
    named_variants = named_variants or {}
    shades = {}
    for v in named_variants.values():
        next_shade(shades, v.base)

    def parse_variant(item):
        if item in named_variants:
            return named_variants[item]
        return make_variants(item, by_name, lambda base: next_shade(shades, base))

    def starts_item(piece):
        base, sep, _ = piece.partition(VARIANT_SEPARATOR)
        plain = piece[len(selection.EXCLUDE_PREFIX):] if piece.startswith(selection.EXCLUDE_PREFIX) else piece
        return (piece == selection.ALL or plain in by_name or plain in named_variants
                or (sep and base in by_name))

    in_all = [n for n, a in by_name.items()
              if a.in_all == "yes" or (a.in_all == "if-built" and root is not None
                                       and resolve_library(a, root)[1] is None)]
    chosen = selection.select(spec, list(by_name), "allocator", parse_variant, VARIANT_HELP,
                              starts_item=starts_item, in_all=in_all,
                              extra_names=list(named_variants))
    allocators = [by_name[c] if isinstance(c, str) else c for c in chosen]
    return shade(sorted(allocators, key=lambda a: a.order))


def shade(allocators):
    """Spread each base's variants evenly from its colour towards white, so a sweep
    of many values still gives distinguishable shades, lightest last."""
    count = {}
    for a in allocators:
        if a.spec:
            count[a.base] = count.get(a.base, 0) + 1
    seen, shaded = {}, []
    for a in allocators:
        if a.spec:
            k = seen[a.base] = seen.get(a.base, 0) + 1
            base_colour = next((b.colour for b in allocators if b.name == a.base and not b.spec),
                               None) or unlighten_guess(a)
            amount = MAX_LIGHTEN * k / (count[a.base] + (1 if count[a.base] > 1 else 0.5))
            a = dataclasses.replace(a, colour=lighten(base_colour, amount))
        shaded.append(a)
    return shaded


def unlighten_guess(variant):
    """The base colour of a variant whose base is not chosen: it was made from it."""
    return BASE_COLOURS.get(variant.base, variant.colour)


def default_baseline(allocators):
    names = [a.name for a in allocators]
    return DEFAULT_BASELINE if DEFAULT_BASELINE in names else names[0]


def resolve_library(allocator, root):
    """The file to preload: (path, None), (None, None) for no preload, or
    (None, why) when the library is missing."""
    library = allocator.library
    if library == NO_PRELOAD:
        return None, None
    path = library if os.path.isabs(library) else os.path.join(root, library)
    if os.path.exists(path):
        return path, None
    if os.path.isabs(library):
        # Another multiarch directory, or a distribution that puts it elsewhere.
        found = ldconfig_lookup(os.path.basename(library))
        if found:
            return found, None
    return None, f"{library} not found"


def ldconfig_lookup(file_name):
    try:
        out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    except OSError:
        return None
    for line in out.splitlines():
        left, _, right = line.partition("=>")
        if left.strip().split(" ")[0] == file_name and os.path.exists(right.strip()):
            return right.strip()
    return None
