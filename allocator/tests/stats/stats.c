/* stats.c: the statistics against known allocation sequences.
 *
 * Counters are kept per thread and merged when a thread ends, and sa_stats_dump
 * reports the exited threads' totals plus the calling thread's own. So each
 * sequence runs in a fresh thread and compares the dump before and after: the
 * differences are exactly what the sequence did.
 *
 * Usage: stats [LIBSHARDALLOC.so]    (TAP; the library path, when given, is
 *        preloaded into /bin/true for the SHARDALLOC_SHOW_STATS check)
 *        stats show-stats-child      (internal: allocates and exits)
 * Built against libshardalloc.a (-DSA_API).
 */
#include "ostest.h"

#include <sys/resource.h>

#define DUMP_SIZE 16384

typedef struct dump_s {
  char text[DUMP_SIZE];
} dump_t;

static void take(dump_t* d) { sa_stats_dump(d->text, sizeof d->text); }

static long long val(const dump_t* d, const char* key) { return ot_stat(d->text, key, LLONG_MIN); }

static long long delta(const dump_t* after, const dump_t* before, const char* key) {
  long long a = ot_stat(after->text, key, 0), b = ot_stat(before->text, key, 0);
  return a - b;
}

/* Reports `what` when lo <= value <= hi does not hold. */
static bool in_range(const char* what, long long value, long long lo, long long hi) {
  if (value >= lo && value <= hi) return true;
  if (lo == hi) tap_diag("%s = %lld, expected %lld", what, value, lo);
  else tap_diag("%s = %lld, expected %lld..%lld", what, value, lo, hi);
  return false;
}

/* The per-class counters of pages made (bin.<block size>.pages.total) that moved
 * between two dumps: the sum of their changes, and how many moved. (Computing the key from a
 * request size would need the allocator's class of it, which the debug build, with
 * its trailer word per block, does not report.) */
static long long bins_delta(const dump_t* after, const dump_t* before, int* moved) {
  long long sum = 0;
  *moved = 0;
  for (const char* at = strstr(after->text, "bin."); at != NULL; at = strstr(at + 1, " bin.")) {
    if (*at == ' ') at++;
    const char* eq = strchr(at, '=');
    if (eq == NULL || eq - at > 60) break;
    char key[64];
    memcpy(key, at, (size_t)(eq - at));
    key[eq - at] = 0;
    static const char suffix[] = ".pages.total";
    size_t klen = strlen(key);
    if (klen < sizeof suffix || strcmp(key + klen - (sizeof suffix - 1), suffix) != 0) continue;
    long long d = ot_stat(after->text, key, 0) - ot_stat(before->text, key, 0);
    if (d != 0) {
      sum += d;
      (*moved)++;
    }
  }
  return sum;
}

/* The block size of a class as laid out: the distance between two blocks that
 * follow each other in a fresh page (the first blocks of a fresh page are handed out
 * in address order). */
static size_t block_stride(void* const* blocks, int n) {
  size_t best = SIZE_MAX;
  for (int i = 1; i < n; i++) {
    uintptr_t a = (uintptr_t)blocks[i - 1], b = (uintptr_t)blocks[i];
    if (b > a && b - a < best) best = b - a;
  }
  return best;
}

/* Runs fn in a new thread (a fresh heap with its own counters) and returns its verdict. */
static void* thread_trampoline(void* arg) {
  bool (*fn)(void) = (bool (*)(void))arg;
  return fn() ? (void*)1 : NULL;
}

static bool in_thread(bool (*fn)(void)) {
  pthread_t t;
  if (pthread_create(&t, NULL, thread_trampoline, (void*)fn) != 0) {
    tap_diag("pthread_create failed");
    return false;
  }
  void* result = NULL;
  pthread_join(t, &result);
  return result != NULL;
}

/* ---- the dump's form ------------------------------------------------------------ */

/* Keys every dump has: the counters of stats.c's table. */
static const char* const base_keys[] = {
  "segments.current", "segments.peak", "segments.total", "segments.abandoned", "segments.reclaimed",
  "pages.current", "pages.peak", "pages.total", "huge.bytes.current", "huge.bytes.total",
  "threads.total", "malloc.slow", "page.extend", "os.mmap", "os.munmap", "os.madvise", "os.mremap",
  "os.reserved.current", "os.reserved.peak", "os.purged.total", "elapsed.ms", "user.ms", "sys.ms",
  "faults.minor", "faults.major", "rss.peak.kib",
};
#define N_BASE_KEYS (sizeof base_keys / sizeof base_keys[0])

