/* heaps.c: first-class heaps.
 *
 * sa_heap_new and the sa_heap_ allocation calls; sa_heap_contains; sa_heap_delete
 * (live blocks stay valid, move to the thread's default heap, and can be freed later,
 * also from another thread); sa_heap_destroy (frees everything at once: the memory
 * the process holds drops, huge blocks included, while other heaps' blocks stay
 * intact); sa_heap_set_default (routes sa_malloc).
 * Usage: heaps    (TAP; sa_ API build)
 */
#include "ostest.h"

/* Sizes of every kind: small, medium, large, huge. */
static const size_t kinds[] = {1, 8, 16, 100, 1000, 1024, 5000, 8192, 9000, 40000, 65536, 100000, 1 << 20,
                               (2 << 20) - 100, (size_t)5 << 20, (size_t)10 << 20};
#define N_KINDS (sizeof kinds / sizeof kinds[0])

static bool check_block(const void* p, size_t size, uint64_t seed, const char* what) {
  size_t bad = pattern_check(p, size, seed);
  if (bad != SIZE_MAX) {
    tap_diag("%s: block %p of %zu bytes differs at offset %zu", what, p, size, bad);
    return false;
  }
  return true;
}

static bool check_new_and_malloc(void) {
  sa_heap_t* def = sa_heap_get_default();
  sa_heap_t* h = sa_heap_new();
  sa_heap_t* h2 = sa_heap_new();
  if (def == NULL || h == NULL || h2 == NULL || h == def || h2 == def || h == h2) {
    tap_diag("heaps: default %p, new %p and %p", (void*)def, (void*)h, (void*)h2);
    return false;
  }
  bool ok = true;
  void* ours[N_KINDS];
  void* theirs[N_KINDS];
  for (size_t i = 0; i < N_KINDS; i++) {
    ours[i] = sa_heap_malloc(h, kinds[i]);
    theirs[i] = sa_malloc(kinds[i]);
    if (ours[i] == NULL || theirs[i] == NULL) {
      tap_diag("size %zu: sa_heap_malloc %p, sa_malloc %p", kinds[i], ours[i], theirs[i]);
      return false;
    }
    if (sa_usable_size(ours[i]) < kinds[i]) {
      tap_diag("size %zu: usable %zu", kinds[i], sa_usable_size(ours[i]));
      ok = false;
    }
    pattern_fill(ours[i], kinds[i], 100 + i);
    pattern_fill(theirs[i], kinds[i], 200 + i);
  }
  for (size_t i = 0; i < N_KINDS; i++) {
    ok &= check_block(ours[i], kinds[i], 100 + i, "heap block");
    ok &= check_block(theirs[i], kinds[i], 200 + i, "default block");
    if (!sa_heap_contains(h, ours[i]) || sa_heap_contains(h2, ours[i]) || sa_heap_contains(def, ours[i])) {
      tap_diag("size %zu: block of h: contains(h)=%d contains(h2)=%d contains(default)=%d", kinds[i],
               sa_heap_contains(h, ours[i]), sa_heap_contains(h2, ours[i]), sa_heap_contains(def, ours[i]));
      ok = false;
    }
    if (!sa_heap_contains(def, theirs[i]) || sa_heap_contains(h, theirs[i])) {
      tap_diag("size %zu: default block: contains(default)=%d contains(h)=%d", kinds[i], sa_heap_contains(def, theirs[i]),
               sa_heap_contains(h, theirs[i]));
      ok = false;
    }
    if (!sa_is_in_heap_region(ours[i])) {
      tap_diag("size %zu: sa_is_in_heap_region false for a heap block", kinds[i]);
      ok = false;
    }
  }
  static char not_ours[64];
  if (sa_heap_contains(h, not_ours) || sa_heap_contains(h, NULL)) {
    tap_diag("sa_heap_contains is true for memory that is not the heap's");
    ok = false;
  }
  for (size_t i = 0; i < N_KINDS; i++) {
    sa_free(ours[i]);
    sa_free(theirs[i]);
  }
  sa_heap_delete(h);
  sa_heap_delete(h2);
  return ok;
}

