/* segment.c: segments, the aligned OS reservations that hold pages.
 *
 * A thread owns its segments: only it takes pages from them or gives pages back.
 * Small and medium segments with a free page wait in the thread's queues; empty
 * segments are kept in a small per-thread cache before they go back to the OS.
 * When a thread exits, its segments are abandoned to a global list, and the next
 * thread that needs pages reclaims them (and with them the blocks other threads
 * freed in the meantime). */
#include "internal.h"

static void page_purge(sa_segment_t* segment, size_t index);
static void segment_purge_cached(sa_segment_t* segment);
static void segment_purge_range(sa_segment_t* segment, size_t offset, size_t size);
static void purge_list_remove(sa_tld_t* tld, sa_segment_t* segment);

/* ---- the segment map: which 4 MiB regions are our segments ---------------------
 * One bit per possible segment in a 48-bit address space: 8 M bits = 1 MiB of
 * zero-initialised static memory, of which only the touched pages cost anything.
 * It lets sa_is_in_heap_region() answer for any pointer without touching memory
 * that may not be mapped. */
#define SA_ADDRESS_BITS 48
#define SA_SEGMENT_MAP_WORDS (((size_t)1 << (SA_ADDRESS_BITS - SA_SEGMENT_SHIFT)) / 64)
static _Atomic(uint64_t) segment_map[SA_SEGMENT_MAP_WORDS];

static void segment_map_set(const sa_segment_t* segment, bool present) {
  size_t index = (uintptr_t)segment >> SA_SEGMENT_SHIFT;
  if (index / 64 >= SA_SEGMENT_MAP_WORDS) return;
  uint64_t bit = (uint64_t)1 << (index % 64);
  if (present) atomic_fetch_or_explicit(&segment_map[index / 64], bit, memory_order_release);
  else atomic_fetch_and_explicit(&segment_map[index / 64], ~bit, memory_order_release);
}

sa_decl_export bool sa_is_in_heap_region(const void* p) {
  if (p == NULL) return false;
  sa_segment_t* segment = sa_segment_of(p);
  size_t index = (uintptr_t)segment >> SA_SEGMENT_SHIFT;
  if (index / 64 >= SA_SEGMENT_MAP_WORDS) return false;
  uint64_t word = atomic_load_explicit(&segment_map[index / 64], memory_order_acquire);
  if ((word & ((uint64_t)1 << (index % 64))) == 0) return false;
  return segment->cookie == ((uintptr_t)segment ^ sa_process_key) &&
         (uintptr_t)p < (uintptr_t)segment + segment->size;
}

/* ---- geometry -------------------------------------------------------------------- */

static size_t segment_header_size(size_t page_count) {
#if SA_SECURE_GUARD_PAGES
  /* Secure build: every kind keeps the largest header and a guard page after it, at
   * one place whatever kind a cached segment is reused as (sa_secure_guard_segment). */
  (void)page_count;
  return sa_align_up(sizeof(sa_segment_t) + SA_SMALL_PAGES_PER_SEGMENT * sizeof(sa_page_t), 4 * SA_KiB) +
         SA_GUARD_SIZE;
#else
  return sa_align_up(sizeof(sa_segment_t) + page_count * sizeof(sa_page_t), 4 * SA_KiB);
#endif
}

/* The part of every segment that is never purged: the largest header of any kind
 * (a small segment's). A segment is reused as another kind, from a cache, and its
 * new header must land in memory that is still read-write (eager_commit off). */
static size_t segment_header_keep(void) { return segment_header_size(SA_SMALL_PAGES_PER_SEGMENT); }

/* The bytes of a page that hold blocks: the first page gives up the header. */
size_t sa_page_usable_area(const sa_segment_t* segment, const sa_page_t* page, uint8_t** start) {
  size_t index = (size_t)(page - segment->pages);
  size_t page_size = segment->kind == SA_PAGE_HUGE ? segment->size : (size_t)1 << segment->page_shift;
  uint8_t* page_start = (uint8_t*)segment + index * page_size;
  size_t skip = index == 0 ? segment_header_size(segment->page_count) : 0;
  *start = page_start + skip;
  /* Secure build: the segment's last OS page is a guard (sa_secure_guard_segment). */
  size_t tail_guard = segment->kind != SA_PAGE_HUGE && index + 1 == segment->page_count ? SA_GUARD_SIZE : 0;
  return page_size - skip - tail_guard;
}