static bool check_form(void) {
  static dump_t d;
  void* p = sa_malloc(100);
  size_t n = sa_stats_dump(d.text, sizeof d.text);
  size_t len = strlen(d.text);
  bool ok = true;
  if (n < len || n > len + 1) {
    tap_diag("sa_stats_dump returned %zu for a text of %zu characters", n, len);
    ok = false;
  }
  if (strchr(d.text, '\n') != NULL || len == 0 || d.text[len - 1] == ' ' || d.text[0] == ' ') {
    tap_diag("not one trimmed line: \"%.200s\"", d.text);
    ok = false;
  }
  /* Every token is key=integer, every key once. */
  int tokens = 0;
  for (const char* at = d.text; *at;) {
    const char* end = strchr(at, ' ');
    size_t tlen = end ? (size_t)(end - at) : strlen(at);
    const char* eq = memchr(at, '=', tlen);
    bool good = eq != NULL && eq > at && eq + 1 < at + tlen;
    for (const char* c = eq ? eq + 1 : at; good && c < at + tlen; c++) {
      if (!((*c >= '0' && *c <= '9') || (*c == '-' && c == eq + 1))) good = false;
    }
    if (!good) {
      tap_diag("malformed token \"%.*s\"", (int)tlen, at);
      ok = false;
    } else {
      char key[96];
      snprintf(key, sizeof key, " %.*s=", (int)(eq - at), at);
      char padded[DUMP_SIZE + 2];
      snprintf(padded, sizeof padded, " %s", d.text);
      char* first = strstr(padded, key);
      if (first != NULL && strstr(first + 1, key) != NULL) {
        tap_diag("key %s appears twice", key);
        ok = false;
      }
    }
    tokens++;
    at = end ? end + 1 : at + tlen;
  }
  for (size_t i = 0; i < N_BASE_KEYS; i++) {
    if (!ot_has_stat(d.text, base_keys[i])) {
      tap_diag("key %s missing", base_keys[i]);
      ok = false;
    }
  }
  if (strstr(d.text, " bin.") == NULL) {
    tap_diag("no bin.<size>.pages.* after allocating 100 bytes");
    ok = false;
  }
  sa_free(p);
  return ok && tokens >= (int)N_BASE_KEYS;
}

static bool check_truncation(void) {
  static dump_t full;
  char small[24];
  memset(small, 'x', sizeof small);
  size_t need_null = sa_stats_dump(NULL, 0);
  size_t need = sa_stats_dump(full.text, sizeof full.text);
  size_t got = sa_stats_dump(small, 16);
  bool ok = true;
  if (small[15] != 0 || strlen(small) > 15 || small[16] != 'x') {
    tap_diag("a 16-byte buffer: not NUL-terminated within its size (or written past it)");
    ok = false;
  }
  if (strncmp(small, full.text, 10) != 0) {
    tap_diag("the truncated text \"%s\" is not the start of \"%.40s\"", small, full.text);
    ok = false;
  }
  /* The lengths may differ by a few digits (elapsed time moves on). */
  if (got + 8 < need || got > need + 8 || need_null + 8 < need || need_null > need + 8 || got <= 16) {
    tap_diag("needed lengths: %zu (NULL, 0), %zu (full buffer), %zu (16 bytes)", need_null, need, got);
    ok = false;
  }
  return ok;
}

/* The counters issue 5 asks for: per size class (current, peak, total), reserved and
 * committed bytes, purged bytes, segments (current, peak, abandoned, reclaimed),
 * pages (current, peak), OS calls, threads, times, faults, peak RSS. */
static bool check_issue_counters(void) {
  static dump_t d;
  void* p = sa_malloc(1000);
  take(&d);
  sa_free(p);
  bool ok = true;
  static const char* const concepts[][2] = {
    {"os.reserved", "reserved bytes"}, {"commit", "committed bytes"}, {"purged", "purged bytes"},
    {"segments.current", "segments current"}, {"segments.peak", "segments peak"},
    {"segments.abandoned", "segments abandoned"}, {"segments.reclaimed", "segments reclaimed"},
    {"pages.current", "pages current"}, {"pages.peak", "pages peak"}, {"mmap", "mmap calls"},
    {"munmap", "munmap calls"}, {"madvise", "madvise calls"}, {"threads", "threads"},
    {"elapsed", "elapsed time"}, {"user", "user time"}, {"sys", "system time"}, {"faults", "page faults"},
    {"rss.peak", "peak RSS"},
  };
  for (size_t i = 0; i < sizeof concepts / sizeof concepts[0]; i++) {
    if (strstr(d.text, concepts[i][0]) == NULL) {
      tap_diag("no counter of %s (no key containing \"%s\")", concepts[i][1], concepts[i][0]);
      ok = false;
    }
  }
  /* Per size class: some class (the one of 1000 bytes) has a current, a peak and a total. */
  const char* prefix = "bin.";
  static const char* const parts[] = {"current", "peak", "total"};
  for (size_t i = 0; i < 3; i++) {
    bool found = false;
    for (const char* at = strstr(d.text, prefix); at != NULL; at = strstr(at + 1, prefix)) {
      const char* end = strchr(at, '=');
      if (end != NULL && memmem(at, (size_t)(end - at), parts[i], strlen(parts[i])) != NULL) found = true;
    }
    if (!found) {
      tap_diag("no per-size-class %s: no key %s*%s*", parts[i], prefix, parts[i]);
      ok = false;
    }
  }
  if (!ok) tap_diag("dump: %.300s", d.text);
  return ok;
}

