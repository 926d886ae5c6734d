/* sizes.c: every size from 0 to past the huge threshold, around each class edge.
 *
 * Each block is filled over its whole usable size with a pattern of its own and
 * stays live while the next blocks are allocated and filled (a ring of live
 * blocks); when it leaves the ring the pattern is verified, then it is freed. An
 * overlap between blocks, a usable size larger than the block really is, or a
 * block handed out twice shows up as a corrupted pattern.
 *
 * Class edges are found two ways: from the allocator itself (the usable size u of
 * a request is the top of its class, so u and u + 1 straddle an edge), and from
 * the usual layouts (4 and 8 classes per power of two), so that sizes stay covered
 * even if the usable size lies.
 *
 * One source, two builds (testapi.h): the sa_ API, and the standard names (run
 * under LD_PRELOAD). Usage: sizes   (TAP on stdout)
 */
#include "testlib.h"
#include "testapi.h"

/* Blocks up to this size are filled completely; larger ones at their first and
 * last FULL_ENDS bytes and one word every SPARSE_STRIDE bytes (still touching
 * every page), which keeps multi-megabyte sizes cheap. */
#define FULL_FILL_LIMIT (256 * KiB)
#define FULL_ENDS (16 * KiB)
#define SPARSE_STRIDE 512

/* At most this many blocks and bytes stay live in the ring. */
#define RING_BLOCKS 64
#define RING_BUDGET_BYTES (256 * MiB)

typedef struct {
  void* p;
  size_t requested;
  size_t usable;
  uint64_t seed;
} live_block_t;

static live_block_t ring[RING_BLOCKS];
static size_t ring_next;
static size_t ring_live_bytes;
static uint64_t seed_counter = 1;
static bool sweep_ok;

static void fill_block(void* p, size_t n, uint64_t seed) {
  if (n <= FULL_FILL_LIMIT) {
    pattern_fill(p, n, seed);
    return;
  }
  unsigned char* b = p;
  pattern_fill(b, FULL_ENDS, seed);
  pattern_fill(b + n - FULL_ENDS, FULL_ENDS, seed ^ 1);
  for (size_t off = FULL_ENDS; off + 8 <= n - FULL_ENDS; off += SPARSE_STRIDE) {
    uint64_t w = pattern_word(seed, off);
    memcpy(b + off, &w, 8);
  }
}

/* The offset of the first corrupted byte, or SIZE_MAX. */
static size_t verify_block(const void* p, size_t n, uint64_t seed) {
  if (n <= FULL_FILL_LIMIT) return pattern_check(p, n, seed);
  const unsigned char* b = p;
  size_t bad = pattern_check(b, FULL_ENDS, seed);
  if (bad != SIZE_MAX) return bad;
  bad = pattern_check(b + n - FULL_ENDS, FULL_ENDS, seed ^ 1);
  if (bad != SIZE_MAX) return n - FULL_ENDS + bad;
  for (size_t off = FULL_ENDS; off + 8 <= n - FULL_ENDS; off += SPARSE_STRIDE) {
    uint64_t w = pattern_word(seed, off);
    if (memcmp(b + off, &w, 8) != 0) return off;
  }
  return SIZE_MAX;
}

static void retire(live_block_t* b) {
  if (b->p == NULL) return;
  size_t bad = verify_block(b->p, b->usable, b->seed);
  if (bad != SIZE_MAX) {
    tap_diag("block %p (requested %zu, usable %zu) corrupted at offset %zu before its free", b->p,
             b->requested, b->usable, bad);
    sweep_ok = false;
  }
  size_t usable_now = T_usable_size(b->p);
  if (usable_now != b->usable) {
    tap_diag("block %p: usable size changed from %zu to %zu while live", b->p, b->usable,
             usable_now);
    sweep_ok = false;
  }
  T_free(b->p);
  ring_live_bytes -= b->usable;
  b->p = NULL;
}

static void retire_all(void) {
  for (size_t i = 0; i < RING_BLOCKS; i++) retire(&ring[(ring_next + i) % RING_BLOCKS]);
}

