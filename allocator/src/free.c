/* free.c: freeing. The fast path pushes onto the page's local list when the
 * calling thread owns the segment and the page needs no special care; a free
 * from another thread pushes onto the page's atomic thread_free list. */
#include "internal.h"

static inline void page_push_local(sa_page_t* page, sa_block_t* block) {
#if SA_DEBUG
  sa_debug_on_free(page, block);
#endif
#if SA_SECURE_ZERO_ON_FREE
  if (page->block_size > sizeof(sa_block_t)) memset(block + 1, 0, page->block_size - sizeof(sa_block_t));
#endif
  sa_link_set(page, block, page->local_free);
  page->local_free = block;
}

sa_decl_export void sa_free(void* p) {
  if (sa_unlikely(p == NULL)) return;
#if SA_DEBUG
  /* Before anything reads the segment: p may not point into one at all. */
  int saved_errno = errno;
  bool live = sa_debug_check_live(p, "free");
  errno = saved_errno;
  if (!live) return; /* reported; leaking beats corrupting */
#endif
#if SA_SECURE_DOUBLE_FREE
  if (sa_unlikely(!sa_secure_check_free(p))) return; /* reported; leaking beats corrupting */
#endif
  sa_segment_t* segment = sa_segment_of(p);
  sa_page_t* page = sa_page_of(segment, p);
  if (sa_likely(atomic_load_explicit(&page->xthread_id, memory_order_relaxed) == sa_thread_id())) {
    page_push_local(page, (sa_block_t*)p);
    if (sa_unlikely(--page->used == 0)) sa_page_retire(atomic_load_explicit(&page->heap, memory_order_relaxed), page);
    return;
  }
  sa_free_generic(p);
}

/* Frees that need care: huge pages, aligned (interior) pointers, full pages, and
 * blocks of pages that other threads own. */
sa_decl_noinline void sa_free_generic(void* p) {
  /* Found again rather than passed in: that keeps the fast path's registers free. */
  sa_segment_t* segment = sa_segment_of(p);
  sa_page_t* page = sa_page_of(segment, p);
  int saved_errno = errno;
  uint8_t flags = sa_page_flags_shared(page);
  if (flags & SA_PAGE_IS_HUGE) {
    sa_huge_free(segment, page);
    errno = saved_errno;
    return;
  }
  sa_block_t* block = (sa_block_t*)p;
  if (flags & SA_PAGE_HAS_ALIGNED) block = sa_page_block_of(page, p);

  uintptr_t owner = atomic_load_explicit(&segment->thread_id, memory_order_acquire);
  if (owner == 0 && sa_segment_reclaim_on_free(segment)) owner = sa_thread_id();
  if (owner == sa_thread_id()) {
    sa_heap_t* heap = atomic_load_explicit(&page->heap, memory_order_relaxed);
    page_push_local(page, block);
    page->used--;
    if (page->flags & SA_PAGE_IN_FULL) sa_page_unfull(heap, page);
    if (page->used == 0) sa_page_retire(heap, page);
  } else {
#if SA_DEBUG
    sa_debug_on_free(page, block);
#endif
    sa_free_remote(page, block);
  }
  errno = saved_errno;
}

/* Lock-free push of the chain head..tail onto page->thread_free. When the page
 * sits in its owner's full queue (notify state WANTED), the first such push also
 * links the page into the owner heap's `notified` list so the owner learns the page
 * has room again. The BUSY state keeps the owner from freeing the page or its heap
 * meanwhile. */
