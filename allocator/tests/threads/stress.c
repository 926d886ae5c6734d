/* stress.c: a multi-threaded stress test with cookie-checked contents.
 *
 * Each round starts THREADS fresh threads and joins them all, so every thread is
 * torn down and replaced every round: its heap is abandoned and its blocks live on
 * in other threads' hands. Each thread runs a random mix of operations on blocks
 * of random sizes (mostly small, some medium and large, rarely huge):
 *   allocate (malloc, sometimes calloc or aligned), free, realloc, and trade a
 *   block with a random slot of a shared table by atomic exchange — so blocks
 *   move between threads and are freed by threads other than (and outliving) the
 *   one that allocated them.
 * Every block carries its size and a random stamp in its first two words and a
 * pattern derived from them in the rest; it is verified before every free and
 * realloc. A corrupted, reused-while-live or lost block fails the run.
 *
 * One source, several builds (testapi.h): sa_ API (static library, and straight
 * from the sources with TSan / UBSan), and standard names (run under LD_PRELOAD).
 * Usage: stress [THREADS [ROUNDS [SCALE]]]   (defaults 8 10 50; SCALE x 100 = the
 *        operations per thread and round)
 */
#include "testlib.h"
#include "leak_account.h"
#include "testapi.h"

#include <pthread.h>
#include <stdatomic.h>

#define MAX_THREADS 256
/* Blocks a thread holds at most at a time. */
#define HELD_MAX 600
/* Slots of the shared table through which blocks change threads. */
#define TRANSFER_SLOTS 1024

/* A block: word 0 = size ^ SIZE_KEY, word 1 = stamp (48 random bits and a 16-bit
 * check of size and stamp), word i >= 2 = block_word(stamp, i). Blocks of more
 * than FULL_WORDS words are stamped in full at both ends and every SPARSE_WORDS
 * words in between, so huge blocks cost little. */
#define SIZE_KEY 0x5A5A0000C3C3C3C3ull
#define MIN_BLOCK 16
#define FULL_WORDS 4096
#define SPARSE_WORDS 64
#define MAX_BLOCK ((size_t)48 << 20)

static uint64_t stamp_check(uint64_t size, uint64_t random48) {
  uint64_t x = (size * 0x9E3779B97F4A7C15ull) ^ random48;
  x ^= x >> 31;
  x *= 0xD6E8FEB86659FD93ull;
  return (x >> 48) & 0xFFFF;
}

static uint64_t block_word(uint64_t stamp, size_t i) {
  uint64_t x = stamp ^ ((uint64_t)i * 0xA24BAED4963EE407ull);
  return x ^ (x >> 27);
}

/* The words of a block of `words` words that carry the pattern. */
static bool word_is_stamped(size_t i, size_t words) {
  return words <= FULL_WORDS || i < FULL_WORDS / 2 || i >= words - FULL_WORDS / 2 ||
         i % SPARSE_WORDS == 0;
}

static void block_stamp(void* p, size_t size, uint64_t* rng) {
  uint64_t* w = p;
  size_t words = size / 8;
  uint64_t random48 = rng_next(rng) & 0xFFFFFFFFFFFFull;
  uint64_t stamp = random48 | (stamp_check(size, random48) << 48);
  w[0] = size ^ SIZE_KEY;
  w[1] = stamp;
  for (size_t i = 2; i < words; i++) {
    if (word_is_stamped(i, words)) w[i] = block_word(stamp, i);
  }
}

static atomic_long failures;
/* Operations done by all threads; a watchdog aborts when it stops moving. */
static atomic_ulong progress;
static atomic_uint current_round;
static atomic_bool finished;
/* Seconds without a single operation done: a deadlock or a livelock. */
#define STALL_LIMIT_S 30

static void report(const char* what, const void* p, size_t size, size_t word) {
  long n = atomic_fetch_add(&failures, 1);
  if (n < 10) {
    /* fprintf allocates through glibc's stdio, not through the allocator
     * under test in the sa_ builds; under preload it is fine too */
    printf("# %s: block %p, size %zu, word %zu\n", what, p, size, word);
    fflush(stdout);
  }
}

/* Verifies a block; returns its size (0 if the header is broken). With limit,
 * only the first `limit` bytes are checked (a realloc's kept prefix). */
