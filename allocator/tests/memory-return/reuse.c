/* reuse.c: a segment purged while cached as one kind is reused as another (issue 9,
 * item 1). Large blocks (each a segment with one large page: a small header) are
 * allocated, written and freed; after the purge delay has passed (with a little
 * slow-path activity, so that the purge happens) the cached segments come back for
 * small and medium pages, whose headers are larger, and for large blocks again. Every
 * block is written and verified. Meant for SHARDALLOC_EAGER_COMMIT=0 (the purge then
 * decommits, and a header written into a decommitted range faults), and as well for
 * the defaults, purge_delay=0 and purge_decommits=1.
 * A plain program: run with LD_PRELOAD=libshardalloc.so.
 */
#include "leak_account.h"

#define LARGE_COUNT 16
#define LARGE_SIZE (1 * MiB)
#define SMALL_COUNT 60000
#define ROUNDS 3
#define IDLE_ROUNDS 30
#define IDLE_SLEEP_US 2000

static void* large[LARGE_COUNT];
static void* small[SMALL_COUNT];

/* Past the purge delay, with slow-path calls that let the allocator purge. */
static void idle_past_purge_delay(void) {
  for (int i = 0; i < IDLE_ROUNDS; i++) {
    usleep(IDLE_SLEEP_US);
    free(opaque_ptr(malloc(opaque(300000))));
  }
}

int main(void) {
  tap_diag("segments purged while cached as large pages, reused for small, medium and large ones");
  leak_account_t account = leak_account_start();
  size_t bad = 0, failed = 0;
  for (int round = 0; round < ROUNDS; round++) {
    for (size_t i = 0; i < LARGE_COUNT; i++) {
      large[i] = malloc(LARGE_SIZE);
      if (large[i] == NULL) { failed++; continue; }
      pattern_fill(large[i], LARGE_SIZE, 0x1A00 + i);
    }
    for (size_t i = 0; i < LARGE_COUNT; i++) {
      if (large[i] && pattern_check(large[i], LARGE_SIZE, 0x1A00 + i) != SIZE_MAX) bad++;
      free(large[i]);
    }
    idle_past_purge_delay();
    /* Small (8 B .. 8 KiB) and medium (up to 64 KiB) blocks: about 128 MiB. */
    for (size_t i = 0; i < SMALL_COUNT; i++) {
      size_t size = i % 16 == 0 ? 8192 + (i * 37) % 50000 : 8 + (i * 131) % 4000;
      small[i] = malloc(size);
      if (small[i] == NULL) { failed++; continue; }
      pattern_fill(small[i], size, i);
    }
    for (size_t i = 0; i < SMALL_COUNT; i++) {
      size_t size = i % 16 == 0 ? 8192 + (i * 37) % 50000 : 8 + (i * 131) % 4000;
      if (small[i] && pattern_check(small[i], size, i) != SIZE_MAX) bad++;
      free(small[i]);
    }
    idle_past_purge_delay();
  }
  if (bad || failed) tap_diag("%zu blocks corrupted, %zu allocations failed", bad, failed);
  tap_result(bad == 0 && failed == 0, "blocks in segments reused across kinds after a purge are intact");
  leak_account_check(&account, "segment reuse across kinds");
  return tap_exit_status();
}
