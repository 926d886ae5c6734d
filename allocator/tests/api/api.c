/* api.c: the allocation API's semantics, one check each.
 *
 * Built twice from this one source (see testapi.h): against the sa_ API (linked
 * with libshardalloc.a) and against the standard names (a plain program, run with
 * LD_PRELOAD=libshardalloc.so, and also correct under plain glibc). The rules are
 * glibc's, as ../shared/reference/conformance.md lists them; where glibc 2.36
 * itself predates a rule (aligned_alloc's EINVAL from glibc 2.38) the check is
 * skipped only when the allocator under test is that glibc.
 *
 * Every check runs in its own forked child (testlib.h), so a crash fails one check.
 * Usage: api    (TAP on stdout; TAP_NOFORK=1 to run checks in-process)
 */
#include "testlib.h"
#include "testapi.h"

#include <limits.h>
#include <pthread.h>
#include <stdint.h>

#ifndef SA_API
#include <dlfcn.h>
#include <gnu/libc-version.h>
#endif

/* ---- Shared helpers --------------------------------------------------------- */

/* Sizes no allocator can provide: SIZE_MAX - k and PTRDIFF_MAX + k for these k
 * (glibc's tst-malloc-too-large sweeps the same ranges). The large k values sit
 * at the page, segment and huge-threshold scales where a rounding step (size +
 * header, size + alignment, round to class or page) would wrap around. */
static const size_t too_large_offsets[] = {
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129,
  255, 256, 257, 4095, 4096, 4097, 8191, 8192, 8193, 65535, 65536, 65537,
  (1u << 20) - 1, 1u << 20, (1u << 20) + 1, (1u << 21) - 1, 1u << 21, (1u << 21) + 1,
  (1u << 22) - 1, 1u << 22, (1u << 22) + 1, (1u << 25) - 1, 1u << 25, (1u << 25) + 1,
  1u << 26, 1u << 30, 1ul << 31, 1ul << 32,
};
#define N_TOO_LARGE (sizeof too_large_offsets / sizeof too_large_offsets[0])

typedef enum { RANGE_SIZE_MAX, RANGE_PTRDIFF_MAX } too_large_range_t;

static size_t too_large_size(too_large_range_t range, size_t i) {
  size_t k = too_large_offsets[i];
  return opaque(range == RANGE_SIZE_MAX ? SIZE_MAX - k : (size_t)PTRDIFF_MAX + k);
}

/* A block of n bytes filled with the pattern of seed; NULL on failure. */
static void* alloc_filled(size_t n, uint64_t seed) {
  void* p = T_malloc(n);
  if (p != NULL) pattern_fill(p, n, seed);
  return p;
}

static bool check_filled(const void* p, size_t n, uint64_t seed, const char* what) {
  size_t bad = pattern_check(p, n, seed);
  if (bad != SIZE_MAX) {
    tap_diag("%s: block %p of %zu bytes differs at offset %zu", what, p, n, bad);
    return false;
  }
  return true;
}

/* Writes every usable byte of p and reads it back; the allocator must not have
 * handed out memory it cannot back. */
static bool usable_writable(void* p, size_t requested, const char* what) {
  size_t usable = T_usable_size(p);
  if (usable < requested) {
    tap_diag("%s: usable size %zu < requested %zu (%p)", what, usable, requested, p);
    return false;
  }
  uint64_t seed = (uint64_t)(uintptr_t)p ^ usable;
  pattern_fill(p, usable, seed);
  return check_filled(p, usable, seed, what);
}

/* The standard "expect NULL and ENOMEM" test. */
static bool expect_enomem(void* p, const char* call, size_t arg) {
  int e = errno;
  if (p != NULL) {
    tap_diag("%s(%zu = %#zx) returned %p instead of NULL", call, arg, arg, p);
    return false;
  }
  if (e != ENOMEM) {
    tap_diag("%s(%zu = %#zx) returned NULL but errno %d (%s), not ENOMEM", call, arg, arg, e,
             strerror(e));
    return false;
  }
  return true;
}

/* Sizes that cover the tiny, small, medium, large and huge ranges of any
 * segregated-fit allocator, with their neighbours. */
static const size_t assorted_sizes[] = {
  0, 1, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 48, 64, 100, 127, 128, 129, 255, 256, 257,
  500, 512, 1000, 1024, 1025, 2048, 4095, 4096, 4097, 8191, 8192, 8193, 10000, 16384,
  32768, 65535, 65536, 65537, 100000, 131072, 262144, 524288, 1048575, 1048576,
  1048577, 2097151, 2097152, 2097153, 4194303, 4194304, 4194305, 8388608,
  33554431, 33554432, 33554433, 40000000,
};
#define N_ASSORTED (sizeof assorted_sizes / sizeof assorted_sizes[0])

static bool running_on_glibc(void);
static bool running_on_glibc_older_than(int major, int minor);

/* ---- malloc(0), free(NULL) -------------------------------------------------- */

static bool t_malloc_zero(void) {
  void* a = T_malloc(opaque(0));
  void* b = T_malloc(opaque(0));
  bool ok = true;
  if (a == NULL || b == NULL) {
    tap_diag("malloc(0) returned %p and %p; want two blocks", a, b);
    ok = false;
  } else if (a == b) {
    tap_diag("malloc(0) returned the same block %p twice", a);
    ok = false;
  }
  /* Many live zero-size blocks stay distinct. */
  void* many[256];
  for (size_t i = 0; i < 256; i++) {
    many[i] = T_malloc(opaque(0));
    if (many[i] == NULL) {
      tap_diag("malloc(0) #%zu returned NULL", i);
      ok = false;
    }
    for (size_t j = 0; j < i && many[i] != NULL; j++) {
      if (many[j] == many[i]) {
        tap_diag("malloc(0) returned %p while it was still live", many[i]);
        ok = false;
        break;
      }
    }
  }
  for (size_t i = 0; i < 256; i++) T_free(many[i]);
  T_free(a);
  T_free(b);
  return ok;
}

static bool t_free_null(void) {
  errno = EILSEQ;
  T_free(NULL);
  T_free(opaque_ptr(NULL));
  if (errno != EILSEQ) {
    tap_diag("free(NULL) changed errno to %d", errno);
    return false;
  }
  return true;
}

/* ---- Impossible sizes: NULL and ENOMEM for every entry point ----------------- */

/* A block every "realloc of a live block" check starts from and verifies after. */
#define KEEP_SIZE 100
#define KEEP_SEED 0x5eed0000ull

typedef struct {
  const char* name;
  /* Makes the call with impossible size n; old is a live block of KEEP_SIZE
   * bytes (for realloc-like entries). Returns the result; errno as the call left it. */
  void* (*call)(size_t n, void* old);
  bool uses_old;
} too_large_entry_t;

static void* tl_malloc(size_t n, void* old) { (void)old; return T_malloc(n); }
static void* tl_calloc_n1(size_t n, void* old) { (void)old; return T_calloc(n, opaque(1)); }
static void* tl_calloc_1n(size_t n, void* old) { (void)old; return T_calloc(opaque(1), n); }
static void* tl_realloc_null(size_t n, void* old) { (void)old; return T_realloc(NULL, n); }
static void* tl_realloc(size_t n, void* old) { return T_realloc(old, n); }
static void* tl_reallocarray_null(size_t n, void* old) {
  (void)old;
  return T_reallocarray(NULL, n, opaque(1));
}
static void* tl_reallocarray(size_t n, void* old) { return T_reallocarray(old, opaque(1), n); }
static void* tl_aligned_alloc_64(size_t n, void* old) { (void)old; return T_aligned_alloc(64, n); }
static void* tl_aligned_alloc_page(size_t n, void* old) {
  (void)old;
  return T_aligned_alloc(4096, n);
}
static void* tl_aligned_alloc_16m(size_t n, void* old) {
  (void)old;
  return T_aligned_alloc((size_t)1 << 24, n);
}
static void* tl_memalign_64(size_t n, void* old) { (void)old; return T_memalign(64, n); }
static void* tl_memalign_1m(size_t n, void* old) { (void)old; return T_memalign(1u << 20, n); }
static void* tl_valloc(size_t n, void* old) { (void)old; return T_valloc(n); }
static void* tl_pvalloc(size_t n, void* old) { (void)old; return T_pvalloc(n); }