static sa_page_kind_t kind_for(size_t block_size) {
  if (block_size <= SA_SMALL_OBJ_MAX) return SA_PAGE_SMALL;
  if (block_size <= SA_MEDIUM_OBJ_MAX) return SA_PAGE_MEDIUM;
  return SA_PAGE_LARGE;
}

static void segment_init(sa_segment_t* segment, sa_page_kind_t kind, size_t size, sa_tld_t* tld) {
  static const uint8_t shifts[] = {SA_SMALL_PAGE_SHIFT, SA_MEDIUM_PAGE_SHIFT, SA_SEGMENT_SHIFT, 63};
  static const uint32_t counts[] = {SA_SMALL_PAGES_PER_SEGMENT, SA_MEDIUM_PAGES_PER_SEGMENT, 1, 1};
  uint32_t page_count = counts[kind];
  /* How the memory was mapped outlives the segment's reuse from the cache. */
  bool is_committed = segment->is_committed, large_pages = segment->large_pages;
  memset(segment, 0, sizeof(sa_segment_t) + page_count * sizeof(sa_page_t));
  segment->is_committed = is_committed;
  segment->large_pages = large_pages;
  segment->cookie = (uintptr_t)segment ^ sa_process_key;
  segment->size = size;
  segment->page_shift = shifts[kind];
  segment->kind = (uint8_t)kind;
  segment->page_count = page_count;
  segment->tld = tld;
  atomic_store_explicit(&segment->thread_id, tld != NULL ? tld->thread_id : 0, memory_order_release);
}

/* ---- obtaining and releasing segments -------------------------------------------- */

/* Whether large OS pages are still worth trying: off after the first refusal. */
static _Atomic(bool) large_pages_refused;
#define SA_LARGE_OS_PAGE ((size_t)2 * SA_MiB)

/* Maps `size` bytes for a segment; (segment + offset) is aligned to `alignment`.
 * In order: reserved arenas, large OS pages (allow_large_os_pages), plain pages;
 * with limit_os_alloc only the arenas. Segments that are not committed up front
 * (eager_commit off) get their header committed here and their pages on use. */
sa_segment_t* sa_segment_map(size_t size, size_t alignment, size_t offset, bool commit) {
  sa_segment_t* segment = NULL;
  bool large_pages = false;
  if (alignment == SA_SEGMENT_SIZE && offset == 0) segment = sa_arena_alloc(size, &large_pages);
  if (segment == NULL && sa_option_is_enabled(sa_option_limit_os_alloc)) {
    errno = ENOMEM;
    return NULL;
  }
  if (segment != NULL) commit = true;
  if (segment == NULL && sa_option_is_enabled(sa_option_allow_large_os_pages) && size % SA_LARGE_OS_PAGE == 0 &&
      offset == 0 && !atomic_load_explicit(&large_pages_refused, memory_order_relaxed)) {
    segment = sa_os_alloc_large_pages(size, alignment, SA_LARGE_OS_PAGE);
    if (segment != NULL) {
      large_pages = commit = true;
    } else if (!atomic_exchange(&large_pages_refused, true)) {
      sa_warning("no 2 MiB huge OS pages available (see /proc/sys/vm/nr_hugepages): using normal pages%s",
                 sa_option_is_enabled(sa_option_allow_thp) ? " with transparent huge pages" : "");
    }
  }
  if (segment == NULL) {
    segment = sa_os_alloc_aligned(size, alignment, offset, commit);
    if (segment == NULL) return NULL;
    /* Without allow_thp the kernel must not back us with transparent huge pages;
     * with allow_large_os_pages (when no real ones are left) we ask for them. Not by
     * default: a touched 4 KiB would cost 2 MiB of RSS, and on these VMs even dense
     * huge blocks ran slower with them (malloc-large: 1.2-1.8 s against 0.8 s). */
    if (!sa_option_is_enabled(sa_option_allow_thp)) sa_os_advise_thp(segment, size, false);
    else if (sa_option_is_enabled(sa_option_allow_large_os_pages)) sa_os_advise_thp(segment, size, true);
  }
  if (!commit && !sa_os_commit(segment, segment_header_keep())) {
    sa_os_free(segment, size, 0);
    errno = ENOMEM;
    return NULL;
  }
  segment_map_set(segment, true);
  segment->is_committed = commit;
  segment->large_pages = large_pages;
  return segment;
}

