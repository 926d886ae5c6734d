/* thread.c: the process's start and each thread's life (floor 6, see README.md):
 * the thread's heap, made on first use and ended when the thread exits, and the
 * list of live threads.
 *
 * Nothing here needs an initialisation check on the fast path: a thread's heap
 * pointer starts at a static, empty heap whose direct table points at a static
 * empty page (page.c), so its first malloc fails over to the generic path, which
 * calls sa_heap_for_thread(). The first thread to get there (normally the main
 * thread, from the dynamic loader or a constructor) gets a static heap, so
 * initialising allocates nothing; other threads get theirs from metadata.c. */
#include <pthread.h>
#include <unistd.h>

#include "internal.h"

/* The thread data of one thread: its default heap and its tld, allocated together. */
typedef struct sa_thread_data_s {
  sa_heap_t heap;
  sa_tld_t tld;
} sa_thread_data_t;
_Static_assert(sizeof(sa_thread_data_t) <= SA_METADATA_MAX, "a thread's data comes from the metadata allocator");

static sa_thread_data_t main_thread_data;
static _Atomic(bool) main_thread_data_taken;
static pthread_key_t thread_key;
static _Atomic(int) process_state; /* 0 not started, 1 starting, 2 done */

/* The thread-specific value of a thread that has no heap but batched remote frees. */
static char heapless_thread;

/* Set once the thread's exit clean-up (our key destructor) has run. glibc frees some
 * of its own per-thread buffers after every key destructor (__libc_thread_freeres):
 * nothing would end a heap made then, so such a thread never gets one again (see
 * sa_thread_has_exited). */
static __thread bool thread_exited __attribute__((tls_model("initial-exec")));

/* ---- the live threads ------------------------------------------------------------ */

/* Every live thread's data (by all_link), so that a fork child can end the threads
 * it lost, and a poke finds only threads that still live. */
static sa_lock_t threads_lock = SA_LOCK_INIT;
static sa_list_t threads;

static void threads_add(sa_tld_t* tld) {
  sa_lock_acquire(&threads_lock);
  SA_LIST_PUSH_FRONT(&threads, tld, all_link);
  sa_lock_release(&threads_lock);
}

static void threads_remove(sa_tld_t* tld) {
  sa_lock_acquire(&threads_lock);
  SA_LIST_REMOVE(&threads, tld, all_link);
  sa_lock_release(&threads_lock);
}

bool sa_thread_has_exited(void) { return thread_exited; }

/* Asks the thread `thread_id`, if it still lives, to collect (sa_heap_poke). Looked up
 * in the list of live threads, under its lock, so that no poke ever writes into the
 * data of a thread that has ended (that memory is reused). */
void sa_thread_poke(uintptr_t thread_id) {
  if (thread_id == SA_ORPHAN_THREAD_ID || sa_opt_purge_delay_ms < 0) return;
  int64_t now_ms = sa_os_clock_ms();
  if (!sa_poke_worth_a_look(thread_id, now_ms)) return;
  sa_lock_acquire(&threads_lock);
  for (sa_tld_t* tld = threads.first; tld != NULL; tld = tld->all_link.next) {
    if (tld->thread_id == thread_id) {
      sa_heap_poke(tld->heap_default, now_ms);
      break;
    }
  }
  sa_lock_release(&threads_lock);
}

/* ---- a thread's end ----------------------------------------------------------------- */

/* Ends a thread's heaps and gives its data back (the thread ends, or, in a fork
 * child, no longer exists). */
static void thread_data_release(sa_heap_t* heap) {
  threads_remove(heap->tld);
  sa_heap_thread_done(heap);
  sa_thread_data_t* data = (sa_thread_data_t*)heap;
  if (data == &main_thread_data) {
    atomic_store_explicit(&main_thread_data_taken, false, memory_order_release);
  } else {
    sa_metadata_free(data, sizeof(*data));
  }
}

/* The key destructor: the thread is ending. */
static void thread_done(void* value) {
  sa_hook_thread_exit(true);
  thread_exited = true;
  if (value == &heapless_thread) return;
  sa_heap_t* heap = value;
  if (heap == NULL || heap->tld == NULL) return;
  sa_heap_default = (sa_heap_t*)&sa_heap_empty;
  thread_data_release(heap);
}

void sa_thread_release_current(void) {
  sa_heap_t* heap = sa_heap_default;
  if (heap == &sa_heap_empty) return;
  sa_heap_t* own = heap->tld->heap_default;
  pthread_setspecific(thread_key, NULL);
  sa_heap_default = (sa_heap_t*)&sa_heap_empty; /* a later malloc starts afresh */
  thread_data_release(own);
}

