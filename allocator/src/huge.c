/* huge.c: blocks larger than SA_LARGE_OBJ_MAX, each in a segment of its own
 * (floor 5, see README.md).
 *
 * The block follows the segment header (rounded up to the requested alignment).
 * An alignment of a segment or more puts the block exactly one segment past the
 * header, at an address the alignment divides; masking p - 1 still finds the header.
 *
 * Huge blocks belong to no page queue, so any thread frees them directly. Freed
 * huge segments are kept in a small global cache (up to `large_cache` bytes) and
 * reused for the next huge request they fit: repeated large allocations then cost
 * neither an mmap nor a page fault per 4 KiB. Cached memory is purged after
 * `purge_delay` ms, and the cache is emptied by sa_collect(true).
 *
 * Secure build: the header's last OS page is a guard (SA_SECURE_GUARD_PAGES), and so
 * is the segment's last OS page, right after the block's end rounded up to the OS
 * page (SA_SECURE_HUGE_GUARD): the block is what lies between. A cached segment that
 * serves a smaller request keeps its size and its guard (the block is the whole
 * segment, as in every build); one that grows lays its guard again at its new end. */
#include "internal.h"

#define SA_HUGE_CACHE_SLOTS 16
/* A cached segment serves a request only if it is not more than twice its size. */
#define SA_HUGE_CACHE_MAX_WASTE 2

typedef struct huge_cache_slot_s {
  sa_segment_t* segment;
  int64_t freed_ms;
  bool purged;
} huge_cache_slot_t;

static sa_lock_t huge_lock = SA_LOCK_INIT;
static huge_cache_slot_t huge_cache[SA_HUGE_CACHE_SLOTS];
static size_t huge_cache_bytes;
/* Every live huge page, so that a heap can be destroyed with its huge blocks. */
static sa_list_t huge_live; /* by page->link */

/* Keeps the huge-byte statistics: + at allocation, - at free, both at a resize. */
static void huge_count(const sa_page_t* page, int64_t delta) {
  (void)page;
  sa_stat_atomic_add(&sa_os_stats.huge_current, &sa_os_stats.huge_peak, delta);
  if (delta > 0) atomic_fetch_add_explicit(&sa_os_stats.huge_total, delta, memory_order_relaxed);
}

/* Secure build: the header's last OS page is a guard (the block follows it). */
static size_t huge_header_size(void) {
  return sa_align_up(sizeof(sa_segment_t) + sizeof(sa_page_t), sa_os_page_size()) + SA_GUARD_SIZE;
}

/* The bytes a segment takes for a block of `size` at `offset`: to the block's end
 * rounded up to the OS page, then the guard after it (secure build). */
static size_t huge_segment_size(size_t offset, size_t size) {
  return sa_align_up(offset + size, sa_os_page_size()) + sa_huge_guard_size();
}

#if SA_SECURE_HUGE_GUARD
/* Makes the guard after the block of a segment `size` bytes long inaccessible, or
 * read-write again (it is about to be inside the block). Large OS pages cannot be
 * split: they keep no guard. */
static void huge_guard_set(sa_segment_t* segment, size_t size, bool protect) {
  if (segment->large_pages) return;
  uint8_t* guard = (uint8_t*)segment + size - sa_huge_guard_size();
  if (protect) sa_secure_protect(guard, sa_huge_guard_size());
  else sa_secure_unguard(guard, sa_huge_guard_size());
}
#endif

/* Resizes the segment's mapping where it stands; false (the mapping as it was) if it
 * cannot. mremap resizes one mapping (VMA) only, and the guards split a segment into
 * several: the secure build resizes the block's own, from the header guard's end on,
 * with the tail guard made part of it first and laid again at the end. */