/* Marks or unmarks a segment in the segment map (huge.c, around moving one). */
void sa_segment_map_mark(const sa_segment_t* segment, bool present) { segment_map_set(segment, present); }

/* Bytes of the segment that are read-write (all, unless it commits on use). */
static size_t segment_committed_bytes(const sa_segment_t* segment) {
  if (segment->is_committed) return segment->size;
  size_t bytes = segment_header_keep();
  for (uint32_t i = 0; i < segment->page_count; i++) {
    if (segment->pages[i].is_committed) bytes += (size_t)1 << segment->page_shift;
  }
  return bytes;
}

void sa_segment_unmap(sa_segment_t* segment) {
  segment_map_set(segment, false);
  segment->cookie = 0;
#if SA_SECURE_GUARD_PAGES
  /* an arena slot is reused as any kind: its next user lays out its own guards */
  if (sa_arena_contains(segment)) sa_secure_unguard(segment, segment->size);
#endif
  if (!sa_arena_free(segment, segment->size)) sa_os_free(segment, segment->size, segment_committed_bytes(segment));
}

/* Empty segments that exited threads left, for the next thread to reuse (purged,
 * like the per-thread caches). With purge_delay -1 nothing is given back at all. */
#define SA_GLOBAL_SEGMENT_CACHE 16
static sa_lock_t global_cache_lock = SA_LOCK_INIT;
static _Atomic(sa_segment_t*) global_cache;
static size_t global_cache_count;

static sa_segment_t* global_cache_pop(void) {
  /* A peek without the lock: a stale answer only costs an mmap. */
  if (atomic_load_explicit(&global_cache, memory_order_relaxed) == NULL) return NULL;
  sa_lock_acquire(&global_cache_lock);
  sa_segment_t* segment = atomic_load_explicit(&global_cache, memory_order_relaxed);
  if (segment != NULL) {
    atomic_store_explicit(&global_cache, segment->next, memory_order_relaxed);
    global_cache_count--;
  }
  sa_lock_release(&global_cache_lock);
  return segment;
}

/* Keeps an empty segment in the global cache; false if it is full. */
static bool global_cache_push(sa_segment_t* segment) {
  bool kept = false;
  sa_lock_acquire(&global_cache_lock);
  if (sa_opt_purge_delay_ms < 0 || global_cache_count < SA_GLOBAL_SEGMENT_CACHE) {
    segment->next = atomic_load_explicit(&global_cache, memory_order_relaxed);
    atomic_store_explicit(&global_cache, segment, memory_order_relaxed);
    global_cache_count++;
    kept = true;
  }
  sa_lock_release(&global_cache_lock);
  return kept;
}

void sa_segment_global_cache_flush(void) {
  sa_lock_acquire(&global_cache_lock);
  sa_segment_t* list = atomic_exchange_explicit(&global_cache, NULL, memory_order_relaxed);
  global_cache_count = 0;
  sa_lock_release(&global_cache_lock);
  while (list != NULL) {
    sa_segment_t* next = list->next;
    sa_segment_unmap(list);
    list = next;
  }
}

