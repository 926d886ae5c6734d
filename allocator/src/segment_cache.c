/* segment_cache.c: what happens to memory a thread no longer uses (floor 4, see
 * README.md): empty segments kept for reuse (a small cache per thread, a global one
 * for the segments exited threads left), and purging, which gives the memory of
 * free pages and cached segments back to the OS after the purge delay. */
#include "internal.h"

static void segment_purge_range(sa_segment_t* segment, size_t offset, size_t size);
static void segment_purge_cached(sa_segment_t* segment);

/* ---- the global cache ---------------------------------------------------------------
 * Empty segments that threads could not keep (their own cache was full, or they
 * exited), for the next thread to reuse. They keep the deadline they got when they
 * emptied: a thread that starts within the purge delay of another's exit reuses its
 * memory as it is (mstress starts and ends threads every few ms: purged at once, each
 * segment faulted in again). Any thread's purge check purges the ones whose delay
 * has passed (global_cache_purge_due). With purge_delay -1 nothing is given back. */
#define SA_GLOBAL_SEGMENT_CACHE 16
static sa_lock_t global_cache_lock = SA_LOCK_INIT;
static _Atomic(sa_segment_t*) global_cache; /* a stack, by link.next */
static size_t global_cache_count;
/* The earliest deadline of an unpurged segment in the global cache (INT64_MAX: none),
 * read without the lock by every purge check. */
static _Atomic(int64_t) global_cache_purge_at = INT64_MAX;

/* ---- choosing a cached segment -------------------------------------------------------
 * Cached segments differ in how much of their memory is still resident (`touched`,
 * until the purge). A request takes the one that fits it best: resident as far as
 * it will touch, with the least beyond that; failing that, the most resident. A
 * large block then lands where a block of its size was before, with neither a page
 * fault nor resident memory it does not use: taking any segment instead, a 128 KiB
 * block goes where a 1 MiB one was, and every segment's resident part grows to the
 * largest block it ever held (mstress with purge_delay -1: 3x mimalloc's RSS). */

/* Lower is better: the resident bytes it would leave unused, or past every such
 * segment, the bytes it would fault in. */
static size_t fit_cost(const sa_segment_t* segment, size_t want) {
  if (segment->touched >= want) return segment->touched - want;
  return SA_SEGMENT_SIZE + (want - segment->touched);
}

/* Unlinks the best fit among the first `limit` segments of the stack at *top. */
static sa_segment_t* stack_take_best(sa_segment_t** top, size_t want, size_t limit) {
  sa_segment_t** best = top;
  size_t best_cost = SIZE_MAX;
  for (sa_segment_t** link = top; *link != NULL && limit > 0; link = (sa_segment_t**)&(*link)->link.next, limit--) {
    size_t cost = fit_cost(*link, want);
    if (cost < best_cost) {
      best_cost = cost;
      best = link;
      if (cost == 0) break;
    }
  }
  sa_segment_t* segment = *best;
  if (segment != NULL) *best = segment->link.next;
  return segment;
}

sa_segment_t* sa_segment_global_cache_pop(size_t want) {
  /* A peek without the lock: a stale answer only costs an mmap. */
  if (atomic_load_explicit(&global_cache, memory_order_relaxed) == NULL) return NULL;
  sa_lock_acquire(&global_cache_lock);
  sa_segment_t* top = atomic_load_explicit(&global_cache, memory_order_relaxed);
  /* Only the top of the stack is looked at: with purge_delay -1 it has no bound. */
  sa_segment_t* segment = stack_take_best(&top, want, SA_GLOBAL_SEGMENT_CACHE);
  atomic_store_explicit(&global_cache, top, memory_order_relaxed);
  if (segment != NULL) global_cache_count--;
  sa_lock_release(&global_cache_lock);
  return segment;
}

/* Keeps an empty segment in the global cache, purged or not; false if it is full. */
static bool global_cache_push(sa_segment_t* segment) {
  bool kept = false;
  sa_lock_acquire(&global_cache_lock);
  if (sa_opt_purge_delay_ms < 0 || global_cache_count < SA_GLOBAL_SEGMENT_CACHE) {
    segment->link.next = atomic_load_explicit(&global_cache, memory_order_relaxed);
    atomic_store_explicit(&global_cache, segment, memory_order_relaxed);
    global_cache_count++;
    kept = true;
    if (segment->cache_unpurged &&
        segment->purge_at_ms < atomic_load_explicit(&global_cache_purge_at, memory_order_relaxed)) {
      atomic_store_explicit(&global_cache_purge_at, segment->purge_at_ms, memory_order_relaxed);
    }
  }
  sa_lock_release(&global_cache_lock);
  return kept;
}

