/* lifecycle.c: allocation at the edges of a thread's and the process's life.
 *
 *   - before any constructor: a .preinit_array function (run by the dynamic loader
 *     before the initialisers of every shared object, the preloaded allocator's
 *     included) allocates, and registers an exit handler before its first malloc:
 *     that handler runs last of all, after the allocator's own exit handler and
 *     after the destructors of every object (the C library registers those later);
 *   - a constructor of priority 101 (the earliest a program may ask for) allocates;
 *   - blocks outliving their thread: ROUNDS threads each allocate blocks of every
 *     size range and exit; the main thread and a helper thread verify and free
 *     them; resident memory stays bounded;
 *   - TLS destructors: a pthread key's destructor (running after the allocator's
 *     own thread teardown, whose key is older) frees the thread's block, allocates
 *     new ones, and once re-arms itself so it runs again; the blocks it hands out
 *     outlive the thread;
 *   - an atexit handler, a destructor and the handler registered in preinit free
 *     what is left, allocate and free again (with SHARDALLOC_DESTROY_ON_EXIT=1 the
 *     last one runs after the allocator released everything it could);
 *   - with --busy-exit, a detached thread keeps allocating while the process exits;
 *   - the leak account (../leak_account.h) around the TLS destructor threads.
 *
 * A plain program: run with libshardalloc.so preloaded (the preinit and ordering
 * checks mean most there). Usage: lifecycle [--busy-exit]. TAP on stdout; the last
 * check is printed by the destructor, so run it through expect.py to count them.
 */
#include "testlib.h"
#include "leak_account.h"

#include <pthread.h>
#include <stdatomic.h>

#define ROUNDS 200
#define BLOCKS_PER_THREAD 60
#define KEY_THREADS 200
#define RSS_BOUND (96 * MiB)

/* ---- blocks with a pattern ------------------------------------------------------ */

typedef struct {
  unsigned char* p;
  size_t size;
  uint64_t seed;
} tracked_t;

static bool track_new(tracked_t* t, size_t size, uint64_t seed) {
  t->p = malloc(opaque(size));
  t->size = size;
  t->seed = seed;
  if (t->p == NULL) return false;
  pattern_fill(t->p, size, seed);
  return true;
}

static bool track_ok(const tracked_t* t) {
  return t->p != NULL && pattern_check(t->p, t->size, t->seed) == SIZE_MAX;
}

/* Verifies and frees; returns whether the block was intact. */
static bool track_free(tracked_t* t) {
  bool ok = track_ok(t);
  free(t->p);
  t->p = NULL;
  return ok;
}

/* Allocates, verifies and frees a block of each size range: returns false on any
 * failure. Used where allocation must simply keep working. */
static bool allocation_works(uint64_t seed) {
  static const size_t sizes[] = {1, 16, 100, 1000, 20000, 200000, 3 * MiB};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    tracked_t t;
    if (!track_new(&t, sizes[i], seed + i)) return false;
    unsigned char* z = calloc(1, sizes[i]);
    bool ok = z != NULL && first_nonzero(z, sizes[i]) == SIZE_MAX;
    free(z);
    void* r = realloc(t.p, sizes[i] * 2);
    if (r == NULL) {
      free(t.p);
      return false;
    }
    t.p = r;
    if (!ok || !track_ok(&t)) {
      free(t.p);
      return false;
    }
    free(t.p);
  }
  return true;
}

/* ---- before the constructors --------------------------------------------------- */

#define EARLY 8
static tracked_t early[EARLY];
static int early_failures;
static bool early_calloc_zero;
static void late_exit_handler(void);

static void preinit_alloc(int argc, char** argv, char** envp) {
  (void)argc, (void)argv, (void)envp;
  atexit(late_exit_handler); /* before any malloc of ours: it runs after the allocator's */
  static const size_t sizes[EARLY] = {8, 16, 100, 1000, 5000, 70000, 600000, 3 * MiB};
  for (int i = 0; i < EARLY; i++) {
    if (!track_new(&early[i], sizes[i], 0xEA0 + (uint64_t)i)) early_failures++;
  }
  unsigned char* z = calloc(500, 8);
  early_calloc_zero = z != NULL && first_nonzero(z, 4000) == SIZE_MAX;
  free(z);
  void* aligned = NULL;
  if (posix_memalign(&aligned, 4096, 10000) != 0 || !is_aligned(aligned, 4096)) early_failures++;
  free(aligned);
  /* Grow one block by realloc: contents must move with it. */
  void* grown = realloc(early[2].p, 100000);
  if (grown == NULL) early_failures++;
  else early[2].p = grown;
}

__attribute__((section(".preinit_array"), used)) static void (*const preinit_entry)(int, char**, char**) =
    preinit_alloc;