static void push_thread_free(sa_page_t* page, sa_block_t* head, sa_block_t* tail) {
  /* Read while the blocks still keep the page in use: once they are pushed, the
   * owner may free the page and its segment. */
  uintptr_t owner = atomic_load_explicit(&sa_segment_of(page)->thread_id, memory_order_relaxed);
  uintptr_t tf = atomic_load_explicit(&page->thread_free, memory_order_relaxed);
  sa_notify_t state;
  for (;;) {
    state = sa_tf_notify(tf);
    sa_link_set(page, tail, sa_tf_block(tf));
    sa_notify_t next_state = (state == SA_NOTIFY_WANTED) ? SA_NOTIFY_BUSY : state;
    if (atomic_compare_exchange_weak_explicit(&page->thread_free, &tf, sa_tf_make(head, next_state),
                                              memory_order_release, memory_order_relaxed)) {
      break;
    }
  }
  /* The first remote free since the owner last took this page's list. */
  if (sa_tf_block(tf) == NULL && owner != 0) sa_thread_poke(owner);
  if (state != SA_NOTIFY_WANTED) return;

  sa_heap_t* heap = atomic_load_explicit(&page->heap, memory_order_acquire);
  sa_page_t* first = atomic_load_explicit(&heap->notified, memory_order_relaxed);
  do {
    page->notified_next = first;
  } while (!atomic_compare_exchange_weak_explicit(&heap->notified, &first, page, memory_order_release,
                                                  memory_order_relaxed));
  tf = atomic_load_explicit(&page->thread_free, memory_order_relaxed);
  while (!atomic_compare_exchange_weak_explicit(&page->thread_free, &tf,
                                                sa_tf_make(sa_tf_block(tf), SA_NOTIFY_DONE),
                                                memory_order_release, memory_order_relaxed)) {
  }
}

/* ---- remote batches -------------------------------------------------------------
 * A thread gathers its frees into one page of another thread (the common case of a
 * consumer freeing a producer's blocks one after the other) and pushes them in one
 * CAS: fewer atomic operations on the owner's page, and its line moves between cores
 * once a batch instead of once a block. At most `remote_batch` blocks wait; the batch
 * goes out when a free goes to another page, when the thread allocates through the
 * slow path, collects, or exits.
 *
 * A thread that goes idle would hold its batch for ever, and the blocks' pages with
 * it. So every batch is registered and any thread can take one over
 * (sa_remote_batches_flush_all, from sa_collect), without costing the holder an
 * atomic instruction: a locked one per free would wait for the store into the block
 * (a line of the owner's core) and halve xmalloc-test. The holder marks itself
 * `busy` with plain stores around each change; the taker announces `taking`, makes
 * every running thread pass a memory barrier (sa_os_barrier_all_threads), and takes
 * only the lists of holders that are then not busy; a holder that finds `taking` set
 * waits until the taker is done. Only pages with many blocks of a thread's own heap
 * are batched: a first-class heap may be destroyed at any moment, pages and all, and
 * a page of one block gains nothing. Once the thread's exit clean-up has run, nothing
 * is batched any more (a later free, from a key destructor or glibc's own clean-up,
 * is pushed at once: nothing would send the batch out). */

__thread sa_remote_batch_t sa_remote_batch __attribute__((tls_model("initial-exec")));
static sa_lock_t batches_lock = SA_LOCK_INIT;
static sa_remote_batch_t* batches; /* every registered batch */

#define RELAXED memory_order_relaxed

/* The holder's side: between these two, no other thread touches the list. */
static inline void batch_enter(sa_remote_batch_t* batch) {
  atomic_store_explicit(&batch->busy, true, RELAXED);
  atomic_signal_fence(memory_order_seq_cst); /* the taker's barrier does the rest */
  if (sa_unlikely(atomic_load_explicit(&batch->taking, RELAXED))) {
    unsigned spins = 0;
    while (atomic_load_explicit(&batch->taking, memory_order_acquire)) sa_spin_wait(&spins);
  }
}

static inline void batch_leave(sa_remote_batch_t* batch) {
  atomic_signal_fence(memory_order_seq_cst);
  atomic_store_explicit(&batch->busy, false, RELAXED);
}

