/* collect.c: collection, the one place of its policy (floor 6, see README.md):
 * when a heap's pages take back their frees, when empty pages go back to their
 * segments, when the purge delay is looked at, and how an idle owner is woken.
 * Purging itself is segment_cache.c's; reclaiming abandoned segments abandon.c's. */
#include "internal.h"

static void collect_page(sa_heap_t* heap, sa_page_t* page, void* force) {
  sa_page_collect(page, force != NULL);
  if (page->used == 0) {
    sa_page_free_to_segment(heap, page);
  } else if ((page->flags & SA_PAGE_IN_FULL) && page->free != NULL) {
    sa_page_unfull(heap, page);
  }
}

void sa_heap_collect_frees(sa_heap_t* heap, bool force) {
  sa_heap_drain_notified(heap);
  /* Full pages that got room have told us through the notified list (just drained
   * into their bin queues): a routine collect need not walk the full queue. */
  _Static_assert(SA_BIN_FULL == SA_BIN_COUNT - 1, "the full queue is the last");
  sa_heap_visit(heap, force ? SA_BIN_COUNT : SA_BIN_FULL, collect_page, force ? heap : NULL);
}

/* What is due of the thread's own segments, of the global cache's, and of the
 * segments exited threads left (nobody else purges those). */
static void purge_due(sa_tld_t* tld, int64_t now_ms, bool force) {
  sa_segments_purge_due(tld, now_ms, force);
  sa_segments_abandoned_purge_due(now_ms, force);
}

void sa_heap_collect_pages(sa_heap_t* heap, bool force) {
  sa_heap_collect_frees(heap, force);
  purge_due(heap->tld, sa_os_clock_ms(), force);
}

void sa_heap_collect(sa_heap_t* heap, bool force) {
  sa_heap_collect_pages(heap, force);
  if (force) {
    sa_segment_cache_flush(heap->tld, 0, false);
    sa_segment_global_cache_flush();
    sa_huge_cache_flush(true);
  } else {
    sa_huge_cache_flush(false);
  }
}

sa_decl_noinline void sa_heap_collect_if_due(sa_heap_t* heap) {
  sa_tld_t* tld = heap->tld;
  int64_t now = sa_os_clock_ms();
  bool count_due = atomic_load_explicit(&tld->heartbeat, memory_order_relaxed) %
                       (uint64_t)sa_option_get(sa_option_generic_collect) < SA_CLOCK_CHECK_INTERVAL;
  if (now < tld->next_collect_ms && !count_due) return;
  long delay = sa_opt_purge_delay_ms > 0 ? sa_opt_purge_delay_ms : 1;
  tld->next_collect_ms = now + delay;
  sa_heap_collect(heap, false);
}

/* Page retirements between looks at the clock when purges are pending. */
#define SA_RETIRE_CLOCK_INTERVAL 16

/* The page has no block in use. Keep it when it is the only page of its bin (so a
 * thread that allocates and frees one object at a time does not thrash), free it
 * to its segment otherwise. Kept pages are freed by the next heap collection. */
void sa_page_retire(sa_heap_t* heap, sa_page_t* page) {
  int saved_errno = errno;
  sa_page_queue_t* queue = &heap->queues[page->bin];
  bool keep = !(page->flags & SA_PAGE_IN_FULL) && queue->first == page && queue->last == page &&
              page->block_size <= SA_MEDIUM_OBJ_MAX;
  if (!keep) sa_page_free_to_segment(heap, page);
  sa_heap_retire_tick(heap);
  errno = saved_errno;
}

void sa_heap_retire_tick(sa_heap_t* heap) {
  if (sa_heartbeat_tick(heap->tld) % SA_RETIRE_CLOCK_INTERVAL == 0) sa_heap_collect_if_due(heap);
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
/* The memo slot of an owner: its thread id (a thread pointer) past the low bits that
 * thread pointers share. */
#define SA_POKE_MEMO_SHIFT 12

typedef struct poke_memo_s {
  uintptr_t thread_id; /* the owner watched */
  uint64_t heartbeat;  /* its heartbeat at the last look */
  int64_t since_ms;    /* since when it has not moved */
  int64_t looked_ms;   /* when this thread last looked */
} poke_memo_t;

static __thread poke_memo_t poke_memo[SA_POKE_MEMO] __attribute__((tls_model("initial-exec")));

static poke_memo_t* poke_memo_of(uintptr_t thread_id) {
  return &poke_memo[(thread_id >> SA_POKE_MEMO_SHIFT) % SA_POKE_MEMO];
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

static void direct_restore(sa_heap_t* heap) {
  for (size_t bin = SA_BIN_MIN; sa_bin_block_size(bin) <= SA_DIRECT_MAX; bin++) sa_heap_direct_update(heap, bin);
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
  sa_direct_clear(heap); /* the thread's own heap: first-class ones may end at any time */
}

void sa_heap_poked(sa_heap_t* heap) {
  sa_tld_t* tld = heap->tld;
  atomic_store_explicit(&tld->poked, false, memory_order_relaxed);
  for (sa_heap_t* h = tld->heaps; h != NULL; h = h->next) sa_heap_collect_pages(h, false);
  /* Pages other threads emptied while it was idle. If it was idle for the purge
   * delay, they go back at once: no later visit might purge them (it may stay on the
   * fast path), and the delay is over anyway. A thread that was idle only briefly
   * (a producer waiting for room in a queue) is about to reuse them: purging them
   * now would cost a page fault per page; they wait for the delay as any page does. */
  int64_t now = sa_os_clock_ms();
  int64_t idle_ms = now - atomic_load_explicit(&tld->idle_since_ms, memory_order_relaxed);
  purge_due(tld, now, idle_ms >= sa_opt_purge_delay_ms);
  for (sa_heap_t* h = tld->heaps; h != NULL; h = h->next) direct_restore(h);
}
