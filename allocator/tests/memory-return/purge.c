/* purge.c: freed memory goes back to the OS.
 *
 * Two worker threads allocate about 600 MiB together (TOTAL_MIB) of small and medium
 * objects (mostly 16-1000 bytes, some up to 64 KiB), every byte written. Then
 * everything is freed: each worker frees the first half of its own objects, and the
 * second half is freed by another thread:
 *   live    the other worker (cross-thread frees into pages whose owner lives on);
 *   exited  the main thread, after the workers ended (their segments are abandoned).
 * With -pinned, each worker keeps one small block (<= 1000 bytes) in every 4 MiB
 * region of the address space where it got one, until the end: the segments stay in
 * use and only their empty pages can go back, so the purge itself is measured (and
 * SHARDALLOC_PURGE_DELAY=-1, which never purges, must keep most of the memory).
 * After that a short idle period with a little allocation activity follows (50 times:
 * sleep 2 ms, malloc and free one small block, in every thread that still runs), and
 * the memory the process holds is measured as Rss - LazyFree from
 * /proc/self/smaps_rollup (MADV_FREE'd pages are free for the system).
 *
 * Usage: purge live|exited|live-pinned|exited-pinned returns|keeps PERCENT [LABEL]
 *   returns P   check: held <= P% of the peak (memory went back)
 *   keeps P     check: held >= P% of the peak (SHARDALLOC_PURGE_DELAY=-1 keeps it)
 * A plain program: run it with LD_PRELOAD=libshardalloc.so and SHARDALLOC_ options.
 * Memory: about 650 MiB at the peak. Time: a second or two.
 */
#include "ostest.h"

#include <sys/mman.h>

#define TOTAL_MIB 600
#define WORKERS 2
#define ACTIVITY_ROUNDS 50
#define ACTIVITY_SLEEP_US 2000

#define REGION_SHIFT 22
#define REGION_SLOTS 4096 /* open addressing; a worker touches a few hundred regions */

typedef struct worker_s {
  int index;
  void** blocks;  /* mmap'ed: the bookkeeping stays out of the allocator */
  uint8_t* pinned; /* blocks kept to the end (pinned mode) */
  size_t count;
  size_t pins;
  uint64_t rng;
  uintptr_t regions[REGION_SLOTS]; /* region number + 1 of every pin */
} worker_t;

static worker_t workers[WORKERS];
static pthread_barrier_t barrier;
static bool exited_mode;
static bool pinned_mode;
static size_t per_worker_bytes;
static size_t capacity;
static _Atomic int failures;

static size_t object_size(uint64_t* rng) {
  uint64_t r = rng_next(rng) % 100;
  if (r < 95) return rng_range(rng, 16, 1000);
  if (r < 99) return rng_range(rng, 1001, 8192);
  return rng_range(rng, 8193, 65536);
}

/* Pins the block (the current one) if it is the first small block in its region. */
static void pin_if_new_region(worker_t* w, const void* p) {
  uintptr_t region = ((uintptr_t)p >> REGION_SHIFT) + 1;
  size_t slot = (size_t)(region * 0x9E3779B97F4A7C15ull >> 52) % REGION_SLOTS;
  for (size_t probe = 0; probe < REGION_SLOTS; probe++, slot = (slot + 1) % REGION_SLOTS) {
    if (w->regions[slot] == region) return;
    if (w->regions[slot] == 0) {
      w->regions[slot] = region;
      w->pinned[w->count] = 1;
      w->pins++;
      return;
    }
  }
}

static void allocate_all(worker_t* w) {
  size_t bytes = 0;
  while (bytes < per_worker_bytes && w->count < capacity) {
    size_t size = object_size(&w->rng);
    char* p = malloc(size);
    if (p == NULL) {
      atomic_fetch_add(&failures, 1);
      break;
    }
    memset(p, (int)(w->count & 0xFF) | 1, size);
    if (pinned_mode && size <= 1000) pin_if_new_region(w, p);
    w->blocks[w->count++] = p;
    bytes += size;
  }
}

static void free_range(worker_t* w, size_t from, size_t to) {
  for (size_t i = from; i < to; i++) {
    if (w->pinned[i]) continue;
    free(w->blocks[i]);
    w->blocks[i] = NULL;
  }
}

/* A little allocation activity: what a mostly idle thread still does. */
static void light_activity(uint64_t* rng) {
  for (int i = 0; i < ACTIVITY_ROUNDS; i++) {
    usleep(ACTIVITY_SLEEP_US);
    char* p = malloc(rng_range(rng, 16, 1000));
    if (p != NULL) p[0] = 1;
    free(opaque_ptr(p));
  }
}