static sa_segment_t* segment_alloc(sa_tld_t* tld, sa_page_kind_t kind) {
  sa_segment_t* segment = tld->cache;
  if (segment != NULL) {
    tld->cache = segment->next;
    tld->cache_count--;
  } else if ((segment = global_cache_pop()) != NULL) {
    /* reused as it is: purged when it was cached */
  } else {
    segment = sa_segment_map(SA_SEGMENT_SIZE, SA_SEGMENT_SIZE, 0, sa_option_is_enabled(sa_option_eager_commit));
    if (segment == NULL) return NULL;
#if SA_SECURE_GUARD_PAGES
    sa_secure_guard_segment(segment); /* kept through its reuse from the caches */
#endif
  }
  segment_init(segment, kind, SA_SEGMENT_SIZE, tld);
  sa_stat_increase(&tld->stats.segments, 1);
  return segment;
}

void sa_segment_free(sa_segment_t* segment, sa_tld_t* tld) {
  sa_assert(segment->used == 0);
  if (tld != NULL) {
    purge_list_remove(tld, segment);
    sa_stat_decrease(&tld->stats.segments, 1);
  }
  bool keep_all = sa_opt_purge_delay_ms < 0; /* purge_delay -1: never give memory back */
  if (tld != NULL && segment->size == SA_SEGMENT_SIZE &&
      (keep_all || tld->cache_count < (size_t)sa_opt_segment_cache)) {
    /* Keep it for reuse; its memory beyond the header goes back to the OS after the
     * purge delay (sa_segments_purge_due), unless it is reused before: a thread that
     * allocates and frees one large block in a loop neither purges nor faults. */
    segment->cache_unpurged = sa_opt_purge_delay_ms != 0;
    segment->purge_at_ms = sa_opt_purge_delay_ms > 0 ? sa_os_clock_ms() + sa_opt_purge_delay_ms : INT64_MAX;
    if (!segment->cache_unpurged) segment_purge_cached(segment);
    segment->next = tld->cache;
    tld->cache = segment;
    tld->cache_count++;
    return;
  }
  sa_segment_unmap(segment);
}

/* Purges a cached (empty) segment beyond the header of any kind it may be reused as. */
static void segment_purge_cached(sa_segment_t* segment) {
  size_t header = segment_header_keep();
  segment_purge_range(segment, header, SA_SEGMENT_SIZE - header);
  segment->cache_unpurged = false;
}

/* Empties the thread's cache down to `keep` segments: to the global cache when
 * `donate` (thread exit; purged first unless nothing is ever purged), else back to
 * the OS. */
void sa_segment_cache_flush(sa_tld_t* tld, size_t keep, bool donate) {
  while (tld->cache_count > keep) {
    sa_segment_t* segment = tld->cache;
    tld->cache = segment->next;
    tld->cache_count--;
    if (donate && segment->cache_unpurged && sa_opt_purge_delay_ms >= 0) segment_purge_cached(segment);
    if (!donate || !global_cache_push(segment)) sa_segment_unmap(segment);
  }
}

/* ---- the thread's queues of segments with free pages ------------------------------- */

static sa_segment_queue_t* free_queue_of(sa_tld_t* tld, const sa_segment_t* segment) {
  if (segment->kind == SA_PAGE_SMALL) return &tld->small_free;
  if (segment->kind == SA_PAGE_MEDIUM) return &tld->medium_free;
  return NULL;
}

static void segment_queue_push(sa_segment_queue_t* queue, sa_segment_t* segment) {
  segment->next = NULL;
  segment->prev = queue->last;
  if (queue->last != NULL) queue->last->next = segment;
  else queue->first = segment;
  queue->last = segment;
  segment->in_free_queue = 1;
}

static void segment_queue_remove(sa_segment_queue_t* queue, sa_segment_t* segment) {
  if (segment->prev != NULL) segment->prev->next = segment->next;
  if (segment->next != NULL) segment->next->prev = segment->prev;
  if (queue->first == segment) queue->first = segment->next;
  if (queue->last == segment) queue->last = segment->prev;
  segment->next = segment->prev = NULL;
  segment->in_free_queue = 0;
}

/* ---- pages ------------------------------------------------------------------------ */


