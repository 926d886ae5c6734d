/* heap.c: heaps, their collection, and their end (thread exit, delete, destroy). */
#include "internal.h"

void sa_huge_heap_release(sa_heap_t* heap, bool free_blocks, sa_heap_t* new_owner); /* huge.c */

void sa_heap_init(sa_heap_t* heap, sa_tld_t* tld, bool is_default) {
  memset(heap, 0, sizeof(*heap));
  for (size_t w = 0; w <= SA_DIRECT_WORDS; w++) sa_direct_set(heap, w, (sa_page_t*)&sa_page_empty);
  heap->tld = tld;
  heap->thread_id = tld->thread_id;
  heap->is_default = is_default;
  heap->next = tld->heaps;
  tld->heaps = heap;
}

/* Calls visit(heap, page) for every page of the heap; visit may remove the page. */
static void heap_visit_queues(sa_heap_t* heap, size_t bins, void (*visit)(sa_heap_t*, sa_page_t*, void*), void* arg) {
  for (size_t bin = 0; bin < bins; bin++) {
    sa_page_t* page = heap->queues[bin].first;
    while (page != NULL) {
      sa_page_t* next = page->next;
      visit(heap, page, arg);
      page = next;
    }
  }
}

static void heap_visit_pages(sa_heap_t* heap, void (*visit)(sa_heap_t*, sa_page_t*, void*), void* arg) {
  heap_visit_queues(heap, SA_BIN_COUNT, visit, arg);
}

static void collect_page(sa_heap_t* heap, sa_page_t* page, void* force) {
  sa_page_collect(page, force != NULL);
  if (page->used == 0) {
    sa_page_free_to_segment(heap, page);
  } else if ((page->flags & SA_PAGE_IN_FULL) && page->free != NULL) {
    sa_page_unfull(heap, page);
  }
}

/* Collects every page's frees; frees the empty pages; purges what is due. */
static void collect_pages(sa_heap_t* heap, bool force) {
  sa_heap_drain_notified(heap);
  /* Full pages that got room have told us through the notified list (just drained
   * into their bin queues): a routine collect need not walk the full queue. */
  _Static_assert(SA_BIN_FULL == SA_BIN_COUNT - 1, "the full queue is the last");
  heap_visit_queues(heap, force ? SA_BIN_COUNT : SA_BIN_FULL, collect_page, force ? heap : NULL);
  sa_segments_purge_due(heap->tld, sa_os_clock_ms(), force);
}

void sa_heap_collect(sa_heap_t* heap, bool force) {
  collect_pages(heap, force);
  if (force) {
    sa_segment_cache_flush(heap->tld, 0, false);
    sa_segment_global_cache_flush();
    sa_huge_cache_flush(true);
  } else {
    sa_huge_cache_flush(false);
  }
}

/* ---- waking an owner that stays on the fast path ------------------------------------
 * Pages that other threads empty go back when their owner collects: on its generic
 * path, a page retirement, or its exit. An owner whose allocations all hit the
 * direct table and whose own frees never empty a page would keep them for ever.
 * So a thread whose remote free is the first into a page since the owner took the
 * page's list looks at the owner's heartbeat: if it has not moved for SA_POKE_IDLE_MS
 * (as this thread saw it, in a small memo), the owner is idle, and this thread points
 * the owner's direct table at the empty page. The owner's next small allocation
 * then takes the generic path, which collects, purges and puts the table back
 * (sa_heap_poked). The fast paths stay as they are; an active owner is never poked.
 * A poke that races with the owner rewriting an entry is not lost: the flag stays
 * set for its next generic call. */
#define SA_POKE_MEMO 4 /* owners a thread watches at once */
/* How long an owner's heartbeat must stand still for it to count as idle. Short:
 * a burst of remote frees takes a few milliseconds, an active owner ticks every few
 * dozen allocations. Not the purge delay: the frees of a burst would all be over.
 * It is also how often a thread looks at one owner at most: the look takes the
 * lock of the live threads' list, and a stream of remote frees into many pages
 * would otherwise take it once a page. */
#define SA_POKE_IDLE_MS 1

typedef struct poke_memo_s {
  uintptr_t thread_id; /* the owner watched */
  uint64_t heartbeat;  /* its heartbeat at the last look */
  int64_t since_ms;    /* since when it has not moved */
  int64_t looked_ms;   /* when this thread last looked */
} poke_memo_t;