/* Allocates one block of n bytes, fills it, and puts it in the ring. */
static void sweep_one(size_t n) {
  void* p = T_malloc(n);
  if (p == NULL) {
    tap_diag("malloc(%zu) returned NULL", n);
    sweep_ok = false;
    return;
  }
  size_t usable = T_usable_size(p);
  if (usable < n) {
    tap_diag("malloc(%zu): usable size %zu is smaller", n, usable);
    sweep_ok = false;
    usable = n;
  }
  if (((uintptr_t)p & (n >= 16 ? 15 : 7)) != 0) {
    tap_diag("malloc(%zu) returned %p, under-aligned", n, p);
    sweep_ok = false;
  }
  /* make room: one slot, and the byte budget */
  retire(&ring[ring_next]);
  for (size_t i = 1; i < RING_BLOCKS && ring_live_bytes + usable > RING_BUDGET_BYTES; i++) {
    retire(&ring[(ring_next + i) % RING_BLOCKS]);
  }
  uint64_t seed = (seed_counter++ << 20) ^ n;
  fill_block(p, usable, seed);
  ring[ring_next] = (live_block_t){p, n, usable, seed};
  ring_live_bytes += usable;
  ring_next = (ring_next + 1) % RING_BLOCKS;
}

static void sweep_around(size_t n) {
  if (n > 0) sweep_one(n - 1);
  sweep_one(n);
  sweep_one(n + 1);
}

/* ---- Checks ---------------------------------------------------------------------- */

static bool t_every_small_size(void) {
  sweep_ok = true;
  for (size_t n = 0; n <= 4096; n++) sweep_one(n);
  /* and downwards, so blocks are reused in the other order */
  for (size_t n = 4096; n-- > 0;) sweep_one(n);
  retire_all();
  return sweep_ok;
}

/* The edges the allocator itself reports: u = usable(n) is the top of n's
 * class, u + 1 the bottom of the next. */
static bool t_reported_edges(void) {
  sweep_ok = true;
  size_t edges = 0;
  for (size_t n = 4096; n <= 70000; n += 16) sweep_one(n);
  for (size_t n = 1; n <= 70000;) {
    void* p = T_malloc(n);
    if (p == NULL) return false;
    size_t u = T_usable_size(p);
    T_free(p);
    if (u < n) {
      tap_diag("malloc(%zu): usable size %zu", n, u);
      return false;
    }
    sweep_around(u);
    edges++;
    n = u + 1;
  }
  retire_all();
  tap_diag("%zu size classes reported up to 70000 bytes", edges);
  return sweep_ok;
}

/* 4 and 8 classes per power of two (every layout of that family has its edges
 * among these), to 2^23. */
static bool t_layout_edges(void) {
  sweep_ok = true;
  for (size_t power = 8; power <= ((size_t)1 << 23); power *= 2) {
    for (size_t step = 0; step < 8; step++) sweep_around(power + step * (power / 8));
  }
  retire_all();
  return sweep_ok;
}

/* Around the page, segment and huge thresholds a segment-based allocator uses
 * (64 KiB pages, 512 KiB medium pages, 2 / 4 / 32 MiB segments and more). */
static bool t_large_thresholds(void) {
  static const size_t centres[] = {
    64 * KiB, 128 * KiB, 256 * KiB, 512 * KiB, 1 * MiB, 2 * MiB, 4 * MiB, 8 * MiB,
    16 * MiB, 32 * MiB, 64 * MiB,
  };
  static const long offsets[] = {
    -8193, -4097, -4096, -4095, -17, -16, -1, 0, 1, 15, 16, 17, 4095, 4096, 4097, 8193,
  };
  sweep_ok = true;
  for (size_t c = 0; c < sizeof centres / sizeof centres[0]; c++) {
    for (size_t o = 0; o < sizeof offsets / sizeof offsets[0]; o++) {
      sweep_one((size_t)((long)centres[c] + offsets[o]));
    }
  }
  /* a quarter of the segment's and the huge threshold's neighbourhood, in pages */
  for (size_t n = 31 * MiB; n <= 33 * MiB; n += 64 * KiB + 8) sweep_one(n);
  retire_all();
  return sweep_ok;
}

static unsigned char grow_byte(size_t i) {
  return (unsigned char)(i * 131 + (i >> 9) + 7);
}