sa_page_t* sa_segment_page_alloc(sa_heap_t* heap, size_t block_size) {
  sa_tld_t* tld = heap->tld;
  sa_page_kind_t kind = kind_for(block_size);
  sa_segment_queue_t* queue = kind == SA_PAGE_SMALL ? &tld->small_free : kind == SA_PAGE_MEDIUM ? &tld->medium_free : NULL;
  sa_segment_t* segment = queue != NULL ? queue->first : NULL;
  if (segment == NULL) {
    segment = segment_alloc(tld, kind);
    if (segment == NULL) return NULL;
    if (queue != NULL) segment_queue_push(queue, segment);
  }
  sa_page_t* page = NULL;
  for (uint32_t i = 0; i < segment->page_count; i++) {
    if (!segment->pages[i].in_use) {
      page = &segment->pages[i];
      break;
    }
  }
  sa_assert(page != NULL);
  if (!segment->is_committed && !page->is_committed) {
    if (!sa_os_commit((uint8_t*)segment + ((size_t)(page - segment->pages) << segment->page_shift),
                      (size_t)1 << segment->page_shift)) {
      return NULL; /* the caller reports ENOMEM; the page stays free */
    }
    page->is_committed = 1;
#if SA_SECURE_GUARD_PAGES
    sa_secure_guard_segment(segment); /* the commit made the guards read-write again */
#endif
  }
  page->in_use = 1;
  segment->purge_mask &= ~((uint64_t)1 << (page - segment->pages)); /* still resident: no purge needed */
  segment->used++;
  if (segment->used == segment->page_count && segment->in_free_queue) segment_queue_remove(queue, segment);
  sa_stat_increase(&tld->stats.pages, 1);
  return page;
}

void sa_segment_page_free(sa_tld_t* tld, sa_page_t* page) {
  sa_segment_t* segment = sa_segment_of(page);
  page->in_use = 0;
  page->free = page->local_free = NULL;
  page->used = page->capacity = 0;
  page->flags = 0;
  atomic_store_explicit(&page->xthread_id, 0, memory_order_relaxed);
  atomic_store_explicit(&page->batchable, 0, memory_order_relaxed);
  segment->used--;
  sa_stat_decrease(&tld->stats.pages, 1);
  sa_segment_queue_t* queue = free_queue_of(tld, segment);
  if (segment->used == 0) {
    if (segment->in_free_queue) segment_queue_remove(queue, segment);
    sa_segment_free(segment, tld);
    return;
  }
  if (queue != NULL && !segment->in_free_queue) segment_queue_push(queue, segment);
  /* Give the page's memory back: at once, after the purge delay, or never. */
  if (sa_opt_purge_delay_ms == 0) {
    page_purge(segment, (size_t)(page - segment->pages));
  } else if (sa_opt_purge_delay_ms > 0) {
    segment->purge_mask |= (uint64_t)1 << (page - segment->pages);
    segment->purge_at_ms = sa_os_clock_ms() + sa_opt_purge_delay_ms;
    if (!segment->in_purge_list) {
      segment->in_purge_list = true;
      segment->purge_next = tld->purge_list;
      tld->purge_list = segment;
    }
  }
}

/* ---- purging free pages ----------------------------------------------------------- */

/* Gives back the memory of [offset, offset + size) of a segment, whose pages are
 * free: decommitted when the segment commits on use, else purged. */
static void segment_purge_range(sa_segment_t* segment, size_t offset, size_t size) {
  uint8_t* p = (uint8_t*)segment + offset;
  if (segment->large_pages) {
    sa_os_purge(p, size, true);
  } else if (!segment->is_committed) {
    sa_os_decommit(p, size);
    size_t first = offset >> segment->page_shift;
    size_t last = (offset + size - 1) >> segment->page_shift;
    for (size_t i = first; i <= last && i < segment->page_count; i++) segment->pages[i].is_committed = 0;
  } else {
    sa_os_purge(p, size, sa_option_is_enabled(sa_option_purge_decommits));
  }
}

