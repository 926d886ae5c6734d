/* abandon.c: abandoning and reclaiming segments (floor 6, see README.md). When a
 * thread exits, its segments (with the blocks still live in them, and their free
 * pages resident until the purge delay) go to a global list. A thread that needs a
 * page takes over the one that serves it best, and with it the blocks other
 * threads freed in the meantime (onto the pages' thread-free lists). A free that
 * leaves a whole segment free takes it over too, to free it. */
#include "internal.h"

static sa_lock_t abandoned_lock = SA_LOCK_INIT;
/* Doubly linked (by abandoned_link): a free can take one out of the middle. */
static sa_list_t abandoned_list;
_Atomic(size_t) sa_abandoned_count;
/* The earliest purge deadline of an abandoned segment's free pages (INT64_MAX: none),
 * written under abandoned_lock, read without it: most checks find nothing due. */
static _Atomic(int64_t) abandoned_purge_at = INT64_MAX;

/* Under abandoned_lock: the segment's free pages are due at its purge_at_ms. */
static void abandoned_purge_note(const sa_segment_t* segment) {
  if (segment->purge_mask != 0 &&
      segment->purge_at_ms < atomic_load_explicit(&abandoned_purge_at, memory_order_relaxed)) {
    atomic_store_explicit(&abandoned_purge_at, segment->purge_at_ms, memory_order_relaxed);
  }
}

void sa_segments_abandoned_purge_due(int64_t now_ms, bool force) {
  if (force) now_ms = INT64_MAX - 1;
  if (now_ms < atomic_load_explicit(&abandoned_purge_at, memory_order_relaxed)) return;
  sa_lock_acquire(&abandoned_lock);
  int64_t next = INT64_MAX;
  /* No page of a listed segment is allocated or freed to it meanwhile: that takes
   * the segment off the list, or this lock. */
  for (sa_segment_t* segment = abandoned_list.first; segment != NULL; segment = segment->abandoned_link.next) {
    if (segment->purge_mask == 0) continue;
    if (now_ms >= segment->purge_at_ms) sa_segment_purge_pending(segment);
    else if (segment->purge_at_ms < next) next = segment->purge_at_ms;
  }
  atomic_store_explicit(&abandoned_purge_at, next, memory_order_relaxed);
  sa_lock_release(&abandoned_lock);
}

/* Thread exit, in two steps (heap.c): first every page leaves the thread's heaps
 * and its segment is set aside on the tld's `abandoning` list; then
 * sa_segments_abandon_publish hands them all to the global list. Publishing only
 * after the last page left the heaps keeps a thread that reclaims a segment from
 * adopting pages that are still linked in the dying thread's queues. */
void sa_segments_abandon_page(sa_tld_t* tld, sa_page_t* page) {
  sa_segment_t* segment = sa_segment_of(page);
  atomic_store_explicit(&page->heap, NULL, memory_order_release);
  if (segment->tld == NULL) return; /* set aside by an earlier page */
  sa_segment_disown(tld, segment);
  sa_stat_increase(&tld->stats.abandoned, 1);
  segment->abandoned_link.next = tld->abandoning;
  tld->abandoning = segment;
}

void sa_segments_abandon_publish(sa_tld_t* tld) {
  if (tld->abandoning == NULL) return;
  sa_lock_acquire(&abandoned_lock);
  while (tld->abandoning != NULL) {
    sa_segment_t* segment = tld->abandoning;
    tld->abandoning = segment->abandoned_link.next;
    SA_LIST_PUSH_FRONT(&abandoned_list, segment, abandoned_link);
    abandoned_purge_note(segment);
    atomic_store_explicit(&segment->thread_id, 0, memory_order_release);
    for (uint32_t i = 0; i < segment->page_count; i++) {
      if (segment->pages[i].in_use) sa_page_sync_owner(&segment->pages[i]);
    }
    atomic_fetch_add_explicit(&sa_abandoned_count, 1, memory_order_relaxed);
  }
  sa_lock_release(&abandoned_lock);
}

/* Under abandoned_lock: the segment leaves the list, owned by `thread_id`. */
static void abandoned_remove(sa_segment_t* segment, uintptr_t thread_id) {
  SA_LIST_REMOVE(&abandoned_list, segment, abandoned_link);
  atomic_store_explicit(&segment->thread_id, thread_id, memory_order_release);
  atomic_fetch_sub_explicit(&sa_abandoned_count, 1, memory_order_relaxed);
}