static bool check_zalloc_calloc(void) {
  sa_heap_t* h = sa_heap_new();
  if (h == NULL) return false;
  bool ok = true;
  for (int round = 0; round < 3; round++) {
    for (size_t i = 0; i < N_KINDS; i++) {
      /* Dirty memory first, so that zeroing is needed. */
      char* dirty = sa_heap_malloc(h, kinds[i]);
      if (dirty == NULL) return false;
      memset(dirty, 0xFF, kinds[i]);
      sa_free(dirty);
      char* z = sa_heap_zalloc(h, kinds[i]);
      char* c = sa_heap_calloc(h, kinds[i], 1);
      char* c2 = sa_heap_calloc(h, 3, kinds[i]);
      if (z == NULL || c == NULL || c2 == NULL) return false;
      if (first_nonzero(z, kinds[i]) != SIZE_MAX || first_nonzero(c, kinds[i]) != SIZE_MAX ||
          first_nonzero(c2, 3 * kinds[i]) != SIZE_MAX) {
        tap_diag("size %zu: zalloc/calloc memory not zero", kinds[i]);
        ok = false;
      }
      if (!sa_heap_contains(h, z) || !sa_heap_contains(h, c) || !sa_heap_contains(h, c2)) {
        tap_diag("size %zu: zalloc/calloc block not in the heap", kinds[i]);
        ok = false;
      }
      memset(z, 0xEE, kinds[i]);
      memset(c, 0xEE, kinds[i]);
      sa_free(z);
      sa_free(c);
      sa_free(c2);
    }
  }
  errno = 0;
  void* over = sa_heap_calloc(h, opaque(SIZE_MAX / 2), 3);
  if (over != NULL || errno != ENOMEM) {
    tap_diag("sa_heap_calloc overflow: %p errno %d", over, errno);
    ok = false;
  }
  sa_heap_delete(h);
  return ok;
}

static bool check_realloc(void) {
  sa_heap_t* h = sa_heap_new();
  if (h == NULL) return false;
  bool ok = true;
  char* p = sa_heap_realloc(h, NULL, 10);
  if (p == NULL || !sa_heap_contains(h, p)) {
    tap_diag("sa_heap_realloc(h, NULL, 10): %p, in heap %d", (void*)p, p ? sa_heap_contains(h, p) : 0);
    return false;
  }
  size_t size = 10;
  pattern_fill(p, size, 77);
  static const size_t steps[] = {100, 3000, 20000, 70000, 1 << 20, (size_t)3 << 20, (size_t)12 << 20, 50000, 500, 24};
  for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
    size_t next = steps[i];
    char* q = sa_heap_realloc(h, p, next);
    if (q == NULL) {
      tap_diag("sa_heap_realloc to %zu failed", next);
      return false;
    }
    size_t keep = size < next ? size : next;
    ok &= check_block(q, keep, 77, "realloc'd block");
    if (!sa_heap_contains(h, q)) {
      tap_diag("after realloc to %zu the block is not in the heap", next);
      ok = false;
    }
    pattern_fill(q, next, 77);
    p = q;
    size = next;
  }
  if (sa_heap_realloc(h, p, 0) != NULL) {
    tap_diag("sa_heap_realloc(h, p, 0) did not return NULL");
    ok = false;
  }
  sa_heap_delete(h);
  return ok;
}

