/* remote.c: frees into pages other threads own (floor 6, see README.md): the
 * lock-free push onto a page's thread_free list, the notification of an owner
 * whose full page got room, the poke of an idle owner, and the batches that gather
 * a thread's remote frees into one page. */
#include "internal.h"

/* Lock-free push of the chain head..tail (count blocks) onto page->thread_free. When the page
 * sits in its owner's full queue (notify state WANTED), the first such push also
 * links the page into the owner heap's `notified` list so the owner learns the page
 * has room again. The BUSY state keeps the owner from freeing the page or its heap
 * meanwhile. */
static void push_thread_free(sa_page_t* page, sa_block_t* head, sa_block_t* tail, uint32_t count) {
  /* Read while the blocks still keep the page in use: once they are pushed, the
   * owner may free the page and its segment. */
  uintptr_t owner = atomic_load_explicit(&sa_segment_of(page)->thread_id, memory_order_relaxed);
  uintptr_t tf = atomic_load_explicit(&page->thread_free, memory_order_relaxed);
  sa_notify_t state;
  for (;;) {
    state = sa_tf_notify(tf);
    sa_link_set(page, tail, sa_tf_block(tf));
    sa_notify_t next_state = (state == SA_NOTIFY_WANTED) ? SA_NOTIFY_BUSY : state;
    if (atomic_compare_exchange_weak_explicit(&page->thread_free, &tf, sa_tf_make(head, next_state, sa_tf_count(tf) + count),
                                              memory_order_release, memory_order_relaxed)) {
      break;
    }
  }
  /* The first remote free since the owner last took this page's list. */
  if (sa_tf_block(tf) == NULL && owner != 0) {
    int saved_errno = errno; /* a poke may take a lock (and wait in the kernel) */
    sa_thread_poke(owner);
    errno = saved_errno;
  }
  if (state != SA_NOTIFY_WANTED) return;

  sa_heap_t* heap = atomic_load_explicit(&page->heap, memory_order_acquire);
  sa_page_t* first = atomic_load_explicit(&heap->notified, memory_order_relaxed);
  do {
    page->notified_next = first;
  } while (!atomic_compare_exchange_weak_explicit(&heap->notified, &first, page, memory_order_release,
                                                  memory_order_relaxed));
  tf = atomic_load_explicit(&page->thread_free, memory_order_relaxed);
  while (!atomic_compare_exchange_weak_explicit(&page->thread_free, &tf,
                                                sa_tf_with_notify(tf, SA_NOTIFY_DONE),
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
static sa_list_t batches; /* every registered batch, by link */

#define RELAXED memory_order_relaxed

/* The holder's side: between batch_enter and batch_leave, no other thread touches
 * the list. batch_try_enter is the first half: busy, and false while a taker is at
 * work (the holder must then wait, or leave at once). */
static inline bool batch_try_enter(sa_remote_batch_t* batch) {
  atomic_store_explicit(&batch->busy, true, RELAXED);
  atomic_signal_fence(memory_order_seq_cst); /* the taker's barrier does the rest */
  return !atomic_load_explicit(&batch->taking, RELAXED);
}

static inline void batch_enter(sa_remote_batch_t* batch) {
  if (sa_unlikely(!batch_try_enter(batch))) {
    unsigned spins = 0;
    while (atomic_load_explicit(&batch->taking, memory_order_acquire)) sa_spin_wait(&spins);
  }
}

static inline void batch_leave(sa_remote_batch_t* batch) {
  atomic_signal_fence(memory_order_seq_cst);
  atomic_store_explicit(&batch->busy, false, RELAXED);
}

/* A batch's list as it is taken out. */
typedef struct batch_list_s {
  sa_block_t* head; /* NULL if the batch was empty */
  sa_block_t* tail;
  uint32_t count;
} batch_list_t;

/* Empties the batch; returns its list. */
static batch_list_t batch_take(sa_remote_batch_t* batch) {
  batch_list_t list = {atomic_load_explicit(&batch->head, RELAXED), atomic_load_explicit(&batch->tail, RELAXED),
                       (uint32_t)atomic_load_explicit(&batch->count, RELAXED)};
  atomic_store_explicit(&batch->head, NULL, RELAXED);
  atomic_store_explicit(&batch->page, NULL, RELAXED);
  atomic_store_explicit(&batch->count, 0, RELAXED);
  return list;
}

/* Puts the block at the front of the holder's list, whose first block was head. */
static inline void batch_add(sa_remote_batch_t* batch, sa_page_t* page, sa_block_t* block, sa_block_t* head,
                             long count) {
  sa_link_set(page, block, head);
  atomic_store_explicit(&batch->head, block, RELAXED);
  atomic_store_explicit(&batch->count, count, RELAXED);
}

static void push_list(batch_list_t list) {
  if (list.head != NULL) push_thread_free(sa_page_of(sa_segment_of(list.head), list.head), list.head, list.tail, list.count);
}

void sa_remote_batch_flush_now(void) {
  sa_remote_batch_t* batch = &sa_remote_batch;
  batch_enter(batch);
  batch_list_t list = batch_take(batch);
  batch_leave(batch);
  push_list(list);
}

static void batch_register(sa_remote_batch_t* batch) {
  sa_lock_acquire(&batches_lock);
  SA_LIST_PUSH_FRONT(&batches, batch, link);
  batch->registered = true;
  sa_lock_release(&batches_lock);
}

static void batch_unregister(sa_remote_batch_t* batch) {
  sa_lock_acquire(&batches_lock);
  SA_LIST_REMOVE(&batches, batch, link);
  batch->registered = false;
  sa_lock_release(&batches_lock);
}

void sa_remote_batch_close(bool thread_exits) {
  sa_remote_batch_t* batch = &sa_remote_batch;
  sa_remote_batch_flush();
  if (batch->registered) batch_unregister(batch);
  if (thread_exits) batch->closed = true;
}

/* Hook (thread.c, the key destructor): the thread is ending. */
void sa_hook_thread_exit(bool thread_exits) { sa_remote_batch_close(thread_exits); }

/* Takes every idle thread's waiting blocks and pushes them to their pages (a busy
 * holder is running: it sends its batch out itself). Without the kernel's barrier
 * only the caller's own batch goes. */
void sa_remote_batches_flush_all(void) {
  sa_remote_batch_flush();
  if (batches.first == NULL) return; /* a peek: nothing was ever batched */
  sa_lock_acquire(&batches_lock);
  for (sa_remote_batch_t* batch = batches.first; batch != NULL; batch = batch->link.next) {
    atomic_store_explicit(&batch->taking, true, RELAXED);
  }
  bool barrier = sa_os_barrier_all_threads();
  for (sa_remote_batch_t* batch = batches.first; batch != NULL; batch = batch->link.next) {
    if (barrier && !atomic_load_explicit(&batch->busy, RELAXED)) {
      push_list(batch_take(batch));
    }
    atomic_store_explicit(&batch->taking, false, memory_order_release);
  }
  sa_lock_release(&batches_lock);
}

/* In a fork child only the forking thread exists: push what the others held, and
 * forget their batches (their thread-local memory is no longer theirs). */
void sa_remote_batches_fork_child(void) {
  sa_remote_batch_t* own = sa_remote_batch.registered ? &sa_remote_batch : NULL;
  for (sa_remote_batch_t* batch = batches.first; batch != NULL; batch = batch->link.next) {
    if (batch == own) continue;
    push_list(batch_take(batch));
  }
  batches = (sa_list_t){NULL, NULL};
  if (own != NULL) SA_LIST_PUSH_FRONT(&batches, own, link);
  sa_lock_release(&batches_lock);
}

void sa_remote_batches_fork_prepare(void) { sa_lock_acquire(&batches_lock); }
void sa_remote_batches_fork_parent(void) { sa_lock_release(&batches_lock); }

static bool page_batchable(sa_page_t* page) {
  return atomic_load_explicit(&page->batchable, RELAXED) != 0;
}

/* Every remote free but the common one (sa_free_remote): no batching, a first batch, a
 * block of another page, a full batch, a taker at work. */
static sa_decl_noinline void free_remote_slow(sa_page_t* page, sa_block_t* block) {
  long batch_max = sa_opt_remote_batch;
  sa_remote_batch_t* batch = &sa_remote_batch;
  if (batch_max <= 1 || !page_batchable(page) || batch->closed) {
    push_thread_free(page, block, block, 1);
    return;
  }
  if (sa_unlikely(!batch->registered)) {
    int saved_errno = errno; /* a lock, and the thread's key */
    sa_thread_watch_exit(); /* the batch must go out when the thread ends */
    batch_register(batch);
    errno = saved_errno;
  }
  batch_list_t out = {NULL, NULL, 0};
  batch_enter(batch);
  sa_block_t* head = atomic_load_explicit(&batch->head, RELAXED);
  long count = atomic_load_explicit(&batch->count, RELAXED);
  if (atomic_load_explicit(&batch->page, RELAXED) != page || head == NULL) {
    out = batch_take(batch); /* another page's blocks go out */
    atomic_store_explicit(&batch->page, page, RELAXED);
    atomic_store_explicit(&batch->tail, block, RELAXED);
    head = NULL;
    count = 0;
  }
  batch_add(batch, page, block, head, ++count);
  /* A full batch goes out at once (a new one holds one block: batch_max is 2 or more). */
  if (count >= batch_max) out = batch_take(batch);
  batch_leave(batch);
  push_list(out);
}

void sa_free_remote(sa_page_t* page, sa_block_t* block) {
  /* The common case inline, without a call (so without a stack frame): one more
   * block for the page the batch gathers, which does not fill it. A batch that holds
   * blocks of the page is registered, not closed, of a batchable page and not empty
   * (free_remote_slow starts it), so nothing else needs a look. */
  sa_remote_batch_t* batch = &sa_remote_batch;
  if (sa_likely(batch_try_enter(batch) && atomic_load_explicit(&batch->page, RELAXED) == page)) {
    long count = atomic_load_explicit(&batch->count, RELAXED) + 1;
    if (sa_likely(count < sa_opt_remote_batch)) {
      batch_add(batch, page, block, atomic_load_explicit(&batch->head, RELAXED), count);
      batch_leave(batch);
      return;
    }
  }
  batch_leave(batch);
  free_remote_slow(page, block);
}