/* posix_memalign reports through its result, and must leave *p alone. */
static void* posix_memalign_as_errno(size_t alignment, size_t n) {
  void* sentinel = (void*)(uintptr_t)0xdeadbeef;
  void* p = sentinel;
  int r = T_posix_memalign(&p, alignment, n);
  if (r == 0) return p;
  if (p != sentinel) {
    tap_diag("posix_memalign(%zu, %zu) failed with %d but changed *p to %p", alignment, n, r, p);
    errno = 0; /* fails the ENOMEM test */
    return NULL;
  }
  errno = r;
  return NULL;
}
static void* tl_posix_memalign_16(size_t n, void* old) {
  (void)old;
  return posix_memalign_as_errno(16, n);
}
static void* tl_posix_memalign_2m(size_t n, void* old) {
  (void)old;
  return posix_memalign_as_errno((size_t)1 << 21, n);
}

#ifdef SA_API
static void* tl_sa_zalloc(size_t n, void* old) { (void)old; return sa_zalloc(n); }
static void* tl_sa_malloc_aligned(size_t n, void* old) { (void)old; return sa_malloc_aligned(n, 64); }
static void* tl_sa_malloc_aligned_16m(size_t n, void* old) {
  (void)old;
  return sa_malloc_aligned(n, (size_t)1 << 24);
}
static void* tl_sa_zalloc_aligned(size_t n, void* old) { (void)old; return sa_zalloc_aligned(n, 64); }
static void* tl_sa_calloc_aligned(size_t n, void* old) {
  (void)old;
  return sa_calloc_aligned(opaque(1), n, 64);
}
static void* tl_sa_realloc_aligned(size_t n, void* old) { return sa_realloc_aligned(old, n, 64); }
#endif

static const too_large_entry_t too_large_entries[] = {
  {"malloc(n)", tl_malloc, false},
  {"calloc(n, 1)", tl_calloc_n1, false},
  {"calloc(1, n)", tl_calloc_1n, false},
  {"realloc(NULL, n)", tl_realloc_null, false},
  {"realloc(p, n)", tl_realloc, true},
  {"reallocarray(NULL, n, 1)", tl_reallocarray_null, false},
  {"reallocarray(p, 1, n)", tl_reallocarray, true},
  {"aligned_alloc(64, n)", tl_aligned_alloc_64, false},
  {"aligned_alloc(4096, n)", tl_aligned_alloc_page, false},
  {"aligned_alloc(2^24, n)", tl_aligned_alloc_16m, false},
  {"memalign(64, n)", tl_memalign_64, false},
  {"memalign(2^20, n)", tl_memalign_1m, false},
  {"posix_memalign(&p, 16, n)", tl_posix_memalign_16, false},
  {"posix_memalign(&p, 2^21, n)", tl_posix_memalign_2m, false},
  {"valloc(n)", tl_valloc, false},
  {"pvalloc(n)", tl_pvalloc, false},
#ifdef SA_API
  {"sa_zalloc(n)", tl_sa_zalloc, false},
  {"sa_malloc_aligned(n, 64)", tl_sa_malloc_aligned, false},
  {"sa_malloc_aligned(n, 2^24)", tl_sa_malloc_aligned_16m, false},
  {"sa_zalloc_aligned(n, 64)", tl_sa_zalloc_aligned, false},
  {"sa_calloc_aligned(1, n, 64)", tl_sa_calloc_aligned, false},
  {"sa_realloc_aligned(p, n, 64)", tl_sa_realloc_aligned, true},
#endif
};
#define N_TOO_LARGE_ENTRIES (sizeof too_large_entries / sizeof too_large_entries[0])

/* The entry and range the current check covers (set before tap_run forks). */
static const too_large_entry_t* current_entry;
static too_large_range_t current_range;

static bool t_too_large(void) {
  const too_large_entry_t* e = current_entry;
  bool ok = true;
  void* old = NULL;
  if (e->uses_old) {
    old = alloc_filled(KEEP_SIZE, KEEP_SEED);
    if (old == NULL) {
      tap_diag("malloc(%d) failed", KEEP_SIZE);
      return false;
    }
  }
  for (size_t i = 0; i < N_TOO_LARGE && ok; i++) {
    size_t n = too_large_size(current_range, i);
    errno = 0;
    void* p = e->call(n, old);
    if (!expect_enomem(p, e->name, n)) ok = false;
    if (p != NULL) {
      /* The impossible call "succeeded": for a realloc the old block is gone. */
      if (e->uses_old) old = NULL;
      T_free(p);
      break;
    }
    if (old != NULL && !check_filled(old, KEEP_SIZE, KEEP_SEED, "block after failed realloc")) {
      ok = false;
    }
  }
  T_free(old);
  return ok;
}

/* ---- calloc ------------------------------------------------------------------ */

static bool t_calloc_overflow(void) {
  /* n * m overflows; several pairs wrap around to a small product (16, 2^31,
   * 0), which an allocator multiplying without a check would happily serve. */
  static const struct { size_t n, m; } pairs[] = {
    {SIZE_MAX / 2 + 1, 2},
    {2, SIZE_MAX / 2 + 1},
    {(size_t)1 << 32, (size_t)1 << 32},
    {((size_t)1 << 32) + 1, (size_t)1 << 32},
    {SIZE_MAX / 16 + 2, 16},
    {((size_t)1 << 33) + 1, (size_t)1 << 31},
    {SIZE_MAX, SIZE_MAX},
    {SIZE_MAX, 2},
    {(size_t)PTRDIFF_MAX, 3},
    {3, (size_t)PTRDIFF_MAX},
    {65536, ((size_t)1 << 48) + 1},
  };
  bool ok = true;
  for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
    errno = 0;
    void* p = T_calloc(opaque(pairs[i].n), opaque(pairs[i].m));
    int e = errno;
    if (p != NULL || e != ENOMEM) {
      tap_diag("calloc(%#zx, %#zx) returned %p, errno %d; want NULL and ENOMEM", pairs[i].n,
               pairs[i].m, p, e);
      T_free(p);
      ok = false;
    }
  }
  return ok;
}

static bool t_calloc_zero_fresh(void) {
  bool ok = true;
  for (size_t i = 0; i < N_ASSORTED; i++) {
    size_t n = assorted_sizes[i];
    unsigned char* p = T_calloc(opaque(1), n);
    if (p == NULL) {
      tap_diag("calloc(1, %zu) returned NULL", n);
      ok = false;
      continue;
    }
    size_t bad = first_nonzero(p, n);
    if (bad != SIZE_MAX) {
      tap_diag("calloc(1, %zu): byte %zu is %#x", n, bad, p[bad]);
      ok = false;
    }
    T_free(p);
  }
  /* n > 1 elements */
  unsigned char* q = T_calloc(opaque(1000), opaque(24));
  if (q == NULL || first_nonzero(q, 24000) != SIZE_MAX) {
    tap_diag("calloc(1000, 24) not all zero (%p)", (void*)q);
    ok = false;
  }
  T_free(q);
  return ok;
}

/* Dirty blocks of a size, free them, and calloc the same size: the allocator
 * reuses the dirty memory and must clear it. Run on many sizes at once so every
 * size class range (and huge blocks, which may come from a cache) is covered. */
