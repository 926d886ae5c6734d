/* segment.c: segments as a thread's source of pages (floor 4, see README.md).
 *
 * A thread owns its segments: only it takes pages from them or gives pages back.
 * Small and medium segments with a free page wait in the thread's queues; empty
 * segments go to the caches (segment_cache.c) before they go back to the OS. A
 * segment comes from a cache or is mapped (segment_map.c). When a thread exits,
 * its segments are abandoned and reclaimed by others (abandon.c). */
#include "internal.h"

static void segment_init(sa_segment_t* segment, sa_page_kind_t kind, size_t size, sa_tld_t* tld) {
  static const uint8_t shifts[] = {SA_SMALL_PAGE_SHIFT, SA_MEDIUM_PAGE_SHIFT, SA_LARGE_PAGE_SHIFT,
                                   SA_HUGE_PAGE_SHIFT};
  static const uint32_t counts[] = {SA_SMALL_PAGES_PER_SEGMENT, SA_MEDIUM_PAGES_PER_SEGMENT, 1, 1};
  uint32_t page_count = counts[kind];
  /* How the memory was mapped, and how much of it is resident, outlive the
   * segment's reuse from the cache. */
  bool is_committed = segment->is_committed, large_pages = segment->large_pages;
  size_t touched = segment->touched;
  memset(segment, 0, sizeof(sa_segment_t) + page_count * sizeof(sa_page_t));
  segment->is_committed = is_committed;
  segment->large_pages = large_pages;
  segment->touched = touched;
  segment->cookie = (uintptr_t)segment ^ sa_process_key;
#if SA_SECURE_CANARY
  segment->canary_key = sa_secure_random();
#endif
  segment->size = size;
  segment->page_shift = shifts[kind];
  segment->page_index_shift = (uint8_t)(shifts[kind] - SA_PAGE_STRUCT_SHIFT);
  segment->page_index_mask = (uintptr_t)(page_count - 1) << SA_PAGE_STRUCT_SHIFT;
  segment->kind = (uint8_t)kind;
  segment->page_count = page_count;
  segment->tld = tld;
  atomic_store_explicit(&segment->thread_id, tld != NULL ? tld->thread_id : 0, memory_order_release);
}

/* A segment for pages of `kind`, whose use will touch its first `want` bytes. */
static sa_segment_t* segment_alloc(sa_tld_t* tld, sa_page_kind_t kind, size_t want) {
  sa_segment_t* segment = sa_segment_cache_pop(tld, want);
  if (segment != NULL) {
    /* the thread's own, kept since it emptied */
  } else if ((segment = sa_segment_global_cache_pop(want)) != NULL) {
    /* reused as it is: purged when it was cached */
  } else {
    segment = sa_segment_map(SA_SEGMENT_SIZE, SA_SEGMENT_SIZE, 0, sa_option_is_enabled(sa_option_eager_commit));
    if (segment == NULL) return NULL;
    segment->touched = 0; /* arena memory may hold an earlier segment's header */
#if SA_SECURE_GUARD_PAGES
    sa_secure_guard_segment(segment); /* kept through its reuse from the caches */
#endif
#if SA_SECURE_PAGE_GUARDS
    sa_secure_page_guards_forget(segment); /* laid page by page, on first use */
#endif
  }
  segment_init(segment, kind, SA_SEGMENT_SIZE, tld);
  sa_stat_increase(&tld->stats.segments, 1);
  return segment;
}

/* ---- the thread's queues of segments with free pages ------------------------------- */

static sa_segment_queue_t* free_queue_of(sa_tld_t* tld, const sa_segment_t* segment) {
  if (segment->kind == SA_PAGE_SMALL) return &tld->small_free;
  if (segment->kind == SA_PAGE_MEDIUM) return &tld->medium_free;
  return NULL;
}

static void segment_queue_push(sa_segment_queue_t* queue, sa_segment_t* segment) {
  SA_LIST_PUSH_BACK(queue, segment, link);
  segment->in_free_queue = 1;
}

static void segment_queue_remove(sa_segment_queue_t* queue, sa_segment_t* segment) {
  SA_LIST_REMOVE(queue, segment, link);
  segment->in_free_queue = 0;
}

/* ---- ownership (abandon.c) ------------------------------------------------------------ */

void sa_segment_disown(sa_tld_t* tld, sa_segment_t* segment) {
  sa_segment_queue_t* queue = free_queue_of(tld, segment);
  if (segment->in_free_queue) segment_queue_remove(queue, segment);
  /* Its free pages keep their purge deadline: a thread that reclaims the segment
   * soon (the next round of a pool's workers) reuses them without a page fault;
   * otherwise they are purged when due, while abandoned (abandon.c). */
  sa_segment_purge_list_remove(tld, segment);
  segment->tld = NULL;
  sa_stat_decrease(&tld->stats.segments, 1);
}

void sa_segment_own(sa_tld_t* tld, sa_segment_t* segment) {
  segment->tld = tld;
  sa_stat_increase(&tld->stats.segments, 1);
  if (segment->purge_mask != 0) sa_segment_purge_list_add(tld, segment); /* an earlier owner's pages */
  sa_segment_queue_t* queue = free_queue_of(tld, segment);
  if (queue != NULL && segment->used < segment->page_count) segment_queue_push(queue, segment);
}

