/* fuzz.c: random sequences of allocator calls checked against a shadow model.
 *
 * Each input is a program: every operation takes its opcode, a slot (one of SLOTS
 * places a block can live) and its arguments from the next bytes. The operations
 * cover the sa_ API: malloc, calloc, zalloc, realloc, reallocarray, the aligned
 * family (malloc/zalloc/calloc/realloc_aligned, posix_memalign, aligned_alloc,
 * memalign, valloc, pvalloc), free, free_sized, free_aligned_sized, usable_size,
 * good_size, strdup/strndup, first-class heaps (new, malloc/zalloc/calloc/realloc/
 * malloc_aligned in a heap, contains, set_default, delete, destroy) and collect.
 * Sizes range from 0 to huge, plus impossible ones (SIZE_MAX, PTRDIFF_MAX + 1...);
 * alignments from 1 to 4 MiB, plus invalid ones (0, 3, 24, 65).
 *
 * The model knows for every slot its block's requested size, the alignment it
 * asked for, the seed of the pattern written into it and the heap it belongs to.
 * It checks: every block aligned as asked (16 by default, 8 below 16 bytes); usable
 * size >= requested; calloc/zalloc memory zero; realloc keeping min(old, new)
 * bytes; no block changing while live (each block's pattern is checked before it
 * is freed or resized, and all of them now and then); failures as specified (NULL
 * with ENOMEM for impossible sizes, EINVAL for bad alignments, posix_memalign
 * leaving *p alone, a failed realloc leaving the block intact); heap_contains
 * agreeing with the model; heap_destroy releasing exactly the heap's blocks.
 * A failed check prints what failed and aborts (libFuzzer saves the input).
 *
 * Builds (allocator/tests/fuzz/PROGRAMS):
 *   fuzz-asan   clang -fsanitize=fuzzer,address, with build/asan/libshardalloc-core.a
 *   fuzz-ubsan  gcc -fsanitize=undefined -DFUZZ_STANDALONE, with the UBSan core: a main
 *               that replays files and directories given and then runs random inputs
 *               (usage: fuzz-ubsan [-n RANDOM_INPUTS] [-s SEED] [PATH...])
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <shardalloc.h>

#define SLOTS 32
#define HEAPS 4
#define PAGE 4096
/* Blocks up to this size are patterned in full; bigger ones at both ends and
 * every SPARSE bytes in between. */
#define FULL_LIMIT (64 * 1024)
#define SPARSE (64 * 1024)
#define EDGE 4096

enum { HEAP_OWN = -1, HEAP_UNKNOWN = -2 };

typedef struct {
  unsigned char* p;
  size_t size;  /* requested */
  size_t align; /* asked for (0: the default) */
  uint64_t seed;
  int heap; /* index into heaps, HEAP_OWN or HEAP_UNKNOWN */
} slot_t;

static slot_t slots[SLOTS];
/* FUZZ_TRACE=1 in the environment: every operation and block on stderr. */
static int trace = -1;
#define TRACE(...)                                                      \
  do {                                                                  \
    if (trace < 0) trace = getenv("FUZZ_TRACE") != NULL;                \
    if (trace) fprintf(stderr, __VA_ARGS__);                            \
  } while (0)
static sa_heap_t* heaps[HEAPS];
static int default_heap = HEAP_OWN; /* where sa_malloc allocates now */
static uint64_t op_count;

typedef struct {
  const uint8_t* data;
  size_t size;
  size_t at;
} input_t;

static uint8_t next8(input_t* in) { return in->at < in->size ? in->data[in->at++] : 0; }
static uint32_t next16(input_t* in) { return (uint32_t)next8(in) | (uint32_t)next8(in) << 8; }
static uint32_t next24(input_t* in) { return next16(in) | (uint32_t)next8(in) << 16; }

#define FAIL(...)                                                          \
  do {                                                                     \
    fprintf(stderr, "fuzz: operation %llu: ", (unsigned long long)op_count); \
    fprintf(stderr, __VA_ARGS__);                                          \
    fputc('\n', stderr);                                                   \
    abort();                                                               \
  } while (0)

/* ---- sizes and alignments ---------------------------------------------------------- */

static const size_t impossible_sizes[] = {
    SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - 4095, (size_t)PTRDIFF_MAX + 1, (size_t)PTRDIFF_MAX,
    (size_t)1 << 62, SIZE_MAX / 2 + 17, (size_t)PTRDIFF_MAX - 4096};

