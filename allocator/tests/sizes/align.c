/* align.c: large alignments without waste.
 *
 * Every power-of-two alignment from 8 to 2^24, for a small, a medium, a large and a
 * huge size (and 2^25, 2^26 for small sizes): the pointer is aligned, the whole
 * usable size can be written and read back, the memory the process holds (Rss -
 * LazyFree) grows by no more than size + alignment (plus a little for page and
 * segment headers), and the address space by no more than size + 8 MiB (the
 * alignment padding of a mapping is given back).
 *
 * Built against the sa_ API (sa_malloc_aligned and friends) and as a plain program
 * (posix_memalign, aligned_alloc, memalign) run with LD_PRELOAD.
 * Usage: align [--no-rss]   (--no-rss: skip the resident-memory bound, for debug
 *                             builds that fill every new block with a pattern)
 */
#include "ostest.h"

#include <malloc.h>

#ifdef SA_API
#define A_usable sa_usable_size
#define A_free sa_free
#else
#define A_usable malloc_usable_size
#define A_free free
#endif

static bool check_rss = true;

/* One aligned allocation by one of the API's calls (chosen by `which`). */
static void* aligned_alloc_by(int which, size_t size, size_t alignment, const char** name) {
#ifdef SA_API
  switch (which % 5) {
    case 0: *name = "sa_malloc_aligned"; return sa_malloc_aligned(size, alignment);
    case 1: *name = "sa_zalloc_aligned"; return sa_zalloc_aligned(size, alignment);
    case 2: *name = "sa_calloc_aligned"; return sa_calloc_aligned(1, size, alignment);
    case 3: {
      *name = "sa_posix_memalign";
      void* p = NULL;
      if (alignment < sizeof(void*)) alignment = sizeof(void*);
      return sa_posix_memalign(&p, alignment, size) == 0 ? p : NULL;
    }
    default: *name = "sa_aligned_alloc"; return sa_aligned_alloc(alignment, size);
  }
#else
  switch (which % 3) {
    case 0: {
      *name = "posix_memalign";
      void* p = NULL;
      if (alignment < sizeof(void*)) alignment = sizeof(void*);
      return posix_memalign(&p, alignment, size) == 0 ? p : NULL;
    }
    case 1: *name = "aligned_alloc"; return aligned_alloc(alignment, size);
    default: *name = "memalign"; return memalign(alignment, size);
  }
#endif
}

/* Allocates, measures, writes the whole usable size, frees. */
static bool one(size_t size, size_t alignment, int which, long long* worst_waste) {
  size_t mapped0 = 0, mapped1 = 0;
  statm_read(&mapped0, NULL);
  long long rss0 = ot_resident_bytes();
  const char* name = "";
  char* p = aligned_alloc_by(which, size, alignment, &name);
  if (p == NULL) {
    tap_diag("%s(size %zu, alignment %zu) failed: errno %d", name, size, alignment, errno);
    return false;
  }
  bool ok = true;
  if (!is_aligned(p, alignment)) {
    tap_diag("%s(size %zu, alignment %zu) = %p: not aligned", name, size, alignment, (void*)p);
    ok = false;
  }
  memset(p, 0x6D, size);
  long long rss1 = ot_resident_bytes();
  statm_read(&mapped1, NULL);
  /* Headers (page and segment metadata, a free-list extension) may cost a few pages. */
  long long slack = 64 << 10;
  long long growth = rss1 - rss0;
  if (growth - (long long)size > *worst_waste) *worst_waste = growth - (long long)size;
  if (check_rss && growth > (long long)(size + alignment) + slack) {
    tap_diag("%s(size %zu, alignment %zu): resident memory grew by %lld bytes (> size + alignment + %lld)", name, size,
             alignment, growth, slack);
    ok = false;
  }
  if ((long long)mapped1 - (long long)mapped0 > (long long)size + (8 << 20)) {
    tap_diag("%s(size %zu, alignment %zu): address space grew by %.1f MiB (> size + 8 MiB)", name, size, alignment,
             ot_mib((long long)mapped1 - (long long)mapped0));
    ok = false;
  }
  size_t usable = A_usable(p);
  if (usable < size) {
    tap_diag("%s(size %zu, alignment %zu): usable size %zu", name, size, alignment, usable);
    ok = false;
  } else {
    uint64_t seed = (uint64_t)(uintptr_t)p ^ alignment;
    pattern_fill(p, usable, seed);
    size_t bad = pattern_check(p, usable, seed);
    if (bad != SIZE_MAX) {
      tap_diag("%s(size %zu, alignment %zu): usable byte %zu of %zu does not read back", name, size, alignment, bad, usable);
      ok = false;
    }
  }
  A_free(p);
  return ok;
}

/* First uses cost once (a thread's first segment of a kind, the segment map's page
 * for a new region): pay them before measuring. */