/* ---- known sequences ------------------------------------------------------------- */

#define SMALL_SIZE 1000
#define SMALL_N1 3000 /* about 47 pages of 64 KiB: one segment */
#define SMALL_N2 7000 /* about 110 pages: two segments */
static void* blocks[SMALL_N2];

static bool seq_small(void) {
  static dump_t d0, d1, d2, d3, d4;
  take(&d0); /* before this thread's first allocation: only the exited threads */
  bool ok = true;
  for (int i = 0; i < SMALL_N1; i++) {
    blocks[i] = sa_malloc(SMALL_SIZE);
    if (blocks[i] == NULL) return false;
    memset(blocks[i], 1, SMALL_SIZE);
  }
  take(&d1);
  size_t block = block_stride(blocks, 8);
  int moved;
  long long bins = bins_delta(&d1, &d0, &moved);
  long long bytes = (long long)SMALL_N1 * (long long)block;
  long long pages = delta(&d1, &d0, "pages.current");
  ok &= in_range("pages.current after 3000 x 1000 B", pages, bytes / 65536, bytes / 65536 + 2);
  ok &= in_range("pages.total after 3000 x 1000 B", delta(&d1, &d0, "pages.total"), pages, pages);
  ok &= in_range("pages.peak after 3000 x 1000 B", delta(&d1, &d0, "pages.peak"), pages, pages);
  ok &= in_range("segments.current after 3000 x 1000 B", delta(&d1, &d0, "segments.current"), 1, 1);
  ok &= in_range("segments.total after 3000 x 1000 B", delta(&d1, &d0, "segments.total"), 1, 1);
  ok &= in_range("bin.<class of 1000 B>.pages", bins, pages, pages);
  ok &= in_range("size classes with new pages", moved, 1, 1);
  ok &= in_range("page.extend (4 KiB at a time)", delta(&d1, &d0, "page.extend"), bytes / 4096, bytes / 4096 + pages);
  ok &= in_range("malloc.slow", delta(&d1, &d0, "malloc.slow"), pages, SMALL_N1);
  ok &= in_range("threads.total (this thread)", delta(&d1, &d0, "threads.total"), 1, 1);
  ok &= in_range("os.mmap for one new segment", delta(&d1, &d0, "os.mmap"), 1, 3);
  /* (the thread's first allocation may also map a metadata chunk of 256 KiB) */
  ok &= in_range("os.reserved.current for one segment", delta(&d1, &d0, "os.reserved.current"), 4 << 20,
                 (4 << 20) + (256 << 10));

  for (int i = SMALL_N1; i < SMALL_N2; i++) {
    blocks[i] = sa_malloc(SMALL_SIZE);
    if (blocks[i] == NULL) return false;
  }
  take(&d2);
  long long pages2 = delta(&d2, &d0, "pages.current");
  long long bytes2 = (long long)SMALL_N2 * (long long)block;
  ok &= in_range("pages.current after 7000 x 1000 B", pages2, bytes2 / 65536, bytes2 / 65536 + 3);
  ok &= in_range("segments.current after 7000 x 1000 B", delta(&d2, &d0, "segments.current"), 2, 2);
  ok &= in_range("segments.peak after 7000 x 1000 B", delta(&d2, &d0, "segments.peak"), 2, 2);

  for (int i = 0; i < SMALL_N2; i++) sa_free(blocks[i]);
  take(&d3);
  ok &= in_range("pages.current after freeing all (one page may be kept)", delta(&d3, &d0, "pages.current"), 0, 1);
  ok &= in_range("pages.peak after freeing", delta(&d3, &d0, "pages.peak"), pages2, pages2);
  ok &= in_range("pages.total after freeing", delta(&d3, &d0, "pages.total"), pages2, pages2);
  sa_collect(true);
  take(&d4);
  ok &= in_range("pages.current after sa_collect(true)", delta(&d4, &d0, "pages.current"), 0, 0);
  ok &= in_range("segments.current after sa_collect(true)", delta(&d4, &d0, "segments.current"), 0, 0);
  ok &= in_range("segments.peak after sa_collect(true)", delta(&d4, &d0, "segments.peak"), 2, 2);
  /* (only the thread's metadata chunk, if it needed one, may stay) */
  ok &= in_range("os.reserved.current after sa_collect(true)", delta(&d4, &d0, "os.reserved.current"), 0, 256 << 10);
  ok &= in_range("os.munmap after sa_collect(true)", delta(&d4, &d0, "os.munmap"), 2, 1000);
  ok &= in_range("os.madvise after freeing two segments", delta(&d4, &d0, "os.madvise"), 1, 1000);
  ok &= in_range("os.purged.total after freeing two segments", delta(&d4, &d0, "os.purged.total"), 1 << 20,
                 (long long)16 << 20);
  return ok;
}