/* ---- pages ------------------------------------------------------------------------ */

sa_page_t* sa_segment_page_alloc(sa_heap_t* heap, size_t block_size) {
  sa_tld_t* tld = heap->tld;
  sa_page_kind_t kind = sa_page_kind_for(block_size);
  sa_segment_queue_t* queue = kind == SA_PAGE_SMALL ? &tld->small_free : kind == SA_PAGE_MEDIUM ? &tld->medium_free : NULL;
  sa_segment_t* segment = queue != NULL ? queue->first : NULL;
  if (segment == NULL) {
    /* A large page touches its block, after the header of a one-page segment (the
     * same offset `touched` records below, so a segment that held a block of this
     * size fits exactly); small and medium segments fill up page by page. */
    size_t want = kind == SA_PAGE_LARGE ? sa_segment_header_size(1) + block_size : SA_SEGMENT_SIZE;
    segment = segment_alloc(tld, kind, want);
    if (segment == NULL) return NULL;
    if (queue != NULL) segment_queue_push(queue, segment);
  }
  /* A free page still waiting for its purge is still resident: reusing it costs no
   * page fault (and saves the purge). Else the first free page. */
  sa_page_t* page = NULL;
  if (segment->purge_mask != 0) {
    page = &segment->pages[__builtin_ctzll(segment->purge_mask)];
  } else {
    for (uint32_t i = 0; i < segment->page_count; i++) {
      if (!segment->pages[i].in_use) {
        page = &segment->pages[i];
        break;
      }
    }
  }
  sa_assert(page != NULL && !page->in_use);
  bool recommitted = false;
  if (!segment->is_committed && !page->is_committed) {
    if (!sa_mem_commit((uint8_t*)segment + ((size_t)(page - segment->pages) << segment->page_shift),
                       (size_t)1 << segment->page_shift)) {
      return NULL; /* the caller reports ENOMEM; the page stays free */
    }
    page->is_committed = 1;
    recommitted = true;
#if SA_SECURE_GUARD_PAGES
    sa_secure_guard_segment(segment); /* the commit made the guards read-write again */
#endif
  }
#if SA_SECURE_PAGE_GUARDS
  sa_secure_page_guard(segment, (size_t)(page - segment->pages), recommitted);
#endif
  (void)recommitted;
  page->in_use = 1;
  uint8_t* start;
  size_t area = sa_page_usable_area(segment, page, &start);
  size_t end = (size_t)(start - (uint8_t*)segment) + (kind == SA_PAGE_LARGE ? block_size : area);
  if (end > segment->touched) segment->touched = end;
  segment->purge_mask &= ~((uint64_t)1 << (page - segment->pages)); /* still resident: no purge needed */
  segment->used++;
  if (segment->used == segment->page_count && segment->in_free_queue) segment_queue_remove(queue, segment);
  sa_stat_increase(&tld->stats.pages, 1);
  return page;
}

/* The page is free in its segment: no blocks, no owner, counted out of `tld`'s pages. */
static void page_release(sa_tld_t* tld, sa_segment_t* segment, sa_page_t* page) {
  page->in_use = 0;
  page->free = page->local_free = NULL;
  page->used = page->capacity = 0;
  page->flags = 0;
  atomic_store_explicit(&page->xthread_id, 0, memory_order_relaxed);
  atomic_store_explicit(&page->batchable, 0, memory_order_relaxed);
  segment->used--;
  sa_stat_decrease(&tld->stats.pages, 1);
}

void sa_segment_page_free_abandoned(sa_tld_t* tld, sa_page_t* page) {
  sa_segment_t* segment = sa_segment_of(page);
  sa_assert(segment->used > 1); /* the last page frees the segment: taken over instead */
  page_release(tld, segment, page);
  atomic_store_explicit(&page->thread_free, 0, memory_order_relaxed); /* every block on it was free */
  size_t index = (size_t)(page - segment->pages);
  if (sa_opt_purge_delay_ms == 0) {
    sa_segment_page_purge(segment, index);
  } else if (sa_opt_purge_delay_ms > 0) {
    sa_segment_page_purge_later(NULL, segment, index); /* purged when due (abandon.c) */
  }
}

void sa_segment_page_free(sa_tld_t* tld, sa_page_t* page) {
  sa_segment_t* segment = sa_segment_of(page);
  page_release(tld, segment, page);
  sa_segment_queue_t* queue = free_queue_of(tld, segment);
  if (segment->used == 0) {
    if (segment->in_free_queue) segment_queue_remove(queue, segment);
    sa_segment_free(segment, tld);
    return;
  }
  if (queue != NULL && !segment->in_free_queue) segment_queue_push(queue, segment);
  /* Give the page's memory back: at once, after the purge delay, or never. */
  size_t index = (size_t)(page - segment->pages);
  if (sa_opt_purge_delay_ms == 0) sa_segment_page_purge(segment, index);
  else if (sa_opt_purge_delay_ms > 0) sa_segment_page_purge_later(tld, segment, index);
}