static void warm_up(const size_t* sizes, size_t nsizes) {
  for (size_t s = 0; s < nsizes; s++) {
    for (int shift = 3; shift <= 12; shift += 9) {
      const char* name;
      char* p = aligned_alloc_by(0, sizes[s], (size_t)1 << shift, &name);
      if (p != NULL) memset(p, 1, sizes[s]);
      A_free(p);
    }
  }
}

static bool sweep(const size_t* sizes, size_t nsizes, int max_shift) {
  bool ok = true;
  long long worst = 0;
  int which = 0;
  warm_up(sizes, nsizes);
  for (size_t s = 0; s < nsizes; s++) {
    for (int shift = 3; shift <= max_shift; shift++) {
      if (!one(sizes[s], (size_t)1 << shift, which++, &worst)) ok = false;
    }
  }
  tap_diag("largest resident growth beyond the size: %lld bytes", worst);
  return ok;
}

static const size_t small_sizes[] = {1, 24, 100, 1000};
static const size_t medium_sizes[] = {20000, 60000};
static const size_t large_sizes[] = {300000, (size_t)1 << 20, (size_t)2 << 20};
static const size_t huge_sizes[] = {(size_t)5 << 20, ((size_t)9 << 20) + 12345};
static const size_t tiny_sizes[] = {1, 24, 4096};

static bool check_small(void) { return sweep(small_sizes, 4, 24); }
static bool check_medium(void) { return sweep(medium_sizes, 2, 24); }
static bool check_large(void) { return sweep(large_sizes, 3, 24); }
static bool check_huge(void) { return sweep(huge_sizes, 2, 24); }

static bool check_beyond(void) {
  bool ok = true;
  long long worst = 0;
  int which = 0;
  for (size_t s = 0; s < 3; s++) {
    for (int shift = 25; shift <= 26; shift++) {
      if (!one(tiny_sizes[s], (size_t)1 << shift, which++, &worst)) ok = false;
    }
  }
  return ok;
}

/* Many aligned blocks live at once: no overlap, contents intact. */
static bool check_many_live(void) {
  enum { PER = 12 };
  static char* blocks[22][PER];
  static size_t sizes[22][PER];
  uint64_t rng = 3;
  for (int shift = 3; shift <= 21; shift++) {
    for (int i = 0; i < PER; i++) {
      const char* name;
      size_t size = rng_one_in(&rng, 4) ? rng_range(&rng, 8193, 300000) : rng_range(&rng, 1, 2000);
      blocks[shift][i] = aligned_alloc_by(shift + i, size, (size_t)1 << shift, &name);
      sizes[shift][i] = size;
      if (blocks[shift][i] == NULL || !is_aligned(blocks[shift][i], (size_t)1 << shift)) {
        tap_diag("%s(%zu, 2^%d) = %p", name, size, shift, (void*)blocks[shift][i]);
        return false;
      }
      pattern_fill(blocks[shift][i], size, (uint64_t)(shift * 100 + i));
    }
  }
  bool ok = true;
  for (int shift = 3; shift <= 21; shift++) {
    for (int i = 0; i < PER; i++) {
      size_t bad = pattern_check(blocks[shift][i], sizes[shift][i], (uint64_t)(shift * 100 + i));
      if (bad != SIZE_MAX) {
        tap_diag("block of %zu bytes aligned 2^%d changed at offset %zu (overlap?)", sizes[shift][i], shift, bad);
        ok = false;
      }
      A_free(blocks[shift][i]);
    }
  }
  return ok;
}

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "--no-rss") == 0) check_rss = false;
  if (ot_resident_bytes() < 0) check_rss = false;
  const char* bound = check_rss ? "; resident growth <= size + alignment" : " (resident bound not checked)";
  char name[256];
  snprintf(name, sizeof name, "align[%s]: small sizes (1..1000), alignments 2^3..2^24: aligned, usable writable%s",
           OT_API_NAME, bound);
  tap_run(name, check_small);
  snprintf(name, sizeof name, "align[%s]: medium sizes (20000, 60000), alignments 2^3..2^24%s", OT_API_NAME, bound);
  tap_run(name, check_medium);
  snprintf(name, sizeof name, "align[%s]: large sizes (300 KiB..2 MiB), alignments 2^3..2^24%s", OT_API_NAME, bound);
  tap_run(name, check_large);
  snprintf(name, sizeof name, "align[%s]: huge sizes (5 MiB, 9 MiB + 12345), alignments 2^3..2^24%s", OT_API_NAME, bound);
  tap_run(name, check_huge);
  snprintf(name, sizeof name, "align[%s]: sizes 1, 24, 4096 at alignments 2^25 and 2^26%s", OT_API_NAME, bound);
  tap_run(name, check_beyond);
  snprintf(name, sizeof name, "align[%s]: 228 aligned blocks live at once do not overlap", OT_API_NAME);
  tap_run(name, check_many_live);
  return tap_exit_status();
}