static bool t_calloc_zero_reused(void) {
  enum { BLOCKS = 32 };
  bool ok = true;
  for (size_t i = 0; i < N_ASSORTED; i++) {
    size_t n = assorted_sizes[i];
    size_t count = n > 1 * MiB ? 2 : BLOCKS;
    void* blocks[BLOCKS];
    for (size_t b = 0; b < count; b++) {
      blocks[b] = T_malloc(n);
      if (blocks[b] != NULL) memset(blocks[b], 0xA5, T_usable_size(blocks[b]));
    }
    for (size_t b = 0; b < count; b++) T_free(blocks[b]);
    for (size_t b = 0; b < count; b++) {
      /* alternate element shapes: calloc(n, 1) and calloc(1, n) */
      unsigned char* p = (b & 1) ? T_calloc(n, opaque(1)) : T_calloc(opaque(1), n);
      blocks[b] = p;
      if (p == NULL) {
        tap_diag("calloc(%zu) returned NULL", n);
        ok = false;
        continue;
      }
      size_t bad = first_nonzero(p, n);
      if (bad != SIZE_MAX) {
        tap_diag("calloc of %zu bytes over reused memory: byte %zu is %#x", n, bad, p[bad]);
        ok = false;
      }
    }
    for (size_t b = 0; b < count; b++) T_free(blocks[b]);
  }
  return ok;
}

/* ---- realloc ------------------------------------------------------------------ */

static bool t_realloc_null(void) {
  static const size_t sizes[] = {0, 1, 100, 5000, 100000, 5 * MiB};
  bool ok = true;
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    void* p = T_realloc(NULL, opaque(sizes[i]));
    if (p == NULL) {
      tap_diag("realloc(NULL, %zu) returned NULL", sizes[i]);
      ok = false;
      continue;
    }
    if (!usable_writable(p, sizes[i], "realloc(NULL, n)")) ok = false;
    T_free(p);
  }
  return ok;
}

/* Grows then shrinks one block across every size range; at each step the
 * first min(old, new) bytes must survive. */
static bool t_realloc_preserves(void) {
  static const size_t chain[] = {
    1, 7, 8, 15, 16, 17, 40, 100, 1000, 1024, 4000, 5000, 16385, 70000, 300000,
    1 * MiB + 3, 3 * MiB, 5 * MiB, 40 * MiB, 33 * MiB, 4 * MiB, 2 * MiB + 1, 600000,
    65536, 9000, 1000, 200, 24, 16, 9, 1,
  };
  bool ok = true;
  uint64_t seed = 0x1000;
  size_t n = chain[0];
  unsigned char* p = alloc_filled(n, seed);
  if (p == NULL) return false;
  for (size_t i = 1; i < sizeof chain / sizeof chain[0]; i++) {
    size_t next = chain[i];
    unsigned char* q = T_realloc(p, opaque(next));
    if (q == NULL) {
      tap_diag("realloc(%zu -> %zu) returned NULL", n, next);
      T_free(p);
      return false;
    }
    size_t keep = n < next ? n : next;
    if (!check_filled(q, keep, seed, "realloc kept bytes")) {
      tap_diag("  ... after realloc from %zu to %zu bytes (%p -> %p)", n, next, (void*)p,
               (void*)q);
      ok = false;
    }
    seed++;
    pattern_fill(q, next, seed);
    p = q;
    n = next;
  }
  T_free(p);
  return ok;
}

/* realloc within the block's usable size stays in place. */
static bool t_realloc_in_place(void) {
  static const size_t sizes[] = {1, 20, 100, 1000, 3000, 20000, 100000, 3 * MiB};
  bool ok = true;
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    size_t n = sizes[i];
    void* p = alloc_filled(n, n);
    if (p == NULL) return false;
    size_t usable = T_usable_size(p);
    void* q = T_realloc(p, opaque(usable));
    if (q != p) {
      tap_diag("realloc(p, usable size %zu) of a %zu-byte block moved it (%p -> %p)", usable, n,
               p, q);
      ok = false;
    }
    if (q == NULL) { T_free(p); continue; }
    if (!check_filled(q, n, n, "realloc to usable size")) ok = false;
    void* r = T_realloc(q, opaque(n));
    if (r != q) {
      tap_diag("realloc back to %zu bytes (from %zu) moved the block (%p -> %p)", n, usable, q, r);
      ok = false;
    }
    T_free(r ? r : q);
  }
  return ok;
}

/* A realloc that shrinks a block to a quarter or less must not keep the whole block:
 * realloc(malloc(1 MiB), 100) holding 1 MiB for as long as the block lives is a leak in
 * all but name. Checked through the usable size (under half the old block), with the
 * contents kept, for every kind of block. */
static bool t_realloc_shrink_releases(void) {
  static const size_t olds[] = {256, 4096, 60000, 300000, MiB, 3 * MiB, 40 * MiB};
  bool ok = true;
  for (size_t i = 0; i < sizeof olds / sizeof olds[0]; i++) {
    size_t news[] = {olds[i] / 4, olds[i] / 100, 100, 1};
    for (size_t j = 0; j < sizeof news / sizeof news[0]; j++) {
      size_t old_n = olds[i], new_n = news[j] == 0 ? 1 : news[j];
      void* p = alloc_filled(old_n, old_n + j);
      if (p == NULL) return false;
      void* q = T_realloc(p, opaque(new_n));
      if (q == NULL) {
        tap_diag("realloc(%zu-byte block, %zu) failed", old_n, new_n);
        T_free(p);
        return false;
      }
      size_t usable = T_usable_size(q);
      if (usable >= old_n / 2) {
        tap_diag("realloc(%zu-byte block, %zu) kept %zu usable bytes (%s)", old_n, new_n, usable,
                 q == p ? "in place" : "moved");
        ok = false;
      }
      if (!check_filled(q, new_n, old_n + j, "shrinking realloc")) ok = false;
      T_free(q);
    }
  }
  return ok;
}

/* A failed realloc returns NULL, sets ENOMEM and leaves the old block as it was:
 * contents, usable size, and still valid to use, grow and free. */
static bool t_realloc_failure_keeps_block(void) {
  static const size_t sizes[] = {1, 16, 100, 5000, 70000, 600000, 3 * MiB, 40 * MiB};
  bool ok = true;
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    size_t n = sizes[i];
    void* p = alloc_filled(n, 7 * n);
    if (p == NULL) return false;
    size_t usable = T_usable_size(p);
    for (int range = 0; range < 2; range++) {
      for (size_t k = 0; k < N_TOO_LARGE; k += 3) {
        size_t huge = too_large_size((too_large_range_t)range, k);
        errno = 0;
        void* q = T_realloc(p, huge);
        if (!expect_enomem(q, "realloc(p, n)", huge)) {
          ok = false;
          if (q != NULL) return false; /* p is gone; nothing more to check */
        }
      }
    }
    if (!check_filled(p, n, 7 * n, "block after failed realloc")) ok = false;
    if (T_usable_size(p) != usable) {
      tap_diag("usable size changed from %zu to %zu by a failed realloc", usable,
               T_usable_size(p));
      ok = false;
    }
    void* q = T_realloc(p, opaque(n * 2 + 1));
    if (q == NULL || !check_filled(q, n, 7 * n, "block regrown after failed realloc")) {
      ok = false;
    }
    T_free(q ? q : p);
  }
  return ok;
}

/* realloc(p, 0) frees p and returns NULL: glibc's behaviour and our documented
 * choice. The freeing is checked by doing it many times: a leak shows in RSS. */
static bool t_realloc_zero(void) {
  static const size_t sizes[] = {1, 100, 5000, 70000, 3 * MiB, 40 * MiB};
  bool ok = true;
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    void* p = alloc_filled(sizes[i], 1);
    if (p == NULL) return false;
    void* q = T_realloc(p, opaque(0));
    if (q != NULL) {
      tap_diag("realloc(p of %zu bytes, 0) returned %p, want NULL (p freed)", sizes[i], q);
      T_free(q);
      ok = false;
    }
  }
  enum { ROUNDS = 20000, BLOCK = 4096 };
  size_t before = rss_bytes();
  for (int r = 0; r < ROUNDS; r++) {
    void* p = T_malloc(opaque(BLOCK));
    if (p == NULL) return false;
    memset(p, r, BLOCK);
    void* q = T_realloc(p, opaque(0));
    if (q != NULL) T_free(q);
  }
  size_t after = rss_bytes();
  /* A leak would be ROUNDS * BLOCK = 80 MiB; allow a quarter of it. */
  if (after > before + (size_t)ROUNDS * BLOCK / 4) {
    tap_diag("RSS grew from %zu to %zu KiB over %d realloc(p, 0): blocks leak", before / KiB,
             after / KiB, ROUNDS);
    ok = false;
  }
  return ok;
}