static bool check_aligned(void) {
  sa_heap_t* h = sa_heap_new();
  if (h == NULL) return false;
  bool ok = true;
  static const size_t sizes[] = {1, 100, 5000, 40000, 1 << 20, (size_t)6 << 20};
  for (size_t a = 8; a <= ((size_t)1 << 23); a <<= 1) {
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
      char* p = sa_heap_malloc_aligned(h, sizes[i], a);
      if (p == NULL || !is_aligned(p, a) || !sa_heap_contains(h, p) || sa_usable_size(p) < sizes[i]) {
        tap_diag("sa_heap_malloc_aligned(h, %zu, %zu) = %p (in heap %d)", sizes[i], a, (void*)p,
                 p ? sa_heap_contains(h, p) : 0);
        ok = false;
        sa_free(p);
        continue;
      }
      memset(p, 0x42, sizes[i]);
      sa_free(p);
    }
  }
  sa_heap_delete(h);
  return ok;
}

/* ---- delete: blocks live on -------------------------------------------------------- */

#define LIVE 3000

typedef struct live_s {
  char* p[LIVE];
  size_t size[LIVE];
} live_t;

static live_t live;

static size_t live_size(uint64_t* rng, int i) {
  if (i % 500 == 0) return (size_t)6 << 20;              /* huge */
  if (i % 250 == 0) return (size_t)1 << 20;              /* large */
  if (i % 10 == 0) return rng_range(rng, 8193, 65536);   /* medium */
  return rng_range(rng, 1, 8192);                        /* small */
}

static void* free_odd(void* arg) {
  (void)arg;
  for (int i = 1; i < LIVE; i += 2) sa_free(live.p[i]);
  return NULL;
}

static bool check_delete(void) {
  sa_heap_t* def = sa_heap_get_default();
  sa_heap_t* h = sa_heap_new();
  if (h == NULL) return false;
  uint64_t rng = 5;
  for (int i = 0; i < LIVE; i++) {
    live.size[i] = live_size(&rng, i);
    live.p[i] = sa_heap_malloc(h, live.size[i]);
    if (live.p[i] == NULL) return false;
    pattern_fill(live.p[i], live.size[i], 1000 + (uint64_t)i);
  }
  /* Some blocks freed before the delete, from both threads. */
  for (int i = 0; i < LIVE; i += 7) {
    sa_free(live.p[i]);
    live.p[i] = NULL;
  }
  sa_heap_delete(h);
  bool ok = true;
  int moved = 0, not_moved = 0;
  for (int i = 0; i < LIVE; i++) {
    if (live.p[i] == NULL) continue;
    if (!check_block(live.p[i], live.size[i], 1000 + (uint64_t)i, "block after sa_heap_delete")) ok = false;
    if (live.size[i] <= ((size_t)2 << 20)) {
      if (sa_heap_contains(def, live.p[i])) moved++;
      else not_moved++;
    }
  }
  if (not_moved != 0) {
    tap_diag("after sa_heap_delete %d of %d live blocks are not in the default heap", not_moved, moved + not_moved);
    ok = false;
  }
  /* New allocations from the default heap do not overlap the moved blocks. */
  static char* fresh[LIVE];
  for (int i = 0; i < LIVE; i++) {
    fresh[i] = sa_malloc(live.size[i] < 100000 ? live.size[i] : 100);
    if (fresh[i] == NULL) return false;
    memset(fresh[i], 0xA5, live.size[i] < 100000 ? live.size[i] : 100);
  }
  for (int i = 0; i < LIVE; i++) {
    if (live.p[i] != NULL && !check_block(live.p[i], live.size[i], 1000 + (uint64_t)i, "moved block after new allocations"))
      ok = false;
  }
  /* Free the moved blocks: the odd ones from another thread, the even ones here. */
  pthread_t t;
  if (pthread_create(&t, NULL, free_odd, NULL) != 0) return false;
  pthread_join(t, NULL);
  for (int i = 0; i < LIVE; i += 2) sa_free(live.p[i]);
  for (int i = 0; i < LIVE; i++) sa_free(fresh[i]);
  sa_collect(true);
  /* Everything is reusable. */
  for (int i = 0; i < LIVE; i++) {
    live.p[i] = sa_malloc(live.size[i]);
    if (live.p[i] == NULL) return false;
    memset(live.p[i], 1, live.size[i] < 4096 ? live.size[i] : 4096);
  }
  for (int i = 0; i < LIVE; i++) sa_free(live.p[i]);
  return ok;
}

