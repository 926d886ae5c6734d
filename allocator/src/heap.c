/* heap.c: heaps (floor 6, see README.md): their set-up, their end (thread exit,
 * delete, destroy), and the orphan heap of threads past their exit clean-up. */
#include "internal.h"

__thread sa_heap_t* sa_heap_default __attribute__((tls_model("initial-exec"))) = (sa_heap_t*)&sa_heap_empty;

void sa_heap_init(sa_heap_t* heap, sa_tld_t* tld, bool is_default) {
  memset(heap, 0, sizeof(*heap));
  sa_direct_clear(heap);
  heap->tld = tld;
  heap->thread_id = tld->thread_id;
  heap->is_default = is_default;
  heap->next = tld->heaps;
  tld->heaps = heap;
}

/* ---- the end of a heap ------------------------------------------------------------ */

static sa_page_queue_t* queue_of(sa_heap_t* heap, const sa_page_t* page) {
  return (page->flags & SA_PAGE_IN_FULL) ? &heap->queues[SA_BIN_FULL] : &heap->queues[page->bin];
}

static void abandon_page(sa_heap_t* heap, sa_page_t* page, void* arg) {
  (void)arg;
  sa_page_queue_remove(queue_of(heap, page), page);
  page->flags &= (uint8_t)~SA_PAGE_IN_FULL;
  sa_page_sync_owner(page);
  sa_page_set_notify(page, SA_NOTIFY_NONE, false); /* waits out a remote free that is notifying */
  sa_stat_decrease(&heap->tld->stats.bin_pages[page->bin], 1);
  sa_segments_abandon_page(heap->tld, page);
}

static void move_page(sa_heap_t* heap, sa_page_t* page, void* target) {
  sa_page_queue_remove(queue_of(heap, page), page);
  sa_stat_decrease(&heap->tld->stats.bin_pages[page->bin], 1);
  sa_page_adopt((sa_heap_t*)target, page);
}

static void destroy_page(sa_heap_t* heap, sa_page_t* page, void* arg) {
  (void)arg;
  page->used = 0;
  sa_page_free_to_segment(heap, page);
}

static void heap_unlink(sa_heap_t* heap) {
  sa_tld_t* tld = heap->tld;
  for (sa_heap_t** link = &tld->heaps; *link != NULL; link = &(*link)->next) {
    if (*link == heap) {
      *link = heap->next;
      break;
    }
  }
}

void sa_heap_thread_done(sa_heap_t* heap) {
  sa_tld_t* tld = heap->tld;
  /* Every heap of the thread ends with it: collect what is free, abandon the rest. */
  for (sa_heap_t* h = tld->heaps; h != NULL; h = h->next) {
    sa_heap_collect_frees(h, true);
    sa_heap_drain_notified(h);
    sa_heap_visit(h, SA_BIN_COUNT, abandon_page, NULL);
    sa_huge_heap_release(h, false, NULL);
  }
  /* The segments it abandons keep their free pages' deadlines (abandon.c purges
   * them when due, unless a thread reclaims them first); its empty segments go to
   * the global cache as they are, with their deadlines, for the threads that follow. */
  sa_segments_purge_pending(tld, sa_os_clock_ms(), true);
  sa_segments_abandon_publish(tld);
  sa_segment_cache_flush(tld, 0, true);
  sa_stats_merge_thread(tld);
  sa_stat_decrease(&tld->stats.threads, 1);
  /* First-class heaps end with their thread (their blocks live on, abandoned). */
  for (sa_heap_t* h = tld->heaps; h != NULL;) {
    sa_heap_t* next = h->next;
    if (h != heap) sa_metadata_free(h, sizeof(sa_heap_t));
    h = next;
  }
  tld->heaps = heap;
  heap->next = NULL;
}

/* In a fork child, a page left BUSY by a thread of the parent would stay BUSY for
 * ever (that thread does not exist here) and every wait on it would spin. Mark it
 * DONE instead: it may or may not be in the notified list, and DONE is the state
 * that tolerates both (a drain finds it or not; nothing links it again). */