/* ---- reallocarray ----------------------------------------------------------- */

static bool t_reallocarray(void) {
  bool ok = true;
  int* p = T_reallocarray(NULL, opaque(100), sizeof(int));
  if (p == NULL) return false;
  for (int i = 0; i < 100; i++) p[i] = i * 3;
  int* q = T_reallocarray(p, opaque(5000), sizeof(int));
  if (q == NULL) {
    T_free(p);
    return false;
  }
  for (int i = 0; i < 100; i++) {
    if (q[i] != i * 3) {
      tap_diag("reallocarray lost element %d", i);
      ok = false;
      break;
    }
  }
  if (T_usable_size(q) < 5000 * sizeof(int)) {
    tap_diag("reallocarray(p, 5000, 4): usable %zu", T_usable_size(q));
    ok = false;
  }
  T_free(q);
  return ok;
}

static bool t_reallocarray_overflow(void) {
  static const struct { size_t n, m; } pairs[] = {
    {SIZE_MAX / 2 + 1, 2}, {2, SIZE_MAX / 2 + 1}, {(size_t)1 << 32, (size_t)1 << 32},
    {SIZE_MAX / 16 + 2, 16}, {SIZE_MAX, SIZE_MAX},
  };
  bool ok = true;
  void* keep = alloc_filled(KEEP_SIZE, KEEP_SEED);
  if (keep == NULL) return false;
  for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
    size_t n = opaque(pairs[i].n), m = opaque(pairs[i].m);
    errno = 0;
    void* p = T_reallocarray(NULL, n, m);
    if (p != NULL || errno != ENOMEM) {
      tap_diag("reallocarray(NULL, %#zx, %#zx) returned %p, errno %d", n, m, p, errno);
      T_free(p);
      ok = false;
    }
    errno = 0;
    p = T_reallocarray(keep, n, m);
    if (p != NULL || errno != ENOMEM) {
      tap_diag("reallocarray(p, %#zx, %#zx) returned %p, errno %d", n, m, p, errno);
      if (p != NULL) return false;
      ok = false;
    }
    if (!check_filled(keep, KEEP_SIZE, KEEP_SEED, "block after failed reallocarray")) ok = false;
  }
  T_free(keep);
  return ok;
}

/* ---- posix_memalign ---------------------------------------------------------- */

static bool t_posix_memalign_einval(void) {
  /* Not a power of two, or not a multiple of sizeof(void*). */
  static const size_t bad[] = {
    0, 1, 2, 3, sizeof(void*) / 2, sizeof(void*) + 1, 12, 24, 48, 0x300, 1000, 4097,
    SIZE_MAX / 2 + 2, SIZE_MAX,
  };
  static const size_t sizes[] = {0, 1, 64, 100000};
  bool ok = true;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    for (size_t j = 0; j < sizeof sizes / sizeof sizes[0]; j++) {
      void* sentinel = (void*)(uintptr_t)0x1234567;
      void* p = sentinel;
      int r = T_posix_memalign(&p, opaque(bad[i]), opaque(sizes[j]));
      if (r != EINVAL || p != sentinel) {
        tap_diag("posix_memalign(&p, %#zx, %zu) returned %d with *p = %p; want EINVAL, *p "
                 "untouched", bad[i], sizes[j], r, p);
        if (r == 0 && p != sentinel) T_free(p);
        ok = false;
      }
    }
  }
  return ok;
}

/* posix_memalign(size 0) gives a freeable block or NULL, and returns 0. */
static bool t_posix_memalign_basic(void) {
  bool ok = true;
  for (size_t a = sizeof(void*); a <= 4096; a *= 2) {
    void* p = (void*)(uintptr_t)0x1;
    int r = T_posix_memalign(&p, a, opaque(0));
    if (r != 0 || (p != NULL && !is_aligned(p, a))) {
      tap_diag("posix_memalign(&p, %zu, 0) returned %d, p = %p", a, r, p);
      ok = false;
    }
    if (r == 0) T_free(p);
  }
  return ok;
}

/* ---- aligned_alloc ------------------------------------------------------------- */

/* True when the program runs on glibc's own allocator (no preload, standard
 * names): checks that glibc of this version is known to answer otherwise are
 * skipped there, since the allocator under test is then not ours. */
static bool running_on_glibc(void) {
#ifdef SA_API
  return false;
#else
  Dl_info info;
  void* (*volatile m)(size_t) = malloc;
  if (dladdr((void*)m, &info) == 0 || info.dli_fname == NULL) return false;
  return strstr(info.dli_fname, "libc.so") != NULL;
#endif
}

static bool running_on_glibc_older_than(int major, int minor) {
#ifdef SA_API
  (void)major;
  (void)minor;
  return false;
#else
  if (!running_on_glibc()) return false;
  int maj = 0, min = 0;
  if (sscanf(gnu_get_libc_version(), "%d.%d", &maj, &min) != 2) return false;
  return maj < major || (maj == major && min < minor);
#endif
}

static bool t_aligned_alloc_one(void) {
  static const size_t sizes[] = {1, 15, 16, 100, 5000, 100000};
  bool ok = true;
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    void* p = T_aligned_alloc(opaque(1), opaque(sizes[i]));
    if (p == NULL) {
      tap_diag("aligned_alloc(1, %zu) returned NULL", sizes[i]);
      ok = false;
      continue;
    }
    if (!usable_writable(p, sizes[i], "aligned_alloc(1, n)")) ok = false;
    T_free(p);
  }
  return ok;
}

static size_t bad_alignment_arg;

static bool t_aligned_alloc_bad(void) {
  static const size_t sizes[] = {1, 64, 4096};
  bool ok = true;
  for (size_t j = 0; j < sizeof sizes / sizeof sizes[0]; j++) {
    errno = 0;
    void* p = T_aligned_alloc(opaque(bad_alignment_arg), opaque(sizes[j]));
    int e = errno;
    /* 0 and 65 are invalid (EINVAL); SIZE_MAX/2+1 is a power of two no block
     * can have (glibc says ENOMEM). */
    bool errno_ok = bad_alignment_arg == SIZE_MAX / 2 + 1 ? (e == EINVAL || e == ENOMEM)
                                                          : e == EINVAL;
    if (p != NULL || !errno_ok) {
      tap_diag("aligned_alloc(%#zx, %zu) returned %p, errno %d (%s)", bad_alignment_arg,
               sizes[j], p, e, strerror(e));
      T_free(p);
      ok = false;
    }
  }
  return ok;
}

/* ---- Every power-of-two alignment ------------------------------------------- */

typedef void* (*aligned_fn_t)(size_t alignment, size_t size);

static void* al_aligned_alloc(size_t a, size_t n) { return T_aligned_alloc(a, n); }
static void* al_memalign(size_t a, size_t n) { return T_memalign(a, n); }
static void* al_posix_memalign(size_t a, size_t n) {
  void* p = NULL;
  return T_posix_memalign(&p, a < sizeof(void*) ? sizeof(void*) : a, n) == 0 ? p : NULL;
}
#ifdef SA_API
static void* al_sa_malloc_aligned(size_t a, size_t n) { return sa_malloc_aligned(n, a); }
static void* al_sa_zalloc_aligned(size_t a, size_t n) { return sa_zalloc_aligned(n, a); }
#endif

