/* segment.c: segments, the aligned OS reservations that hold pages.
 *
 * A thread owns its segments: only it takes pages from them or gives pages back.
 * Small and medium segments with a free page wait in the thread's queues; empty
 * segments are kept in a small per-thread cache before they go back to the OS.
 * When a thread exits, its segments are abandoned to a global list, and the next
 * thread that needs pages reclaims them (and with them the blocks other threads
 * freed in the meantime). */
#include "internal.h"

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
  return sa_align_up(sizeof(sa_segment_t) + page_count * sizeof(sa_page_t), 4 * SA_KiB);
}

/* The bytes of a page that hold blocks: the first page gives up the header. */
size_t sa_page_usable_area(const sa_segment_t* segment, const sa_page_t* page, uint8_t** start) {
  size_t index = (size_t)(page - segment->pages);
  size_t page_size = segment->kind == SA_PAGE_HUGE ? segment->size : (size_t)1 << segment->page_shift;
  uint8_t* page_start = (uint8_t*)segment + index * page_size;
  size_t skip = index == 0 ? segment_header_size(segment->page_count) : 0;
  *start = page_start + skip;
  return page_size - skip;
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
  memset(segment, 0, sizeof(sa_segment_t) + page_count * sizeof(sa_page_t));
  segment->cookie = (uintptr_t)segment ^ sa_process_key;
  segment->size = size;
  segment->page_shift = shifts[kind];
  segment->kind = (uint8_t)kind;
  segment->page_count = page_count;
  segment->tld = tld;
  atomic_store_explicit(&segment->thread_id, tld != NULL ? tld->thread_id : 0, memory_order_release);
}

/* ---- obtaining and releasing segments -------------------------------------------- */

/* Maps `size` bytes for a segment; (segment + offset) is aligned to `alignment`. */
sa_segment_t* sa_segment_map(size_t size, size_t alignment, size_t offset) {
  sa_segment_t* segment = sa_os_alloc_aligned(size, alignment, offset);
  if (segment == NULL) return NULL;
  segment_map_set(segment, true);
  return segment;
}

void sa_segment_unmap(sa_segment_t* segment) {
  segment_map_set(segment, false);
  segment->cookie = 0;
  sa_os_free(segment, segment->size);
}

static sa_segment_t* segment_alloc(sa_tld_t* tld, sa_page_kind_t kind) {
  sa_segment_t* segment = tld->cache;
  if (segment != NULL) {
    tld->cache = segment->next;
    tld->cache_count--;
  } else {
    segment = sa_segment_map(SA_SEGMENT_SIZE, SA_SEGMENT_SIZE, 0);
    if (segment == NULL) return NULL;
  }
  segment_init(segment, kind, SA_SEGMENT_SIZE, tld);
  tld->segment_count++;
  sa_stat_increase(&tld->stats.segments, 1);
  return segment;
}

void sa_segment_free(sa_segment_t* segment, sa_tld_t* tld) {
  sa_assert(segment->used == 0);
  if (tld != NULL) {
    tld->segment_count--;
    sa_stat_decrease(&tld->stats.segments, 1);
  }
  if (tld != NULL && segment->size == SA_SEGMENT_SIZE && tld->cache_count < (size_t)sa_opt_segment_cache) {
    /* Keep it for reuse, but give its memory back beyond the header (its pages are
     * all free). Reuse faults the pages in again; that is the price of a low RSS. */
    if (sa_opt_purge_delay_ms >= 0) {
      size_t header = segment_header_size(segment->page_count);
      sa_os_purge((uint8_t*)segment + header, SA_SEGMENT_SIZE - header,
                  sa_option_is_enabled(sa_option_purge_decommits));
    }
    segment->next = tld->cache;
    tld->cache = segment;
    tld->cache_count++;
    return;
  }
  sa_segment_unmap(segment);
}

void sa_segment_cache_flush(sa_tld_t* tld, size_t keep) {
  while (tld->cache_count > keep) {
    sa_segment_t* segment = tld->cache;
    tld->cache = segment->next;
    tld->cache_count--;
    sa_segment_unmap(segment);
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
  page->in_use = 1;
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
  segment->used--;
  sa_stat_decrease(&tld->stats.pages, 1);
  sa_segment_queue_t* queue = free_queue_of(tld, segment);
  if (segment->used == 0) {
    if (segment->in_free_queue) segment_queue_remove(queue, segment);
    sa_segment_free(segment, tld);
    return;
  }
  if (queue != NULL && !segment->in_free_queue) segment_queue_push(queue, segment);
  /* Give the page's memory back; a page is reused only after it was purged. */
  if (sa_opt_purge_delay_ms == 0) {
    uint8_t* start;
    size_t area = sa_page_usable_area(segment, page, &start);
    uintptr_t from = sa_align_up((uintptr_t)start, sa_os_page_size());
    sa_os_purge((void*)from, (size_t)((uintptr_t)start + area - from),
                sa_option_is_enabled(sa_option_purge_decommits));
  }
}

/* ---- abandon and reclaim ------------------------------------------------------------- */

static sa_lock_t abandoned_lock = SA_LOCK_INIT;
static sa_segment_t* abandoned_list;
_Atomic(size_t) sa_abandoned_count;

/* Called when the thread's heaps have released their pages (heap.c): every segment
 * still in use is handed to the global list. Segments are found through the pages
 * of the thread's heaps, which cover every page in use. */
void sa_segments_abandon_page(sa_tld_t* tld, sa_page_t* page) {
  sa_segment_t* segment = sa_segment_of(page);
  atomic_store_explicit(&page->heap, NULL, memory_order_release);
  if (segment->tld == NULL) return; /* already abandoned by an earlier page */
  sa_segment_queue_t* queue = free_queue_of(tld, segment);
  if (segment->in_free_queue) segment_queue_remove(queue, segment);
  segment->tld = NULL;
  segment->abandoned_pages = segment->used;
  atomic_store_explicit(&segment->thread_id, 0, memory_order_release);
  tld->segment_count--;
  sa_stat_decrease(&tld->stats.segments, 1);
  sa_stat_increase(&tld->stats.abandoned, 1);
  sa_lock_acquire(&abandoned_lock);
  segment->abandoned_next = abandoned_list;
  abandoned_list = segment;
  atomic_fetch_add_explicit(&sa_abandoned_count, 1, memory_order_relaxed);
  sa_lock_release(&abandoned_lock);
}

static sa_segment_t* abandoned_pop(void) {
  sa_lock_acquire(&abandoned_lock);
  sa_segment_t* segment = abandoned_list;
  if (segment != NULL) {
    abandoned_list = segment->abandoned_next;
    atomic_fetch_sub_explicit(&sa_abandoned_count, 1, memory_order_relaxed);
  }
  sa_lock_release(&abandoned_lock);
  return segment;
}

size_t sa_segments_reclaim(sa_heap_t* heap, size_t max) {
  sa_tld_t* tld = heap->tld;
  size_t reclaimed = 0;
  while (reclaimed < max) {
    sa_segment_t* segment = abandoned_pop();
    if (segment == NULL) break;
    reclaimed++;
    segment->tld = tld;
    atomic_store_explicit(&segment->thread_id, tld->thread_id, memory_order_release);
    tld->segment_count++;
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
  return reclaimed;
}

void sa_segments_fork_prepare(void) { sa_lock_acquire(&abandoned_lock); }
void sa_segments_fork_release(void) { sa_lock_release(&abandoned_lock); }
