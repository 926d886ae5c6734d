"""The allocators: the declarative list (scripts/allocators.txt), variants, and -a.

A *variant* is an allocator plus environment settings, written
`BASE:VAR=VALUE[:VAR=VALUE...]` (e.g. `sa:SHARDALLOC_PURGE_DELAY=0`). It is an
allocator of its own under that whole name in every table and figure, drawn right
after its base in a lighter shade of the base's colour.
"""
import os
import re
import subprocess
from dataclasses import dataclass

import selection
import tables

SCRIPTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ALLOCATOR_LIST = os.path.join(SCRIPTS_DIR, "allocators.txt")
COLUMNS = ("name", "library", "package", "colour", "about")
NO_PRELOAD = "-"          # the library column of the C library's own malloc
NO_PACKAGE = "-"          # the package column of our own build
VARIANT_SEPARATOR = ":"
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
NAME = re.compile(r"^[A-Za-z0-9_.+-]+$")
DEFAULT_BASELINE = "mi"   # the report's figures are relative to mimalloc
# Each further variant of one base mixes this much more white into the base colour.
VARIANT_LIGHTEN_STEP = 0.35
VARIANT_HELP = "or a variant NAME:VAR=VALUE[:VAR=VALUE...] (e.g. sa:SHARDALLOC_PURGE_DELAY=0)"


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

    @property
    def settings_text(self):
        return " ".join(f"{k}={v}" for k, v in self.settings)


class VariantError(selection.SelectionError):
    pass


def parse_settings(text, context):
    """`VAR=VALUE:VAR=VALUE` -> ((VAR, VALUE), ...); raises VariantError."""
    settings = []
    for part in text.split(VARIANT_SEPARATOR):
        var, eq, value = part.partition("=")
        if not eq or not ENV_NAME.match(var):
            raise VariantError(f"bad variant setting {part!r} in {context!r}: expected VAR=VALUE "
                               f"with VAR a valid environment variable name")
        settings.append((var, value))
    return tuple(settings)


def make_variant(spec, by_name, order_index=0):
    """The Allocator for `BASE:VAR=VALUE...`, or None when spec has no `:`."""
    base_name, sep, rest = spec.partition(VARIANT_SEPARATOR)
    if not sep:
        return None
    if base_name not in by_name:
        raise VariantError(f"variant {spec!r} names an unknown allocator {base_name!r}; "
                           f"valid allocators: {', '.join(by_name)}")
    base = by_name[base_name]
    settings = base.settings + parse_settings(rest, spec)
    return Allocator(name=spec, base=base.base, library=base.library, package=base.package,
                     colour=lighten(base.colour, VARIANT_LIGHTEN_STEP * (order_index + 1)),
                     about=f"{base.about}, with {' '.join(f'{k}={v}' for k, v in settings)}",
                     settings=settings, order=base.order + (1, order_index))


def lighten(colour, amount):
    amount = min(amount, 0.8)  # keep a variant visible against the white background
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
        if VARIANT_SEPARATOR in library:
            try:
                variant = make_variant(library, by_name)
            except VariantError as e:
                raise SystemExit(f"error: {where}: {e}")
            by_name[name] = Allocator(name=name, base=variant.base, library=variant.library,
                                      package=variant.package, colour=row["colour"],
                                      about=row["about"], settings=variant.settings,
                                      order=(index,))
        else:
            by_name[name] = Allocator(name=name, base=name, library=library,
                                      package=row["package"], colour=row["colour"],
                                      about=row["about"], order=(index,))
    return by_name


def choose(spec, by_name):
    """Parse an -a value into Allocators in figure order; raises SelectionError."""
    variants_given = []

    def parse_variant(item):
        variant = make_variant(item, by_name, order_index=len(variants_given))
        if variant is not None:
            variants_given.append(variant)
        return variant

    chosen = selection.select(spec, list(by_name), "allocator", parse_variant, VARIANT_HELP)
    allocators = [by_name[c] if isinstance(c, str) else c for c in chosen]
    return sorted(allocators, key=lambda a: a.order)


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