static const char* current_aligned_name;
static aligned_fn_t current_aligned_fn;
static size_t current_align_min_log2, current_align_max_log2;

/* Sizes per alignment a: tiny, around a, and in the medium, large and huge ranges. */
static bool aligned_one(size_t a, size_t n) {
  void* p = current_aligned_fn(opaque(a), opaque(n));
  if (p == NULL) {
    tap_diag("%s(alignment %zu, size %zu) returned NULL", current_aligned_name, a, n);
    return false;
  }
  bool ok = true;
  if (!is_aligned(p, a)) {
    tap_diag("%s(alignment %zu, size %zu) returned %p, misaligned", current_aligned_name, a, n, p);
    ok = false;
  }
  size_t usable = T_usable_size(p);
  if (usable < n) {
    tap_diag("%s(alignment %zu, size %zu): usable size %zu", current_aligned_name, a, n, usable);
    ok = false;
  } else if (usable > 0) {
    /* first, last, and a stride of bytes in between (the full fill of every
     * usable byte is the usable-size check's job) */
    unsigned char* b = p;
    for (size_t off = 0; off < usable; off += 4093) b[off] = (unsigned char)off;
    b[usable - 1] = 0x5a;
    for (size_t off = 0; off < usable - 1; off += 4093) {
      if (b[off] != (unsigned char)off) {
        tap_diag("%s(alignment %zu, size %zu): byte %zu did not stick", current_aligned_name, a,
                 n, off);
        ok = false;
        break;
      }
    }
  }
  T_free(p);
  return ok;
}

static bool t_every_alignment(void) {
  bool ok = true;
  for (size_t lg = current_align_min_log2; lg <= current_align_max_log2; lg++) {
    size_t a = (size_t)1 << lg;
    size_t sizes[] = {1, 16, 100, a > 1 ? a - 1 : 1, a, a + 1, 3 * a, 70000, 1 * MiB + 5,
                      5 * MiB, 33 * MiB};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
      if (!aligned_one(a, sizes[i])) ok = false;
    }
  }
  /* Many live blocks of one alignment: not just the first block of a page. */
  void* live[64];
  for (size_t lg = current_align_min_log2; lg <= 12 && lg <= current_align_max_log2; lg++) {
    size_t a = (size_t)1 << lg;
    for (size_t i = 0; i < 64; i++) {
      live[i] = current_aligned_fn(a, 24 + i * 8);
      if (live[i] == NULL || !is_aligned(live[i], a)) {
        tap_diag("%s(alignment %zu, size %zu) -> %p (block %zu of 64 live)", current_aligned_name,
                 a, 24 + i * 8, live[i], i);
        ok = false;
      }
    }
    for (size_t i = 0; i < 64; i++) T_free(live[i]);
  }
  return ok;
}

/* ---- memalign, valloc, pvalloc ------------------------------------------------ */

/* glibc's memalign rounds an alignment that is not a power of two up to the
 * next one, and treats 0 like malloc. */
static bool t_memalign_glibc_rounding(void) {
  static const struct { size_t given, effective; } cases[] = {
    {0, 1}, {1, 1}, {3, 4}, {24, 32}, {48, 64}, {100, 128}, {0x300, 0x400}, {5000, 8192},
  };
  bool ok = true;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    void* p = T_memalign(opaque(cases[i].given), opaque(100));
    if (p == NULL || !is_aligned(p, cases[i].effective)) {
      tap_diag("memalign(%zu, 100) returned %p (errno %d); want a block aligned to %zu",
               cases[i].given, p, errno, cases[i].effective);
      ok = false;
    }
    T_free(p);
  }
  /* Beyond SIZE_MAX/2+1 no power of two exists: NULL and EINVAL. */
  errno = 0;
  void* p = T_memalign(opaque(SIZE_MAX / 2 + 2), opaque(16));
  if (p != NULL || errno != EINVAL) {
    tap_diag("memalign(SIZE_MAX/2+2, 16) returned %p errno %d; want NULL, EINVAL", p, errno);
    T_free(p);
    ok = false;
  }
  return ok;
}

static bool t_valloc(void) {
  static const size_t sizes[] = {0, 1, 100, 4095, 4096, 4097, 100000, 5 * MiB};
  size_t page = os_page_size();
  bool ok = true;
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    void* p = T_valloc(opaque(sizes[i]));
    if (p == NULL || !is_aligned(p, page)) {
      tap_diag("valloc(%zu) returned %p; want a page-aligned block", sizes[i], p);
      ok = false;
    }
    if (p != NULL && !usable_writable(p, sizes[i], "valloc")) ok = false;
    T_free(p);
  }
  return ok;
}

static bool t_pvalloc(void) {
  static const size_t sizes[] = {1, 100, 4095, 4096, 4097, 8191, 100000, 5 * MiB + 1};
  size_t page = os_page_size();
  bool ok = true;
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    size_t rounded = round_up(sizes[i], page);
    void* p = T_pvalloc(opaque(sizes[i]));
    if (p == NULL || !is_aligned(p, page)) {
      tap_diag("pvalloc(%zu) returned %p; want a page-aligned block", sizes[i], p);
      ok = false;
    }
    /* the whole rounded-up size is the caller's to use */
    if (p != NULL && !usable_writable(p, rounded, "pvalloc (size rounded up to pages)")) {
      ok = false;
    }
    T_free(p);
  }
  void* z = T_pvalloc(opaque(0));
  if (z == NULL || !is_aligned(z, page)) {
    tap_diag("pvalloc(0) returned %p; want a page-aligned block", z);
    ok = false;
  }
  T_free(z);
  return ok;
}

/* ---- Usable size -------------------------------------------------------------- */

static bool t_usable_null(void) {
  size_t u = T_usable_size(NULL);
  if (u != 0) {
    tap_diag("usable size of NULL is %zu", u);
    return false;
  }
  return true;
}

/* Every size to 2 KiB and the assorted ones: usable >= requested, and every
 * usable byte holds its own value while neighbours are live and written too. */
static bool t_usable_writable(void) {
  enum { LIVE = 16 };
  bool ok = true;
  void* ring[LIVE] = {0};
  size_t ring_n[LIVE] = {0};
  size_t total = 2049 + N_ASSORTED;
  for (size_t i = 0; i < total && ok; i++) {
    size_t n = i < 2049 ? i : assorted_sizes[i - 2049];
    size_t slot = i % LIVE;
    if (ring[slot] != NULL) {
      if (!check_filled(ring[slot], T_usable_size(ring[slot]), ring_n[slot] * 31 + 1,
                        "usable bytes of a neighbour")) {
        ok = false;
      }
      T_free(ring[slot]);
    }
    void* p = T_malloc(n);
    ring[slot] = p;
    ring_n[slot] = n;
    if (p == NULL) {
      tap_diag("malloc(%zu) returned NULL", n);
      ok = false;
      continue;
    }
    size_t usable = T_usable_size(p);
    if (usable < n) {
      tap_diag("malloc(%zu): usable size %zu", n, usable);
      ok = false;
    }
    pattern_fill(p, usable, n * 31 + 1);
  }
  for (size_t s = 0; s < LIVE; s++) {
    if (ring[s] != NULL &&
        !check_filled(ring[s], T_usable_size(ring[s]), ring_n[s] * 31 + 1, "usable bytes")) {
      ok = false;
    }
    T_free(ring[s]);
  }
  return ok;
}

/* ---- errno across free --------------------------------------------------------- */

static void* free_in_thread(void* p) {
  errno = ERANGE;
  T_free(p);
  return (void*)(uintptr_t)(errno == ERANGE);
}