static size_t block_verify(const void* p, size_t limit) {
  const uint64_t* w = p;
  uint64_t size = w[0] ^ SIZE_KEY;
  if (size < MIN_BLOCK || size > MAX_BLOCK) {
    report("size word corrupted", p, size, 0);
    return 0;
  }
  uint64_t stamp = w[1];
  if ((stamp >> 48) != stamp_check(size, stamp & 0xFFFFFFFFFFFFull)) {
    report("stamp word corrupted", p, size, 1);
    return 0;
  }
  size_t words = size / 8;
  size_t check_words = limit != 0 && limit / 8 < words ? limit / 8 : words;
  for (size_t i = 2; i < check_words; i++) {
    if (word_is_stamped(i, words) && w[i] != block_word(stamp, i)) {
      report("contents corrupted", p, size, i);
      return 0;
    }
  }
  return size;
}

/* ---- Sizes --------------------------------------------------------------------- */

static size_t random_size(uint64_t* rng, unsigned scale_huge) {
  uint64_t r = rng_next(rng) % 4000;
  if (r < scale_huge) return rng_range(rng, 2 * MiB, 40 * MiB);   /* huge: rare */
  if (r < 20) return rng_range(rng, 64 * KiB, 1 * MiB);           /* large */
  if (r < 200) return rng_range(rng, 1 * KiB, 64 * KiB);          /* medium */
  if (r < 1200) return rng_range(rng, MIN_BLOCK, 1 * KiB);        /* small */
  return rng_range(rng, MIN_BLOCK, 128);                          /* tiny, most often */
}

/* ---- The shared table ------------------------------------------------------------- */

static _Atomic(uintptr_t) transfer[TRANSFER_SLOTS];

/* ---- One thread's work ------------------------------------------------------------ */

typedef struct {
  size_t index;
  unsigned round;
  unsigned ops;
  unsigned huge_per_4000;
  void* held[HELD_MAX];
  size_t held_count;
} worker_t;

static worker_t workers[MAX_THREADS];

static void free_block(void* p) {
  block_verify(p, 0);
  T_free(p);
}

static void* alloc_block(worker_t* w, uint64_t* rng) {
  size_t size = random_size(rng, w->huge_per_4000);
  void* p;
  uint64_t how = rng_next(rng) % 64;
  if (how == 0) {
    p = T_calloc(size / 8, 8);
    size = size / 8 * 8;
    if (p != NULL && first_nonzero(p, size) != SIZE_MAX) report("calloc not zero", p, size, 0);
  } else if (how == 1) {
    size_t alignment = (size_t)1 << rng_range(rng, 4, 16);
    p = T_aligned_alloc(alignment, size);
    if (p != NULL && !is_aligned(p, alignment)) report("aligned_alloc misaligned", p, size, 0);
  } else {
    p = T_malloc(size);
  }
  if (p == NULL) {
    report("allocation failed", NULL, size, 0);
    return NULL;
  }
  if (T_usable_size(p) < size) report("usable size too small", p, size, 0);
  block_stamp(p, size, rng);
  return p;
}

static void* worker_main(void* arg) {
  worker_t* w = arg;
  uint64_t rng = (uint64_t)w->index * 0x100000001ull + w->round * 7919u + 1;
  w->held_count = 0;
  for (unsigned op = 0; op < w->ops; op++) {
    atomic_fetch_add_explicit(&progress, 1, memory_order_relaxed);
    uint64_t r = rng_next(&rng) % 100;
    if (r < 40 || w->held_count == 0) {
      /* allocate; a full hand frees one first */
      if (w->held_count == HELD_MAX) {
        size_t victim = rng_next(&rng) % w->held_count;
        free_block(w->held[victim]);
        w->held[victim] = w->held[--w->held_count];
      }
      void* p = alloc_block(w, &rng);
      if (p != NULL) w->held[w->held_count++] = p;
    } else if (r < 70) {
      size_t victim = rng_next(&rng) % w->held_count;
      free_block(w->held[victim]);
      w->held[victim] = w->held[--w->held_count];
    } else if (r < 80) {
      /* realloc: the kept prefix must survive; then the block is restamped */
      size_t victim = rng_next(&rng) % w->held_count;
      void* p = w->held[victim];
      size_t old_size = block_verify(p, 0);
      size_t new_size = random_size(&rng, w->huge_per_4000);
      void* q = T_realloc(p, new_size);
      if (q == NULL) {
        report("realloc failed", p, new_size, 0);
        continue;
      }
      /* the header still describes the old block; check what was kept */
      if (old_size != 0) block_verify(q, new_size < old_size ? new_size : old_size);
      block_stamp(q, new_size, &rng);
      w->held[victim] = q;
    } else {
      /* trade with the table: give a block (or nothing), take what is there */
      size_t slot = rng_next(&rng) % TRANSFER_SLOTS;
      uintptr_t give = 0;
      size_t victim = 0;
      if (rng_next(&rng) % 4 != 0) {
        victim = rng_next(&rng) % w->held_count;
        give = (uintptr_t)w->held[victim];
      }
      uintptr_t got = atomic_exchange_explicit(&transfer[slot], give, memory_order_acq_rel);
      if (give != 0) w->held[victim] = w->held[--w->held_count];
      if (got != 0) {
        void* p = (void*)got;
        if (w->held_count < HELD_MAX) {
          block_verify(p, 0);
          w->held[w->held_count++] = p;
        } else {
          free_block(p);
        }
      }
    }
  }
  /* The thread ends: what it holds (much of it allocated by other, possibly
   * dead, threads) is freed here; what it left in the table outlives it. */
  for (size_t i = 0; i < w->held_count; i++) free_block(w->held[i]);
  w->held_count = 0;
  return NULL;
}