static size_t next_size(input_t* in, bool* impossible) {
  uint8_t kind = next8(in) % 16;
  *impossible = false;
  if (kind < 9) return next16(in) % 1025;                     /* small */
  if (kind < 12) return next24(in) % (64 * 1024 + 1);         /* medium */
  if (kind < 14) return next24(in) % (2 * 1024 * 1024 + 1);   /* large */
  if (kind < 15) return (size_t)next24(in) % 6000000 + 2000000; /* huge */
  *impossible = true;
  return impossible_sizes[next8(in) % (sizeof impossible_sizes / sizeof impossible_sizes[0])];
}

/* Hides a constant from the compiler (no -Walloc-size-larger-than on purpose). */
static size_t opaque_size(size_t v) {
  volatile size_t hidden = v;
  return hidden;
}

static bool pow2(size_t n) { return n != 0 && (n & (n - 1)) == 0; }

static size_t next_alignment(input_t* in) {
  uint8_t kind = next8(in) % 16;
  if (kind < 13) return (size_t)1 << (next8(in) % 23); /* 1 .. 4 MiB */
  static const size_t bad[] = {0, 3, 24, 65, 48, 1000};
  return bad[next8(in) % 6];
}

/* ---- patterns ------------------------------------------------------------------------- */

static inline uint8_t pattern_byte(uint64_t seed, size_t i) {
  return (uint8_t)((seed >> ((i & 7) * 8)) ^ (i * 0x9D) ^ (i >> 11));
}

/* Calls fn on every byte range of a block of `size` that carries the pattern. */
typedef void (*range_fn)(unsigned char* p, size_t from, size_t to, uint64_t seed, size_t limit);

static void for_each_range(unsigned char* p, size_t size, uint64_t seed, size_t limit, range_fn fn) {
  if (size <= FULL_LIMIT) {
    fn(p, 0, size, seed, limit);
    return;
  }
  fn(p, 0, EDGE, seed, limit);
  for (size_t at = SPARSE; at + 8 < size - EDGE; at += SPARSE) fn(p, at, at + 8, seed, limit);
  fn(p, size - EDGE, size, seed, limit);
}

static void write_range(unsigned char* p, size_t from, size_t to, uint64_t seed, size_t limit) {
  (void)limit;
  for (size_t i = from; i < to; i++) p[i] = pattern_byte(seed, i);
}

static size_t bad_offset;
static void check_range(unsigned char* p, size_t from, size_t to, uint64_t seed, size_t limit) {
  if (to > limit) to = limit;
  for (size_t i = from; i < to && bad_offset == SIZE_MAX; i++) {
    if (p[i] != pattern_byte(seed, i)) bad_offset = i;
  }
}

static void zero_range(unsigned char* p, size_t from, size_t to, uint64_t seed, size_t limit) {
  (void)seed, (void)limit;
  for (size_t i = from; i < to && bad_offset == SIZE_MAX; i++) {
    if (p[i] != 0) bad_offset = i;
  }
}

static void pattern_write(slot_t* s) { for_each_range(s->p, s->size, s->seed, s->size, write_range); }

/* Checks the pattern of the first `limit` bytes (all when limit = size). */
static void pattern_verify(const slot_t* s, size_t limit, const char* when) {
  bad_offset = SIZE_MAX;
  for_each_range(s->p, s->size, s->seed, limit, check_range);
  if (bad_offset != SIZE_MAX) {
    FAIL("%s: block %p of %zu bytes changed at offset %zu", when, (void*)s->p, s->size, bad_offset);
  }
}

static void zero_verify(unsigned char* p, size_t size, const char* what) {
  bad_offset = SIZE_MAX;
  for_each_range(p, size, 0, size, zero_range);
  if (bad_offset != SIZE_MAX) FAIL("%s: %zu-byte block not zero at offset %zu", what, size, bad_offset);
}

/* ---- the model ------------------------------------------------------------------------ */

static uint64_t seed_counter;

static void check_block(const char* what, const void* p, size_t size, size_t align) {
  size_t want = size >= 16 ? 16 : 8;
  if (align > want) want = align;
  if (((uintptr_t)p & (want - 1)) != 0) FAIL("%s: %p not aligned to %zu (size %zu)", what, p, want, size);
  size_t usable = sa_usable_size(p);
  if (usable < size) FAIL("%s: usable size %zu < requested %zu", what, usable, size);
  if (!sa_is_in_heap_region(p)) FAIL("%s: %p not in the heap region", what, p);
}