static bool t_free_keeps_errno(void) {
  bool ok = true;
  for (size_t i = 0; i < N_ASSORTED; i++) {
    void* p = T_malloc(assorted_sizes[i]);
    if (p == NULL) return false;
    memset(p, 1, assorted_sizes[i]);
    errno = ENOTDIR;
    T_free(p);
    if (errno != ENOTDIR) {
      tap_diag("free of a %zu-byte block changed errno to %d", assorted_sizes[i], errno);
      ok = false;
    }
  }
  /* aligned blocks, and a free from another thread (the remote-free path) */
  void* a = T_aligned_alloc(4096, 5000);
  errno = ENOTDIR;
  T_free(a);
  if (errno != ENOTDIR) {
    tap_diag("free of an aligned block changed errno to %d", errno);
    ok = false;
  }
  for (size_t i = 0; i < 3; i++) {
    size_t n = i == 0 ? 48 : i == 1 ? 50000 : 40 * MiB;
    void* p = T_malloc(n);
    pthread_t t;
    void* result = NULL;
    if (p == NULL || pthread_create(&t, NULL, free_in_thread, p) != 0) return false;
    pthread_join(t, &result);
    if (result == NULL) {
      tap_diag("free of a %zu-byte block from another thread changed errno", n);
      ok = false;
    }
  }
  return ok;
}

/* ---- Minimum alignment ---------------------------------------------------------- */

/* 16 bytes for requests of 16 or more; at least 8 (their natural alignment)
 * below. Checked over several live blocks per size (not only a page's first). */
static bool check_min_alignment(void* p, size_t n, const char* how) {
  size_t want = n >= 16 ? 16 : 8;
  if (p == NULL) {
    tap_diag("%s(%zu) returned NULL", how, n);
    return false;
  }
  if (!is_aligned(p, want)) {
    tap_diag("%s(%zu) returned %p, not %zu-byte aligned", how, n, p, want);
    return false;
  }
  return true;
}

static bool t_alignment_16(void) {
  enum { LIVE = 8 };
  bool ok = true;
  for (size_t n = 16; n <= 4200 && ok; n++) {
    void* live[LIVE];
    for (size_t i = 0; i < LIVE; i++) {
      live[i] = T_malloc(n);
      if (!check_min_alignment(live[i], n, "malloc")) ok = false;
    }
    for (size_t i = 0; i < LIVE; i++) T_free(live[i]);
  }
  for (size_t i = 0; i < N_ASSORTED; i++) {
    size_t n = assorted_sizes[i];
    if (n < 16) continue;
    void* p = T_malloc(n);
    if (!check_min_alignment(p, n, "malloc")) ok = false;
    void* c = T_calloc(n, opaque(1));
    if (!check_min_alignment(c, n, "calloc")) ok = false;
    void* r = T_realloc(p, n + 17);
    if (!check_min_alignment(r, n + 17, "realloc")) ok = false;
    T_free(r ? r : p);
    T_free(c);
  }
  return ok;
}

static bool t_alignment_small(void) {
  enum { LIVE = 64 };
  bool ok = true;
  for (size_t n = 1; n < 16; n++) {
    void* live[LIVE];
    for (size_t i = 0; i < LIVE; i++) {
      live[i] = T_malloc(n);
      if (!check_min_alignment(live[i], n, "malloc")) ok = false;
    }
    for (size_t i = 0; i < LIVE; i++) T_free(live[i]);
  }
  return ok;
}

/* ---- C23 sized frees ------------------------------------------------------------ */

static bool t_free_sized(void) {
  bool ok = true;
  for (size_t i = 0; i < N_ASSORTED; i++) {
    size_t n = assorted_sizes[i];
    void* p = T_malloc(n);
    void* q = T_malloc(n);
    if (p == NULL || q == NULL) return false;
    T_free_sized(p, n);
    T_free_sized(q, T_usable_size(q)); /* any size up to the usable size */
    void* a = T_aligned_alloc(256, n + 1);
    if (a == NULL || !is_aligned(a, 256)) {
      ok = false;
      continue;
    }
    T_free_aligned_sized(a, 256, n + 1);
  }
  T_free_sized(NULL, 10);
  T_free_aligned_sized(NULL, 64, 10);
  /* The memory is really free: allocating again works without growth. */
  size_t before = rss_bytes();
  for (int r = 0; r < 20000; r++) {
    void* p = T_malloc(4096);
    if (p == NULL) return false;
    memset(p, r, 4096);
    T_free_sized(p, 4096);
  }
  if (rss_bytes() > before + 20 * MiB) {
    tap_diag("RSS grew by %zu KiB over 20000 free_sized calls", (rss_bytes() - before) / KiB);
    ok = false;
  }
  return ok;
}

#ifndef SA_API
/* ---- Standard names only: glibc's aliases and interposition ------------------------ */

extern void* __libc_malloc(size_t);
extern void* __libc_calloc(size_t, size_t);
extern void* __libc_realloc(void*, size_t);
extern void* __libc_memalign(size_t, size_t);
extern void __libc_free(void*);

/* Programs (and glibc's own debugging hooks) call __libc_malloc and friends; the
 * blocks must be interchangeable with the standard names'. */
static bool t_libc_aliases(void) {
  bool ok = true;
  for (size_t i = 0; i < N_ASSORTED; i++) {
    size_t n = assorted_sizes[i];
    void* a = __libc_malloc(n);
    void* b = __libc_calloc(1, n);
    void* c = __libc_memalign(64, n);
    void* d = malloc(n);
    if (a == NULL || b == NULL || c == NULL || d == NULL) return false;
    if (first_nonzero(b, n) != SIZE_MAX) {
      tap_diag("__libc_calloc(1, %zu) not zero", n);
      ok = false;
    }
    if (!is_aligned(c, 64)) {
      tap_diag("__libc_memalign(64, %zu) misaligned: %p", n, c);
      ok = false;
    }
    pattern_fill(a, n, n);
    a = realloc(a, n + 100);          /* standard realloc of an alias block */
    d = __libc_realloc(d, n + 100);   /* alias realloc of a standard block */
    if (a == NULL || d == NULL || !check_filled(a, n, n, "realloc of a __libc_malloc block")) {
      ok = false;
    }
    free(a);
    free(b);
    free(c);
    __libc_free(d);
  }
  return ok;
}

static const char* const interposed_names[] = {
  "malloc", "free", "calloc", "realloc", "reallocarray", "posix_memalign", "aligned_alloc",
  "memalign", "valloc", "pvalloc", "malloc_usable_size", "free_sized", "free_aligned_sized",
  "__libc_malloc", "__libc_free", "__libc_calloc", "__libc_realloc", "__libc_memalign",
  "__libc_valloc", "__libc_pvalloc",
};

/* With a library preloaded, every entry point must resolve to it: one missing
 * name means blocks from glibc and from the library get mixed. */
static bool t_interposed(void) {
  const char* preload = getenv("LD_PRELOAD");
  char want[4096];
  if (preload == NULL || realpath(preload, want) == NULL) {
    tap_diag("LD_PRELOAD not usable: %s", preload ? preload : "(unset)");
    return false;
  }
  bool ok = true;
  for (size_t i = 0; i < sizeof interposed_names / sizeof interposed_names[0]; i++) {
    void* sym = dlsym(RTLD_DEFAULT, interposed_names[i]);
    Dl_info info;
    char got[4096];
    if (sym == NULL || dladdr(sym, &info) == 0 || info.dli_fname == NULL ||
        realpath(info.dli_fname, got) == NULL) {
      tap_diag("%s: not found", interposed_names[i]);
      ok = false;
      continue;
    }
    if (strcmp(got, want) != 0) {
      tap_diag("%s resolves to %s, not the preloaded %s", interposed_names[i], got, want);
      ok = false;
    }
  }
  return ok;
}
#endif /* !SA_API */

#ifdef SA_API
/* ---- sa_ API only ---------------------------------------------------------------- */