static bool seq_medium_large(void) {
  static dump_t d0, d1, d2;
  static void* medium[100];
  static void* large[3];
  const size_t large_size = (2 << 20) - 100; /* the largest class below huge: one block a segment */
  take(&d0);
  bool ok = true;
  for (int i = 0; i < 100; i++) {
    medium[i] = sa_malloc(30000);
    if (medium[i] == NULL) return false;
    memset(medium[i], 2, 30000);
  }
  take(&d1);
  long long per_page = (long long)((512 << 10) / block_stride(medium, 8));
  int moved;
  long long pages = delta(&d1, &d0, "pages.current");
  ok &= in_range("medium pages for 100 x 30000 B", pages, (100 + per_page - 1) / per_page, (100 + per_page - 1) / per_page + 1);
  ok &= in_range("medium segments for 100 x 30000 B", delta(&d1, &d0, "segments.current"), 1, 1);
  ok &= in_range("bin.<class of 30000 B>.pages", bins_delta(&d1, &d0, &moved), pages, pages);
  for (int i = 0; i < 3; i++) {
    large[i] = sa_malloc(large_size);
    if (large[i] == NULL) return false;
    memset(large[i], 3, large_size);
  }
  take(&d2);
  ok &= in_range("large pages for 3 x (2 MiB - 100)", delta(&d2, &d1, "pages.current"), 3, 3);
  ok &= in_range("large segments for 3 x (2 MiB - 100)", delta(&d2, &d1, "segments.current"), 3, 3);
  ok &= in_range("bin.<class of 2 MiB - 100>.pages", bins_delta(&d2, &d1, &moved), 3, 3);
  ok &= in_range("huge.bytes.current for large blocks", delta(&d2, &d0, "huge.bytes.current"), 0, 0);
  for (int i = 0; i < 100; i++) sa_free(medium[i]);
  for (int i = 0; i < 3; i++) sa_free(large[i]);
  sa_collect(true);
  static dump_t d3;
  take(&d3);
  ok &= in_range("segments.current after freeing and sa_collect(true)", delta(&d3, &d0, "segments.current"), 0, 0);
  ok &= in_range("pages.current after freeing and sa_collect(true)", delta(&d3, &d0, "pages.current"), 0, 0);
  return ok;
}

#define HUGE_SIZE ((size_t)10 << 20)

static bool seq_huge(void) {
  static dump_t d0, d1, d2, d3;
  sa_collect(true); /* no cached huge segment: the next one is a fresh mapping */
  take(&d0);
  bool ok = true;
  char* p = sa_malloc(HUGE_SIZE);
  if (p == NULL) return false;
  memset(p, 4, HUGE_SIZE);
  take(&d1);
  ok &= in_range("huge.bytes.current after malloc(10 MiB)", delta(&d1, &d0, "huge.bytes.current"),
                 (long long)HUGE_SIZE, (long long)HUGE_SIZE + (1 << 20));
  ok &= in_range("huge.bytes.total after malloc(10 MiB)", delta(&d1, &d0, "huge.bytes.total"),
                 (long long)HUGE_SIZE, (long long)HUGE_SIZE + (1 << 20));
  ok &= in_range("os.mmap after malloc(10 MiB)", delta(&d1, &d0, "os.mmap"), 1, 3);
  ok &= in_range("os.reserved.current after malloc(10 MiB)", delta(&d1, &d0, "os.reserved.current"),
                 (long long)HUGE_SIZE, (long long)HUGE_SIZE + (4 << 20));
  ok &= in_range("segments.current for a huge block (its own, not a small/medium/large one)",
                 delta(&d1, &d0, "segments.current"), 0, 1);
  sa_free(p);
  take(&d2);
  ok &= in_range("huge.bytes.current after free", delta(&d2, &d0, "huge.bytes.current"), 0, 0);
  ok &= in_range("huge.bytes.total after free", delta(&d2, &d0, "huge.bytes.total"), (long long)HUGE_SIZE,
                 (long long)HUGE_SIZE + (1 << 20));
  sa_collect(true);
  take(&d3);
  ok &= in_range("os.reserved.current after free and sa_collect(true)", delta(&d3, &d0, "os.reserved.current"), 0,
                 256 << 10);
  ok &= in_range("os.munmap after free and sa_collect(true)", delta(&d3, &d0, "os.munmap"), 1, 4);
  return ok;
}

