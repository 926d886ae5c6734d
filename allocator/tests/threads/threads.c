/* threads.c: thousands of short-lived threads, with memory staying bounded.
 *
 * THREADS threads are created and exited in turn, CONCURRENT at a time. Each one
 * allocates a few hundred blocks (mostly small, a few medium, sometimes a large
 * one), frees most of them, and swaps a few into a shared table — taking out and
 * freeing blocks that earlier threads left there, threads that have exited by
 * now. So every thread dies with live blocks in the world, and its memory comes
 * back only if the allocator reclaims an exited thread's heap.
 *
 * Checks: every block intact when freed; memory bounded: a leak grows with the
 * number of threads, so the peak RSS of the run's second half may exceed that of
 * its first half by at most RSS_GROWTH_BOUND (a plateau, however high, passes
 * this; RSS_CAP bounds the plateau), and likewise for the address space.
 *
 * One source, two builds (testapi.h). Usage: threads [THREADS [CONCURRENT]]
 * (defaults 3000 4)
 */
#include "testlib.h"
#include "leak_account.h"
#include "testapi.h"

#include <pthread.h>
#include <stdatomic.h>

#define TABLE_SLOTS 512
#define MAX_CONCURRENT 64
#define BLOCKS_PER_THREAD 300
/* Blocks each thread swaps into the table (and frees what it takes out). */
#define SWAPS_PER_THREAD 12
/* A thread touches ~150 KiB; never reclaiming exited threads' memory grows RSS
 * by ~200 MiB over the second half of 3000 threads. */
#define RSS_GROWTH_BOUND (48 * MiB)
/* An absolute ceiling on the plateau, for a handful of live threads. */
#define RSS_CAP (384 * MiB)
#define MAPPED_GROWTH_BOUND (512 * MiB)
#define BLOCK_KEY 0x7E57B10C0000AAAAull

static _Atomic(uintptr_t) table[TABLE_SLOTS];
static atomic_long corrupted;
static atomic_long failed_allocs;

static void* block_new(size_t size, uint64_t seed) {
  uint64_t* p = T_malloc(size);
  if (p == NULL) {
    atomic_fetch_add(&failed_allocs, 1);
    return NULL;
  }
  p[0] = size ^ BLOCK_KEY;
  p[1] = seed;
  size_t body = size - 16 > 2048 ? 2048 : size - 16;
  pattern_fill(p + 2, body, seed);
  if (size > 16 + 2048) ((unsigned char*)p)[size - 1] = (unsigned char)seed;
  return p;
}

static void block_free(void* block) {
  uint64_t* p = block;
  size_t size = p[0] ^ BLOCK_KEY;
  bool ok = size >= 16 && size <= 8 * MiB;
  if (ok) {
    size_t body = size - 16 > 2048 ? 2048 : size - 16;
    ok = pattern_check(p + 2, body, p[1]) == SIZE_MAX &&
         (size <= 16 + 2048 || ((unsigned char*)p)[size - 1] == (unsigned char)p[1]);
  }
  if (!ok) atomic_fetch_add(&corrupted, 1);
  T_free(p);
}

static size_t thread_block_size(uint64_t* rng) {
  uint64_t r = rng_next(rng) % 300;
  if (r == 0) return rng_range(rng, 256 * KiB, 2 * MiB);
  if (r < 10) return rng_range(rng, 4 * KiB, 64 * KiB);
  return rng_range(rng, 16, 600);
}

static void* thread_main(void* arg) {
  uint64_t rng = (uint64_t)(uintptr_t)arg * 0x9E3779B9u + 11;
  void* blocks[BLOCKS_PER_THREAD];
  for (size_t i = 0; i < BLOCKS_PER_THREAD; i++) {
    blocks[i] = block_new(thread_block_size(&rng), rng_next(&rng));
  }
  /* Free every other block, swap a few into the table, free the rest. */
  for (size_t i = 0; i < BLOCKS_PER_THREAD; i += 2) {
    if (blocks[i] != NULL) block_free(blocks[i]);
    blocks[i] = NULL;
  }
  for (size_t s = 0; s < SWAPS_PER_THREAD; s++) {
    size_t i = 1 + 2 * (rng_next(&rng) % (BLOCKS_PER_THREAD / 2));
    if (blocks[i] == NULL) continue;
    uintptr_t got = atomic_exchange(&table[rng_next(&rng) % TABLE_SLOTS], (uintptr_t)blocks[i]);
    blocks[i] = NULL;
    if (got != 0) block_free((void*)got); /* most likely from a thread that has exited */
  }
  for (size_t i = 1; i < BLOCKS_PER_THREAD; i += 2) {
    if (blocks[i] != NULL) block_free(blocks[i]);
  }
  return NULL;
}