static bool t_sa_zalloc_family(void) {
  bool ok = true;
  for (size_t round = 0; round < 2; round++) {
    for (size_t i = 0; i < N_ASSORTED; i++) {
      size_t n = assorted_sizes[i];
      void* p[3] = {sa_zalloc(n), sa_zalloc_aligned(n, 128), sa_calloc_aligned(n, 1, 4096)};
      static const char* names[3] = {"sa_zalloc", "sa_zalloc_aligned(128)",
                                     "sa_calloc_aligned(4096)"};
      for (int k = 0; k < 3; k++) {
        if (p[k] == NULL || first_nonzero(p[k], n) != SIZE_MAX) {
          tap_diag("%s(%zu) %s (round %zu)", names[k], n, p[k] ? "not zero" : "NULL", round);
          ok = false;
        }
        if (k > 0 && p[k] && !is_aligned(p[k], k == 1 ? 128 : 4096)) {
          tap_diag("%s(%zu) misaligned: %p", names[k], n, p[k]);
          ok = false;
        }
      }
      /* dirty them, so round 2 gets reused memory */
      for (int k = 0; k < 3; k++) {
        if (p[k]) memset(p[k], 0xEE, sa_usable_size(p[k]));
        sa_free(p[k]);
      }
    }
  }
  errno = 0;
  void* c = sa_calloc_aligned(opaque(SIZE_MAX / 2 + 1), 2, 64);
  if (c != NULL || errno != ENOMEM) {
    tap_diag("sa_calloc_aligned overflow returned %p errno %d", c, errno);
    ok = false;
  }
  return ok;
}

static bool t_sa_malloc_aligned_einval(void) {
  static const size_t bad[] = {0, 3, 24, 48, 0x300, 4097};
  bool ok = true;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    errno = 0;
    void* p = sa_malloc_aligned(opaque(100), opaque(bad[i]));
    if (p != NULL || errno != EINVAL) {
      tap_diag("sa_malloc_aligned(100, %zu) returned %p errno %d; want NULL, EINVAL", bad[i], p,
               errno);
      sa_free(p);
      ok = false;
    }
  }
  return ok;
}

static bool t_sa_realloc_aligned(void) {
  bool ok = true;
  size_t n = 10;
  unsigned char* p = sa_malloc_aligned(n, 256);
  if (p == NULL) return false;
  pattern_fill(p, n, 99);
  static const size_t chain[] = {50, 300, 5000, 70000, 3 * MiB, 100, 1};
  for (size_t i = 0; i < sizeof chain / sizeof chain[0]; i++) {
    unsigned char* q = sa_realloc_aligned(p, chain[i], 256);
    if (q == NULL || !is_aligned(q, 256)) {
      tap_diag("sa_realloc_aligned(p, %zu, 256) returned %p", chain[i], (void*)q);
      sa_free(q ? q : p);
      return false;
    }
    size_t keep = n < chain[i] ? n : chain[i];
    if (!check_filled(q, keep, 99 + i, "sa_realloc_aligned kept bytes")) ok = false;
    pattern_fill(q, chain[i], 100 + i);
    p = q;
    n = chain[i];
  }
  sa_free(p);
  return ok;
}

static bool t_sa_good_size(void) {
  bool ok = true;
  for (size_t n = 0; n <= 70000 && ok; n += (n < 4096 ? 1 : 61)) {
    size_t good = sa_good_size(n);
    void* p = sa_malloc(n);
    if (p == NULL) return false;
    size_t usable = sa_usable_size(p);
    if (good < n || usable != good) {
      tap_diag("sa_good_size(%zu) = %zu but sa_usable_size(sa_malloc(%zu)) = %zu", n, good, n,
               usable);
      ok = false;
    }
    sa_free(p);
  }
  return ok;
}

/* Near SIZE_MAX no size class exists: sa_good_size must not round up past SIZE_MAX
 * and wrap around to a small number (it returns such sizes unchanged). */
static bool t_sa_good_size_no_wrap(void) {
  static const size_t bases[] = {SIZE_MAX, (size_t)PTRDIFF_MAX + 64, (size_t)PTRDIFF_MAX - (4u << 20) + 64};
  bool ok = true;
  for (size_t b = 0; b < sizeof bases / sizeof bases[0]; b++) {
    for (size_t k = 0; k <= 128; k++) {
      size_t n = opaque(bases[b] - k);
      size_t good = sa_good_size(n);
      if (good < n) {
        tap_diag("sa_good_size(%zu) = %zu: wrapped below the request", n, good);
        ok = false;
        break;
      }
    }
  }
  return ok;
}

static bool t_sa_strdup(void) {
  static const char text[] = "free-list sharding";
  char* a = sa_strdup(text);
  char* b = sa_strndup(text, 4);
  char* c = sa_strndup(text, 1000);
  bool ok = a && b && c && strcmp(a, text) == 0 && strcmp(b, "free") == 0 &&
            strcmp(c, text) == 0;
  if (!ok) tap_diag("sa_strdup/sa_strndup gave '%s' '%s' '%s'", a, b, c);
  sa_free(a);
  sa_free(b);
  sa_free(c);
  return ok;
}

static bool t_sa_heaps(void) {
  bool ok = true;
  sa_heap_t* h = sa_heap_new();
  if (h == NULL) {
    tap_diag("sa_heap_new returned NULL");
    return false;
  }
  enum { N = 2000 };
  static void* blocks[N];
  for (size_t i = 0; i < N; i++) {
    size_t n = 8 + (i * 37) % 3000;
    blocks[i] = sa_heap_malloc(h, n);
    if (blocks[i] == NULL) return false;
    pattern_fill(blocks[i], n, i);
    if (!sa_heap_contains(h, blocks[i])) {
      tap_diag("sa_heap_contains(h, block %zu) is false", i);
      ok = false;
    }
  }
  void* z = sa_heap_zalloc(h, 500);
  void* c = sa_heap_calloc(h, 10, 50);
  void* al = sa_heap_malloc_aligned(h, 100, 1024);
  if (!z || !c || !al || first_nonzero(z, 500) != SIZE_MAX || first_nonzero(c, 500) != SIZE_MAX ||
      !is_aligned(al, 1024)) {
    tap_diag("sa_heap_zalloc/calloc/malloc_aligned: %p %p %p", z, c, al);
    ok = false;
  }
  void* other = sa_malloc(100);
  if (sa_heap_contains(h, other)) {
    tap_diag("sa_heap_contains(h, block of the default heap) is true");
    ok = false;
  }
  int on_stack = 0;
  if (!sa_is_in_heap_region(blocks[0]) || sa_is_in_heap_region(&on_stack)) {
    tap_diag("sa_is_in_heap_region: heap block %d, stack %d", sa_is_in_heap_region(blocks[0]),
             sa_is_in_heap_region(&on_stack));
    ok = false;
  }
  /* delete: the blocks stay valid and are freed normally */
  sa_heap_delete(h);
  for (size_t i = 0; i < N; i++) {
    if (!check_filled(blocks[i], 8 + (i * 37) % 3000, i, "block of a deleted heap")) ok = false;
    sa_free(blocks[i]);
  }
  sa_free(z);
  sa_free(c);
  sa_free(al);
  sa_free(other);
  /* destroy: frees everything at once; a second heap as default routes sa_malloc */
  sa_heap_t* h2 = sa_heap_new();
  if (h2 == NULL) return false;
  sa_heap_t* prev = sa_heap_set_default(h2);
  void* d = sa_malloc(64);
  if (d == NULL || !sa_heap_contains(h2, d)) {
    tap_diag("sa_malloc after sa_heap_set_default did not use the new heap");
    ok = false;
  }
  if (sa_heap_get_default() != h2) ok = false;
  sa_heap_set_default(prev);
  for (int i = 0; i < 1000; i++) (void)opaque_ptr(sa_heap_malloc(h2, 100));
  sa_heap_destroy(h2);
  void* after = sa_malloc(100);
  if (after == NULL) ok = false;
  sa_free(after);
  return ok;
}