/* ---- destroy: everything at once ---------------------------------------------------- */

static bool check_destroy(void) {
  sa_collect(true);
  long long base = ot_resident_bytes();
  /* Blocks of the default heap and of another heap that must survive. */
  sa_heap_t* other = sa_heap_new();
  static char* keep[200];
  static char* keep_other[200];
  for (int i = 0; i < 200; i++) {
    keep[i] = sa_malloc(64 + (size_t)i * 37);
    keep_other[i] = sa_heap_malloc(other, 64 + (size_t)i * 41);
    if (keep[i] == NULL || keep_other[i] == NULL) return false;
    pattern_fill(keep[i], 64 + (size_t)i * 37, 5000 + (uint64_t)i);
    pattern_fill(keep_other[i], 64 + (size_t)i * 41, 6000 + (uint64_t)i);
  }
  sa_heap_t* h = sa_heap_new();
  if (h == NULL || other == NULL) return false;
  uint64_t rng = 9;
  size_t total = 0;
  int blocks = 0;
  while (total < ((size_t)100 << 20)) {
    size_t size = rng_one_in(&rng, 50) ? rng_range(&rng, 8193, 65536) : rng_range(&rng, 1, 4000);
    char* p = sa_heap_malloc(h, size);
    if (p == NULL) return false;
    memset(p, 0x77, size);
    total += size;
    blocks++;
  }
  for (int i = 0; i < 3; i++) {
    char* p = sa_heap_malloc(h, (size_t)20 << 20);
    if (p == NULL) return false;
    memset(p, 0x78, (size_t)20 << 20);
    total += (size_t)20 << 20;
  }
  char* big = sa_heap_malloc(h, (size_t)2 << 20);
  if (big == NULL) return false;
  memset(big, 0x79, (size_t)2 << 20);
  long long peak = ot_resident_bytes();
  sa_heap_destroy(h);
  long long after = ot_resident_bytes();
  tap_diag("resident: %.1f MiB at start, %.1f MiB with %d blocks + 3 x 20 MiB in the heap, %.1f MiB right after "
           "sa_heap_destroy",
           ot_mib(base), ot_mib(peak), blocks, ot_mib(after));
  bool ok = true;
  if (after - base > (peak - base) / 10) {
    tap_diag("sa_heap_destroy left %.1f%% of the heap's memory resident (limit 10%%)",
             100.0 * (double)(after - base) / (double)(peak - base));
    ok = false;
  }
  for (int i = 0; i < 200; i++) {
    ok &= check_block(keep[i], 64 + (size_t)i * 37, 5000 + (uint64_t)i, "default-heap block after destroy");
    ok &= check_block(keep_other[i], 64 + (size_t)i * 41, 6000 + (uint64_t)i, "other heap's block after destroy");
  }
  /* Both heaps keep working. */
  for (int i = 0; i < 1000; i++) {
    char* p = sa_malloc(100 + (size_t)i);
    char* q = sa_heap_malloc(other, 100 + (size_t)i);
    if (p == NULL || q == NULL) return false;
    memset(p, 1, 100 + (size_t)i);
    memset(q, 2, 100 + (size_t)i);
    sa_free(p);
    sa_free(q);
  }
  for (int i = 0; i < 200; i++) {
    sa_free(keep[i]);
    sa_free(keep_other[i]);
  }
  sa_heap_destroy(other);
  return ok;
}

