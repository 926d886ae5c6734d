/* sa-bench: allocator micro-benchmarks, built against the system malloc so that
 * every allocator runs the same binary (inject one with LD_PRELOAD).
 *
 *   sa-bench small   [ops]   one thread: a sliding window of small blocks
 *                            (16-256 bytes), each allocated, written, freed
 *   sa-bench handoff [ops]   two threads: a producer allocates, a consumer frees
 *                            (every free is remote), through a lock-free ring
 *
 * Prints `<name> ops=<n> seconds=<s> mops=<millions of ops per second>`. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WINDOW 1024           /* live blocks in the single-thread test */
#define RING 4096             /* slots between producer and consumer */
#define DEFAULT_OPS 20000000L
#define SPINS_BEFORE_YIELD 64 /* on a 2-core machine a spinning waiter can starve the other side */

static void wait_a_little(unsigned* spins) {
  if (++*spins % SPINS_BEFORE_YIELD == 0) sched_yield();
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A small, fast, deterministic generator for sizes. */
static uint64_t rng_next(uint64_t* state) {
  *state ^= *state << 13;
  *state ^= *state >> 7;
  *state ^= *state << 17;
  return *state;
}

static size_t small_size(uint64_t* state) { return 16 + (size_t)(rng_next(state) % 241); }

static void die(const char* what) {
  fprintf(stderr, "sa-bench: %s\n", what);
  exit(1);
}

static void bench_small(long ops) {
  void* window[WINDOW] = {0};
  uint64_t rng = 0x9E3779B97F4A7C15ULL;
  for (long i = 0; i < ops; i++) {
    size_t slot = (size_t)i % WINDOW;
    free(window[slot]);
    size_t size = small_size(&rng);
    char* p = malloc(size);
    if (p == NULL) die("out of memory");
    p[0] = (char)i;
    p[size - 1] = (char)i;
    window[slot] = p;
  }
  for (size_t i = 0; i < WINDOW; i++) free(window[i]);
}

static _Atomic(void*) ring[RING];
static long handoff_ops;

static void* consumer(void* arg) {
  (void)arg;
  for (long i = 0; i < handoff_ops; i++) {
    _Atomic(void*)* slot = &ring[i % RING];
    void* p;
    unsigned spins = 0;
    while ((p = atomic_exchange_explicit(slot, NULL, memory_order_acquire)) == NULL) wait_a_little(&spins);
    if (((char*)p)[0] != (char)i) die("hand-off block corrupted");
    free(p);
  }
  return NULL;
}

static void bench_handoff(long ops) {
  handoff_ops = ops;
  pthread_t thread;
  if (pthread_create(&thread, NULL, consumer, NULL) != 0) die("cannot start consumer thread");
  uint64_t rng = 0x2545F4914F6CDD1DULL;
  for (long i = 0; i < ops; i++) {
    size_t size = small_size(&rng);
    char* p = malloc(size);
    if (p == NULL) die("out of memory");
    p[0] = (char)i;
    _Atomic(void*)* slot = &ring[i % RING];
    unsigned spins = 0;
    while (atomic_load_explicit(slot, memory_order_relaxed) != NULL) wait_a_little(&spins);
    atomic_store_explicit(slot, p, memory_order_release);
  }
  pthread_join(thread, NULL);
}

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: sa-bench small|handoff [ops]\n");
    return 2;
  }
  long ops = DEFAULT_OPS;
  if (argc == 3) {
    char* end;
    ops = strtol(argv[2], &end, 10);
    if (*end != 0 || ops <= 0) {
      fprintf(stderr, "sa-bench: ops must be a positive integer, got '%s'\n", argv[2]);
      return 2;
    }
  }
  double start = now_s();
  if (strcmp(argv[1], "small") == 0) bench_small(ops);
  else if (strcmp(argv[1], "handoff") == 0) bench_handoff(ops);
  else {
    fprintf(stderr, "sa-bench: unknown benchmark '%s' (small, handoff)\n", argv[1]);
    return 2;
  }
  double seconds = now_s() - start;
  printf("%s ops=%ld seconds=%.3f mops=%.2f\n", argv[1], ops, seconds, (double)ops / seconds / 1e6);
  return 0;
}