/* Growing one byte at a time and shrinking back: each step's realloc must keep
 * every byte (checked in full whenever the block moves, else at its end). */
static bool t_realloc_byte_steps(void) {
  bool ok = true;
  unsigned char* p = NULL;
  size_t n = 0;
  size_t moves = 0;
  for (size_t next = 1; next <= 70000 && ok; next++) {
    unsigned char* q = T_realloc(p, next);
    if (q == NULL) {
      tap_diag("realloc(%zu -> %zu) returned NULL", n, next);
      T_free(p);
      return false;
    }
    size_t from = q == p ? (n > 64 ? n - 64 : 0) : 0;
    if (q != p) moves++;
    for (size_t i = from; i < n; i++) {
      if (q[i] != grow_byte(i)) {
        tap_diag("realloc %zu -> %zu (%p -> %p): byte %zu lost", n, next, (void*)p, (void*)q, i);
        ok = false;
        break;
      }
    }
    q[next - 1] = grow_byte(next - 1);
    p = q;
    n = next;
  }
  for (size_t next = 70000; next > 0 && ok; next -= (next > 7 ? 7 : next)) {
    unsigned char* q = T_realloc(p, next);
    if (q == NULL) {
      tap_diag("realloc(%zu -> %zu) returned NULL", n, next);
      T_free(p);
      return false;
    }
    if (q != p) {
      moves++;
      for (size_t i = 0; i < next; i++) {
        if (q[i] != grow_byte(i)) {
          tap_diag("shrinking realloc %zu -> %zu moved the block and lost byte %zu", n, next, i);
          ok = false;
          break;
        }
      }
    }
    p = q;
    n = next;
  }
  T_free(p);
  tap_diag("%zu moves in 70000 growing and 10000 shrinking reallocs", moves);
  return ok;
}

/* Large blocks grown by ~1.3x up to 48 MiB and shrunk back. */
static bool t_realloc_large_steps(void) {
  bool ok = true;
  size_t n = 60000;
  uint64_t seed = 77;
  unsigned char* p = T_malloc(n);
  if (p == NULL) return false;
  fill_block(p, n, seed);
  bool growing = true;
  for (int step = 0; step < 60 && ok; step++) {
    size_t next = growing ? n + n / 3 + 1 : n - n / 4 - 3;
    if (growing && next > 48 * MiB) {
      growing = false;
      continue;
    }
    if (!growing && next < 60000) break;
    unsigned char* q = T_realloc(p, next);
    if (q == NULL) {
      tap_diag("realloc(%zu -> %zu) returned NULL", n, next);
      T_free(p);
      return false;
    }
    size_t keep = n < next ? n : next;
    if (keep == n) {
      /* growing: the whole old block, at every point that was written */
      size_t bad = verify_block(q, n, seed);
      if (bad != SIZE_MAX) {
        tap_diag("realloc %zu -> %zu lost byte %zu", n, next, bad);
        ok = false;
      }
    } else {
      /* shrinking: the first FULL_ENDS bytes and the sparse words are still there */
      size_t head = keep < FULL_ENDS ? keep : FULL_ENDS;
      if (pattern_check(q, head, seed) != SIZE_MAX) {
        tap_diag("shrinking realloc %zu -> %zu lost its first bytes", n, next);
        ok = false;
      }
    }
    seed++;
    fill_block(q, next, seed);
    p = q;
    n = next;
  }
  T_free(p);
  return ok;
}

int main(void) {
  tap_diag("size sweep through the %s", T_API_NAME);
  tap_run("every size 0..4096, full usable size written and verified (up and down)",
          t_every_small_size);
  tap_run("sizes 4096..70000 by 16, and each class edge the usable size reports, +-1",
          t_reported_edges);
  tap_run("class edges of 4 and 8 classes per power of two up to 2^23, +-1", t_layout_edges);
  tap_run("sizes around 64 KiB..64 MiB thresholds (2, 4, 32 MiB ...) +-1/16/page",
          t_large_thresholds);
  tap_run("realloc by one byte up to 70000 and back keeps every byte", t_realloc_byte_steps);
  tap_run("realloc of large blocks up to 48 MiB and back keeps the contents",
          t_realloc_large_steps);
  return tap_exit_status();
}