static void* worker_main(void* arg) {
  worker_t* w = arg;
  allocate_all(w);
  pthread_barrier_wait(&barrier); /* 1: everything allocated, main measures the peak */
  pthread_barrier_wait(&barrier); /* 2: measured */
  free_range(w, 0, w->count / 2);
  if (exited_mode) return NULL;   /* the second half stays for the main thread */
  pthread_barrier_wait(&barrier); /* 3: every first half freed */
  worker_t* other = &workers[(w->index + 1) % WORKERS];
  free_range(other, other->count / 2, other->count);
  pthread_barrier_wait(&barrier); /* 4: everything freed */
  light_activity(&w->rng);
  pthread_barrier_wait(&barrier); /* 5: idle period over, main measures */
  pthread_barrier_wait(&barrier); /* 6: measured; the workers may end */
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 4 || (strncmp(argv[1], "live", 4) != 0 && strncmp(argv[1], "exited", 6) != 0) ||
      (strcmp(argv[2], "returns") != 0 && strcmp(argv[2], "keeps") != 0)) {
    fprintf(stderr, "usage: purge live|exited|live-pinned|exited-pinned returns|keeps PERCENT [LABEL]\n");
    return 2;
  }
  exited_mode = strncmp(argv[1], "exited", 6) == 0;
  pinned_mode = strstr(argv[1], "-pinned") != NULL;
  bool want_return = strcmp(argv[2], "returns") == 0;
  double limit = atof(argv[3]);
  const char* label = argc > 4 ? argv[4] : "";
  per_worker_bytes = ((size_t)TOTAL_MIB << 20) / WORKERS;
  capacity = per_worker_bytes / 16 + 1;

  long long base = ot_resident_bytes();
  if (base < 0) {
    tap_skip("purge: resident memory", "no /proc/self/smaps_rollup");
    return 0;
  }
  pthread_barrier_init(&barrier, NULL, WORKERS + 1);
  pthread_t threads[WORKERS];
  for (int i = 0; i < WORKERS; i++) {
    workers[i].index = i;
    workers[i].rng = 0x5EED0000u + (uint64_t)i;
    workers[i].blocks = mmap(NULL, capacity * sizeof(void*), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    workers[i].pinned = mmap(NULL, capacity, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (workers[i].blocks == MAP_FAILED || workers[i].pinned == MAP_FAILED) return 2;
    pthread_create(&threads[i], NULL, worker_main, &workers[i]);
  }
  pthread_barrier_wait(&barrier); /* 1 */
  long long peak = ot_resident_bytes();
  size_t objects = workers[0].count + workers[1].count;
  pthread_barrier_wait(&barrier); /* 2 */
  uint64_t rng = 99;
  if (exited_mode) {
    for (int i = 0; i < WORKERS; i++) pthread_join(threads[i], NULL);
    for (int i = 0; i < WORKERS; i++) free_range(&workers[i], workers[i].count / 2, workers[i].count);
    light_activity(&rng);
  } else {
    pthread_barrier_wait(&barrier); /* 3 */
    pthread_barrier_wait(&barrier); /* 4 */
    light_activity(&rng);
    pthread_barrier_wait(&barrier); /* 5 */
  }
  for (int i = 0; i < WORKERS; i++) {
    munmap(workers[i].blocks, capacity * sizeof(void*)); /* the pins stay allocated */
    munmap(workers[i].pinned, capacity);
  }
  long long held = ot_resident_bytes();
  if (!exited_mode) {
    pthread_barrier_wait(&barrier); /* 6 */
    for (int i = 0; i < WORKERS; i++) pthread_join(threads[i], NULL);
  }

  double percent = 100.0 * (double)held / (double)peak;
  if (pinned_mode) tap_diag("%zu small blocks pinned (one per 4 MiB region)", workers[0].pins + workers[1].pins);
  tap_diag("%zu objects; resident before %.1f MiB, at the peak %.1f MiB, after freeing and idling %.1f MiB (%.1f%%)",
           objects, ot_mib(base), ot_mib(peak), ot_mib(held), percent);
  if (failures != 0) tap_diag("%d allocations failed", (int)failures);
  bool big_enough = peak - base >= (long long)(TOTAL_MIB - 50) << 20;
  if (!big_enough) tap_diag("the peak is below the %d MiB the test allocates: is the memory written?", TOTAL_MIB);
  char name[256];
  snprintf(name, sizeof name, "purge[%s]: %s: freed ~%d MiB%s (half %s), then idle %d x %d ms: held %s %.0f%% of the peak",
           label, argv[1], TOTAL_MIB, pinned_mode ? " but one small block per 4 MiB" : "", exited_mode ? "by main after the owners exited" : "by the other thread",
           ACTIVITY_ROUNDS, ACTIVITY_SLEEP_US / 1000, want_return ? "<=" : ">=", limit);
  bool ok = failures == 0 && big_enough && (want_return ? percent <= limit : percent >= limit);
  tap_result(ok, name);
  return tap_exit_status();
}