/* Empties the batch; returns its list (NULL if none) and its tail. */
static sa_block_t* batch_take(sa_remote_batch_t* batch, sa_block_t** tail) {
  sa_block_t* head = atomic_load_explicit(&batch->head, RELAXED);
  *tail = atomic_load_explicit(&batch->tail, RELAXED);
  atomic_store_explicit(&batch->head, NULL, RELAXED);
  atomic_store_explicit(&batch->page, NULL, RELAXED);
  atomic_store_explicit(&batch->count, 0, RELAXED);
  return head;
}

static void push_list(sa_block_t* head, sa_block_t* tail) {
  if (head != NULL) push_thread_free(sa_page_of(sa_segment_of(head), head), head, tail);
}

void sa_remote_batch_flush_now(void) {
  sa_remote_batch_t* batch = &sa_remote_batch;
  sa_block_t* tail;
  batch_enter(batch);
  sa_block_t* head = batch_take(batch, &tail);
  batch_leave(batch);
  push_list(head, tail);
}

static void batch_register(sa_remote_batch_t* batch) {
  sa_lock_acquire(&batches_lock);
  batch->prev = NULL;
  batch->next = batches;
  if (batches != NULL) batches->prev = batch;
  batches = batch;
  batch->registered = true;
  sa_lock_release(&batches_lock);
}

static void batch_unregister(sa_remote_batch_t* batch) {
  sa_lock_acquire(&batches_lock);
  if (batch->prev != NULL) batch->prev->next = batch->next;
  else batches = batch->next;
  if (batch->next != NULL) batch->next->prev = batch->prev;
  batch->registered = false;
  sa_lock_release(&batches_lock);
}

void sa_remote_batch_close(bool thread_exits) {
  sa_remote_batch_t* batch = &sa_remote_batch;
  sa_remote_batch_flush();
  if (batch->registered) batch_unregister(batch);
  if (thread_exits) batch->closed = true;
}

/* Takes every idle thread's waiting blocks and pushes them to their pages (a busy
 * holder is running: it sends its batch out itself). Without the kernel's barrier
 * only the caller's own batch goes. */
void sa_remote_batches_flush_all(void) {
  sa_remote_batch_flush();
  if (batches == NULL) return; /* a peek: nothing was ever batched */
  sa_lock_acquire(&batches_lock);
  for (sa_remote_batch_t* batch = batches; batch != NULL; batch = batch->next) {
    atomic_store_explicit(&batch->taking, true, RELAXED);
  }
  bool barrier = sa_os_barrier_all_threads();
  for (sa_remote_batch_t* batch = batches; batch != NULL; batch = batch->next) {
    if (barrier && !atomic_load_explicit(&batch->busy, RELAXED)) {
      sa_block_t* tail;
      sa_block_t* head = batch_take(batch, &tail);
      push_list(head, tail);
    }
    atomic_store_explicit(&batch->taking, false, memory_order_release);
  }
  sa_lock_release(&batches_lock);
}

/* In a fork child only the forking thread exists: push what the others held, and
 * forget their batches (their thread-local memory is no longer theirs). */
void sa_remote_batches_fork_child(void) {
  sa_remote_batch_t* own = sa_remote_batch.registered ? &sa_remote_batch : NULL;
  for (sa_remote_batch_t* batch = batches; batch != NULL; batch = batch->next) {
    if (batch == own) continue;
    sa_block_t* tail;
    sa_block_t* head = batch_take(batch, &tail);
    push_list(head, tail);
  }
  batches = own;
  if (own != NULL) own->next = own->prev = NULL;
  sa_lock_release(&batches_lock);
}

void sa_remote_batches_fork_prepare(void) { sa_lock_acquire(&batches_lock); }
void sa_remote_batches_fork_parent(void) { sa_lock_release(&batches_lock); }

static bool page_batchable(sa_page_t* page) {
  return atomic_load_explicit(&page->batchable, RELAXED) != 0;
}