/* A new block arrived in slot s: check it, fill it. */
static void adopt(slot_t* s, void* p, size_t size, size_t align, int heap, bool zero, const char* what) {
  TRACE("  %s -> slot %ld: %p, %zu bytes, alignment %zu, heap %d\n", what, (long)(s - slots), p, size,
        align, heap);
  check_block(what, p, size, align);
  if (zero) zero_verify(p, size, what);
  s->p = p;
  s->size = size;
  s->align = align;
  s->heap = heap;
  s->seed = ++seed_counter * 0x9E3779B97F4A7C15ull;
  pattern_write(s);
}

static void slot_free(slot_t* s) {
  if (s->p == NULL) return;
  pattern_verify(s, s->size, "before free");
  sa_free(s->p);
  s->p = NULL;
}

/* A call that must fail: NULL, with errno one of the expected. */
static void expect_failure(const char* what, void* p, int err1, int err2) {
  int err = errno;
  if (p != NULL) FAIL("%s: expected NULL, got %p", what, p);
  if (err != err1 && err != err2) FAIL("%s: expected errno %d, got %d", what, err1, err);
}

static void verify_all(void) {
  for (int i = 0; i < SLOTS; i++) {
    slot_t* s = &slots[i];
    if (s->p == NULL) continue;
    pattern_verify(s, s->size, "check of all blocks");
    if (s->heap >= 0 && !sa_heap_contains(heaps[s->heap], s->p)) {
      FAIL("heap %d does not contain its block %p (%zu bytes)", s->heap, (void*)s->p, s->size);
    }
    for (int h = 0; h < HEAPS; h++) {
      if (heaps[h] != NULL && h != s->heap && s->heap != HEAP_UNKNOWN && sa_heap_contains(heaps[h], s->p)) {
        FAIL("heap %d claims block %p of heap %d", h, (void*)s->p, s->heap);
      }
    }
  }
}

/* After a resize: the block is where the model says (moved blocks belong to the
 * heap that allocated the new one). */
static void resized(slot_t* s, void* q, size_t newsize, size_t align, int heap_if_moved, const char* what) {
  TRACE("  %s -> slot %ld: %p -> %p, %zu -> %zu bytes, alignment %zu\n", what, (long)(s - slots),
        (void*)s->p, q, s->size, newsize, align);
  size_t keep = s->size < newsize ? s->size : newsize;
  slot_t old = *s;
  old.p = q;
  pattern_verify(&old, keep, what);
  if (q != s->p) s->heap = heap_if_moved;
  check_block(what, q, newsize, align);
  s->p = q;
  s->size = newsize;
  s->align = align;
  s->seed = ++seed_counter * 0x9E3779B97F4A7C15ull;
  pattern_write(s);
}

/* ---- one operation --------------------------------------------------------------------- */

static int live_heap(input_t* in) {
  int h = next8(in) % HEAPS;
  return heaps[h] != NULL ? h : -1;
}

