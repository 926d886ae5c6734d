#!/bin/sh
# `ninja install` as a C user meets it (TAP): installed into a DESTDIR staging
# directory, and into a PREFIX of its own; each time pkg-config finds shardalloc
# (PKG_CONFIG_PATH pointing there) and a tiny program compiles, links and runs with
# the flags it gives. Run from the repository root, after the libraries are built.
set -u
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
check() { # check NAME COMMAND...: one TAP line; the output shown when it fails
  name=$1; shift
  if out=$("$@" 2>&1); then echo "ok - $name"; else
    printf '%s\n' "$out" | sed 's/^/# /'; echo "not ok - $name"; failed=1; fi
}
cat >"$work/tiny.c" <<'C'
#include <shardalloc.h>
#include <string.h>
int main(void) {
  char* p = sa_malloc(100);
  if (p == NULL) return 1;
  memset(p, 1, 100);
  int ok = sa_usable_size(p) >= 100;
  sa_free(p);
  return ok ? 0 : 2;
}
C
# tiny_program PCDIR SYSROOT LIBDIR: compiles, links with pkg-config's flags and runs it.
tiny_program() {
  flags=$(PKG_CONFIG_PATH=$1 PKG_CONFIG_SYSROOT_DIR=$2 pkg-config --cflags --libs shardalloc) || return 1
  echo "pkg-config: $flags"
  # shellcheck disable=SC2086 # the flags are words
  cc -std=gnu11 -Wall -Wextra -Werror -o "$work/tiny" "$work/tiny.c" $flags || return 1
  LD_LIBRARY_PATH=$3 "$work/tiny"
}

stage=$work/stage
check "ninja install with DESTDIR (PREFIX /usr/local): libraries, header, shardalloc.pc" \
  sh -c "DESTDIR='$stage' PREFIX=/usr/local ninja install && test -f '$stage/usr/local/lib/libshardalloc.so' \
    && test -f '$stage/usr/local/lib/libshardalloc.a' && test -f '$stage/usr/local/include/shardalloc.h' \
    && test -f '$stage/usr/local/lib/libshardalloc-debug.so' && test -f '$stage/usr/local/lib/libshardalloc-secure.so' \
    && test -f '$stage/usr/local/lib/libshardalloc-secure-full.so' \
    && test -f '$stage/usr/local/lib/pkgconfig/shardalloc.pc'"
check "the staged shardalloc.pc names the PREFIX, not the DESTDIR" \
  grep -qx 'prefix=/usr/local' "$stage/usr/local/lib/pkgconfig/shardalloc.pc"
check "pkg-config (PKG_CONFIG_PATH into DESTDIR, its sysroot) gives flags a tiny program builds, links and runs with" \
  tiny_program "$stage/usr/local/lib/pkgconfig" "$stage" "$stage/usr/local/lib"

prefix=$work/prefix
check "ninja install with PREFIX alone" sh -c "PREFIX='$prefix' ninja install && test -f '$prefix/lib/libshardalloc.so'"
check "pkg-config (PKG_CONFIG_PATH into PREFIX) gives flags a tiny program builds, links and runs with" \
  tiny_program "$prefix/lib/pkgconfig" "" "$prefix/lib"
check "pkg-config reports the header's version" \
  sh -c "test \"\$(PKG_CONFIG_PATH='$prefix/lib/pkgconfig' pkg-config --modversion shardalloc)\" = \
    \"\$(sed -n 's/^#define SHARDALLOC_VERSION_MAJOR \\([0-9]*\\).*/\\1/p' allocator/include/shardalloc.h).\$(sed -n 's/^#define SHARDALLOC_VERSION_MINOR \\([0-9]*\\).*/\\1/p' allocator/include/shardalloc.h)\""
exit $failed
