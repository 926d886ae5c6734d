/* glibc_compat.c: glibc's inspection and tuning calls (mallinfo, mallinfo2,
 * malloc_trim, malloc_stats, malloc_info, mallopt), answered from our own state.
 * Without them a preloaded program reaches glibc's versions, which describe
 * glibc's arena: empty, since we serve every allocation (mallinfo2().uordblks 0
 * with 10 MB live).
 *
 * What the numbers mean (README.md, "glibc's inspection calls"):
 *   arena     address space shardalloc holds for small, medium and large blocks
 *             (os.reserved.current less the huge blocks)
 *   hblkhd    bytes in huge blocks (each its own mapping); hblks stays 0: huge
 *             blocks are counted in bytes, not one by one
 *   uordblks  bytes in use: the blocks the calling thread's heaps have handed out
 *             (every page: used blocks x block size) plus every huge block.
 *             Other live threads' heaps are theirs alone, so their small blocks are
 *             not counted (a thread's statistics merge when it exits)
 *   fordblks  bytes of free blocks in the calling thread's pages
 *   ordblks   pages the calling thread's heaps hold
 *   usmblks   the peak of address space held (glibc keeps it 0)
 *   keepcost, smblks, fsmblks: 0 (no top chunk, no fastbins)
 * Reading the calling thread's pages needs no lock: only the owner changes them.
 */
#include <limits.h>
#include <malloc.h>
#include <stdio.h>

#include "internal.h"

#if SA_OVERRIDE

/* glibc's mallopt parameters (malloc.h), all accepted; see sa_mallopt. */
static const int known_mallopt_params[] = {
    M_MXFAST, M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD, M_MMAP_MAX,
    M_CHECK_ACTION, M_PERTURB, M_ARENA_TEST, M_ARENA_MAX,
};

typedef struct usage_s {
  size_t used_bytes;  /* handed out by the calling thread's heaps */
  size_t free_bytes;  /* free blocks in those pages */
  size_t pages;
} usage_t;

/* The calling thread's heaps, page by page (huge blocks are counted globally). */
static usage_t thread_usage(void) {
  usage_t u = {0, 0, 0};
  sa_heap_t* heap = sa_heap_default;
  if (heap == &sa_heap_empty) return u;
  for (sa_heap_t* h = heap->tld->heaps; h != NULL; h = h->next) {
    for (size_t bin = 0; bin < SA_BIN_COUNT; bin++) {
      if (bin == SA_BIN_HUGE) continue;
      for (const sa_page_t* page = h->queues[bin].first; page != NULL; page = page->link.next) {
        u.pages++;
        u.used_bytes += (size_t)page->used * page->block_size;
        u.free_bytes += (size_t)(page->reserved - page->used) * page->block_size;
      }
    }
  }
  return u;
}

static size_t load_size(_Atomic(int64_t)* counter) {
  int64_t v = atomic_load_explicit(counter, memory_order_relaxed);
  return v > 0 ? (size_t)v : 0;
}

sa_decl_export struct mallinfo2 mallinfo2(void) {
  struct mallinfo2 mi;
  memset(&mi, 0, sizeof(mi));
  usage_t u = thread_usage();
  size_t reserved = load_size(&sa_os_stats.reserved_current);
  size_t huge = load_size(&sa_os_stats.huge_current);
  mi.arena = reserved > huge ? reserved - huge : 0;
  mi.ordblks = u.pages;
  mi.hblkhd = huge;
  mi.usmblks = load_size(&sa_os_stats.reserved_peak);
  mi.uordblks = u.used_bytes + huge;
  mi.fordblks = u.free_bytes;
  return mi;
}

/* The old interface has int fields: values past INT_MAX are clamped, not wrapped. */
static int clamp_int(size_t v) { return v > INT_MAX ? INT_MAX : (int)v; }

sa_decl_export struct mallinfo mallinfo(void) {
  struct mallinfo2 m = mallinfo2();
  struct mallinfo mi;
  mi.arena = clamp_int(m.arena);
  mi.ordblks = clamp_int(m.ordblks);
  mi.smblks = clamp_int(m.smblks);
  mi.hblks = clamp_int(m.hblks);
  mi.hblkhd = clamp_int(m.hblkhd);
  mi.usmblks = clamp_int(m.usmblks);
  mi.fsmblks = clamp_int(m.fsmblks);
  mi.uordblks = clamp_int(m.uordblks);
  mi.fordblks = clamp_int(m.fordblks);
  mi.keepcost = clamp_int(m.keepcost);
  return mi;
}

/* sa_collect(true): every free page purged, the caches emptied. Returns 1 when
 * that gave memory back (something was purged or unmapped), as glibc does. The
 * padding glibc keeps at the top of its heap has no meaning here. */