/* Many heaps made and destroyed: their memory does not pile up. */
static bool check_destroy_many(void) {
  char dump[8192];
  sa_collect(true);
  sa_stats_dump(dump, sizeof dump);
  long long reserved0 = ot_stat(dump, "os.reserved.current", -1);
  long long base = ot_resident_bytes();
  for (int round = 0; round < 300; round++) {
    sa_heap_t* h = sa_heap_new();
    if (h == NULL) return false;
    for (int i = 0; i < 300; i++) {
      char* p = sa_heap_malloc(h, 16 + (size_t)(i * 97) % 20000);
      if (p == NULL) return false;
      p[0] = 1;
    }
    char* huge = sa_heap_malloc(h, (size_t)5 << 20);
    if (huge == NULL) return false;
    memset(huge, 3, 1 << 20);
    sa_heap_destroy(h);
  }
  sa_collect(true);
  sa_stats_dump(dump, sizeof dump);
  long long reserved1 = ot_stat(dump, "os.reserved.current", -1);
  long long after = ot_resident_bytes();
  tap_diag("300 heaps made, filled and destroyed: reserved %.1f -> %.1f MiB, resident %.1f -> %.1f MiB",
           ot_mib(reserved0), ot_mib(reserved1), ot_mib(base), ot_mib(after));
  return reserved1 - reserved0 <= (1 << 20) && after - base <= (4 << 20);
}

/* ---- the default heap --------------------------------------------------------------- */

static bool check_set_default(void) {
  sa_heap_t* own = sa_heap_get_default();
  sa_heap_t* h = sa_heap_new();
  if (h == NULL || own == NULL) return false;
  bool ok = true;
  sa_heap_t* previous = sa_heap_set_default(h);
  if (previous != own || sa_heap_get_default() != h) {
    tap_diag("set_default returned %p (own %p); get_default now %p (h %p)", (void*)previous, (void*)own,
             (void*)sa_heap_get_default(), (void*)h);
    ok = false;
  }
  static const size_t sizes[] = {10, 500, 5000, 50000, 1 << 20, (size_t)8 << 20};
  void* routed[6];
  for (size_t i = 0; i < 6; i++) {
    routed[i] = sa_malloc(sizes[i]);
    void* z = sa_zalloc(sizes[i]);
    void* c = sa_calloc(1, sizes[i]);
    void* a = sa_malloc_aligned(sizes[i], 4096);
    if (routed[i] == NULL || !sa_heap_contains(h, routed[i]) || !sa_heap_contains(h, z) || !sa_heap_contains(h, c) ||
        !sa_heap_contains(h, a) || sa_heap_contains(own, routed[i])) {
      tap_diag("size %zu with h as the default: malloc/zalloc/calloc/aligned in h: %d %d %d %d", sizes[i],
               routed[i] ? sa_heap_contains(h, routed[i]) : 0, z ? sa_heap_contains(h, z) : 0,
               c ? sa_heap_contains(h, c) : 0, a ? sa_heap_contains(h, a) : 0);
      ok = false;
    }
    sa_free(z);
    sa_free(c);
    sa_free(a);
  }
  if (sa_heap_set_default(own) != h) {
    tap_diag("set_default(own) did not return h");
    ok = false;
  }
  void* back = sa_malloc(100);
  if (!sa_heap_contains(own, back)) {
    tap_diag("after restoring the default heap, sa_malloc does not use it");
    ok = false;
  }
  sa_free(back);
  for (size_t i = 0; i < 6; i++) sa_free(routed[i]);
  /* Deleting the heap that is the default falls back to the thread's own heap. */
  sa_heap_set_default(h);
  void* survivor = sa_malloc(300);
  memset(survivor, 0x31, 300);
  sa_heap_delete(h);
  void* after = sa_malloc(300);
  if (after == NULL || !sa_heap_contains(own, after) || sa_heap_get_default() != own) {
    tap_diag("after deleting the default heap: sa_malloc gives %p (in own heap %d), default %p (own %p)", after,
             after ? sa_heap_contains(own, after) : 0, (void*)sa_heap_get_default(), (void*)own);
    ok = false;
  }
  if (((unsigned char*)survivor)[299] != 0x31) ok = false;
  sa_free(after);
  sa_free(survivor);
  return ok;
}

/* A heap's blocks freed by other threads while it lives: it reuses them, and can
 * still be destroyed. */
static char* shared_blocks[20000];