static void step(input_t* in) {
  uint8_t op = next8(in) % 24;
  slot_t* s = &slots[next8(in) % SLOTS];
  bool impossible;
  size_t size, align;
  void* p;
  op_count++;
  TRACE("op %llu: opcode %u, slot %ld\n", (unsigned long long)op_count, op, (long)(s - slots));
  switch (op) {
    case 0: case 1: /* malloc */
      size = next_size(in, &impossible);
      slot_free(s);
      errno = 0;
      p = sa_malloc(size);
      if (impossible) expect_failure("malloc(impossible)", p, ENOMEM, ENOMEM);
      else if (p == NULL) FAIL("malloc(%zu) failed", size);
      else adopt(s, p, size, 0, default_heap, false, "malloc");
      break;
    case 2: { /* calloc, sometimes overflowing */
      size_t n = next8(in) % 17, m;
      size = next_size(in, &impossible);
      slot_free(s);
      errno = 0;
      if (impossible || n == 16) {
        m = n == 16 ? opaque_size(SIZE_MAX / 3) : size;
        p = sa_calloc(n == 16 ? 7 : n + 1, m);
        if (n == 16 || m > 0) {
          expect_failure("calloc overflow", p, ENOMEM, ENOMEM);
          break;
        }
      }
      m = n == 0 ? size : size / n;
      if (n == 0) n = 1;
      p = sa_calloc(n, m);
      if (p == NULL) FAIL("calloc(%zu, %zu) failed", n, m);
      adopt(s, p, n * m, 0, default_heap, true, "calloc");
      break;
    }
    case 3: /* zalloc */
      size = next_size(in, &impossible);
      slot_free(s);
      errno = 0;
      p = sa_zalloc(size);
      if (impossible) expect_failure("zalloc(impossible)", p, ENOMEM, ENOMEM);
      else if (p == NULL) FAIL("zalloc(%zu) failed", size);
      else adopt(s, p, size, 0, default_heap, true, "zalloc");
      break;
    case 4: case 5: /* realloc */
      size = next_size(in, &impossible);
      errno = 0;
      if (s->p == NULL) {
        p = sa_realloc(NULL, size);
        if (impossible) expect_failure("realloc(NULL, impossible)", p, ENOMEM, ENOMEM);
        else if (p == NULL) FAIL("realloc(NULL, %zu) failed", size);
        else adopt(s, p, size, 0, default_heap, false, "realloc(NULL)");
        break;
      }
      pattern_verify(s, s->size, "before realloc");
      p = sa_realloc(s->p, size);
      if (impossible) {
        expect_failure("realloc(impossible)", p, ENOMEM, ENOMEM);
        pattern_verify(s, s->size, "after a failed realloc");
      } else if (size == 0) {
        if (p != NULL) FAIL("realloc(p, 0) returned %p, expected NULL (frees, as glibc)", p);
        s->p = NULL;
      } else if (p == NULL) {
        FAIL("realloc(%zu -> %zu) failed", s->size, size);
      } else {
        resized(s, p, size, 0, default_heap, "realloc");
      }
      break;
    case 6: { /* reallocarray */
      size_t n = (size_t)next8(in) + 1;
      size = next_size(in, &impossible);
      errno = 0;
      if (impossible) {
        p = sa_reallocarray(s->p, n + 1, opaque_size(SIZE_MAX / 2));
        expect_failure("reallocarray overflow", p, ENOMEM, ENOMEM);
        if (s->p) pattern_verify(s, s->size, "after a failed reallocarray");
        break;
      }
      size_t m = size / n;
      if (n * m == 0) break;
      p = sa_reallocarray(s->p, n, m);
      if (p == NULL) FAIL("reallocarray(%zu, %zu) failed", n, m);
      if (s->p == NULL) adopt(s, p, n * m, 0, default_heap, false, "reallocarray(NULL)");
      else resized(s, p, n * m, 0, default_heap, "reallocarray");
      break;
    }
    case 7: case 8: { /* malloc_aligned, zalloc_aligned, calloc_aligned */
      uint8_t which = next8(in) % 3;
      size = next_size(in, &impossible);
      align = next_alignment(in);
      slot_free(s);
      errno = 0;
      p = which == 0 ? sa_malloc_aligned(size, align)
          : which == 1 ? sa_zalloc_aligned(size, align)
                       : sa_calloc_aligned(1, size, align);
      if (!pow2(align)) expect_failure("aligned (bad alignment)", p, EINVAL, ENOMEM);
      else if (impossible) expect_failure("aligned (impossible size)", p, ENOMEM, ENOMEM);
      else if (p == NULL) FAIL("aligned(%zu, %zu) failed", size, align);
      else adopt(s, p, size, align, default_heap, which != 0, "malloc_aligned");
      break;
    }
    case 9: /* realloc_aligned */
      if (s->p == NULL) break;
      size = next_size(in, &impossible);
      align = next_alignment(in);
      if (!pow2(align) || impossible || size == 0) break;
      pattern_verify(s, s->size, "before realloc_aligned");
      p = sa_realloc_aligned(s->p, size, align);
      if (p == NULL) FAIL("realloc_aligned(%zu -> %zu, %zu) failed", s->size, size, align);
      resized(s, p, size, align, default_heap, "realloc_aligned");
      break;
    case 10: { /* posix_memalign */
      size = next_size(in, &impossible);
      align = next_alignment(in);
      slot_free(s);
      void* out = &out;
      int rc = sa_posix_memalign(&out, align, size);
      bool valid = pow2(align) && align >= sizeof(void*);
      if (!valid || impossible) {
        if (rc != (valid ? ENOMEM : EINVAL)) FAIL("posix_memalign(%zu, %zu) returned %d", align, size, rc);
        if (out != &out) FAIL("posix_memalign changed *p on failure");
      } else if (rc != 0) {
        FAIL("posix_memalign(%zu, %zu) failed with %d", align, size, rc);
      } else {
        adopt(s, out, size, align, default_heap, false, "posix_memalign");
      }
      break;
    }
    case 11: /* aligned_alloc */
      size = next_size(in, &impossible);
      align = next_alignment(in);
      slot_free(s);
      errno = 0;
      p = sa_aligned_alloc(align, size);
      if (!pow2(align)) expect_failure("aligned_alloc (bad alignment)", p, EINVAL, ENOMEM);
      else if (impossible) expect_failure("aligned_alloc (impossible)", p, ENOMEM, ENOMEM);
      else if (p == NULL) FAIL("aligned_alloc(%zu, %zu) failed", align, size);
      else adopt(s, p, size, align, default_heap, false, "aligned_alloc");
      break;
    case 12: { /* memalign, valloc, pvalloc */
      uint8_t which = next8(in) % 3;
      size = next_size(in, &impossible);
      align = (size_t)1 << (next8(in) % 16);
      slot_free(s);
      errno = 0;
      p = which == 0 ? sa_memalign(align, size) : which == 1 ? sa_valloc(size) : sa_pvalloc(size);
      if (impossible) {
        expect_failure("memalign/valloc/pvalloc (impossible)", p, ENOMEM, ENOMEM);
        break;
      }
      if (p == NULL) FAIL("memalign/valloc/pvalloc(%zu) failed", size);
      if (which == 2) {
        size_t rounded = size == 0 ? PAGE : (size + PAGE - 1) / PAGE * PAGE;
        if (sa_usable_size(p) < rounded) FAIL("pvalloc(%zu): usable %zu < %zu", size, sa_usable_size(p), rounded);
        size = rounded;
      }
      adopt(s, p, size, which == 0 ? align : PAGE, default_heap, false, "memalign/valloc/pvalloc");
      break;
    }
    case 13: case 14: /* free */
      slot_free(s);
      break;
    case 15: /* free_sized, free_aligned_sized */
      if (s->p == NULL) break;
      pattern_verify(s, s->size, "before free_sized");
      if (s->align > 16 && next8(in) & 1) sa_free_aligned_sized(s->p, s->align, s->size);
      else sa_free_sized(s->p, s->size);
      s->p = NULL;
      break;
    case 16: { /* usable_size and good_size; the slack is ours to write */
      size = next_size(in, &impossible);
      if (!impossible && sa_good_size(size) < size) FAIL("good_size(%zu) = %zu", size, sa_good_size(size));
      if (s->p == NULL) break;
      size_t usable = sa_usable_size(s->p);
      if (usable < s->size) FAIL("usable size %zu < requested %zu", usable, s->size);
      size_t end = usable - s->size > 65536 ? s->size + 65536 : usable;
      memset(s->p + s->size, 0xEE, end - s->size);
      break;
    }
    case 17: { /* strdup / strndup */
      size = next16(in) % 300;
      slot_free(s);
      char text[301];
      for (size_t i = 0; i < size; i++) text[i] = (char)('a' + (i * 7 + op_count) % 26);
      text[size] = '\0';
      size_t limit = next8(in) % 2 ? size / 2 : size + 5;
      char* copy = next8(in) % 2 ? sa_strdup(text) : sa_strndup(text, limit);
      if (copy == NULL) FAIL("strdup failed");
      size_t want = strlen(copy);
      if (want > size || strncmp(copy, text, want) != 0) FAIL("strdup copied wrongly");
      adopt(s, copy, want + 1, 0, default_heap, false, "strdup");
      break;
    }
    case 18: { /* heap_new */
      int h = next8(in) % HEAPS;
      if (heaps[h] != NULL) break;
      heaps[h] = sa_heap_new();
      if (heaps[h] == NULL) FAIL("heap_new failed");
      break;
    }
    case 19: case 20: { /* allocation in a heap */
      int h = live_heap(in);
      if (h < 0) break;
      uint8_t which = next8(in) % 5;
      size = next_size(in, &impossible);
      align = (size_t)1 << (next8(in) % 20);
      if (impossible) size = 100;
      if (which == 3) {
        if (s->p == NULL || size == 0) break;
        pattern_verify(s, s->size, "before heap_realloc");
        p = sa_heap_realloc(heaps[h], s->p, size);
        if (p == NULL) FAIL("heap_realloc(%zu) failed", size);
        resized(s, p, size, 0, h, "heap_realloc");
        break;
      }
      slot_free(s);
      p = which == 0 ? sa_heap_malloc(heaps[h], size)
          : which == 1 ? sa_heap_zalloc(heaps[h], size)
          : which == 2 ? sa_heap_calloc(heaps[h], 1, size)
                       : sa_heap_malloc_aligned(heaps[h], size, align);
      if (p == NULL) FAIL("heap allocation (%u) of %zu failed", which, size);
      adopt(s, p, size, which == 4 ? align : 0, h, which == 1 || which == 2, "heap allocation");
      break;
    }
    case 21: { /* set_default */
      int h = live_heap(in);
      sa_heap_t* previous = sa_heap_set_default(h < 0 ? NULL : heaps[h]);
      (void)previous;
      if (h >= 0) default_heap = h;
      break;
    }
    case 22: { /* heap_delete (blocks live on) or heap_destroy (blocks go) */
      int h = live_heap(in);
      if (h < 0) break;
      bool destroy = next8(in) & 1;
      for (int i = 0; i < SLOTS; i++) {
        slot_t* t = &slots[i];
        if (t->p == NULL || t->heap != h) continue;
        pattern_verify(t, t->size, "before heap delete/destroy");
        if (destroy) t->p = NULL;
        else t->heap = HEAP_UNKNOWN;
      }
      if (destroy) sa_heap_destroy(heaps[h]);
      else sa_heap_delete(heaps[h]);
      heaps[h] = NULL;
      if (default_heap == h) default_heap = HEAP_OWN;
      break;
    }
    default: /* check everything, and collect */
      verify_all();
      sa_collect(next8(in) & 1);
      break;
  }
}