sa_decl_export int malloc_trim(size_t pad) {
  (void)pad;
  int64_t purged = atomic_load_explicit(&sa_os_stats.purged_total, memory_order_relaxed);
  int64_t unmaps = atomic_load_explicit(&sa_os_stats.munmap_calls, memory_order_relaxed);
  int64_t reserved = atomic_load_explicit(&sa_os_stats.reserved_current, memory_order_relaxed);
  sa_collect(true);
  return atomic_load_explicit(&sa_os_stats.purged_total, memory_order_relaxed) != purged ||
         atomic_load_explicit(&sa_os_stats.munmap_calls, memory_order_relaxed) != unmaps ||
         atomic_load_explicit(&sa_os_stats.reserved_current, memory_order_relaxed) < reserved;
}

/* glibc's layout on stderr (one "arena"), then our own statistics table. */
sa_decl_export void malloc_stats(void) {
  struct mallinfo2 m = mallinfo2();
  char buf[512];
  int n = snprintf(buf, sizeof(buf),
                   "Arena 0:\nsystem bytes     = %10zu\nin use bytes     = %10zu\n"
                   "Total (incl. mmap):\nsystem bytes     = %10zu\nin use bytes     = %10zu\n"
                   "max mmap regions = %10zu\nmax mmap bytes   = %10lld\n",
                   m.arena, m.uordblks - m.hblkhd, m.arena + m.hblkhd, m.uordblks, m.hblks,
                   (long long)atomic_load_explicit(&sa_os_stats.huge_peak, memory_order_relaxed));
  if (n > 0) sa_os_write_stderr(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
  sa_stats_print();
}

/* glibc's XML shape: one heap (the calling thread's), its free blocks per size
 * class, then the totals. options must be 0 (EINVAL otherwise, as in glibc). */
sa_decl_export int malloc_info(int options, FILE* fp) {
  if (options != 0 || fp == NULL) {
    errno = EINVAL;
    return -1;
  }
  struct mallinfo2 m = mallinfo2();
  size_t free_count[SA_BIN_HUGE] = {0}, free_bytes[SA_BIN_HUGE] = {0};
  sa_heap_t* heap = sa_heap_default;
  if (heap != &sa_heap_empty) {
    for (sa_heap_t* h = heap->tld->heaps; h != NULL; h = h->next) {
      for (size_t bin = 0; bin < SA_BIN_HUGE; bin++) {
        for (const sa_page_t* page = h->queues[bin].first; page != NULL; page = page->link.next) {
          free_count[bin] += page->reserved - page->used;
          free_bytes[bin] += (size_t)(page->reserved - page->used) * page->block_size;
        }
      }
    }
  }
  fprintf(fp, "<malloc version=\"1\">\n<heap nr=\"0\">\n<sizes>\n");
  size_t rest_count = 0;
  for (size_t bin = 0; bin < SA_BIN_HUGE; bin++) {
    if (free_count[bin] == 0) continue;
    size_t to = sa_bin_block_size(bin), from = bin == 0 ? 1 : sa_bin_block_size(bin - 1) + 1;
    fprintf(fp, "  <size from=\"%zu\" to=\"%zu\" total=\"%zu\" count=\"%zu\"/>\n", from, to,
            free_bytes[bin], free_count[bin]);
    rest_count += free_count[bin];
  }
  fprintf(fp, "</sizes>\n<total type=\"fast\" count=\"0\" size=\"0\"/>\n"
              "<total type=\"rest\" count=\"%zu\" size=\"%zu\"/>\n"
              "<system type=\"current\" size=\"%zu\"/>\n<system type=\"max\" size=\"%zu\"/>\n"
              "<aspace type=\"total\" size=\"%zu\"/>\n<aspace type=\"mprotect\" size=\"%zu\"/>\n</heap>\n",
          rest_count, m.fordblks, m.arena, m.usmblks, m.arena, m.arena);
  fprintf(fp, "<total type=\"fast\" count=\"0\" size=\"0\"/>\n"
              "<total type=\"rest\" count=\"%zu\" size=\"%zu\"/>\n"
              "<total type=\"mmap\" count=\"%zu\" size=\"%zu\"/>\n"
              "<system type=\"current\" size=\"%zu\"/>\n<system type=\"max\" size=\"%zu\"/>\n"
              "<aspace type=\"total\" size=\"%zu\"/>\n<aspace type=\"mprotect\" size=\"%zu\"/>\n</malloc>\n",
          rest_count, m.fordblks, m.hblks, m.hblkhd, m.arena + m.hblkhd, m.usmblks,
          m.arena + m.hblkhd, m.arena + m.hblkhd);
  return 0;
}

/* Every parameter glibc knows is accepted (1) and has no effect: there is no heap
 * top to trim (memory goes back after purge_delay, see SHARDALLOC_PURGE_DELAY), huge
 * blocks are mapped from SA_LARGE_OBJ_MAX (2 MiB) whatever M_MMAP_THRESHOLD says,
 * and there are no arenas or fastbins. Unknown parameters give 0, as in glibc. */
sa_decl_export int mallopt(int param, int value) {
  (void)value;
  for (size_t i = 0; i < sizeof(known_mallopt_params) / sizeof(known_mallopt_params[0]); i++) {
    if (known_mallopt_params[i] == param) return 1;
  }
  return 0;
}

#endif /* SA_OVERRIDE */