static void* free_shared(void* arg) {
  (void)arg;
  for (int i = 0; i < 20000; i += 2) sa_free(shared_blocks[i]);
  return NULL;
}

static bool check_remote_frees(void) {
  sa_heap_t* h = sa_heap_new();
  if (h == NULL) return false;
  for (int i = 0; i < 20000; i++) {
    shared_blocks[i] = sa_heap_malloc(h, 200);
    if (shared_blocks[i] == NULL) return false;
    pattern_fill(shared_blocks[i], 200, (uint64_t)i);
  }
  pthread_t t;
  if (pthread_create(&t, NULL, free_shared, NULL) != 0) return false;
  pthread_join(t, NULL);
  bool ok = true;
  for (int i = 1; i < 20000; i += 2) ok &= check_block(shared_blocks[i], 200, (uint64_t)i, "block kept");
  for (int i = 0; i < 20000; i += 2) {
    shared_blocks[i] = sa_heap_malloc(h, 200);
    if (shared_blocks[i] == NULL || !sa_heap_contains(h, shared_blocks[i])) return false;
    memset(shared_blocks[i], 0, 200);
  }
  for (int i = 1; i < 20000; i += 2) ok &= check_block(shared_blocks[i], 200, (uint64_t)i, "block kept after reuse");
  /* Half freed remotely again, then the whole heap destroyed. */
  if (pthread_create(&t, NULL, free_shared, NULL) != 0) return false;
  pthread_join(t, NULL);
  sa_heap_destroy(h);
  void* p = sa_malloc(200);
  sa_free(p);
  return ok && p != NULL;
}

/* A heap made and destroyed in a thread that then ends, while the main thread runs. */
static void* thread_with_heap(void* arg) {
  (void)arg;
  sa_heap_t* h = sa_heap_new();
  if (h == NULL) return NULL;
  for (int i = 0; i < 5000; i++) {
    char* p = sa_heap_malloc(h, 16 + (size_t)i % 3000);
    if (p == NULL) return NULL;
    p[0] = 1;
  }
  sa_heap_t* g = sa_heap_new(); /* deleted implicitly: the thread ends with it */
  char* q = sa_heap_malloc(g, 1000);
  sa_heap_destroy(h);
  return q;
}

static bool check_thread_heaps(void) {
  for (int i = 0; i < 20; i++) {
    pthread_t t;
    void* q = NULL;
    if (pthread_create(&t, NULL, thread_with_heap, NULL) != 0) return false;
    pthread_join(t, &q);
    if (q == NULL) return false;
    memset(q, 2, 1000); /* the block of the ended thread's heap lives on */
    sa_free(q);
  }
  return true;
}

int main(void) {
  tap_run("heaps: sa_heap_new; sa_heap_malloc of every kind; sa_heap_contains tells the heaps apart", check_new_and_malloc);
  tap_run("heaps: sa_heap_zalloc and sa_heap_calloc give zeroed memory of the heap; calloc overflow is ENOMEM",
          check_zalloc_calloc);
  tap_run("heaps: sa_heap_realloc keeps the contents and the heap, through every kind", check_realloc);
  tap_run("heaps: sa_heap_malloc_aligned up to 2^23 is aligned and in the heap", check_aligned);
  tap_run("heaps: sa_heap_delete keeps the live blocks intact in the default heap; freeable here and from another thread",
          check_delete);
  tap_run("heaps: sa_heap_destroy frees ~160 MiB (huge blocks too) at once; other heaps' blocks stay intact", check_destroy);
  tap_run("heaps: 300 heaps made, filled and destroyed leave no memory behind", check_destroy_many);
  tap_run("heaps: sa_heap_set_default routes sa_malloc and friends; deleting the default heap falls back", check_set_default);
  tap_run("heaps: blocks of a live heap freed from another thread are reused; destroy after remote frees", check_remote_frees);
  tap_run("heaps: heaps of threads that end", check_thread_heaps);
  return tap_exit_status();
}