static bool huge_resize(sa_segment_t* segment, size_t new_size) {
#if SA_SECURE_ANY_GUARD
  if (!segment->large_pages) {
    size_t from = huge_header_size();
    uint8_t* block_mapping = (uint8_t*)segment + from;
#if SA_SECURE_HUGE_GUARD
    huge_guard_set(segment, segment->size, false);
#endif
    bool resized = sa_mem_remap(block_mapping, segment->size - from, new_size - from) == block_mapping;
#if SA_SECURE_HUGE_GUARD
    huge_guard_set(segment, resized ? new_size : segment->size, true);
#endif
    return resized;
  }
#endif
  return sa_mem_remap(segment, segment->size, new_size) == segment;
}

/* Grows a cached segment to `total` bytes: where it stands, or (release) by moving
 * its pages elsewhere; NULL if it cannot (the old mapping then stays as it was). */
static sa_segment_t* huge_grow(sa_segment_t* segment, size_t total) {
#if SA_SECURE_ANY_GUARD
  /* a move (mremap) also takes one mapping only: in place or not at all */
  return huge_resize(segment, total) ? segment : NULL;
#else
  return sa_mem_grow_aligned(segment, segment->size, total, SA_SEGMENT_SIZE, 0);
#endif
}

static void live_push(sa_page_t* page) { SA_LIST_PUSH_FRONT(&huge_live, page, link); }

static void live_remove(sa_page_t* page) { SA_LIST_REMOVE(&huge_live, page, link); }

/* Purges cached segments older than the purge delay (lock held). */
static void cache_age(int64_t now_ms) {
  if (sa_opt_purge_delay_ms < 0) return;
  for (int i = 0; i < SA_HUGE_CACHE_SLOTS; i++) {
    huge_cache_slot_t* slot = &huge_cache[i];
    if (slot->segment == NULL || slot->purged || now_ms - slot->freed_ms < sa_opt_purge_delay_ms) continue;
    size_t header = huge_header_size();
    sa_mem_purge((uint8_t*)slot->segment + header, slot->segment->size - header - sa_huge_guard_size(),
                sa_option_is_enabled(sa_option_purge_decommits)); /* the block, not its guard */
    slot->purged = true;
  }
}

/* The cached segment that best serves `total` bytes (lock held): the smallest one
 * that is large enough but not wastefully so, else the largest smaller one (the
 * caller grows it: its pages are reused, only the rest is new). */
static sa_segment_t* cache_take(size_t total) {
  int fit = -1, grow = -1;
  for (int i = 0; i < SA_HUGE_CACHE_SLOTS; i++) {
    sa_segment_t* s = huge_cache[i].segment;
    if (s == NULL || s->size > total * SA_HUGE_CACHE_MAX_WASTE) continue;
    if (s->size >= total) {
      if (fit < 0 || s->size < huge_cache[fit].segment->size) fit = i;
    } else if (grow < 0 || s->size > huge_cache[grow].segment->size) {
      grow = i;
    }
  }
  int best = fit >= 0 ? fit : grow;
  if (best < 0) return NULL;
  sa_segment_t* segment = huge_cache[best].segment;
  huge_cache[best].segment = NULL;
  huge_cache_bytes -= segment->size;
  return segment;
}

/* Keeps a freed segment if there is room; returns false if the caller must unmap it. */
static bool cache_put(sa_segment_t* segment, int64_t now_ms) {
  if (segment->size + huge_cache_bytes > (size_t)sa_option_get(sa_option_large_cache)) return false;
  for (int i = 0; i < SA_HUGE_CACHE_SLOTS; i++) {
    if (huge_cache[i].segment != NULL) continue;
    huge_cache[i] = (huge_cache_slot_t){segment, now_ms, false};
    huge_cache_bytes += segment->size;
    return true;
  }
  return false;
}

