/* process.c: the process-wide entry points (floor 8, see README.md): fork, exit,
 * sa_collect and sa_thread_done. Each drives the floors below in order; nothing
 * below calls here except through the hook sa_hook_process_started. */
#include <pthread.h>
#include <stdlib.h>

#include "internal.h"

/* Serialises every global lock around fork(). Locks are taken in one order, the
 * order below: a thread that flushes every remote batch holds the batches' lock
 * while its pushes poke owners, which takes the threads' lock; taking them the
 * other way round here once deadlocked a fork against a malloc_trim (fork-more). */
static void fork_prepare(void) {
  sa_remote_batches_fork_prepare();
  sa_threads_fork_prepare();
  sa_orphan_fork_prepare();
  sa_lock_acquire(&sa_metadata_lock);
  sa_abandoned_fork_prepare();
  sa_segment_cache_fork_prepare();
  sa_huge_fork_prepare();
  sa_arenas_fork_prepare();
  sa_stats_fork_prepare();
}

static void fork_release_locks(void) {
  sa_stats_fork_release();
  sa_arenas_fork_release();
  sa_huge_fork_release();
  sa_segment_cache_fork_release();
  sa_abandoned_fork_release();
  sa_lock_release(&sa_metadata_lock);
  sa_orphan_fork_release();
}

static void fork_parent(void) {
  fork_release_locks();
  sa_remote_batches_fork_parent();
  sa_threads_fork_release();
}

static void fork_child(void) {
  fork_release_locks();
  sa_threads_fork_release(); /* before the pushes below: a push may poke a thread */
  sa_remote_batches_fork_child(); /* what the lost threads held goes to its pages */
  sa_threads_fork_child_end_lost();
}

static void process_done(void) {
  if (sa_option_is_enabled(sa_option_show_stats)) sa_stats_print();
  if (sa_option_is_enabled(sa_option_destroy_on_exit)) sa_collect(true);
}

/* Hook (thread.c, sa_process_init): the process is initialised; these may allocate. */
void sa_hook_process_started(void) {
  pthread_atfork(fork_prepare, fork_parent, fork_child);
  atexit(process_done);
}

__attribute__((constructor(101))) static void process_constructor(void) {
  sa_process_init();
  sa_heap_for_thread();
}

sa_decl_export void sa_thread_done(void) {
  sa_remote_batch_close(false);
  sa_thread_release_current();
}

sa_decl_export void sa_collect(bool force) {
  /* Ours and idle threads' batches: their blocks pin pages (ours among them). */
  sa_remote_batches_flush_all();
  sa_orphan_collect(force);
  sa_heap_t* heap = sa_heap_default;
  if (heap == &sa_heap_empty) {
    sa_huge_cache_flush(force);
    return;
  }
  sa_debug_check_heaps(heap->tld, "sa_collect (before)");
  for (sa_heap_t* h = heap->tld->heaps; h != NULL; h = h->next) sa_heap_collect(h, force);
  if (force) {
    /* Take over (and so release) what exited threads left behind. */
    sa_segments_reclaim(heap->tld->heap_default, (size_t)-1);
    sa_heap_collect(heap->tld->heap_default, true);
  }
  sa_debug_check_heaps(heap->tld, "sa_collect (after)");
}