static void unstick_page(sa_heap_t* heap, sa_page_t* page, void* arg) {
  (void)heap;
  (void)arg;
  uintptr_t tf = atomic_load_explicit(&page->thread_free, memory_order_relaxed);
  if (sa_tf_notify(tf) == SA_NOTIFY_BUSY) {
    atomic_store_explicit(&page->thread_free, sa_tf_with_notify(tf, SA_NOTIFY_DONE), memory_order_relaxed);
  }
}

void sa_heaps_fork_child(sa_tld_t* tld) {
  for (sa_heap_t* h = tld->heaps; h != NULL; h = h->next) sa_heap_visit(h, SA_BIN_COUNT, unstick_page, NULL);
}

static bool heap_is_deletable(sa_heap_t* heap, const char* operation) {
  if (heap == NULL) return false;
  if (heap->is_default || heap->thread_id != sa_thread_id()) {
    sa_error(EINVAL, "%s: heap %p is a thread's own heap or belongs to another thread", operation, (void*)heap);
    return false;
  }
  return true;
}

static void heap_release(sa_heap_t* heap) {
  sa_heap_t* fallback = heap->tld->heap_default;
  if (sa_heap_default == heap) sa_heap_default = fallback;
  heap_unlink(heap);
  sa_metadata_free(heap, sizeof(sa_heap_t));
}

sa_decl_export void sa_heap_delete(sa_heap_t* heap) {
  if (!heap_is_deletable(heap, "sa_heap_delete")) return;
  sa_heap_t* target = heap->tld->heap_default;
  sa_heap_drain_notified(heap);
  sa_heap_visit(heap, SA_BIN_COUNT, move_page, target);
  /* A remote free may have linked a page into our list just before it moved. */
  sa_heap_drain_notified(heap);
  sa_huge_heap_release(heap, false, target);
  heap_release(heap);
}

sa_decl_export void sa_heap_destroy(sa_heap_t* heap) {
  if (!heap_is_deletable(heap, "sa_heap_destroy")) return;
  sa_heap_drain_notified(heap);
  sa_heap_visit(heap, SA_BIN_COUNT, destroy_page, NULL);
  sa_huge_heap_release(heap, true, NULL);
  /* An explicit release of a whole arena: give its memory back now, not after the
   * purge delay. */
  sa_segments_purge_due(heap->tld, sa_os_clock_ms(), sa_opt_purge_delay_ms >= 0);
  heap_release(heap);
}

sa_decl_export bool sa_heap_contains(const sa_heap_t* heap, const void* p) {
  if (heap == NULL || !sa_is_in_heap_region(p)) return false;
  sa_segment_t* segment = sa_segment_of(p);
  sa_page_t* page = sa_page_of(segment, p);
  return page->in_use && atomic_load_explicit(&page->heap, memory_order_relaxed) == heap;
}

/* ---- the orphan heap ----------------------------------------------------------------
 * A thread whose exit clean-up has run can still allocate (a key destructor that runs
 * after ours, glibc's own clean-up). A heap of its own would never be ended, so such
 * allocations share one heap, under a lock. Its segments belong to no thread
 * (SA_ORPHAN_THREAD_ID), so every free into them is a remote free, which the orphan
 * heap collects at its next allocation or at sa_collect. */
static sa_lock_t orphan_lock = SA_LOCK_INIT;
static sa_heap_t orphan_heap;
static sa_tld_t orphan_tld;
static bool orphan_ready;

sa_heap_t* sa_orphan_acquire(void) {
  sa_lock_acquire(&orphan_lock);
  if (!orphan_ready) {
    orphan_tld.thread_id = SA_ORPHAN_THREAD_ID;
    sa_heap_init(&orphan_heap, &orphan_tld, false);
    orphan_tld.heap_default = &orphan_heap;
    orphan_ready = true;
  }
  return &orphan_heap;
}

void sa_orphan_release(void) { sa_lock_release(&orphan_lock); }

void sa_orphan_collect(bool force) {
  if (!orphan_ready) return;
  sa_heap_collect(sa_orphan_acquire(), force);
  sa_orphan_release();
}

void sa_orphan_fork_prepare(void) { sa_lock_acquire(&orphan_lock); }
void sa_orphan_fork_release(void) { sa_lock_release(&orphan_lock); }