#define CTOR 4
static tracked_t ctor_blocks[CTOR];
static int ctor_failures;

__attribute__((constructor(101))) static void constructor_alloc(void) {
  static const size_t sizes[CTOR] = {24, 3000, 300000, 5 * MiB};
  for (int i = 0; i < CTOR; i++) {
    if (!track_new(&ctor_blocks[i], sizes[i], 0xC70 + (uint64_t)i)) ctor_failures++;
  }
  if (!allocation_works(0xC7C7)) ctor_failures++;
}

/* ---- blocks that outlive their thread ----------------------------------------------- */

static tracked_t orphans[BLOCKS_PER_THREAD];

static size_t orphan_size(uint64_t* rng, size_t i) {
  if (i == 0) return rng_range(rng, 3 * MiB, 5 * MiB);          /* huge */
  if (i < 4) return rng_range(rng, 300 * KiB, 1536 * KiB);      /* large */
  if (i < 20) return rng_range(rng, 4 * KiB, 60 * KiB);         /* medium */
  return rng_range(rng, 1, 600);                                /* small */
}

static void* orphan_maker(void* arg) {
  uint64_t rng = (uint64_t)(uintptr_t)arg * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < BLOCKS_PER_THREAD; i++) {
    track_new(&orphans[i], orphan_size(&rng, i), rng_next(&rng));
  }
  return NULL;
}

static atomic_int orphan_bad;

/* Frees the odd-numbered orphans: a thread that is neither the owner nor main. */
static void* orphan_freer(void* arg) {
  (void)arg;
  for (size_t i = 1; i < BLOCKS_PER_THREAD; i += 2) {
    if (orphans[i].p != NULL && !track_free(&orphans[i])) atomic_fetch_add(&orphan_bad, 1);
  }
  return NULL;
}

static tracked_t kept_orphan; /* freed by an exit handler */

static void check_orphans(void) {
  size_t warm_rss = 0, peak_rss = 0;
  int failed_allocs = 0;
  for (unsigned round = 0; round < ROUNDS; round++) {
    pthread_t t;
    if (pthread_create(&t, NULL, orphan_maker, (void*)(uintptr_t)(round + 1)) != 0) {
      tap_diag("pthread_create failed");
      break;
    }
    pthread_join(t, NULL);
    for (size_t i = 0; i < BLOCKS_PER_THREAD; i++) failed_allocs += orphans[i].p == NULL;
    if (round == 0) {
      kept_orphan = orphans[5];
      orphans[5].p = NULL;
    }
    pthread_t freer;
    pthread_create(&freer, NULL, orphan_freer, NULL);
    for (size_t i = 0; i < BLOCKS_PER_THREAD; i += 2) {
      if (orphans[i].p != NULL && !track_free(&orphans[i])) atomic_fetch_add(&orphan_bad, 1);
    }
    pthread_join(freer, NULL);
    size_t rss = rss_bytes();
    if (round == ROUNDS / 10) warm_rss = rss;
    if (round >= ROUNDS / 10 && rss > peak_rss) peak_rss = rss;
  }
  if (failed_allocs) tap_diag("%d allocations failed", failed_allocs);
  tap_result(failed_allocs == 0 && atomic_load(&orphan_bad) == 0,
             "blocks of exited threads are intact, freed by main and by another thread");
  tap_diag("RSS after warm-up %zu KiB, peak %zu KiB", warm_rss / KiB, peak_rss / KiB);
  tap_result(peak_rss <= warm_rss + RSS_BOUND,
             "memory stays bounded while threads exit holding all their blocks");
}

/* ---- TLS destructors -------------------------------------------------------------- */

static pthread_key_t block_key;
static tracked_t handoff[KEY_THREADS];
static atomic_int key_bad;
static atomic_int key_rearmed;

typedef struct {
  tracked_t block;
  unsigned index;
  int calls;
} tls_value_t;

static void tls_destructor(void* value) {
  tls_value_t* v = value;
  if (!track_free(&v->block)) atomic_fetch_add(&key_bad, 1);
  v->calls++;
  if (v->calls == 1) {
    /* Re-arm once: the destructor runs again in the next round, after the
     * allocator has set the thread's heap up anew for the allocations below. */
    if (!track_new(&v->block, 777, 0xAB00 + v->index)) atomic_fetch_add(&key_bad, 1);
    pthread_setspecific(block_key, v);
    if (!allocation_works(0x7D00 + v->index)) atomic_fetch_add(&key_bad, 1);
    return;
  }
  atomic_fetch_add(&key_rearmed, 1);
  /* Blocks allocated in the last destructor round outlive the thread. */
  if (!track_new(&handoff[v->index], 100 + v->index * 37 % 50000, 0xBEEF + v->index)) {
    atomic_fetch_add(&key_bad, 1);
  }
  free(v);
}