static __thread poke_memo_t poke_memo[SA_POKE_MEMO] __attribute__((tls_model("initial-exec")));

static poke_memo_t* poke_memo_of(uintptr_t thread_id) {
  return &poke_memo[(thread_id >> 12) % SA_POKE_MEMO];
}

bool sa_poke_worth_a_look(uintptr_t thread_id, int64_t now_ms) {
  poke_memo_t* memo = poke_memo_of(thread_id);
  if (memo->thread_id == thread_id && now_ms - memo->looked_ms < SA_POKE_IDLE_MS) return false;
  if (memo->thread_id != thread_id) *memo = (poke_memo_t){thread_id, UINT64_MAX, now_ms, now_ms};
  memo->looked_ms = now_ms;
  return true;
}

/* Whether the owner has shown no activity for SA_POKE_IDLE_MS, as far as we
 * watched; the memo's `since_ms` then says since when. */
static bool owner_idle(sa_tld_t* tld, poke_memo_t* memo, int64_t now_ms) {
  uint64_t beat = atomic_load_explicit(&tld->heartbeat, memory_order_relaxed);
  if (memo->heartbeat != beat) {
    memo->heartbeat = beat;
    memo->since_ms = now_ms;
    return false;
  }
  return now_ms - memo->since_ms >= SA_POKE_IDLE_MS;
}
static void direct_clear(sa_heap_t* heap) {
  for (size_t w = 0; w <= SA_DIRECT_WORDS; w++) sa_direct_set(heap, w, (sa_page_t*)&sa_page_empty);
}

static void direct_restore(sa_heap_t* heap) {
  for (size_t bin = 0; sa_bin_block_size(bin) <= SA_DIRECT_MAX; bin++) sa_heap_direct_update(heap, bin);
}

/* Called (by sa_thread_poke, under the lock of the live threads' list) with a live
 * thread's own heap. */
void sa_heap_poke(sa_heap_t* heap, int64_t now_ms) {
  sa_tld_t* tld = heap->tld;
  if (atomic_load_explicit(&tld->poked, memory_order_relaxed)) return;
  poke_memo_t* memo = poke_memo_of(tld->thread_id);
  if (!owner_idle(tld, memo, now_ms)) return;
  atomic_store_explicit(&tld->idle_since_ms, memo->since_ms, memory_order_relaxed);
  atomic_store_explicit(&tld->poked, true, memory_order_relaxed);
  direct_clear(heap); /* the thread's own heap: first-class ones may end at any time */
}

void sa_heap_poked(sa_heap_t* heap) {
  sa_tld_t* tld = heap->tld;
  atomic_store_explicit(&tld->poked, false, memory_order_relaxed);
  for (sa_heap_t* h = tld->heaps; h != NULL; h = h->next) collect_pages(h, false);
  /* Pages other threads emptied while it was idle. If it was idle for the purge
   * delay, they go back at once: no later visit might purge them (it may stay on the
   * fast path), and the delay is over anyway. A thread that was idle only briefly
   * (a producer waiting for room in a queue) is about to reuse them: purging them
   * now would cost a page fault per page; they wait for the delay as any page does. */
  int64_t now = sa_os_clock_ms();
  int64_t idle_ms = now - atomic_load_explicit(&tld->idle_since_ms, memory_order_relaxed);
  sa_segments_purge_due(tld, now, idle_ms >= sa_opt_purge_delay_ms);
  for (sa_heap_t* h = tld->heaps; h != NULL; h = h->next) direct_restore(h);
}

/* ---- the end of a heap ------------------------------------------------------------ */

static void abandon_page(sa_heap_t* heap, sa_page_t* page, void* arg) {
  (void)arg;
  sa_page_queue_t* queue = (page->flags & SA_PAGE_IN_FULL) ? &heap->queues[SA_BIN_FULL] : &heap->queues[page->bin];
  sa_page_queue_remove(heap, queue, page);
  page->flags &= (uint8_t)~SA_PAGE_IN_FULL;
  sa_page_sync_owner(page);
  sa_page_set_notify(page, SA_NOTIFY_NONE, false); /* waits out a remote free that is notifying */
  sa_stat_decrease(&heap->tld->stats.bin_pages[page->bin], 1);
  sa_segments_abandon_page(heap->tld, page);
}

