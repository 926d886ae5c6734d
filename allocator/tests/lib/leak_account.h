/* leak_account.h: the allocator's own account of pages and segments, taken at a
 * test's start and checked at its end (issue 9: "every block is reusable and the
 * page/segment counts return to their baseline").
 *
 *   leak_account_t base = leak_account_start();   (before the test's work)
 *   ...                                           (the work; every block freed, every thread joined)
 *   leak_account_check(&base, "stress");          (one TAP check)
 *
 * The check calls sa_collect(true) (which also takes over what exited threads left),
 * then reads pages.current and segments.current from sa_stats_dump: with every
 * thread gone, those are the whole process's. Both must be back at their baseline
 * (segments: at most LEAK_SEGMENT_SLACK more; a segment the main thread keeps for
 * its own next allocation is no leak). A page still counted is a block that was
 * never freed, or freed and lost (a free stuck in a dead thread's batch, a block
 * in a heap nobody tears down): it can never be reused.
 *
 * Plain (preloaded) builds find the calls with dlsym (os/ostest.h); under glibc,
 * which has no such account, the check is skipped. Set LEAK_ACCOUNT=0 to skip it.
 */
#ifndef SA_LEAK_ACCOUNT_H
#define SA_LEAK_ACCOUNT_H

#include "ostest.h"

#define LEAK_SEGMENT_SLACK 1

typedef struct leak_account_s {
  bool available;
  long long pages;
  long long segments;
} leak_account_t;

static inline bool leak_account_enabled(void) {
  const char* v = getenv("LEAK_ACCOUNT");
  return v == NULL || strcmp(v, "0") != 0;
}

/* Reads the counts now (after a forced collect, so that the baseline is as low as
 * the end will be). */
static inline leak_account_t leak_account_read(void) {
  leak_account_t a = {false, 0, 0};
  if (!leak_account_enabled() || !ot_sa_init()) return a;
  static char dump[65536]; /* static: the account allocates nothing itself */
  ot_collect(true);
  ot_stats_dump(dump, sizeof dump);
  a.pages = ot_stat(dump, "pages.current", -1);
  a.segments = ot_stat(dump, "segments.current", -1);
  a.available = a.pages >= 0 && a.segments >= 0;
  return a;
}

static void* leak_account_idle_thread(void* arg) { return arg; }

/* glibc keeps a few blocks for every thread stack it caches (the TLS vector), live
 * after the thread is gone: a few threads started and joined first make those exist
 * at the baseline already. */
#define LEAK_WARMUP_THREADS 4

static inline leak_account_t leak_account_start(void) {
  pthread_t t[LEAK_WARMUP_THREADS];
  int started = 0;
  for (; started < LEAK_WARMUP_THREADS; started++) {
    if (pthread_create(&t[started], NULL, leak_account_idle_thread, NULL) != 0) break;
  }
  for (int i = 0; i < started; i++) pthread_join(t[i], NULL);
  return leak_account_read();
}

/* One TAP check: the counts are back at the baseline. */
static inline bool leak_account_check(const leak_account_t* base, const char* what) {
  char name[200];
  snprintf(name, sizeof name, "leak account (%s): every page freed again, segments back to the baseline", what);
  if (!leak_account_enabled()) return tap_skip(name, "LEAK_ACCOUNT=0"), true;
  if (!base->available) return tap_skip(name, "no sa_ statistics (not shardalloc)"), true;
  leak_account_t end = leak_account_read();
  bool ok = end.available && end.pages <= base->pages && end.segments <= base->segments + LEAK_SEGMENT_SLACK;
  if (!ok) {
    tap_diag("pages.current %lld at the start, %lld at the end; segments.current %lld, %lld", base->pages,
             end.pages, base->segments, end.segments);
  }
  return tap_result(ok, name);
}

#endif /* SA_LEAK_ACCOUNT_H */