static void page_purge(sa_segment_t* segment, size_t index) {
  uint8_t* start;
  size_t area = sa_page_usable_area(segment, &segment->pages[index], &start);
  uintptr_t from = sa_align_up((uintptr_t)start, sa_os_page_size());
  /* The first page of a medium or large segment starts below the kept header. */
  uintptr_t keep_end = (uintptr_t)segment + segment_header_keep();
  if (index == 0 && from < keep_end) from = keep_end;
  segment_purge_range(segment, from - (uintptr_t)segment, (size_t)((uintptr_t)start + area - from));
}

/* Purges the pending pages of a segment, a run of neighbouring pages in one call. */
static void segment_purge_pending(sa_segment_t* segment) {
  uint64_t mask = segment->purge_mask;
  segment->purge_mask = 0;
  size_t page_size = (size_t)1 << segment->page_shift;
  while (mask != 0) {
    size_t first = (size_t)__builtin_ctzll(mask);
    size_t end = first;
    while (end < 64 && (mask & ((uint64_t)1 << end))) end++;
    mask &= end == 64 ? 0 : ~(((uint64_t)1 << end) - 1);
    if (first == 0) {
      page_purge(segment, 0); /* the first page shares its start with the header */
      first = 1;
    }
    if (end > first) segment_purge_range(segment, first * page_size, (end - first) * page_size);
  }
}

static void purge_list_remove(sa_tld_t* tld, sa_segment_t* segment) {
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
  for (sa_segment_t* segment = tld->cache; segment != NULL; segment = segment->next) {
    if (segment->cache_unpurged && (force || now_ms >= segment->purge_at_ms)) segment_purge_cached(segment);
  }
  for (sa_segment_t** link = &tld->purge_list; *link != NULL;) {
    sa_segment_t* segment = *link;
    if (force || now_ms >= segment->purge_at_ms) {
      segment_purge_pending(segment);
      segment->in_purge_list = false;
      *link = segment->purge_next;
    } else {
      link = &segment->purge_next;
    }
  }
}

/* ---- abandon and reclaim ------------------------------------------------------------- */

static sa_lock_t abandoned_lock = SA_LOCK_INIT;
static sa_segment_t* abandoned_list; /* doubly linked: a free can take one out of the middle */
_Atomic(size_t) sa_abandoned_count;

/* Thread exit, in two steps (heap.c): first every page leaves the thread's heaps
 * and its segment is set aside on the tld's `abandoning` list; then
 * sa_segments_abandon_publish hands them all to the global list. Publishing only
 * after the last page left the heaps keeps a thread that reclaims a segment from
 * adopting pages that are still linked in the dying thread's queues. */
void sa_segments_abandon_page(sa_tld_t* tld, sa_page_t* page) {
  sa_segment_t* segment = sa_segment_of(page);
  atomic_store_explicit(&page->heap, NULL, memory_order_release);
  if (segment->tld == NULL) return; /* set aside by an earlier page */
  sa_segment_queue_t* queue = free_queue_of(tld, segment);
  if (segment->in_free_queue) segment_queue_remove(queue, segment);
  purge_list_remove(tld, segment);
  segment_purge_pending(segment); /* nobody would purge them while it is abandoned */
  segment->tld = NULL;
  sa_stat_decrease(&tld->stats.segments, 1);
  sa_stat_increase(&tld->stats.abandoned, 1);
  segment->abandoned_next = tld->abandoning;
  tld->abandoning = segment;
}

void sa_segments_abandon_publish(sa_tld_t* tld) {
  if (tld->abandoning == NULL) return;
  sa_lock_acquire(&abandoned_lock);
  while (tld->abandoning != NULL) {
    sa_segment_t* segment = tld->abandoning;
    tld->abandoning = segment->abandoned_next;
    segment->abandoned_prev = NULL;
    segment->abandoned_next = abandoned_list;
    if (abandoned_list != NULL) abandoned_list->abandoned_prev = segment;
    abandoned_list = segment;
    atomic_store_explicit(&segment->thread_id, 0, memory_order_release);
    for (uint32_t i = 0; i < segment->page_count; i++) {
      if (segment->pages[i].in_use) sa_page_sync_owner(&segment->pages[i]);
    }
    atomic_fetch_add_explicit(&sa_abandoned_count, 1, memory_order_relaxed);
  }
  sa_lock_release(&abandoned_lock);
}