void sa_free_remote(sa_page_t* page, sa_block_t* block) {
  long batch_max = sa_opt_remote_batch;
  sa_remote_batch_t* batch = &sa_remote_batch;
  if (batch_max <= 1 || !page_batchable(page) || batch->closed) {
    push_thread_free(page, block, block);
    return;
  }
  if (sa_unlikely(!batch->registered)) {
    sa_thread_watch_exit(); /* the batch must go out when the thread ends */
    batch_register(batch);
  }
  sa_block_t* out_head = NULL;
  sa_block_t* out_tail = NULL;
  batch_enter(batch);
  sa_block_t* head = atomic_load_explicit(&batch->head, RELAXED);
  long count = atomic_load_explicit(&batch->count, RELAXED);
  if (atomic_load_explicit(&batch->page, RELAXED) != page || head == NULL) {
    out_head = batch_take(batch, &out_tail); /* another page's blocks go out */
    atomic_store_explicit(&batch->page, page, RELAXED);
    atomic_store_explicit(&batch->tail, block, RELAXED);
    head = NULL;
    count = 0;
  }
  sa_link_set(page, block, head);
  atomic_store_explicit(&batch->head, block, RELAXED);
  atomic_store_explicit(&batch->count, ++count, RELAXED);
  /* A full batch goes out at once (a new one holds one block: batch_max is 2 or more). */
  if (count >= batch_max) out_head = batch_take(batch, &out_tail);
  batch_leave(batch);
  push_list(out_head, out_tail);
}

sa_decl_export void sa_free_sized(void* p, size_t size) {
#if SA_DEBUG
  if (p != NULL) {
    int saved_errno = errno;
    bool ok = sa_debug_check_sized(p, size);
    errno = saved_errno;
    if (!ok) return;
  }
#else
  (void)size;
#endif
  sa_free(p);
}

sa_decl_export void sa_free_aligned_sized(void* p, size_t alignment, size_t size) {
#if SA_DEBUG
  if (p != NULL && (!sa_is_power_of_two(alignment) || ((uintptr_t)p & (alignment - 1)) != 0)) {
    sa_error(EINVAL, "free_aligned_sized: invalid pointer %p (not aligned to %zu)", p, alignment);
    return;
  }
#else
  (void)alignment;
#endif
  sa_free_sized(p, size);
}

/* A pointer is plausible when its segment carries the cookie only shardalloc writes
 * and it points into a page in use. Release builds check this only on the paths
 * that are not hot (realloc, usable_size); debug builds on every free. */
bool sa_check_pointer(const void* p, const char* operation) {
  if (((uintptr_t)p & (SA_WORD_SIZE - 1)) != 0) {
    sa_error(EINVAL, "%s: invalid pointer %p (unaligned)", operation, p);
    return false;
  }
  if (!sa_is_in_heap_region(p)) {
    sa_error(EINVAL, "%s: invalid pointer %p (not allocated by shardalloc)", operation, p);
    return false;
  }
  sa_segment_t* segment = sa_segment_of(p);
  sa_page_t* page = sa_page_of(segment, p);
  if (!page->in_use || (uint8_t*)p < page->start) {
    sa_error(EINVAL, "%s: invalid pointer %p (not a live block)", operation, p);
    return false;
  }
  return true;
}

/* ---- standard names ------------------------------------------------------------ */

SA_ALSO_NAMED(free, sa_free)
SA_ALSO_NAMED(cfree, sa_free)
SA_ALSO_NAMED(__libc_free, sa_free)
SA_ALSO_NAMED(__libc_cfree, sa_free)
SA_ALSO_NAMED(free_sized, sa_free_sized)
SA_ALSO_NAMED(free_aligned_sized, sa_free_aligned_sized)
/* C++ delete: plain, array, and sized (the block knows its size anyway). */
SA_ALSO_NAMED(_ZdlPv, sa_free)
SA_ALSO_NAMED(_ZdaPv, sa_free)
SA_ALSO_NAMED(_ZdlPvm, sa_free_sized)
SA_ALSO_NAMED(_ZdaPvm, sa_free_sized)