static void* key_thread(void* arg) {
  unsigned index = (unsigned)(uintptr_t)arg;
  tls_value_t* v = malloc(sizeof *v);
  v->index = index;
  v->calls = 0;
  track_new(&v->block, 64 + index % 3000, 0x7E57 + index);
  pthread_setspecific(block_key, v);
  void* scratch = malloc(1000); /* the thread's heap has something in use */
  free(scratch);
  return NULL;
}

static void check_tls_destructors(void) {
  if (pthread_key_create(&block_key, tls_destructor) != 0) {
    tap_result(false, "pthread_key_create");
    return;
  }
  size_t start_rss = rss_bytes();
  for (unsigned i = 0; i < KEY_THREADS; i++) {
    pthread_t t;
    if (pthread_create(&t, NULL, key_thread, (void*)(uintptr_t)i) != 0) break;
    pthread_join(t, NULL);
  }
  int bad_handoffs = 0;
  for (unsigned i = 0; i < KEY_THREADS; i++) {
    if (handoff[i].p == NULL || !track_free(&handoff[i])) bad_handoffs++;
  }
  size_t end_rss = rss_bytes();
  if (atomic_load(&key_bad) || bad_handoffs) {
    tap_diag("%d failures inside destructors, %d bad blocks handed out", atomic_load(&key_bad),
             bad_handoffs);
  }
  tap_result(atomic_load(&key_bad) == 0 && bad_handoffs == 0 &&
                 atomic_load(&key_rearmed) == KEY_THREADS,
             "pthread key destructors free, allocate and re-arm after the allocator's thread teardown");
  tap_diag("RSS before %zu KiB, after %zu KiB", start_rss / KiB, end_rss / KiB);
  tap_result(end_rss <= start_rss + RSS_BOUND,
             "heaps set up again inside TLS destructors are released too");
}

/* ---- the process's end ----------------------------------------------------------- */

static int exit_failures;
static bool late_handler_ran;

static void exit_handler(void) {
  int bad = 0;
  for (int i = 0; i < EARLY / 2; i++) bad += !track_free(&early[i]);
  bad += !track_free(&kept_orphan);
  bad += !allocation_works(0xE417);
  tap_result(bad == 0, "an atexit handler frees blocks of main and of an exited thread, "
                       "and allocates again");
  exit_failures += bad;
}

static void late_exit_handler(void) {
  late_handler_ran = true;
  int bad = 0;
  for (int i = EARLY / 2; i < EARLY; i++) bad += !track_free(&early[i]);
  bad += !allocation_works(0x1A7E);
  tap_result(bad == 0, "an exit handler registered before the allocator's own (it runs last, "
                       "after the allocator's handler and every destructor) frees and allocates");
  exit_failures += bad;
}

__attribute__((destructor)) static void destructor_free(void) {
  int bad = 0;
  for (int i = 0; i < CTOR; i++) bad += !track_free(&ctor_blocks[i]);
  bad += !allocation_works(0xDE57);
  tap_result(bad == 0 && !late_handler_ran,
             "a destructor (after the program's exit handlers) frees and allocates");
  fflush(stdout);
}

static void* busy_thread(void* arg) {
  (void)arg;
  uint64_t rng = 99;
  void* slots[64] = {0};
  for (;;) {
    size_t i = rng_next(&rng) % 64;
    free(slots[i]);
    slots[i] = malloc(rng_range(&rng, 1, 5000));
  }
  return NULL;
}

int main(int argc, char** argv) {
  bool busy_exit = argc > 1 && strcmp(argv[1], "--busy-exit") == 0;
  tap_diag("allocation before constructors, after threads, in TLS destructors and at exit");

  bool early_ok = early_failures == 0 && early_calloc_zero;
  for (int i = 0; i < EARLY; i++) early_ok = early_ok && track_ok(&early[i]);
  tap_result(early_ok, "allocation in a .preinit_array function (before any constructor) works "
                       "and its blocks stay intact");
  bool ctor_ok = ctor_failures == 0;
  for (int i = 0; i < CTOR; i++) ctor_ok = ctor_ok && track_ok(&ctor_blocks[i]);
  tap_result(ctor_ok, "allocation in a priority-101 constructor works and its blocks stay intact");

  check_orphans();
  /* After the orphans (one of them, kept_orphan, lives on to the exit handler): the
   * heaps that TLS destructors set up again must leave nothing behind. */
  leak_account_t account = leak_account_start();
  check_tls_destructors();
  leak_account_check(&account, "TLS destructors");

  atexit(exit_handler);
  if (busy_exit) {
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_create(&t, &attr, busy_thread, NULL);
    usleep(20000);
    tap_diag("exiting while a detached thread allocates");
  }
  fflush(stdout);
  return tap_failed_count == 0 ? 0 : 1;
}