/* Runs one input from a clean state, and leaves a clean state. */
static void run_input(const uint8_t* data, size_t size) {
  input_t in = {data, size, 0};
  op_count = 0;
  sa_heap_t* own = sa_heap_get_default();
  default_heap = HEAP_OWN;
  while (in.at < in.size) step(&in);
  verify_all();
  sa_heap_set_default(own);
  default_heap = HEAP_OWN;
  for (int i = 0; i < SLOTS; i++) {
    if (slots[i].heap >= 0 && heaps[slots[i].heap] != NULL && (i & 1)) continue; /* left to destroy */
    slot_free(&slots[i]);
  }
  for (int h = 0; h < HEAPS; h++) {
    if (heaps[h] == NULL) continue;
    for (int i = 0; i < SLOTS; i++) {
      if (slots[i].p != NULL && slots[i].heap == h) slots[i].p = NULL;
    }
    sa_heap_destroy(heaps[h]);
    heaps[h] = NULL;
  }
  for (int i = 0; i < SLOTS; i++) {
    if (slots[i].p != NULL) FAIL("slot %d still live after cleanup", i);
  }
  sa_collect(false);
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  run_input(data, size);
  return 0;
}

#ifdef FUZZ_STANDALONE
/* ---- without libFuzzer: replay files, then random inputs ----------------------------- */

