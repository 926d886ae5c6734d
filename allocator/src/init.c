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

void sa_lock_acquire(sa_lock_t* lock) {
  while (atomic_flag_test_and_set_explicit(&lock->flag, memory_order_acquire)) sched_yield();
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

static void thread_done(void* value) {
  sa_remote_batch_flush();
  if (value == &heapless_thread) return;
  sa_heap_t* heap = value;
  if (heap == NULL || heap->tld == NULL) return;
  sa_heap_default = (sa_heap_t*)&sa_heap_empty; /* a later malloc starts afresh */
  sa_heap_thread_done(heap);
  sa_thread_data_t* data = (sa_thread_data_t*)heap;
  if (data == &main_thread_data) {
    atomic_store_explicit(&main_thread_data_taken, false, memory_order_release);
  } else {
    sa_metadata_free(data, sizeof(*data));
  }
}

sa_decl_export void sa_thread_done(void) {
  sa_remote_batch_flush();
  sa_heap_t* heap = sa_heap_default;
  if (heap == &sa_heap_empty) return;
  sa_heap_t* own = heap->tld->heap_default;
  pthread_setspecific(thread_key, NULL);
  thread_done(own);
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
  sa_heap_default = &data->heap;
  /* Set last: pthread_setspecific may itself allocate (for high key numbers), and
   * that allocation now finds the heap ready. */
  pthread_setspecific(thread_key, &data->heap);
  return &data->heap;
}

/* ---- the process --------------------------------------------------------------- */

void sa_fork_prepare(void) {
  sa_lock_acquire(&sa_metadata_lock);
  sa_segments_fork_prepare();
  void sa_huge_fork_prepare(void);
  sa_huge_fork_prepare();
  sa_arenas_fork_prepare();
  sa_stats_fork_prepare();
}

void sa_fork_parent(void) {
  sa_stats_fork_release();
  sa_arenas_fork_release();
  void sa_huge_fork_release(void);
  sa_huge_fork_release();
  sa_segments_fork_release();
  sa_lock_release(&sa_metadata_lock);
}

void sa_fork_child(void) {
  sa_fork_parent();
  sa_heaps_fork_child();
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
    while (atomic_load_explicit(&process_state, memory_order_acquire) != 2) sched_yield();
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

void sa_assert_fail(const char* cond, const char* file, int line, const char* func) {
  char buf[512];
  int n = snprintf(buf, sizeof(buf), "shardalloc: assertion failed: %s (%s:%d, %s)\n", cond, file, line, func);
  if (n > 0) sa_os_write_stderr(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
  abort();
}