static bool seq_huge_realloc(void) {
  static dump_t d0, d1, d2;
  sa_collect(true);
  bool ok = true;
  char* p = sa_malloc(HUGE_SIZE);
  if (p == NULL) return false;
  take(&d0);
  char* q = sa_realloc(p, 3 * HUGE_SIZE);
  if (q == NULL) return false;
  take(&d1);
  ok &= in_range("os.mremap (or mmap) after growing a huge block", delta(&d1, &d0, "os.mremap") + delta(&d1, &d0, "os.mmap"), 1, 4);
  ok &= in_range("huge.bytes.current after growing 10 -> 30 MiB", delta(&d1, &d0, "huge.bytes.current"),
                 (long long)(2 * HUGE_SIZE), (long long)(2 * HUGE_SIZE) + (1 << 20));
  char* r = sa_realloc(q, HUGE_SIZE / 2);
  if (r == NULL) return false;
  sa_free(r);
  take(&d2);
  ok &= in_range("huge.bytes.current after shrinking and freeing", delta(&d2, &d0, "huge.bytes.current"),
                 -(long long)HUGE_SIZE - (1 << 20), -(long long)HUGE_SIZE);
  return ok;
}

/* ---- threads: merging, abandoning, reclaiming ------------------------------------ */

static void* churn_thread(void* arg) {
  (void)arg;
  static _Thread_local void* local[2000];
  for (int i = 0; i < 2000; i++) local[i] = sa_malloc(SMALL_SIZE);
  for (int i = 0; i < 2000; i++) sa_free(local[i]);
  return NULL;
}

static void* leaving_thread(void* arg) {
  void** out = arg;
  for (int i = 0; i < 2000; i++) {
    out[i] = sa_malloc(SMALL_SIZE);
    if (out[i] != NULL) memset(out[i], 5, SMALL_SIZE);
  }
  return NULL; /* exits with its blocks live: its segment is abandoned */
}

static bool seq_threads(void) {
  static dump_t d0, d1, d2, d3;
  static void* left[2000];
  void* mine = sa_malloc(10); /* this thread's own counters are in every dump from here */
  pthread_t t[3];
  /* A first round lets the C library set up what it keeps for threads (through
   * malloc, in this thread): the measured round then counts only the threads. */
  for (int i = 0; i < 3; i++) pthread_create(&t[i], NULL, churn_thread, NULL);
  for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
  take(&d0);
  bool ok = true;
  for (int i = 0; i < 3; i++) pthread_create(&t[i], NULL, churn_thread, NULL);
  for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
  take(&d1);
  long long per_thread = (2000LL * 1024) / 65536; /* 1000 B: blocks of 1 KiB */
  int moved;
  ok &= in_range("threads.total after 3 threads ended", delta(&d1, &d0, "threads.total"), 3, 3);
  ok &= in_range("pages.total merged from 3 ended threads", delta(&d1, &d0, "pages.total"), 3 * per_thread,
                 3 * (per_thread + 2));
  ok &= in_range("bin pages merged from 3 ended threads", bins_delta(&d1, &d0, &moved),
                 delta(&d1, &d0, "pages.total"), delta(&d1, &d0, "pages.total"));
  ok &= in_range("pages.current after 3 threads freed everything and ended", delta(&d1, &d0, "pages.current"), 0, 0);
  pthread_t u;
  pthread_create(&u, NULL, leaving_thread, left);
  pthread_join(u, NULL);
  take(&d2);
  ok &= in_range("segments.abandoned after a thread ended with live blocks", delta(&d2, &d0, "segments.abandoned"), 1, 1);
  sa_collect(true); /* takes over what exited threads left */
  take(&d3);
  ok &= in_range("segments.reclaimed after sa_collect(true)", delta(&d3, &d0, "segments.reclaimed"), 1, 1);
  for (int i = 0; i < 2000; i++) {
    if (left[i] == NULL || first_nonzero(left[i], 1) == SIZE_MAX) return false;
    sa_free(left[i]);
  }
  sa_free(mine);
  return ok;
}

/* ---- reclaim takes only a segment that serves the request ---------------------- */

#define MEDIUM_RECLAIM_SIZE 20000 /* a medium page's blocks (8-64 KiB) */
#define MEDIUM_RECLAIM_BLOCKS 40  /* a medium page and more: the segment keeps free pages */

static void* medium_leaver(void* arg) {
  void** live = arg;
  void* blocks[MEDIUM_RECLAIM_BLOCKS];
  for (int i = 0; i < MEDIUM_RECLAIM_BLOCKS; i++) {
    blocks[i] = sa_malloc(MEDIUM_RECLAIM_SIZE);
    if (blocks[i] != NULL) memset(blocks[i], 7, MEDIUM_RECLAIM_SIZE);
  }
  *live = blocks[0]; /* the only block left: the segment is abandoned, not all free */
  for (int i = 1; i < MEDIUM_RECLAIM_BLOCKS; i++) sa_free(blocks[i]);
  return NULL;
}

static void* small_allocator(void* arg) {
  (void)arg;
  void* p = sa_malloc(SMALL_SIZE); /* a fresh thread's empty bin: reclaim is asked */
  sa_free(p);
  return NULL;
}

