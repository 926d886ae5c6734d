/* init.c: process and thread set-up and tear-down, the metadata allocator, locks,
 * and error reporting.
 *
 * Nothing here needs an initialisation check on the fast path: a thread's heap
 * pointer starts at a static, empty heap whose direct table points at a static
 * empty page, so its first malloc fails over to the generic path, which calls
 * sa_heap_for_thread(). The first thread to get there (normally the main thread,
 * from the dynamic loader or a constructor) gets a static heap, so initialising
 * allocates nothing; other threads get theirs from the metadata allocator. */
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

__thread sa_heap_t* sa_heap_default __attribute__((tls_model("initial-exec"))) = (sa_heap_t*)&sa_heap_empty;

const sa_page_t sa_page_empty;
/* All direct entries point at sa_page_empty: set up by a constant initializer. */
#define SA_EMPTY_2 (sa_page_t*)&sa_page_empty, (sa_page_t*)&sa_page_empty
#define SA_EMPTY_8 SA_EMPTY_2, SA_EMPTY_2, SA_EMPTY_2, SA_EMPTY_2
#define SA_EMPTY_32 SA_EMPTY_8, SA_EMPTY_8, SA_EMPTY_8, SA_EMPTY_8
#define SA_EMPTY_128 SA_EMPTY_32, SA_EMPTY_32, SA_EMPTY_32, SA_EMPTY_32
const sa_heap_t sa_heap_empty = {.pages_direct = {SA_EMPTY_128, (sa_page_t*)&sa_page_empty}};
_Static_assert(SA_DIRECT_WORDS + 1 == 129, "the empty heap's initializer covers 129 direct entries");

uintptr_t sa_process_key;

/* The thread data of one thread: its default heap and its tld, allocated together. */
typedef struct sa_thread_data_s {
  sa_heap_t heap;
  sa_tld_t tld;
} sa_thread_data_t;

static sa_thread_data_t main_thread_data;
static _Atomic(bool) main_thread_data_taken;
static pthread_key_t thread_key;
static _Atomic(int) process_state; /* 0 not started, 1 starting, 2 done */

/* ---- locks ------------------------------------------------------------------------ */

/* Spins of a wait that only pause the CPU, then that yield, before it sleeps. */
#define SA_SPIN_PAUSES 64
#define SA_SPIN_YIELDS 256
#define SA_SPIN_SLEEP_NS 50000

void sa_spin_wait(unsigned* spins) {
  unsigned n = (*spins)++;
  if (n < SA_SPIN_PAUSES) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
  } else if (n < SA_SPIN_PAUSES + SA_SPIN_YIELDS) {
    sched_yield();
  } else {
    struct timespec pause = {0, SA_SPIN_SLEEP_NS};
    nanosleep(&pause, NULL);
  }
}

void sa_lock_acquire(sa_lock_t* lock) {
  uintptr_t self = sa_thread_id();
  unsigned spins = 0;
  uintptr_t holder = 0;
  while (!atomic_compare_exchange_weak_explicit(&lock->holder, &holder, self, memory_order_acquire,
                                                memory_order_relaxed)) {
    if (holder == self) {
      sa_fatal("re-entered while this thread holds an allocator lock (malloc or free in a signal handler "
               "that interrupted one?): stopping rather than waiting for ever");
    }
    if (holder != 0) sa_spin_wait(&spins);
    holder = 0;
  }
}

/* ---- metadata: memory for heaps and thread data, never returned to the OS -------
 * Freed pieces are kept on a free list per size (in 64-byte units) for reuse; a
 * thread's data is the common case, so churning threads reuse the same memory. */
#define SA_METADATA_CHUNK (256 * SA_KiB)
#define SA_METADATA_UNIT 64
#define SA_METADATA_CLASSES 128

sa_lock_t sa_metadata_lock = SA_LOCK_INIT;
static uint8_t* metadata_bump;
static size_t metadata_left;
static void* metadata_free[SA_METADATA_CLASSES];

void* sa_metadata_alloc(size_t size) {
  size = sa_align_up(size, SA_METADATA_UNIT);
  size_t cls = size / SA_METADATA_UNIT;
  if (cls >= SA_METADATA_CLASSES) return NULL;
  void* p = NULL;
  sa_lock_acquire(&sa_metadata_lock);
  if (metadata_free[cls] != NULL) {
    p = metadata_free[cls];
    metadata_free[cls] = *(void**)p;
  } else {
    if (metadata_left < size) {
      uint8_t* chunk = sa_os_alloc_aligned(SA_METADATA_CHUNK, sa_os_page_size(), 0, true);
      if (chunk != NULL) {
        metadata_bump = chunk;
        metadata_left = SA_METADATA_CHUNK;
      }
    }
    if (metadata_left >= size) {
      p = metadata_bump;
      metadata_bump += size;
      metadata_left -= size;
    }
  }
  sa_lock_release(&sa_metadata_lock);
  if (p != NULL) memset(p, 0, size);
  return p;
}

void sa_metadata_free(void* p, size_t size) {
  size_t cls = sa_align_up(size, SA_METADATA_UNIT) / SA_METADATA_UNIT;
  sa_lock_acquire(&sa_metadata_lock);
  *(void**)p = metadata_free[cls];
  metadata_free[cls] = p;
  sa_lock_release(&sa_metadata_lock);
}

/* ---- threads -------------------------------------------------------------------- */

/* The thread-specific value of a thread that has no heap but batched remote frees. */
static char heapless_thread;

/* Set once the thread's exit clean-up (our key destructor) has run. glibc frees some
 * of its own per-thread buffers after every key destructor (__libc_thread_freeres):
 * nothing would end a heap made then, so such a thread never gets one again (see
 * sa_thread_has_exited). */
