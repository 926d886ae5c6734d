/* shrink.c: a realloc that shrinks a block a lot gives the rest back (issue 9, item 5).
 * 200 blocks of 1 MiB, each written, then realloc'ed to 100 bytes and kept: the memory
 * the process holds (Rss - LazyFree, after a short idle with a little allocation so
 * that the purge delay passes) must grow by a few MiB, not by 200 MiB. Also 200
 * blocks of 64 KiB shrunk to 1 KiB (at most 4 MiB held), and 20 huge ones of 8 MiB
 * shrunk to 100 KiB.
 * A plain program: run with LD_PRELOAD=libshardalloc.so (or on glibc: 0.9 MiB).
 */
#include "ostest.h"

#define COUNT 200
#define IDLE_ROUNDS 50
#define IDLE_SLEEP_US 2000

static void* kept[COUNT];

/* Sleeps past the purge delay, with allocations on the slow path that let the
 * allocator purge what became free. */
static void idle_a_little(void) {
  for (int i = 0; i < IDLE_ROUNDS; i++) {
    usleep(IDLE_SLEEP_US);
    free(opaque_ptr(malloc(opaque(200000))));
  }
}

static void shrink_case(size_t count, size_t from, size_t to, size_t bound, const char* name) {
  long long base = ot_resident_bytes();
  bool intact = true;
  for (size_t i = 0; i < count; i++) {
    char* p = malloc(from);
    if (p == NULL) return (void)tap_result(false, name);
    memset(p, (int)(i & 0x7F) + 1, from);
    kept[i] = realloc(p, opaque(to));
    if (kept[i] == NULL) return (void)tap_result(false, name);
  }
  idle_a_little();
  long long held = ot_resident_bytes() - base;
  for (size_t i = 0; i < count; i++) {
    const unsigned char* b = kept[i];
    if (b[0] != (i & 0x7F) + 1 || b[to - 1] != (i & 0x7F) + 1) intact = false;
    free(kept[i]);
  }
  tap_diag("%s: held %.1f MiB more (the blocks had %.1f MiB)", name, ot_mib(held), ot_mib((long long)(count * from)));
  tap_result(intact && held <= (long long)bound, name);
}

int main(void) {
  if (ot_resident_bytes() < 0) {
    tap_skip("shrinking realloc", "no /proc/self/smaps_rollup");
    return tap_exit_status();
  }
  shrink_case(COUNT, MiB, 100, 16 * MiB, "200 blocks of 1 MiB realloc'ed to 100 bytes hold at most 16 MiB");
  shrink_case(COUNT, 64 * KiB, KiB, 4 * MiB, "200 blocks of 64 KiB realloc'ed to 1 KiB hold at most 4 MiB");
  shrink_case(20, 8 * MiB, 100 * KiB, 16 * MiB, "20 huge blocks of 8 MiB realloc'ed to 100 KiB hold at most 16 MiB");
  return tap_exit_status();
}