void sa_thread_watch_exit(void) {
  static __thread bool watched __attribute__((tls_model("initial-exec")));
  if (watched || sa_heap_default != &sa_heap_empty) return; /* a heap's thread is watched already */
  watched = true;
  sa_process_init();
  pthread_setspecific(thread_key, &heapless_thread);
  /* pthread_setspecific may have allocated (high key numbers), giving us a heap. */
  if (sa_heap_default != &sa_heap_empty) pthread_setspecific(thread_key, sa_heap_default);
}

/* ---- a thread's start ---------------------------------------------------------------- */

sa_heap_t* sa_heap_for_thread(void) {
  sa_heap_t* heap = sa_heap_default;
  if (heap != &sa_heap_empty) return heap;
  if (thread_exited) return NULL; /* callers that may allocate use the orphan heap */
  sa_process_init();
  sa_thread_data_t* data = NULL;
  bool expected = false;
  if (atomic_compare_exchange_strong(&main_thread_data_taken, &expected, true)) {
    data = &main_thread_data;
    memset(data, 0, sizeof(*data));
  } else {
    data = sa_metadata_alloc(sizeof(*data));
    if (data == NULL) return NULL;
  }
  data->tld.thread_id = sa_thread_id();
  sa_heap_init(&data->heap, &data->tld, true);
  data->tld.heap_default = &data->heap;
  sa_stat_increase(&data->tld.stats.threads, 1);
  threads_add(&data->tld);
  sa_heap_default = &data->heap;
  /* Set last: pthread_setspecific may itself allocate (for high key numbers), and
   * that allocation now finds the heap ready. */
  pthread_setspecific(thread_key, &data->heap);
  return &data->heap;
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

sa_decl_export sa_heap_t* sa_heap_get_default(void) { return sa_heap_for_thread(); }

sa_decl_export sa_heap_t* sa_heap_set_default(sa_heap_t* heap) {
  sa_heap_t* previous = sa_heap_for_thread();
  if (heap != NULL && heap->thread_id == sa_thread_id()) sa_heap_default = heap;
  return previous;
}

/* ---- fork ------------------------------------------------------------------------- */

void sa_threads_fork_prepare(void) { sa_lock_acquire(&threads_lock); }
void sa_threads_fork_release(void) { sa_lock_release(&threads_lock); }

/* In a fork child, the parent's other threads are gone, but their heaps are not:
 * glibc gives their thread pointers (our thread ids) to the child's new threads, and
 * such a thread would pass the owner check on a dead thread's pages. End those
 * threads here: their segments are abandoned, for the child's threads to reclaim. */
void sa_threads_fork_child_end_lost(void) {
  sa_tld_t* own = sa_heap_default != &sa_heap_empty ? sa_heap_default->tld : NULL;
  /* first: no page may stay half-notified */
  for (sa_tld_t* tld = threads.first; tld != NULL; tld = tld->all_link.next) sa_heaps_fork_child(tld);
  sa_tld_t* tld = threads.first;
  while (tld != NULL) {
    sa_tld_t* next = tld->all_link.next;
    if (tld != own) thread_data_release(tld->heap_default);
    tld = next;
  }
}

/* ---- the process --------------------------------------------------------------- */

/* Seeds the process key from the address space layout and the clock: it only
 * needs to make segment cookies unpredictable to a stray pointer. */
static uintptr_t process_key_seed(void) {
  uintptr_t x = (uintptr_t)&process_state ^ ((uintptr_t)sa_os_clock_ms() << 17) ^ (uintptr_t)getpid();
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return x | 1;
}

void sa_process_init(void) {
  if (sa_likely(atomic_load_explicit(&process_state, memory_order_acquire) == 2)) return;
  int expected = 0;
  if (!atomic_compare_exchange_strong(&process_state, &expected, 1)) {
    unsigned spins = 0;
    while (atomic_load_explicit(&process_state, memory_order_acquire) != 2) sa_spin_wait(&spins);
    return;
  }
  sa_os_init();
  sa_process_key = process_key_seed();
  sa_options_init();
  sa_arenas_init();
  pthread_key_create(&thread_key, thread_done);
  atomic_store_explicit(&process_state, 2, memory_order_release);
  /* This may allocate (through us): the state above already says "done". */
  sa_hook_process_started();
}