static __thread bool thread_exited __attribute__((tls_model("initial-exec")));

/* Every live thread's data, so that a fork child can end the threads it lost. */
static sa_lock_t threads_lock = SA_LOCK_INIT;
static sa_tld_t* threads;

static void threads_add(sa_tld_t* tld) {
  sa_lock_acquire(&threads_lock);
  tld->all_prev = NULL;
  tld->all_next = threads;
  if (threads != NULL) threads->all_prev = tld;
  threads = tld;
  sa_lock_release(&threads_lock);
}

static void threads_remove(sa_tld_t* tld) {
  sa_lock_acquire(&threads_lock);
  if (tld->all_prev != NULL) tld->all_prev->all_next = tld->all_next;
  else threads = tld->all_next;
  if (tld->all_next != NULL) tld->all_next->all_prev = tld->all_prev;
  tld->all_next = tld->all_prev = NULL;
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
  for (sa_tld_t* tld = threads; tld != NULL; tld = tld->all_next) {
    if (tld->thread_id == thread_id) {
      sa_heap_poke(tld->heap_default, now_ms);
      break;
    }
  }
  sa_lock_release(&threads_lock);
}

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
  sa_remote_batch_close(true);
  thread_exited = true;
  if (value == &heapless_thread) return;
  sa_heap_t* heap = value;
  if (heap == NULL || heap->tld == NULL) return;
  sa_heap_default = (sa_heap_t*)&sa_heap_empty;
  thread_data_release(heap);
}

sa_decl_export void sa_thread_done(void) {
  sa_remote_batch_close(false);
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

/* In a fork child, the parent's other threads are gone, but their heaps are not:
 * glibc gives their thread pointers (our thread ids) to the child's new threads, and
 * such a thread would pass the owner check on a dead thread's pages. End those
 * threads here: their segments are abandoned, for the child's threads to reclaim. */
static void fork_child_end_lost_threads(void) {
  sa_tld_t* own = sa_heap_default != &sa_heap_empty ? sa_heap_default->tld : NULL;
  sa_heaps_fork_child(threads); /* first: no page may stay half-notified */
  sa_tld_t* tld = threads;
  while (tld != NULL) {
    sa_tld_t* next = tld->all_next;
    if (tld != own) thread_data_release(tld->heap_default);
    tld = next;
  }
}

/* ---- the process --------------------------------------------------------------- */

/* Locks are taken in one order, the order below: a thread that flushes every
 * remote batch holds the batches' lock while its pushes poke owners, which takes
 * the threads' lock; taking them the other way round here once deadlocked a fork
 * against a malloc_trim (faults-forkmore). */
void sa_fork_prepare(void) {
  sa_remote_batches_fork_prepare();
  sa_lock_acquire(&threads_lock);
  sa_orphan_fork_prepare();
  sa_lock_acquire(&sa_metadata_lock);
  sa_segments_fork_prepare();
  void sa_huge_fork_prepare(void);
  sa_huge_fork_prepare();
  sa_arenas_fork_prepare();
  sa_stats_fork_prepare();
}

static void fork_release_locks(void) {
  sa_stats_fork_release();
  sa_arenas_fork_release();
  void sa_huge_fork_release(void);
  sa_huge_fork_release();
  sa_segments_fork_release();
  sa_lock_release(&sa_metadata_lock);
  sa_orphan_fork_release();
}

void sa_fork_parent(void) {
  fork_release_locks();
  sa_remote_batches_fork_parent();
  sa_lock_release(&threads_lock);
}

void sa_fork_child(void) {
  fork_release_locks();
  sa_lock_release(&threads_lock); /* before the pushes below: a push may poke a thread */
  sa_remote_batches_fork_child(); /* what the lost threads held goes to its pages */
  fork_child_end_lost_threads();
}

static void process_done(void) {
  if (sa_option_is_enabled(sa_option_show_stats)) sa_stats_print();
  if (sa_option_is_enabled(sa_option_destroy_on_exit)) sa_collect(true);
}

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
  /* These may allocate (through us): the state above already says "done". */
  pthread_atfork(sa_fork_prepare, sa_fork_parent, sa_fork_child);
  atexit(process_done);
}

__attribute__((constructor(101))) static void process_constructor(void) {
  sa_process_init();
  sa_heap_for_thread();
}

/* ---- errors ------------------------------------------------------------------------ */

static void vreport(const char* kind, const char* fmt, va_list args) {
  char buf[512];
  int n = snprintf(buf, sizeof(buf), "shardalloc: %s: ", kind);
  if (n < 0) return;
  int m = vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, args);
  size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
  if (len > sizeof(buf) - 2) len = sizeof(buf) - 2;
  buf[len++] = '\n';
  sa_os_write_stderr(buf, len);
}

void sa_error(int err, const char* fmt, ...) {
  if (sa_opt_show_errors || sa_opt_abort_on_error) {
    va_list args;
    va_start(args, fmt);
    vreport("error", fmt, args);
    va_end(args);
  }
  if (sa_opt_abort_on_error) abort();
  (void)err;
}

void sa_message(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  vreport("info", fmt, args);
  va_end(args);
}

void sa_warning(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  vreport("warning", fmt, args);
  va_end(args);
}

void sa_fatal(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  vreport("fatal error", fmt, args);
  va_end(args);
  abort();
}

void sa_assert_fail(const char* cond, const char* file, int line, const char* func) {
  char buf[512];
  int n = snprintf(buf, sizeof(buf), "shardalloc: assertion failed: %s (%s:%d, %s)\n", cond, file, line, func);
  if (n > 0) sa_os_write_stderr(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
  abort();
}