int main(int argc, char** argv) {
  unsigned total = argc > 1 ? (unsigned)atoi(argv[1]) : 3000;
  unsigned concurrent = argc > 2 ? (unsigned)atoi(argv[2]) : 4;
  if (concurrent < 1) concurrent = 1;
  if (concurrent > MAX_CONCURRENT) concurrent = MAX_CONCURRENT;
  tap_diag("thread churn through the %s: %u threads, %u at a time", T_API_NAME, total,
           concurrent);

  leak_account_t account = leak_account_start();
  /* peak RSS and mapped bytes of the first and the second half of the run */
  size_t peak_rss[2] = {0, 0}, peak_mapped[2] = {0, 0};
  unsigned created = 0;
  bool create_ok = true;
  pthread_t tids[MAX_CONCURRENT];
  while (created < total && create_ok) {
    unsigned batch = 0;
    for (; batch < concurrent && created < total; batch++, created++) {
      if (pthread_create(&tids[batch], NULL, thread_main, (void*)(uintptr_t)created) != 0) {
        tap_diag("pthread_create failed after %u threads", created);
        create_ok = false;
        break;
      }
    }
    for (unsigned i = 0; i < batch; i++) pthread_join(tids[i], NULL);
    size_t mapped = 0, rss = 0;
    statm_read(&mapped, &rss);
    int half = created > total / 2;
    if (rss > peak_rss[half]) peak_rss[half] = rss;
    if (mapped > peak_mapped[half]) peak_mapped[half] = mapped;
  }
  size_t end_mapped = 0, end_rss = 0;
  statm_read(&end_mapped, &end_rss);
  tap_diag("peak RSS first half %zu KiB, second half %zu KiB, end %zu KiB; mapped peaks %zu / "
           "%zu MiB, end %zu MiB", peak_rss[0] / KiB, peak_rss[1] / KiB, end_rss / KiB,
           peak_mapped[0] / MiB, peak_mapped[1] / MiB, end_mapped / MiB);

  tap_require(create_ok && created == total, "every thread was created and joined");
  bool rss_ok = peak_rss[1] <= peak_rss[0] + RSS_GROWTH_BOUND && peak_rss[1] <= RSS_CAP;
  if (!rss_ok) {
    tap_diag("peak RSS went from %zu KiB (first %u threads) to %zu KiB (next %u): bounds are "
             "+%zu KiB and %zu KiB in all", peak_rss[0] / KiB, total / 2, peak_rss[1] / KiB,
             total - total / 2, RSS_GROWTH_BOUND / KiB, RSS_CAP / KiB);
  }
  tap_result(rss_ok, "resident memory stays bounded while thousands of threads come and go");
  bool mapped_ok = peak_mapped[1] <= peak_mapped[0] + MAPPED_GROWTH_BOUND;
  if (!mapped_ok) {
    tap_diag("mapped memory grew from %zu MiB to %zu MiB between the halves",
             peak_mapped[0] / MiB, peak_mapped[1] / MiB);
  }
  tap_result(mapped_ok, "address space stays bounded while thousands of threads come and go");

  for (size_t s = 0; s < TABLE_SLOTS; s++) {
    uintptr_t got = atomic_exchange(&table[s], 0);
    if (got != 0) block_free((void*)got);
  }
  long bad = atomic_load(&corrupted), fails = atomic_load(&failed_allocs);
  if (bad || fails) tap_diag("%ld blocks corrupted, %ld allocations failed", bad, fails);
  tap_result(bad == 0 && fails == 0,
             "blocks of exited threads are intact and freed by other threads");
  leak_account_check(&account, "thread churn");
  return tap_exit_status();
}