static void* medium_allocator(void* arg) {
  (void)arg;
  void* p = sa_malloc(MEDIUM_RECLAIM_SIZE); /* the abandoned page of this size has room */
  if (p != NULL) memset(p, 8, MEDIUM_RECLAIM_SIZE);
  sa_free(p);
  return NULL;
}

static bool run_thread(void* (*body)(void*), void* arg) {
  pthread_t t;
  if (pthread_create(&t, NULL, body, arg) != 0) return false;
  return pthread_join(t, NULL) == 0;
}

/* A thread that needs a small page does not take an abandoned medium segment (it
 * has nothing for it); one that needs a block of the abandoned page's size does. */
static bool seq_reclaim_serves(void) {
  static dump_t before, d0, d1, d2, d3;
  sa_collect(true); /* nothing abandoned from the sequences before */
  take(&before);
  void* live = NULL;
  bool ok = run_thread(medium_leaver, &live) && live != NULL;
  take(&d0);
  ok &= in_range("segments.abandoned after a thread left one medium block", delta(&d0, &before, "segments.abandoned"),
                 1, 1);
  ok &= run_thread(small_allocator, NULL);
  take(&d1);
  ok &= in_range("segments.reclaimed by a thread that needed a small page", delta(&d1, &d0, "segments.reclaimed"), 0, 0);
  ok &= run_thread(medium_allocator, NULL);
  take(&d2);
  ok &= in_range("segments.reclaimed by a thread that needed a block of its size", delta(&d2, &d1, "segments.reclaimed"),
                 1, 1);
  sa_free(live); /* the last block: the segment, abandoned again, is freed */
  sa_collect(true);
  take(&d3);
  ok &= in_range("segments.current back after the last block", delta(&d3, &before, "segments.current"), 0, 0);
  return ok;
}

/* ---- reset ---------------------------------------------------------------------- */

static bool seq_reset(void) {
  static dump_t before, after, later;
  static void* keep[1000];
  for (int i = 0; i < 1000; i++) keep[i] = sa_malloc(200);
  void* huge = sa_malloc(HUGE_SIZE);
  take(&before);
  sa_stats_reset();
  take(&after);
  bool ok = true;
  static const char* const zeroed[] = {"os.mmap", "os.munmap", "os.madvise", "os.mremap", "os.purged.total",
                                       "malloc.slow", "page.extend"};
  for (size_t i = 0; i < sizeof zeroed / sizeof zeroed[0]; i++) ok &= in_range(zeroed[i], val(&after, zeroed[i]), 0, 0);
  static const char* const kept[] = {"segments.current", "pages.current", "huge.bytes.current", "os.reserved.current"};
  for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++) {
    ok &= in_range(kept[i], val(&after, kept[i]), val(&before, kept[i]), val(&before, kept[i]));
  }
  ok &= in_range("segments.total = current after reset", val(&after, "segments.total"), val(&after, "segments.current"),
                 val(&after, "segments.current"));
  ok &= in_range("pages.total = current after reset", val(&after, "pages.total"), val(&after, "pages.current"),
                 val(&after, "pages.current"));
  ok &= in_range("pages.peak = current after reset", val(&after, "pages.peak"), val(&after, "pages.current"),
                 val(&after, "pages.current"));
  ok &= in_range("elapsed.ms restarts", val(&after, "elapsed.ms"), 0, 1000);
  /* Per-class counters restart like the others: total and peak equal current. */
  for (const char* at = strstr(after.text, "bin."); at != NULL; at = strstr(at + 1, " bin.")) {
    if (*at == ' ') at++;
    const char* dot = strstr(at, ".current=");
    const char* space = strchr(at, ' ');
    if (dot == NULL || (space != NULL && dot > space)) continue;
    char base[64];
    snprintf(base, sizeof base, "%.*s", (int)(dot - at), at);
    char key[80];
    snprintf(key, sizeof key, "%s.current", base);
    long long current = val(&after, key);
    snprintf(key, sizeof key, "%s.total", base);
    ok &= in_range(key, val(&after, key), current, current);
    snprintf(key, sizeof key, "%s.peak", base);
    ok &= in_range(key, val(&after, key), current, current);
  }
  void* fresh = sa_malloc(40000); /* a class not used before: one new page */
  take(&later);
  int moved;
  ok &= in_range("bin pages after one new page", bins_delta(&later, &after, &moved), 1, 1);
  ok &= in_range("malloc.slow after one new page", val(&later, "malloc.slow"), 1, 2);
  sa_free(fresh);
  sa_free(huge);
  for (int i = 0; i < 1000; i++) sa_free(keep[i]);
  return ok;
}

/* ---- purge_delay as the counters see it ---------------------------------------- */

