/* stats.c: the process's statistics totals (floor 3, see README.md). Each thread
 * counts in its own tld (no atomics on the hot paths; the counters are inline in
 * internal.h); counts merge into the process totals here when the thread ends.
 * The OS's counters are memory.c's (atomic: any thread maps and unmaps); the
 * reports (sa_stats_dump, sa_stats_print) are stats_report.c's. */
#include "internal.h"

static sa_stats_t process_stats; /* merged from exited threads */
static sa_lock_t stats_lock = SA_LOCK_INIT;

static void merge_count(sa_stat_count_t* into, const sa_stat_count_t* from) {
  into->current += from->current;
  into->total += from->total;
  into->peak += from->peak; /* an upper bound: threads peak at different times */
}

static void merge(sa_stats_t* into, const sa_stats_t* from) {
  merge_count(&into->segments, &from->segments);
  merge_count(&into->pages, &from->pages);
  merge_count(&into->abandoned, &from->abandoned);
  merge_count(&into->reclaimed, &from->reclaimed);
  merge_count(&into->threads, &from->threads);
  into->malloc_slow += from->malloc_slow;
  into->page_extend += from->page_extend;
  for (size_t i = 0; i <= SA_BIN_HUGE; i++) {
    merge_count(&into->bin_pages[i], &from->bin_pages[i]);
    merge_count(&into->bin_blocks[i], &from->bin_blocks[i]);
  }
}

void sa_stats_merge_thread(sa_tld_t* tld) {
  sa_lock_acquire(&stats_lock);
  merge(&process_stats, &tld->stats);
  sa_lock_release(&stats_lock);
  memset(&tld->stats, 0, sizeof(tld->stats));
}

void sa_stats_totals(sa_stats_t* out, const sa_stats_t* own) {
  sa_lock_acquire(&stats_lock);
  *out = process_stats;
  sa_lock_release(&stats_lock);
  if (own != NULL) merge(out, own);
}

void sa_stats_clear_totals(void) {
  sa_lock_acquire(&stats_lock);
  memset(&process_stats, 0, sizeof(process_stats));
  sa_lock_release(&stats_lock);
}

void sa_stats_fork_prepare(void) { sa_lock_acquire(&stats_lock); }
void sa_stats_fork_release(void) { sa_lock_release(&stats_lock); }