static bool t_sa_options_stats(void) {
  bool ok = true;
  long old = sa_option_get(sa_option_purge_delay);
  sa_option_set(sa_option_purge_delay, 1234);
  if (sa_option_get(sa_option_purge_delay) != 1234) {
    tap_diag("sa_option_set/get of purge_delay did not round-trip");
    ok = false;
  }
  sa_option_set(sa_option_purge_delay, old);
  const char* name = sa_option_name(sa_option_purge_delay);
  if (name == NULL || strcmp(name, "purge_delay") != 0) {
    tap_diag("sa_option_name(purge_delay) = %s", name ? name : "(null)");
    ok = false;
  }
  char small[8];
  size_t need = sa_stats_dump(small, sizeof small);
  if (memchr(small, '\0', sizeof small) == NULL || need == 0) {
    tap_diag("sa_stats_dump(buf, 8) not NUL-terminated or returned 0");
    ok = false;
  }
  char big[1 << 14];
  size_t len = sa_stats_dump(big, sizeof big);
  if (len >= sizeof big || strlen(big) != len || strchr(big, '=') == NULL) {
    tap_diag("sa_stats_dump: length %zu, text '%.80s'", len, big);
    ok = false;
  }
  return ok;
}
#endif /* SA_API */

/* ---- Driver ------------------------------------------------------------------------ */

static void run_every_alignment(const char* name, aligned_fn_t fn, size_t min_lg, size_t max_lg) {
  char title[160];
  current_aligned_name = name;
  current_aligned_fn = fn;
  current_align_min_log2 = min_lg;
  current_align_max_log2 = max_lg;
  snprintf(title, sizeof title, "%s honours every power-of-two alignment from 2^%zu to 2^%zu",
           name, min_lg, max_lg);
  tap_run(title, t_every_alignment);
}

int main(void) {
  char title[200];
  tap_diag("allocation API semantics through the %s", T_API_NAME);

  tap_run("malloc(0) returns a unique block that can be freed", t_malloc_zero);
  tap_run("free(NULL) does nothing and keeps errno", t_free_null);

  for (size_t i = 0; i < N_TOO_LARGE_ENTRIES; i++) {
    for (int range = 0; range < 2; range++) {
      current_entry = &too_large_entries[i];
      current_range = (too_large_range_t)range;
      snprintf(title, sizeof title, "%s gives NULL and ENOMEM for n = %s (%zu values of k)",
               too_large_entries[i].name, range == 0 ? "SIZE_MAX - k" : "PTRDIFF_MAX + k",
               N_TOO_LARGE);
      tap_run(title, t_too_large);
    }
  }

  tap_run("calloc(n, m) with n*m overflowing gives NULL and ENOMEM", t_calloc_overflow);
  tap_run("calloc memory is zero (fresh)", t_calloc_zero_fresh);
  tap_run("calloc memory is zero when reusing dirtied blocks", t_calloc_zero_reused);

  tap_run("realloc(NULL, n) acts as malloc(n)", t_realloc_null);
  tap_run("realloc preserves min(old, new) bytes across every size range", t_realloc_preserves);
  if (running_on_glibc()) {
    /* A design rule of ours, not a conformance rule: glibc moves mmapped blocks. */
    tap_skip("realloc within the usable size keeps the block in place",
             "glibc's mremap may move mmapped blocks");
  } else {
    tap_run("realloc within the usable size keeps the block in place", t_realloc_in_place);
  }
  tap_run("realloc shrinking a block to a quarter or less releases the rest (usable size, "
          "contents kept)", t_realloc_shrink_releases);
  tap_run("a failed realloc gives NULL and ENOMEM and keeps the block intact",
          t_realloc_failure_keeps_block);
  tap_run("realloc(p, 0) frees p and returns NULL (glibc's behaviour, our documented choice)",
          t_realloc_zero);

  tap_run("reallocarray allocates and grows n*m bytes", t_reallocarray);
  tap_run("reallocarray with n*m overflowing gives NULL and ENOMEM and keeps the block",
          t_reallocarray_overflow);

  tap_run("posix_memalign gives EINVAL for alignment 0/1/2/3/sizeof(void*)/2/24/0x300/... with "
          "*p untouched", t_posix_memalign_einval);
  tap_run("posix_memalign with size 0 succeeds", t_posix_memalign_basic);

  tap_run("aligned_alloc accepts alignment 1", t_aligned_alloc_one);
  static const struct { size_t alignment; const char* text; bool before_glibc_2_38; } bad[] = {
    {0, "0", true}, {65, "65", true}, {SIZE_MAX / 2 + 1, "SIZE_MAX/2+1", false},
  };
  for (size_t i = 0; i < 3; i++) {
    snprintf(title, sizeof title, "aligned_alloc rejects alignment %s", bad[i].text);
    if (bad[i].before_glibc_2_38 && running_on_glibc_older_than(2, 38)) {
      tap_skip(title, "this glibc predates the rule (glibc 2.38 added it)");
      continue;
    }
    bad_alignment_arg = bad[i].alignment;
    tap_run(title, t_aligned_alloc_bad);
  }

  run_every_alignment("aligned_alloc", al_aligned_alloc, 0, 24);
  run_every_alignment("memalign", al_memalign, 0, 24);
  run_every_alignment("posix_memalign", al_posix_memalign, 3, 24);
  run_every_alignment("aligned_alloc (beyond the minimum)", al_aligned_alloc, 25, 27);
#ifdef SA_API
  run_every_alignment("sa_malloc_aligned", al_sa_malloc_aligned, 0, 24);
  run_every_alignment("sa_zalloc_aligned", al_sa_zalloc_aligned, 0, 20);
#endif

  tap_run("memalign rounds a non-power-of-two alignment up (glibc) and rejects > SIZE_MAX/2+1",
          t_memalign_glibc_rounding);
  tap_run("valloc returns page-aligned blocks", t_valloc);
  tap_run("pvalloc returns page-aligned blocks with the size rounded up to pages", t_pvalloc);

  tap_run("malloc_usable_size(NULL) is 0", t_usable_null);
  tap_run("usable size >= requested and every usable byte is writable", t_usable_writable);
  tap_run("free keeps errno (every size range, aligned, from another thread)",
          t_free_keeps_errno);
  tap_run("blocks of 16 bytes or more are 16-byte aligned (malloc, calloc, realloc)",
          t_alignment_16);
  tap_run("blocks under 16 bytes are at least 8-byte aligned", t_alignment_small);

  if (T_HAVE_FREE_SIZED) {
    tap_run("free_sized and free_aligned_sized free blocks", t_free_sized);
  } else {
    tap_skip("free_sized and free_aligned_sized free blocks", "not provided by this C library");
  }

#ifndef SA_API
  tap_run("__libc_malloc/calloc/realloc/memalign/free interoperate with the standard names",
          t_libc_aliases);
  if (getenv("LD_PRELOAD") != NULL && getenv("LD_PRELOAD")[0] != '\0') {
    tap_run("every allocation entry point resolves to the preloaded library", t_interposed);
  } else {
    tap_skip("every allocation entry point resolves to the preloaded library", "not preloaded");
  }
#else
  tap_run("sa_zalloc, sa_zalloc_aligned, sa_calloc_aligned give zeroed memory (also reused)",
          t_sa_zalloc_family);
  tap_run("sa_malloc_aligned gives NULL and EINVAL for a non-power-of-two alignment",
          t_sa_malloc_aligned_einval);
  tap_run("sa_realloc_aligned keeps the alignment and the contents", t_sa_realloc_aligned);
  tap_run("sa_good_size(n) is the usable size of sa_malloc(n)", t_sa_good_size);
  tap_run("sa_good_size(n) >= n up to SIZE_MAX (never wraps to a small size)", t_sa_good_size_no_wrap);
  tap_run("sa_strdup and sa_strndup copy", t_sa_strdup);
  tap_run("first-class heaps: new, malloc, contains, delete keeps blocks, set_default, destroy",
          t_sa_heaps);
  tap_run("options round-trip and sa_stats_dump writes key=value text", t_sa_options_stats);
#endif

  return tap_exit_status();
}
