/* stats_report.c: the statistics reports of the API (floor 8, see README.md):
 * sa_stats_dump, sa_stats_print, sa_stats_reset, from the totals of stats.c, the
 * calling thread's own counts and the OS's (memory.c). */
#include <stdarg.h>
#include <stdio.h>
#include <sys/resource.h>

#include "internal.h"

static int64_t start_ms;

/* The exited threads' totals plus the calling thread's own. */
static void current_totals(sa_stats_t* out) {
  sa_heap_t* heap = sa_heap_default;
  sa_stats_totals(out, heap != &sa_heap_empty ? &heap->tld->stats : NULL);
}

typedef struct text_s {
  char* buf;
  size_t size;
  size_t len;
} text_t;

static void text_add(text_t* t, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_add(text_t* t, const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  char* at = t->len < t->size ? t->buf + t->len : NULL;
  size_t room = t->len < t->size ? t->size - t->len : 0;
  int n = vsnprintf(at, room, fmt, args);
  va_end(args);
  if (n > 0) t->len += (size_t)n;
}

static void describe(text_t* t, bool table) {
  sa_stats_t s;
  current_totals(&s);
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  int64_t elapsed = sa_os_clock_ms() - start_ms;
  const char* f = table ? "%-22s %14lld\n" : "%s=%lld ";
#define SA_ROW(name, value) text_add(t, f, name, (long long)(value))
  SA_ROW("segments.current", s.segments.current);
  SA_ROW("segments.peak", s.segments.peak);
  SA_ROW("segments.total", s.segments.total);
  SA_ROW("segments.abandoned", s.abandoned.total);
  SA_ROW("segments.reclaimed", s.reclaimed.total);
  SA_ROW("pages.current", s.pages.current);
  SA_ROW("pages.peak", s.pages.peak);
  SA_ROW("pages.total", s.pages.total);
  SA_ROW("huge.bytes.current", atomic_load(&sa_os_stats.huge_current));
  SA_ROW("huge.bytes.peak", atomic_load(&sa_os_stats.huge_peak));
  SA_ROW("huge.bytes.total", atomic_load(&sa_os_stats.huge_total));
  SA_ROW("threads.total", s.threads.total);
  SA_ROW("malloc.slow", s.malloc_slow);
  SA_ROW("page.extend", s.page_extend);
  SA_ROW("os.mmap", atomic_load(&sa_os_stats.mmap_calls));
  SA_ROW("os.munmap", atomic_load(&sa_os_stats.munmap_calls));
  SA_ROW("os.madvise", atomic_load(&sa_os_stats.madvise_calls));
  SA_ROW("os.mremap", atomic_load(&sa_os_stats.mremap_calls));
  SA_ROW("os.reserved.current", atomic_load(&sa_os_stats.reserved_current));
  SA_ROW("os.reserved.peak", atomic_load(&sa_os_stats.reserved_peak));
  SA_ROW("os.committed.current", atomic_load(&sa_os_stats.committed_current));
  SA_ROW("os.committed.peak", atomic_load(&sa_os_stats.committed_peak));
  SA_ROW("os.purged.total", atomic_load(&sa_os_stats.purged_total));
  SA_ROW("elapsed.ms", elapsed);
  SA_ROW("user.ms", usage.ru_utime.tv_sec * 1000 + usage.ru_utime.tv_usec / 1000);
  SA_ROW("sys.ms", usage.ru_stime.tv_sec * 1000 + usage.ru_stime.tv_usec / 1000);
  SA_ROW("faults.minor", usage.ru_minflt);
  SA_ROW("faults.major", usage.ru_majflt);
  SA_ROW("rss.peak.kib", usage.ru_maxrss);
  for (size_t bin = 0; bin <= SA_BIN_LARGEST; bin++) {
    if (s.bin_pages[bin].total == 0) continue;
    size_t size = sa_bin_block_size(bin);
    const sa_stat_count_t* kinds[] = {&s.bin_pages[bin], &s.bin_blocks[bin]};
    const char* kind_names[] = {"pages", "blocks"};
    for (size_t k = 0; k < (SA_DEBUG ? 2 : 1); k++) {
      char name[64];
      snprintf(name, sizeof(name), "bin.%zu.%s.current", size, kind_names[k]);
      SA_ROW(name, kinds[k]->current);
      snprintf(name, sizeof(name), "bin.%zu.%s.peak", size, kind_names[k]);
      SA_ROW(name, kinds[k]->peak);
      snprintf(name, sizeof(name), "bin.%zu.%s.total", size, kind_names[k]);
      SA_ROW(name, kinds[k]->total);
    }
  }
#undef SA_ROW
}

sa_decl_export size_t sa_stats_dump(char* buf, size_t size) {
  text_t t = {buf, size, 0};
  describe(&t, false);
  if (t.len > 0) t.len--; /* every pair ends in a space: drop the last one */
  if (size > 0) buf[t.len < size ? t.len : size - 1] = 0;
  return t.len;
}

sa_decl_export void sa_stats_print(void) {
  char buf[32768];
  text_t t = {buf, sizeof(buf), 0};
  text_add(&t, "shardalloc statistics\n");
  describe(&t, true);
  sa_os_write_stderr(buf, t.len < sizeof(buf) ? t.len : sizeof(buf) - 1);
}

sa_decl_export void sa_stats_reset(void) {
  sa_stats_clear_totals();
  sa_heap_t* heap = sa_heap_default;
  if (heap != &sa_heap_empty) {
    sa_stats_t* s = &heap->tld->stats;
    sa_stat_count_t* counts[] = {&s->segments, &s->pages, &s->abandoned, &s->reclaimed, &s->threads};
    for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
      counts[i]->total = counts[i]->current;
      counts[i]->peak = counts[i]->current;
    }
    s->malloc_slow = s->page_extend = 0;
    for (size_t i = 0; i <= SA_BIN_HUGE; i++) {
      s->bin_pages[i].total = s->bin_pages[i].peak = s->bin_pages[i].current;
      s->bin_blocks[i].total = s->bin_blocks[i].peak = s->bin_blocks[i].current;
    }
  }
  atomic_store(&sa_os_stats.mmap_calls, 0);
  atomic_store(&sa_os_stats.munmap_calls, 0);
  atomic_store(&sa_os_stats.madvise_calls, 0);
  atomic_store(&sa_os_stats.mremap_calls, 0);
  atomic_store(&sa_os_stats.purged_total, 0);
  start_ms = sa_os_clock_ms();
}

__attribute__((constructor(102))) static void stats_start(void) { start_ms = sa_os_clock_ms(); }