/* Turns a hang into a clear failure (the test runner would only see a timeout). */
static void* watchdog_main(void* arg) {
  (void)arg;
  unsigned long last = atomic_load(&progress);
  unsigned still = 0;
  while (!atomic_load(&finished)) {
    sleep(1);
    unsigned long now = atomic_load(&progress);
    still = now == last ? still + 1 : 0;
    last = now;
    if (still >= STALL_LIMIT_S) {
      printf("# no operation completed for %d s in round %u: a deadlock or livelock in the "
             "allocator (attach a debugger to pid %d)\n", STALL_LIMIT_S,
             atomic_load(&current_round), (int)getpid());
      printf("not ok - the threads make progress\n");
      fflush(stdout);
      abort();
    }
  }
  return NULL;
}

int main(int argc, char** argv) {
  unsigned threads = argc > 1 ? (unsigned)atoi(argv[1]) : 8;
  unsigned rounds = argc > 2 ? (unsigned)atoi(argv[2]) : 10;
  unsigned scale = argc > 3 ? (unsigned)atoi(argv[3]) : 50;
  if (threads < 1 || threads > MAX_THREADS || rounds < 1 || scale < 1) {
    fprintf(stderr, "usage: stress [THREADS (1..%d) [ROUNDS [SCALE]]]\n", MAX_THREADS);
    return 2;
  }
  /* Huge blocks are the slowest to stamp; fewer of them under sanitizers
   * (set STRESS_HUGE=0 to leave them out entirely). */
  const char* huge_env = getenv("STRESS_HUGE");
  unsigned huge = huge_env ? (unsigned)atoi(huge_env) : 1;
  tap_diag("stress through the %s: %u threads, %u rounds, %u ops per thread and round",
           T_API_NAME, threads, rounds, scale * 100);

  leak_account_t account = leak_account_start();
  pthread_t tids[MAX_THREADS];
  pthread_t watchdog;
  bool watchdog_ok = pthread_create(&watchdog, NULL, watchdog_main, NULL) == 0;
  bool create_ok = true;
  for (unsigned round = 0; round < rounds && create_ok; round++) {
    atomic_store(&current_round, round);
    for (unsigned t = 0; t < threads; t++) {
      workers[t].index = t;
      workers[t].round = round;
      workers[t].ops = scale * 100;
      workers[t].huge_per_4000 = huge;
      if (pthread_create(&tids[t], NULL, worker_main, &workers[t]) != 0) {
        tap_diag("pthread_create failed in round %u", round);
        create_ok = false;
        threads = t;
        break;
      }
    }
    for (unsigned t = 0; t < threads; t++) pthread_join(tids[t], NULL);
  }
  atomic_store(&finished, true);
  if (watchdog_ok) pthread_join(watchdog, NULL);
  tap_require(create_ok, "every round's threads started");

  /* The main thread frees what the last threads left in the table. */
  size_t left = 0;
  for (size_t s = 0; s < TRANSFER_SLOTS; s++) {
    uintptr_t p = atomic_exchange(&transfer[s], 0);
    if (p != 0) {
      free_block((void*)p);
      left++;
    }
  }
  tap_diag("%zu blocks were left in the table and freed by the main thread", left);
  long failed = atomic_load(&failures);
  if (failed != 0) tap_diag("%ld corrupted or failed blocks", failed);
  tap_result(failed == 0, "every block's contents intact from allocation to free, across threads");
  leak_account_check(&account, "stress");
  return tap_exit_status();
}