/* Takes `segment` (or, when NULL, the first one) off the abandoned list and makes
 * the calling thread its owner; NULL if it is not (or no longer) abandoned. */
static sa_segment_t* abandoned_take(sa_segment_t* segment, uintptr_t thread_id) {
  sa_lock_acquire(&abandoned_lock);
  if (segment == NULL) segment = abandoned_list;
  else if (atomic_load_explicit(&segment->thread_id, memory_order_relaxed) != 0) segment = NULL;
  if (segment != NULL) {
    if (segment->abandoned_prev != NULL) segment->abandoned_prev->abandoned_next = segment->abandoned_next;
    else abandoned_list = segment->abandoned_next;
    if (segment->abandoned_next != NULL) segment->abandoned_next->abandoned_prev = segment->abandoned_prev;
    segment->abandoned_next = segment->abandoned_prev = NULL;
    atomic_store_explicit(&segment->thread_id, thread_id, memory_order_release);
    atomic_fetch_sub_explicit(&sa_abandoned_count, 1, memory_order_relaxed);
  }
  sa_lock_release(&abandoned_lock);
  return segment;
}

/* Makes an abandoned segment (already taken off the list) the heap's thread's. */
static void segment_adopt(sa_heap_t* heap, sa_segment_t* segment) {
  sa_tld_t* tld = heap->tld;
  segment->tld = tld;
  sa_stat_increase(&tld->stats.segments, 1);
  sa_stat_increase(&tld->stats.reclaimed, 1);
  sa_segment_queue_t* queue = free_queue_of(tld, segment);
  if (queue != NULL && segment->used < segment->page_count) segment_queue_push(queue, segment);
  /* Adopt the pages first and free the empty ones after: freeing the last page
   * frees the segment. */
  for (uint32_t i = 0; i < segment->page_count; i++) {
    sa_page_t* page = &segment->pages[i];
    if (!page->in_use) continue;
    sa_page_collect(page, true);
    sa_page_adopt(heap, page);
  }
  uint32_t count = segment->page_count;
  for (uint32_t i = 0; i < count; i++) {
    sa_page_t* page = &segment->pages[i];
    if (page->in_use && page->used == 0) {
      bool last = segment->used == 1;
      sa_page_free_to_segment(heap, page);
      if (last) break; /* the segment itself is gone */
    }
  }
}

size_t sa_segments_reclaim(sa_heap_t* heap, size_t max) {
  size_t reclaimed = 0;
  while (reclaimed < max) {
    sa_segment_t* segment = abandoned_take(NULL, heap->tld->thread_id);
    if (segment == NULL) break;
    segment_adopt(heap, segment);
    reclaimed++;
  }
  return reclaimed;
}

/* A free into an abandoned segment takes the segment over, so that its blocks are
 * freed locally from then on and its empty pages go back to the OS. Returns false
 * if another thread was quicker (or this thread has no heap). */
bool sa_segment_reclaim_on_free(sa_segment_t* segment) {
  /* Only into a heap the thread has: a thread without one may be past its exit
   * clean-up, and a heap made now would never be ended (nor would the segment). */
  sa_heap_t* heap = sa_heap_default;
  if (heap == &sa_heap_empty) return false;
  heap = heap->tld->heap_default;
  if (abandoned_take(segment, heap->tld->thread_id) == NULL) return false;
  segment_adopt(heap, segment);
  return true;
}

void sa_segments_fork_prepare(void) {
  sa_lock_acquire(&abandoned_lock);
  sa_lock_acquire(&global_cache_lock);
}
void sa_segments_fork_release(void) {
  sa_lock_release(&global_cache_lock);
  sa_lock_release(&abandoned_lock);
}