static bool purge_sequence(long delay, long long* madvise_at_free, long long* madvise_after_collect) {
  static dump_t d0, d1, d2;
  static void* many[400];
  sa_option_set(sa_option_purge_delay, delay);
  void* pin = sa_malloc(SMALL_SIZE); /* keeps the segment in use: its free pages are purged, not it */
  for (int i = 0; i < 400; i++) {
    many[i] = sa_malloc(SMALL_SIZE);
    if (many[i] == NULL) return false;
    memset(many[i], 6, SMALL_SIZE);
  }
  take(&d0);
  for (int i = 0; i < 400; i++) sa_free(many[i]);
  take(&d1);
  sa_collect(true);
  take(&d2);
  *madvise_at_free = delta(&d1, &d0, "os.madvise");
  *madvise_after_collect = delta(&d2, &d0, "os.madvise");
  sa_free(pin);
  return true;
}

static bool purge_now(void) {
  long long at_free, after;
  if (!purge_sequence(0, &at_free, &after)) return false;
  return in_range("os.madvise right after freeing 6 pages with purge_delay=0", at_free, 1, 1000);
}

static bool purge_later(void) {
  long long at_free, after;
  if (!purge_sequence(1000000, &at_free, &after)) return false;
  bool ok = in_range("os.madvise right after freeing 6 pages with purge_delay=1000000", at_free, 0, 0);
  ok &= in_range("os.madvise after sa_collect(true) with purge_delay=1000000", after, 1, 1000);
  return ok;
}

/* ---- times, faults, peak RSS ------------------------------------------------------ */

static bool check_process_counters(void) {
  static dump_t d0, d1;
  take(&d0);
  size_t n = 64 << 20;
  char* p = sa_malloc(n);
  if (p == NULL) return false;
  memset(p, 7, n);
  usleep(60 * 1000);
  take(&d1);
  bool ok = true;
  ok &= in_range("faults.minor grows when 64 MiB are touched", delta(&d1, &d0, "faults.minor"), 32, 1LL << 40);
  ok &= in_range("rss.peak.kib covers 64 MiB touched", val(&d1, "rss.peak.kib"), 64 * 1024, 1LL << 40);
  ok &= in_range("elapsed.ms moves on over a 60 ms sleep", delta(&d1, &d0, "elapsed.ms"), 55, 60000);
  ok &= in_range("user.ms", val(&d1, "user.ms"), 0, 1LL << 40);
  ok &= in_range("sys.ms", val(&d1, "sys.ms"), 0, 1LL << 40);
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  ok &= in_range("rss.peak.kib against getrusage", val(&d1, "rss.peak.kib"), 0, usage.ru_maxrss);
  sa_free(p);
  return ok;
}

static bool wrap_small(void) { return in_thread(seq_small); }
static bool wrap_medium_large(void) { return in_thread(seq_medium_large); }
static bool wrap_huge(void) { return in_thread(seq_huge); }
static bool wrap_huge_realloc(void) { return in_thread(seq_huge_realloc); }
static bool wrap_reset(void) { return in_thread(seq_reset); }
static bool wrap_purge_now(void) { return in_thread(purge_now); }
static bool wrap_purge_later(void) { return in_thread(purge_later); }

/* ---- printing: sa_stats_print, SHARDALLOC_SHOW_STATS ---------------------------- */

/* Runs argv with `env` (NULL: fn in a forked child instead), capturing stderr. */
static bool capture_stderr(char* const argv[], char* const env[], void (*fn)(void), char* out, size_t size, int* status) {
  int fds[2];
  if (pipe(fds) != 0) return false;
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) return false;
  if (pid == 0) {
    close(fds[0]);
    dup2(fds[1], 2);
    int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0) dup2(devnull, 1);
    if (fn != NULL) {
      fn();
      _exit(0);
    }
    execve(argv[0], argv, env);
    _exit(127);
  }
  close(fds[1]);
  size_t at = 0;
  for (;;) {
    ssize_t n = read(fds[0], out + at, size - 1 - at);
    if (n <= 0) break;
    at += (size_t)n;
    if (at >= size - 1) break;
  }
  out[at] = 0;
  close(fds[0]);
  waitpid(pid, status, 0);
  return true;
}

/* The table: a title, then `key value` rows with the dump's keys. */
static bool is_table(const char* text, const char* what) {
  const char* title = strstr(text, "shardalloc statistics");
  if (title == NULL) {
    tap_diag("%s: no statistics table on stderr: \"%.300s\"", what, text);
    return false;
  }
  if (strstr(title + 1, "shardalloc statistics") != NULL) {
    tap_diag("%s: the table is printed twice", what);
    return false;
  }
  static const char* const rows[] = {"segments.current", "pages.peak", "os.mmap", "os.reserved.peak", "threads.total",
                                     "elapsed.ms", "faults.minor", "rss.peak.kib"};
  bool ok = true;
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    const char* row = strstr(title, rows[i]);
    const char* after = row ? row + strlen(rows[i]) : NULL;
    while (after && *after == ' ') after++;
    if (after == NULL || !((*after >= '0' && *after <= '9') || *after == '-')) {
      tap_diag("%s: no row \"%s <number>\" in the table", what, rows[i]);
      ok = false;
    }
  }
  return ok;
}

