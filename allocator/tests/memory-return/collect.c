/* collect.c: sa_collect(true) gives back everything it can, at once.
 *
 * With a purge delay far in the future (1000 s) nothing goes back by itself; then
 * sa_collect(true), called right after the frees, must bring the memory the process
 * holds (Rss - LazyFree, /proc/self/smaps_rollup) down at once, without waiting:
 *   - small and medium blocks (~300 MiB), freed but one block in every 4 MiB region
 *     (so the segments stay and their empty pages wait for the purge; the pinned
 *     pages, up to 512 KiB each, stay: about 7% of the peak);
 *   - huge blocks kept in the huge-block cache after their free;
 *   - the empty segments kept in the thread's segment cache.
 * Usage: collect    (TAP; sa_ API build)
 */
#include "ostest.h"

#include <sys/mman.h>

#define FAR_AWAY_MS 1000000

/* Small and medium blocks: allocate `mib`, free all but the first block in each
 * 4 MiB region; returns the pins (to free later) through pins/npins. */
typedef struct remote_free_s {
  void** blocks;
  const uint8_t* pinned;
  size_t count;
} remote_free_t;

static void* remote_free_main(void* arg) {
  remote_free_t* r = arg;
  for (size_t i = 0; i < r->count; i++) {
    if (!r->pinned[i]) sa_free(r->blocks[i]);
  }
  return NULL;
}

/* remote: the frees are made by another thread (the blocks stay this thread's). */
static bool fill_and_free(size_t mib, bool remote, void*** pins_out, size_t* npins, long long* peak) {
  size_t capacity = (mib << 20) / 16;
  void** blocks = mmap(NULL, capacity * sizeof(void*), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  uint8_t* pinned = mmap(NULL, capacity, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  void** pins = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  static uintptr_t regions[8192];
  memset(regions, 0, sizeof regions);
  if (blocks == MAP_FAILED || pinned == MAP_FAILED || pins == MAP_FAILED) return false;
  uint64_t rng = 7;
  size_t count = 0, bytes = 0, n = 0;
  while (bytes < (mib << 20) && count < capacity) {
    uint64_t r = rng_next(&rng) % 100;
    size_t size = r < 90 ? rng_range(&rng, 16, 1000) : r < 98 ? rng_range(&rng, 1001, 8192) : rng_range(&rng, 8193, 65536);
    char* p = sa_malloc(size);
    if (p == NULL) return false;
    memset(p, 0x3C, size);
    {
      uintptr_t region = ((uintptr_t)p >> 22) + 1;
      size_t slot = (size_t)(region * 0x9E3779B97F4A7C15ull >> 51) % 8192;
      while (regions[slot] != 0 && regions[slot] != region) slot = (slot + 1) % 8192;
      if (regions[slot] == 0) {
        regions[slot] = region;
        pinned[count] = 1;
        pins[n++] = p;
      }
    }
    blocks[count++] = p;
    bytes += size;
  }
  *peak = ot_resident_bytes();
  if (remote) {
    remote_free_t r = {blocks, pinned, count};
    pthread_t t;
    if (pthread_create(&t, NULL, remote_free_main, &r) != 0) return false;
    pthread_join(t, NULL);
  } else {
    for (size_t i = 0; i < count; i++) {
      if (!pinned[i]) sa_free(blocks[i]);
    }
  }
  munmap(blocks, capacity * sizeof(void*));
  munmap(pinned, capacity);
  *pins_out = pins;
  *npins = n;
  return true;
}

static bool small_medium(bool remote) {
  sa_option_set(sa_option_purge_delay, FAR_AWAY_MS);
  long long base = ot_resident_bytes();
  void** pins;
  size_t npins;
  long long peak;
  if (!fill_and_free(remote ? 200 : 300, remote, &pins, &npins, &peak)) return false;
  long long before = ot_resident_bytes();
  sa_collect(true);
  long long after = ot_resident_bytes();
  tap_diag("resident: %.1f MiB at start, %.1f MiB at the peak, %.1f MiB after the frees, %.1f MiB right after "
           "sa_collect(true) (%zu blocks pinned)",
           ot_mib(base), ot_mib(peak), ot_mib(before), ot_mib(after), npins);
  bool ok = true;
  if (before < (peak - base) / 2) {
    tap_diag("with purge_delay=%d the memory was given back before sa_collect: the check proves nothing", FAR_AWAY_MS);
    ok = false;
  }
  if (after - base > (peak - base) * 15 / 100) {
    tap_diag("sa_collect(true) kept %.1f%% of the peak (limit 15%%)", 100.0 * (double)(after - base) / (double)(peak - base));
    ok = false;
  }
  for (size_t i = 0; i < npins; i++) sa_free(pins[i]);
  return ok;
}

static bool check_small_medium(void) { return small_medium(false); }
static bool check_remote_freed(void) { return small_medium(true); }

static bool check_huge_cache(void) {
  sa_option_set(sa_option_purge_delay, FAR_AWAY_MS);
  sa_collect(true);
  long long base = ot_resident_bytes();
  char* huge[3];
  for (int i = 0; i < 3; i++) {
    huge[i] = sa_malloc((size_t)30 << 20);
    if (huge[i] == NULL) return false;
    memset(huge[i], 0x11, (size_t)30 << 20);
  }
  long long peak = ot_resident_bytes();
  for (int i = 0; i < 3; i++) sa_free(huge[i]);
  long long before = ot_resident_bytes();
  sa_collect(true);
  long long after = ot_resident_bytes();
  tap_diag("resident: %.1f MiB at start, %.1f MiB with 3 x 30 MiB, %.1f MiB after the frees, %.1f MiB after sa_collect(true)",
           ot_mib(base), ot_mib(peak), ot_mib(before), ot_mib(after));
  return after - base <= (4 << 20);
}

/* Empty segments in the thread's cache: their pages must not stay resident either. */
static bool check_segment_cache(void) {
  sa_option_set(sa_option_purge_delay, FAR_AWAY_MS);
  sa_option_set(sa_option_segment_cache, 64);
  sa_collect(true);
  long long base = ot_resident_bytes();
  static void* blocks[40000];
  for (int i = 0; i < 40000; i++) {
    blocks[i] = sa_malloc(1000);
    if (blocks[i] == NULL) return false;
    memset(blocks[i], 0x22, 1000);
  }
  long long peak = ot_resident_bytes();
  for (int i = 0; i < 40000; i++) sa_free(blocks[i]);
  sa_collect(true);
  long long after = ot_resident_bytes();
  tap_diag("resident: %.1f MiB at start, %.1f MiB with 40000 x 1000 B, %.1f MiB after sa_collect(true)", ot_mib(base),
           ot_mib(peak), ot_mib(after));
  return after - base <= (2 << 20);
}

int main(void) {
  if (ot_resident_bytes() < 0) {
    tap_skip("collect", "no /proc/self/smaps_rollup");
    return 0;
  }
  tap_run("collect: sa_collect(true) right after freeing ~300 MiB (one block kept per 4 MiB) leaves <= 15% "
          "(purge_delay 1000 s)", check_small_medium);
  tap_run("collect: sa_collect(true) also returns pages another thread freed (~200 MiB, one block kept per 4 MiB)",
          check_remote_freed);
  tap_run("collect: sa_collect(true) returns freed huge blocks from the huge-block cache at once", check_huge_cache);
  tap_run("collect: sa_collect(true) leaves no resident memory in cached empty segments", check_segment_cache);
  return tap_exit_status();
}