/* Takes `segment` (or, when NULL, the first one) off the abandoned list and makes
 * the calling thread its owner; NULL if it is not (or no longer) abandoned. */
static sa_segment_t* abandoned_take(sa_segment_t* segment, uintptr_t thread_id) {
  sa_lock_acquire(&abandoned_lock);
  if (segment == NULL) segment = abandoned_list.first;
  else if (atomic_load_explicit(&segment->thread_id, memory_order_relaxed) != 0) segment = NULL;
  if (segment != NULL) abandoned_remove(segment, thread_id);
  sa_lock_release(&abandoned_lock);
  return segment;
}

/* Makes an abandoned segment (already taken off the list) the heap's thread's. */
static void segment_adopt(sa_heap_t* heap, sa_segment_t* segment) {
  sa_tld_t* tld = heap->tld;
  sa_segment_own(tld, segment);
  sa_stat_increase(&tld->stats.reclaimed, 1);
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

/* Adopts an all-free segment (already off the list), which frees it: to the global
 * cache, for whichever thread next needs one (this one may never allocate:
 * mstress's main thread only frees). */
static void segment_adopt_to_free(sa_heap_t* heap, sa_segment_t* segment) {
  heap->tld->freeing_for_others = true;
  segment_adopt(heap, segment);
  heap->tld->freeing_for_others = false;
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

/* Whether every block of an abandoned segment is free: each page in use has as many
 * blocks on its thread-free list as it has in use (abandoned_lock held, so that no
 * thread takes the segment meanwhile; a count read short only defers the answer to
 * the free that comes later). */
static bool abandoned_all_free(const sa_segment_t* segment) {
  for (uint32_t i = 0; i < segment->page_count; i++) {
    const sa_page_t* page = &segment->pages[i];
    if (!page->in_use) continue;
    uintptr_t tf = atomic_load_explicit(&((sa_page_t*)page)->thread_free, memory_order_acquire);
    if (sa_tf_count(tf) != page->used) return false;
  }
  return true;
}

sa_abandoned_free_t sa_segment_free_abandoned(sa_heap_t* heap, sa_segment_t* segment, sa_page_t* page,
                                              sa_block_t* block) {
  sa_lock_acquire(&abandoned_lock);
  if (atomic_load_explicit(&segment->thread_id, memory_order_relaxed) != 0) {
    sa_lock_release(&abandoned_lock);
    return SA_ABANDONED_NOT;
  }
  /* Onto the thread-free list, as a remote free. No owner: nobody to notify. */
  uintptr_t tf = atomic_load_explicit(&page->thread_free, memory_order_relaxed);
  uintptr_t pushed;
  do {
    sa_link_set(page, block, sa_tf_block(tf));
    pushed = sa_tf_make(block, sa_tf_notify(tf), sa_tf_count(tf) + 1);
  } while (!atomic_compare_exchange_weak_explicit(&page->thread_free, &tf, pushed, memory_order_release,
                                                  memory_order_relaxed));
  bool page_free = heap != NULL && sa_tf_count(pushed) == page->used;
  bool take = page_free && abandoned_all_free(segment);
  if (take) {
    SA_LIST_REMOVE(&abandoned_list, segment, abandoned_link);
    atomic_store_explicit(&segment->thread_id, heap->tld->thread_id, memory_order_release);
    atomic_fetch_sub_explicit(&sa_abandoned_count, 1, memory_order_relaxed);
  } else if (page_free) {
    /* Every block of the page is free, not every one of the segment: the page goes
     * back to the segment now, which stays abandoned. No block of the page can be
     * pushed after (each is free already), and no thread takes the segment while
     * the lock is held. */
    sa_segment_page_free_abandoned(heap->tld, page);
    abandoned_purge_note(segment);
  }
  sa_lock_release(&abandoned_lock);
  if (take) segment_adopt_to_free(heap, segment); /* every page empty */
  return page_free ? SA_ABANDONED_EMPTIED : SA_ABANDONED_PUSHED;
}

/* What an abandoned segment offers a thread that needs a page for blocks of
 * `block_size` (abandoned_lock held: no thread allocates from it or frees a page of
 * it meanwhile). */
typedef enum reclaim_use_e {
  RECLAIM_USELESS,   /* nothing for this size: left for another thread */
  RECLAIM_FREE_PAGE, /* a free page of the kind the size takes */
  RECLAIM_ROOM,      /* a page of this very size with room: no new page at all */
} reclaim_use_t;

static reclaim_use_t reclaim_use(const sa_segment_t* segment, size_t block_size) {
  for (uint32_t i = 0; i < segment->page_count; i++) {
    const sa_page_t* page = &segment->pages[i];
    if (!page->in_use || page->block_size != block_size) continue;
    uintptr_t tf = atomic_load_explicit(&((sa_page_t*)page)->thread_free, memory_order_relaxed);
    if (page->free != NULL || page->local_free != NULL || page->capacity < page->reserved || sa_tf_count(tf) != 0) {
      return RECLAIM_ROOM;
    }
  }
  bool free_page = segment->kind == sa_page_kind_for(block_size) && segment->used < segment->page_count;
  return free_page ? RECLAIM_FREE_PAGE : RECLAIM_USELESS;
}

/* The most abandoned segments one reclaim looks at (max_segment_reclaim's bound). */
#define SA_RECLAIM_LOOK_MAX 64

/* Takes, of the first `look` abandoned segments, the one that serves blocks of
 * `block_size` best (NULL if none does), and the all-free ones it meets, to free
 * them (into all_free). The ones passed over go to the back of the list, so that
 * the next look sees others. */
static sa_segment_t* abandoned_take_for(size_t block_size, size_t look, uintptr_t thread_id,
                                        sa_segment_t** all_free, size_t* all_free_count) {
  sa_segment_t* best = NULL;
  reclaim_use_t best_use = RECLAIM_USELESS;
  sa_segment_t* passed[SA_RECLAIM_LOOK_MAX];
  size_t passed_count = 0;
  sa_lock_acquire(&abandoned_lock);
  sa_segment_t* segment = abandoned_list.first;
  for (size_t looked = 0; segment != NULL && looked < look && best_use != RECLAIM_ROOM; looked++) {
    sa_segment_t* next = segment->abandoned_link.next;
    reclaim_use_t use;
    if (abandoned_all_free(segment)) {
      all_free[(*all_free_count)++] = segment;
    } else if ((use = reclaim_use(segment, block_size)) > best_use) {
      if (best != NULL) passed[passed_count++] = best;
      best = segment;
      best_use = use;
    } else {
      passed[passed_count++] = segment;
    }
    segment = next;
  }
  for (size_t i = 0; i < *all_free_count; i++) abandoned_remove(all_free[i], thread_id);
  if (best != NULL) abandoned_remove(best, thread_id);
  for (size_t i = 0; i < passed_count; i++) {
    SA_LIST_REMOVE(&abandoned_list, passed[i], abandoned_link);
    SA_LIST_PUSH_BACK(&abandoned_list, passed[i], abandoned_link);
  }
  sa_lock_release(&abandoned_lock);
  return best;
}

/* Hook (page.c, sa_page_find_free): the heap's queue has no page with a free block
 * of this size. Take over the abandoned segment that serves it best, of the first
 * max_segment_reclaim, if one does. Taking whatever is there would leave a thread
 * that allocates rarely (a main thread between rounds of workers) sitting on
 * segments, and their free memory, that the threads which allocate need. */
bool sa_hook_reclaim_for_page(sa_heap_t* heap, size_t block_size) {
  if (atomic_load_explicit(&sa_abandoned_count, memory_order_relaxed) == 0) return false;
  long option = sa_option_get(sa_option_max_segment_reclaim);
  size_t look = option <= 0 ? 0 : option > SA_RECLAIM_LOOK_MAX ? SA_RECLAIM_LOOK_MAX : (size_t)option;
  if (look == 0) return false;
  sa_segment_t* all_free[SA_RECLAIM_LOOK_MAX];
  size_t all_free_count = 0;
  sa_segment_t* segment = abandoned_take_for(block_size, look, heap->tld->thread_id, all_free, &all_free_count);
  for (size_t i = 0; i < all_free_count; i++) segment_adopt_to_free(heap, all_free[i]);
  if (segment != NULL) segment_adopt(heap, segment);
  return segment != NULL;
}

void sa_abandoned_fork_prepare(void) { sa_lock_acquire(&abandoned_lock); }
void sa_abandoned_fork_release(void) { sa_lock_release(&abandoned_lock); }