/* Purges the global cache's segments whose delay has passed, or all with force (a
 * peek first: most checks find nothing due). */
static void global_cache_purge_due(int64_t now_ms, bool force) {
  if (force) now_ms = INT64_MAX - 1;
  if (now_ms < atomic_load_explicit(&global_cache_purge_at, memory_order_relaxed)) return;
  sa_lock_acquire(&global_cache_lock);
  int64_t next = INT64_MAX;
  for (sa_segment_t* segment = atomic_load_explicit(&global_cache, memory_order_relaxed); segment != NULL;
       segment = segment->link.next) {
    if (!segment->cache_unpurged) continue;
    if (now_ms >= segment->purge_at_ms) {
      segment_purge_cached(segment);
    } else if (segment->purge_at_ms < next) {
      next = segment->purge_at_ms;
    }
  }
  atomic_store_explicit(&global_cache_purge_at, next, memory_order_relaxed);
  sa_lock_release(&global_cache_lock);
}

size_t sa_segment_global_cache_flush(void) {
  sa_lock_acquire(&global_cache_lock);
  sa_segment_t* list = atomic_exchange_explicit(&global_cache, NULL, memory_order_relaxed);
  global_cache_count = 0;
  atomic_store_explicit(&global_cache_purge_at, INT64_MAX, memory_order_relaxed);
  sa_lock_release(&global_cache_lock);
  size_t count = 0;
  for (; list != NULL; count++) {
    sa_segment_t* next = list->link.next;
    sa_segment_unmap(list);
    list = next;
  }
  return count;
}

void sa_segment_cache_fork_prepare(void) { sa_lock_acquire(&global_cache_lock); }
void sa_segment_cache_fork_release(void) { sa_lock_release(&global_cache_lock); }

/* ---- the thread's cache -------------------------------------------------------------- */

sa_segment_t* sa_segment_cache_pop(sa_tld_t* tld, size_t want) {
  sa_segment_t* segment = stack_take_best(&tld->cache, want, SIZE_MAX);
  if (segment != NULL) tld->cache_count--;
  return segment;
}

/* Purges a cached (empty) segment beyond the header of any kind it may be reused as. */
static void segment_purge_cached(sa_segment_t* segment) {
  size_t header = sa_segment_header_keep();
  segment_purge_range(segment, header, SA_SEGMENT_SIZE - header);
  segment->cache_unpurged = false;
  segment->touched = header;
}

/* A segment that just emptied: purged after the purge delay (at once with 0). */
static void segment_mark_cached(sa_segment_t* segment) {
  segment->cache_unpurged = sa_opt_purge_delay_ms != 0;
  segment->purge_at_ms = sa_opt_purge_delay_ms > 0 ? sa_os_clock_ms() + sa_opt_purge_delay_ms : INT64_MAX;
  if (!segment->cache_unpurged) segment_purge_cached(segment);
}

void sa_segment_free(sa_segment_t* segment, sa_tld_t* tld) {
  sa_assert(segment->used == 0);
  if (tld != NULL) {
    sa_segment_purge_list_remove(tld, segment);
    sa_stat_decrease(&tld->stats.segments, 1);
  }
  if (tld != NULL && segment->size == SA_SEGMENT_SIZE && !tld->freeing_for_others &&
      tld->cache_count < (size_t)sa_opt_segment_cache) {
    /* Keep it for reuse; its memory beyond the header goes back to the OS after the
     * purge delay (sa_segments_purge_due), unless it is reused before: a thread that
     * allocates and frees one large block in a loop neither purges nor faults. */
    segment_mark_cached(segment);
    segment->link.next = tld->cache;
    tld->cache = segment;
    tld->cache_count++;
    return;
  }
  /* The thread's cache is full: another thread may want it soon (as is). Even with
   * purge_delay -1, which keeps every segment: a thread that frees what others
   * allocated (mstress's main thread empties the segments exited threads left) and
   * never allocates would hoard them in its own cache, and the process would map
   * new ones for ever; the global cache, which takes them all then, gives each to
   * the next thread that needs one. */
  if (tld != NULL && segment->size == SA_SEGMENT_SIZE) {
    segment_mark_cached(segment);
    if (global_cache_push(segment)) return;
  }
  sa_segment_unmap(segment);
}

/* Empties the thread's cache down to `keep` segments: to the global cache when
 * `donate` (thread exit; each keeps its purge deadline), else back to the OS. */