void* sa_huge_alloc(sa_heap_t* heap, size_t size, size_t alignment, bool zero) {
  size_t header = huge_header_size();
  size_t offset, map_alignment, map_offset;
  if (alignment <= SA_SEGMENT_SIZE) {
    offset = alignment > header ? alignment : header;
    map_alignment = SA_SEGMENT_SIZE;
    map_offset = 0;
  } else {
    offset = SA_SEGMENT_SIZE;
    map_alignment = alignment;
    map_offset = SA_SEGMENT_SIZE;
  }
  if (size > SA_MAX_REQUEST - offset) {
    errno = ENOMEM;
    return NULL;
  }
  /* At least one byte: a block must lie inside its mapping, also when it is empty
   * and starts a segment past its header. */
  size_t total = huge_segment_size(offset, size == 0 ? 1 : size);

  sa_segment_t* segment = NULL;
  size_t mapped = total;
  bool is_zero = true;
  if (offset == header) {
    sa_lock_acquire(&huge_lock);
    segment = cache_take(total);
    sa_lock_release(&huge_lock);
    /* Purged or not, a cached segment may still hold old contents (MADV_FREE). */
    if (segment != NULL && segment->size < total && sa_arena_contains(segment)) {
      sa_segment_unmap(segment); /* arena slots cannot grow: give it back, map afresh */
      segment = NULL;
    }
    if (segment != NULL && segment->size < total) {
      /* Out of the segment map before its pages move: once they have, the old
       * address is free, and another thread's new segment may be mapped there and
       * marked (clearing the mark afterwards would unmark that one). */
      sa_segment_map_mark(segment, false);
      sa_segment_t* grown = huge_grow(segment, total);
      if (grown == NULL) {
        sa_segment_unmap(segment);
        segment = NULL;
      } else {
        sa_segment_map_mark(grown, true);
        segment = grown;
        segment->size = total;
      }
    }
    if (segment != NULL) {
      is_zero = false;
      mapped = segment->size;
    }
  }
  if (segment == NULL) {
    segment = sa_segment_map(total, map_alignment, map_offset, true);
    /* Out of address space (RLIMIT_AS, RLIMIT_DATA) perhaps only because of the
     * empty segments kept for other threads: they go, and the mapping is tried again. */
    if (segment == NULL && sa_segment_global_cache_flush() > 0) {
      segment = sa_segment_map(total, map_alignment, map_offset, true);
    }
    if (segment == NULL) {
      errno = ENOMEM;
      return NULL;
    }
#if SA_SECURE_GUARD_PAGES
    if (!segment->large_pages) sa_secure_protect_guard((uint8_t*)segment + huge_header_size() - SA_GUARD_SIZE);
#endif
#if SA_SECURE_HUGE_GUARD
    huge_guard_set(segment, total, true); /* laid again by every resize */
#endif
  }
  bool is_committed = segment->is_committed, large_pages = segment->large_pages;
  memset(segment, 0, sizeof(sa_segment_t) + sizeof(sa_page_t));
  segment->is_committed = is_committed;
  segment->large_pages = large_pages;
  segment->cookie = (uintptr_t)segment ^ sa_process_key;
  segment->size = mapped;
  segment->page_shift = SA_HUGE_PAGE_SHIFT; /* every offset maps to page 0 */
  segment->page_index_shift = 0;
  segment->page_index_mask = 0;             /* and so does every pointer */
  segment->kind = SA_PAGE_HUGE;
  segment->page_count = 1;
  segment->used = 1;
  atomic_store_explicit(&segment->thread_id, heap->tld->thread_id, memory_order_relaxed);
  sa_page_t* page = &segment->pages[0];
  page->in_use = 1;
  page->flags = SA_PAGE_IS_HUGE;
  sa_page_sync_owner(page);
  page->bin = SA_BIN_HUGE;
  page->start = (uint8_t*)segment + offset;
  page->block_size = mapped - offset - sa_huge_guard_size(); /* to sa_huge_block_end */
  page->used = page->capacity = page->reserved = 1;
  atomic_store_explicit(&page->heap, heap, memory_order_relaxed);

  sa_lock_acquire(&huge_lock);
  live_push(page);
  sa_lock_release(&huge_lock);
  huge_count(page, (int64_t)page->block_size);
  if (zero && !is_zero) memset(page->start, 0, size);
  return page->start;
}