static size_t replayed;

static void replay_file(const char* path) {
  FILE* f = fopen(path, "rb");
  if (f == NULL) {
    perror(path);
    exit(2);
  }
  static uint8_t buf[1 << 16];
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  run_input(buf, n);
  replayed++;
}

static void replay_path(const char* path) {
  struct stat st;
  if (stat(path, &st) != 0) {
    perror(path);
    exit(2);
  }
  if (!S_ISDIR(st.st_mode)) {
    replay_file(path);
    return;
  }
  DIR* dir = opendir(path);
  struct dirent* e;
  while (dir != NULL && (e = readdir(dir)) != NULL) {
    if (e->d_name[0] == '.') continue;
    char child[4096];
    snprintf(child, sizeof child, "%s/%s", path, e->d_name);
    replay_file(child);
  }
  if (dir != NULL) closedir(dir);
}

int main(int argc, char** argv) {
  long random_inputs = 1000;
  uint64_t seed = 0x5EED;
  int i = 1;
  for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
    if (strcmp(argv[i], "-n") == 0) random_inputs = atol(argv[i + 1]);
    else if (strcmp(argv[i], "-s") == 0) seed = strtoull(argv[i + 1], NULL, 0);
  }
  for (; i < argc; i++) replay_path(argv[i]);
  static uint8_t buf[2048];
  for (long k = 0; k < random_inputs; k++) {
    size_t n = 16 + (size_t)(seed % (sizeof buf - 16));
    for (size_t j = 0; j < n; j++) {
      seed = seed * 6364136223846793005ull + 1442695040888963407ull;
      buf[j] = (uint8_t)(seed >> 56);
    }
    run_input(buf, n);
  }
  printf("ok - fuzz driver: %zu corpus inputs and %ld random inputs pass the shadow model\n",
         replayed, random_inputs);
  return 0;
}
#endif