void sa_segment_cache_flush(sa_tld_t* tld, size_t keep, bool donate) {
  while (tld->cache_count > keep) {
    sa_segment_t* segment = tld->cache;
    tld->cache = segment->link.next;
    tld->cache_count--;
    if (!donate || !global_cache_push(segment)) sa_segment_unmap(segment);
  }
}

/* ---- purging free pages ----------------------------------------------------------- */

/* Gives back the memory of [offset, offset + size) of a segment, whose pages are
 * free: decommitted when the segment commits on use, else purged. */
static void segment_purge_range(sa_segment_t* segment, size_t offset, size_t size) {
  uint8_t* p = (uint8_t*)segment + offset;
  if (segment->large_pages) {
    sa_mem_purge(p, size, true);
  } else if (!segment->is_committed) {
    sa_mem_decommit(p, size);
    size_t first = offset >> segment->page_shift;
    size_t last = (offset + size - 1) >> segment->page_shift;
    for (size_t i = first; i <= last && i < segment->page_count; i++) segment->pages[i].is_committed = 0;
  } else {
    sa_mem_purge(p, size, sa_option_is_enabled(sa_option_purge_decommits));
  }
}

void sa_segment_page_purge(sa_segment_t* segment, size_t index) {
  uint8_t* start;
  size_t area = sa_page_usable_area(segment, &segment->pages[index], &start);
  uintptr_t from = sa_align_up((uintptr_t)start, sa_os_page_size());
  /* The first page of a medium or large segment starts below the kept header. */
  uintptr_t keep_end = (uintptr_t)segment + sa_segment_header_keep();
  if (index == 0 && from < keep_end) from = keep_end;
  segment_purge_range(segment, from - (uintptr_t)segment, (size_t)((uintptr_t)start + area - from));
}

/* Marks a free page for purging once the delay has passed. */
void sa_segment_page_purge_later(sa_tld_t* tld, sa_segment_t* segment, size_t index) {
  segment->purge_mask |= (uint64_t)1 << index;
  segment->purge_at_ms = sa_os_clock_ms() + sa_opt_purge_delay_ms;
  if (tld != NULL) sa_segment_purge_list_add(tld, segment);
}

void sa_segment_purge_list_add(sa_tld_t* tld, sa_segment_t* segment) {
  if (segment->in_purge_list) return;
  segment->in_purge_list = true;
  segment->purge_next = tld->purge_list;
  tld->purge_list = segment;
}

/* Purges the pending pages of a segment, a run of neighbouring pages in one call. */
void sa_segment_purge_pending(sa_segment_t* segment) {
  uint64_t mask = segment->purge_mask;
  segment->purge_mask = 0;
  size_t page_size = (size_t)1 << segment->page_shift;
  while (mask != 0) {
    size_t first = (size_t)__builtin_ctzll(mask);
    size_t end = first;
    while (end < SA_BITS_PER_WORD && (mask & ((uint64_t)1 << end))) end++;
    mask &= end == SA_BITS_PER_WORD ? 0 : ~(((uint64_t)1 << end) - 1);
    if (first == 0) {
      sa_segment_page_purge(segment, 0); /* the first page shares its start with the header */
      first = 1;
    }
    if (end > first) segment_purge_range(segment, first * page_size, (end - first) * page_size);
  }
}

void sa_segment_purge_list_remove(sa_tld_t* tld, sa_segment_t* segment) {
  if (!segment->in_purge_list) return;
  for (sa_segment_t** link = &tld->purge_list; *link != NULL; link = &(*link)->purge_next) {
    if (*link == segment) {
      *link = segment->purge_next;
      break;
    }
  }
  segment->in_purge_list = false;
}

void sa_segments_purge_due(sa_tld_t* tld, int64_t now_ms, bool force) {
  for (sa_segment_t* segment = tld->cache; segment != NULL; segment = segment->link.next) {
    if (segment->cache_unpurged && (force || now_ms >= segment->purge_at_ms)) segment_purge_cached(segment);
  }
  global_cache_purge_due(now_ms, force);
  sa_segments_purge_pending(tld, now_ms, force);
}

void sa_segments_purge_pending(sa_tld_t* tld, int64_t now_ms, bool force) {
  for (sa_segment_t** link = &tld->purge_list; *link != NULL;) {
    sa_segment_t* segment = *link;
    if (force || now_ms >= segment->purge_at_ms) {
      sa_segment_purge_pending(segment);
      segment->in_purge_list = false;
      *link = segment->purge_next;
    } else {
      link = &segment->purge_next;
    }
  }
}