void sa_huge_free(sa_segment_t* segment, sa_page_t* page) {
  int64_t now_ms = sa_os_clock_ms();
  sa_lock_acquire(&huge_lock);
  if (!page->in_use) { /* freed twice: unlinking again would corrupt the lists */
    sa_lock_release(&huge_lock);
    sa_error(EINVAL, "free: double free of huge block %p", (void*)page->start);
    return;
  }
  live_remove(page);
  page->in_use = 0;
  huge_count(page, -(int64_t)page->block_size);
  bool cached = page->start == (uint8_t*)segment + huge_header_size() && cache_put(segment, now_ms);
  cache_age(now_ms);
  sa_lock_release(&huge_lock);
  if (!cached) sa_segment_unmap(segment);
}

/* Resizes a huge block where it stands: shrinking gives the tail back to the OS,
 * growing succeeds when the address space after the mapping is free. */
void* sa_huge_realloc(void* p, size_t newsize) {
  sa_segment_t* segment = sa_segment_of(p);
  sa_page_t* page = &segment->pages[0];
  size_t offset = (size_t)((uint8_t*)p - (uint8_t*)segment);
  if (newsize > SA_MAX_REQUEST - offset) return NULL;
  size_t total = huge_segment_size(offset, newsize);
  if (total == segment->size) return p;
  if (total < segment->size && total >= segment->size / 2) return p; /* not worth a call */
  if (sa_arena_contains(segment)) return total <= segment->size ? p : NULL; /* slots stay as they are */
  if (!huge_resize(segment, total)) return NULL;
  segment->size = total;
  huge_count(page, (int64_t)(total - offset - sa_huge_guard_size()) - (int64_t)page->block_size);
  page->block_size = total - offset - sa_huge_guard_size(); /* to sa_huge_block_end */
  return p;
}

void sa_huge_cache_flush(bool force) {
  sa_segment_t* flushed[SA_HUGE_CACHE_SLOTS];
  int count = 0;
  int64_t now_ms = sa_os_clock_ms();
  sa_lock_acquire(&huge_lock);
  for (int i = 0; i < SA_HUGE_CACHE_SLOTS; i++) {
    if (huge_cache[i].segment == NULL) continue;
    if (!force && (sa_opt_purge_delay_ms < 0 || now_ms - huge_cache[i].freed_ms < sa_opt_purge_delay_ms)) continue;
    flushed[count++] = huge_cache[i].segment;
    huge_cache_bytes -= huge_cache[i].segment->size;
    huge_cache[i].segment = NULL;
  }
  sa_lock_release(&huge_lock);
  for (int i = 0; i < count; i++) sa_segment_unmap(flushed[i]);
}

/* Frees (destroy) every huge block of the heap, or gives them to `new_owner`
 * (heap delete; NULL at thread exit). */
void sa_huge_heap_release(sa_heap_t* heap, bool free_blocks, sa_heap_t* new_owner) {
  sa_page_t* doomed = NULL;
  sa_lock_acquire(&huge_lock);
  for (sa_page_t* page = huge_live.first; page != NULL;) {
    sa_page_t* next = page->link.next;
    if (atomic_load_explicit(&page->heap, memory_order_relaxed) == heap) {
      if (free_blocks) {
        live_remove(page);
        huge_count(page, -(int64_t)page->block_size);
        page->link.next = doomed; /* out of the list: a stack of its own */
        doomed = page;
      } else {
        atomic_store_explicit(&page->heap, new_owner, memory_order_relaxed);
      }
    }
    page = next;
  }
  sa_lock_release(&huge_lock);
  while (doomed != NULL) {
    sa_page_t* next = doomed->link.next;
    sa_segment_unmap(sa_segment_of(doomed->start));
    doomed = next;
  }
}

void sa_huge_fork_prepare(void) { sa_lock_acquire(&huge_lock); }
void sa_huge_fork_release(void) { sa_lock_release(&huge_lock); }