static void move_page(sa_heap_t* heap, sa_page_t* page, void* target) {
  sa_page_queue_t* queue = (page->flags & SA_PAGE_IN_FULL) ? &heap->queues[SA_BIN_FULL] : &heap->queues[page->bin];
  sa_page_queue_remove(heap, queue, page);
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
    collect_pages(h, true);
    sa_heap_drain_notified(h);
    heap_visit_pages(h, abandon_page, NULL);
    sa_huge_heap_release(h, false, NULL);
  }
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
    atomic_store_explicit(&page->thread_free, sa_tf_make(sa_tf_block(tf), SA_NOTIFY_DONE), memory_order_relaxed);
  }
}

void sa_heaps_fork_child(sa_tld_t* threads) {
  for (sa_tld_t* tld = threads; tld != NULL; tld = tld->all_next) {
    for (sa_heap_t* h = tld->heaps; h != NULL; h = h->next) heap_visit_pages(h, unstick_page, NULL);
  }
}

sa_decl_export sa_heap_t* sa_heap_new(void) {
  sa_heap_t* owner = sa_heap_for_thread();
  if (owner == NULL) return NULL;
  sa_heap_t* heap = sa_metadata_alloc(sizeof(sa_heap_t));
  if (heap == NULL) {
    errno = ENOMEM;
    return NULL;
  }
  sa_heap_init(heap, owner->tld, false);
  return heap;
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
  heap_visit_pages(heap, move_page, target);
  /* A remote free may have linked a page into our list just before it moved. */
  sa_heap_drain_notified(heap);
  sa_huge_heap_release(heap, false, target);
  heap_release(heap);
}

sa_decl_export void sa_heap_destroy(sa_heap_t* heap) {
  if (!heap_is_deletable(heap, "sa_heap_destroy")) return;
  sa_heap_drain_notified(heap);
  heap_visit_pages(heap, destroy_page, NULL);
  sa_huge_heap_release(heap, true, NULL);
  /* An explicit release of a whole arena: give its memory back now, not after the
   * purge delay. */
  sa_segments_purge_due(heap->tld, sa_os_clock_ms(), sa_opt_purge_delay_ms >= 0);
  heap_release(heap);
}

sa_decl_export sa_heap_t* sa_heap_get_default(void) { return sa_heap_for_thread(); }

sa_decl_export sa_heap_t* sa_heap_set_default(sa_heap_t* heap) {
  sa_heap_t* previous = sa_heap_for_thread();
  if (heap != NULL && heap->thread_id == sa_thread_id()) sa_heap_default = heap;
  return previous;
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

static sa_heap_t* orphan_heap_locked(void) {
  sa_lock_acquire(&orphan_lock);
  if (!orphan_ready) {
    orphan_tld.thread_id = SA_ORPHAN_THREAD_ID;
    sa_heap_init(&orphan_heap, &orphan_tld, false);
    orphan_tld.heap_default = &orphan_heap;
    orphan_ready = true;
  }
  return &orphan_heap;
}

void* sa_orphan_malloc(size_t size, size_t alignment, bool zero) {
  sa_heap_t* heap = orphan_heap_locked();
  void* p = alignment == 0 ? sa_heap_malloc_zero(heap, size, zero) : sa_heap_malloc_aligned_zero(heap, size, alignment, zero);
  sa_lock_release(&orphan_lock);
  return p;
}

static void orphan_collect(bool force) {
  if (!orphan_ready) return;
  sa_heap_collect(orphan_heap_locked(), force);
  sa_lock_release(&orphan_lock);
}

void sa_orphan_fork_prepare(void) { sa_lock_acquire(&orphan_lock); }
void sa_orphan_fork_release(void) { sa_lock_release(&orphan_lock); }

sa_decl_export void sa_collect(bool force) {
  /* Ours and idle threads' batches: their blocks pin pages (ours among them). */
  sa_remote_batches_flush_all();
  orphan_collect(force);
  sa_heap_t* heap = sa_heap_default;
  if (heap == &sa_heap_empty) {
    sa_huge_cache_flush(force);
    return;
  }
  for (sa_heap_t* h = heap->tld->heaps; h != NULL; h = h->next) sa_heap_collect(h, force);
  if (force) {
    /* Take over (and so release) what exited threads left behind. */
    sa_segments_reclaim(heap->tld->heap_default, (size_t)-1);
    sa_heap_collect(heap->tld->heap_default, true);
  }
}
