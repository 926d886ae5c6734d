/* abandon.c: abandoning and reclaiming segments (floor 6, see README.md). When a
 * thread exits, its segments (with the blocks still live in them) go to a global
 * list; the next thread that needs pages takes them over, and with them the blocks
 * other threads freed in the meantime (onto the pages' thread-free lists). A free
 * that leaves a whole segment free takes it over too, to free it. */
#include "internal.h"

static sa_lock_t abandoned_lock = SA_LOCK_INIT;
/* Doubly linked (by abandoned_link): a free can take one out of the middle. */
static sa_list_t abandoned_list;
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
  if (segment == NULL) segment = abandoned_list.first;
  else if (atomic_load_explicit(&segment->thread_id, memory_order_relaxed) != 0) segment = NULL;
  if (segment != NULL) {
    SA_LIST_REMOVE(&abandoned_list, segment, abandoned_link);
    atomic_store_explicit(&segment->thread_id, thread_id, memory_order_release);
    atomic_fetch_sub_explicit(&sa_abandoned_count, 1, memory_order_relaxed);
  }
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
  }
  sa_lock_release(&abandoned_lock);
  if (take) segment_adopt(heap, segment); /* every page empty: the segment is freed */
  return page_free ? SA_ABANDONED_EMPTIED : SA_ABANDONED_PUSHED;
}

/* Hook (page.c, sa_page_find_free): the heap's queue has no page with a free block;
 * take over segments exited threads left (up to max_segment_reclaim), if any. */
bool sa_hook_reclaim_for_page(sa_heap_t* heap) {
  return atomic_load_explicit(&sa_abandoned_count, memory_order_relaxed) != 0 &&
         sa_segments_reclaim(heap, (size_t)sa_option_get(sa_option_max_segment_reclaim)) != 0;
}

void sa_abandoned_fork_prepare(void) { sa_lock_acquire(&abandoned_lock); }
void sa_abandoned_fork_release(void) { sa_lock_release(&abandoned_lock); }