static void print_now(void) {
  void* p = sa_malloc(1000);
  sa_stats_print();
  sa_free(p);
}

static bool check_stats_print(void) {
  static char out[32768];
  int status = 0;
  if (!capture_stderr(NULL, NULL, print_now, out, sizeof out, &status)) return false;
  return is_table(out, "sa_stats_print");
}

/* env: environ_in without SHARDALLOC_ variables and LD_PRELOAD, plus `extra`. */
static void env_with(const char* extra, char* const* environ_in, char** env, size_t max) {
  size_t n = 0;
  for (size_t i = 0; environ_in[i] != NULL && n + 2 < max; i++) {
    if (strncasecmp(environ_in[i], "SHARDALLOC_", 11) == 0 || strncmp(environ_in[i], "LD_PRELOAD=", 11) == 0) continue;
    env[n++] = environ_in[i];
  }
  if (extra != NULL) env[n++] = (char*)extra;
  env[n] = NULL;
}

extern char** environ;
static const char* preload_lib;

static bool check_show_stats(void) {
  static char out[32768];
  static char* env[512];
  static char self[4096];
  ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
  if (len <= 0) return false;
  self[len] = 0;
  char* argv[] = {self, "show-stats-child", NULL};
  int status = 0;
  bool ok = true;
  env_with("SHARDALLOC_SHOW_STATS=1", environ, env, 512);
  if (!capture_stderr(argv, env, NULL, out, sizeof out, &status)) return false;
  ok &= is_table(out, "SHARDALLOC_SHOW_STATS=1 (linked program)");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    tap_diag("the program exited with status %#x", status);
    ok = false;
  }
  env_with("SHARDALLOC_SHOW_STATS=0", environ, env, 512);
  if (!capture_stderr(argv, env, NULL, out, sizeof out, &status)) return false;
  if (strstr(out, "shardalloc statistics") != NULL) {
    tap_diag("SHARDALLOC_SHOW_STATS=0 still prints the table");
    ok = false;
  }
  if (preload_lib != NULL) {
    static char preload[4200];
    snprintf(preload, sizeof preload, "LD_PRELOAD=%s", preload_lib);
    env_with(preload, environ, env, 510);
    size_t n = 0;
    while (env[n] != NULL) n++;
    env[n++] = "SHARDALLOC_SHOW_STATS=yes";
    env[n] = NULL;
    char* plain[] = {"/bin/true", NULL};
    if (!capture_stderr(plain, env, NULL, out, sizeof out, &status)) return false;
    ok &= is_table(out, "SHARDALLOC_SHOW_STATS=yes (/bin/true with the library preloaded)");
  }
  return ok;
}

static int show_stats_child(void) {
  void* p = sa_malloc(1000);
  void* q = sa_malloc(100000);
  sa_free(p);
  sa_free(q);
  return 0;
}

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "show-stats-child") == 0) return show_stats_child();
  if (argc > 1) preload_lib = argv[1];
  tap_run("stats: sa_stats_dump is one line of key=integer pairs with the expected keys", check_form);
  tap_run("stats: sa_stats_dump truncates safely and returns the length it needs", check_truncation);
  tap_run("stats: the dump has every counter issue 5 lists (per size class current/peak/total, committed bytes, ...)",
          check_issue_counters);
  tap_run("stats: small blocks in a fresh thread: pages, segments, bins, extends, mmaps, reserved; back to 0 after collect",
          wrap_small);
  tap_run("stats: medium and large blocks: pages, segments, bins", wrap_medium_large);
  tap_run("stats: a huge block: huge.bytes.current up by its size at malloc, back at free; mmap, reserved, munmap",
          wrap_huge);
  tap_run("stats: a huge block grown by realloc and freed: huge.bytes.current follows, mremap counted", wrap_huge_realloc);
  tap_run("stats: threads merged at exit; abandoned and reclaimed segments", seq_threads);
  tap_run("stats: a reclaim takes only an abandoned segment that serves the request", seq_reclaim_serves);
  tap_run("stats: sa_stats_reset zeroes the counts, keeps current values, restarts the clock", wrap_reset);
  tap_run("stats: purge_delay=0 purges (madvise) at the free", wrap_purge_now);
  tap_run("stats: purge_delay=1000000 defers the purge until sa_collect(true)", wrap_purge_later);
  tap_run("stats: page faults, peak RSS, elapsed, user and system time", check_process_counters);
  tap_run("stats: sa_stats_print prints the table on stderr", check_stats_print);
  tap_run("stats: SHARDALLOC_SHOW_STATS=1 prints the table at exit (linked; preloaded into /bin/true)", check_show_stats);
  return tap_exit_status();
}
