/* usable.c: malloc_usable_size is exactly what a block may hold, in every size class
 * and through every way of getting a block; with --overflow-caught also that one
 * byte more is caught.
 *
 * The size classes are found from the allocator itself: the usable size u of a
 * request is the top of its class, so the next class starts at u + 1. For each class
 * (from 0 bytes to past the huge threshold), blocks from malloc (the class's bottom
 * and top requests), calloc, realloc (growing into the class, then in place to its
 * usable size), aligned_alloc and posix_memalign are filled over exactly their usable
 * size and freed. The TESTS line turns show_errors and abort_on_error on: a canary
 * that took a byte the usable size promised would abort the check.
 *
 * --overflow-caught (secure-full: SA_SECURE_CANARY and SA_SECURE_HUGE_GUARD): for each
 * class, a child writes one byte past the usable size of a malloc'd block and of an
 * aligned one, and frees it. A small, medium or large block's child must die of
 * SIGABRT after a `shardalloc: error:` line naming a buffer overflow (the canary); a
 * huge block's of SIGSEGV (the guard page after the block).
 *
 * Usage: usable [--overflow-caught]   (TAP on stdout; run with the library preloaded)
 */
#include "guard_fault.h"
#include "testlib.h"
#include "testapi.h"

/* Requests up to here are small, medium or large (half a 4 MiB segment); beyond, huge.
 * A build that keeps a word at a block's end (a canary) makes the last few bytes
 * below it huge too: requests below LARGEST_CLASS_TOP - NOT_HUGE_MARGIN never are. */
#define LARGEST_CLASS_TOP (2 * MiB)
#define NOT_HUGE_MARGIN 64
#define MAX_CLASSES 128
#define HUGE_SIZES 3
static const size_t huge_sizes[HUGE_SIZES] = {4 * MiB, 8 * MiB + 100, 20 * MiB + 5};
#define ALIGNMENT_SMALL 64
#define ALIGNMENT_PAGE 4096
#define ERROR_PREFIX "shardalloc: error:"
#define OVERFLOW_WORDS "buffer overflow"
#define FILL 0xA5

static size_t class_top[MAX_CLASSES]; /* the usable size of each class: its top request */
static size_t class_count;

static size_t class_bottom(size_t i) { return i == 0 ? 0 : class_top[i - 1] + 1; }

/* The classes, bottom up: each one's top is the usable size of a request one past
 * the top of the class below, up to the class of a request just below the huge ones
 * (a huge block's usable size depends on the segment it reuses: no class). */
static bool find_classes(void) {
  size_t size = 0;
  while (size <= LARGEST_CLASS_TOP - NOT_HUGE_MARGIN && class_count < MAX_CLASSES) {
    void* p = T_malloc(size);
    if (p == NULL) return false;
    size_t usable = T_usable_size(p);
    T_free(p);
    if (usable < size || usable > LARGEST_CLASS_TOP) return false;
    class_top[class_count++] = usable;
    size = usable + 1;
  }
  return size > LARGEST_CLASS_TOP - NOT_HUGE_MARGIN;
}

/* Fills exactly the usable size of p (at least `requested`, else reported) and frees it. */
static bool fill_and_free(void* p, size_t requested, const char* how) {
  if (p == NULL) {
    tap_diag("%s(%zu) returned NULL", how, requested);
    return false;
  }
  size_t usable = T_usable_size(p);
  bool ok = usable >= requested;
  if (!ok) tap_diag("%s(%zu): usable size %zu is less", how, requested, usable);
  memset(p, FILL, usable);
  T_free(p);
  return ok;
}

static bool t_malloc(void) {
  bool ok = true;
  for (size_t i = 0; i < class_count; i++) {
    size_t sizes[2] = {class_bottom(i), class_top[i]};
    for (size_t k = 0; k < 2; k++) {
      void* p = T_malloc(sizes[k]);
      if (p != NULL && T_usable_size(p) != class_top[i]) {
        tap_diag("malloc(%zu): usable size %zu, but the class's top is %zu", sizes[k], T_usable_size(p),
                 class_top[i]);
        ok = false;
      }
      ok &= fill_and_free(p, sizes[k], "malloc");
    }
  }
  for (size_t i = 0; i < HUGE_SIZES; i++) ok &= fill_and_free(T_malloc(huge_sizes[i]), huge_sizes[i], "malloc");
  return ok;
}

static bool t_calloc(void) {
  bool ok = true;
  for (size_t i = 0; i < class_count; i++) {
    unsigned char* p = T_calloc(1, class_top[i]);
    if (p != NULL && first_nonzero(p, class_top[i]) != SIZE_MAX) {
      tap_diag("calloc(1, %zu): byte %zu is not zero", class_top[i], first_nonzero(p, class_top[i]));
      ok = false;
    }
    ok &= fill_and_free(p, class_top[i], "calloc");
  }
  return ok;
}

/* realloc growing a 1-byte block into each class, then to its usable size: in place. */
static bool t_realloc(void) {
  bool ok = true;
  for (size_t i = 0; i < class_count + HUGE_SIZES; i++) {
    size_t size = i < class_count ? class_top[i] : huge_sizes[i - class_count];
    void* p = T_malloc(1);
    void* q = p == NULL ? NULL : T_realloc(p, size);
    if (q == NULL) {
      tap_diag("realloc(malloc(1), %zu) returned NULL", size);
      T_free(p);
      ok = false;
      continue;
    }
    size_t usable = T_usable_size(q);
    memset(q, FILL, usable);
    void* r = T_realloc(q, usable);
    if (r != q || T_usable_size(r) != usable) {
      tap_diag("realloc to the usable size %zu of a %zu-byte request moved the block or changed it (%zu)", usable,
               size, r == NULL ? 0 : T_usable_size(r));
      ok = false;
    }
    ok &= fill_and_free(r != NULL ? r : q, usable, "realloc");
  }
  return ok;
}

static bool t_aligned(void) {
  bool ok = true;
  for (size_t i = 0; i < class_count + HUGE_SIZES; i++) {
    size_t size = i < class_count ? class_top[i] : huge_sizes[i - class_count];
    void* p = T_aligned_alloc(ALIGNMENT_SMALL, size);
    if (p != NULL && !is_aligned(p, ALIGNMENT_SMALL)) ok = false;
    ok &= fill_and_free(p, size, "aligned_alloc");
    void* q = NULL;
    if (T_posix_memalign(&q, ALIGNMENT_PAGE, size) != 0) q = NULL;
    if (q != NULL && !is_aligned(q, ALIGNMENT_PAGE)) ok = false;
    ok &= fill_and_free(q, size, "posix_memalign");
  }
  return ok;
}

/* ---- one byte more ------------------------------------------------------------------ */

/* How the block is made: malloc, aligned_alloc, or a huge block through the paths
 * that reuse or resize a huge segment (its guard must follow it each time). */
typedef enum {
  OVERFLOW_MALLOC,
  OVERFLOW_ALIGNED,
  HUGE_FROM_CACHE_SMALLER, /* a freed huge block's segment reused for a smaller request */
  HUGE_FROM_CACHE_GROWN,   /* ... for a larger one: the segment grows */
  HUGE_REALLOC_GROWN,      /* realloc to a larger huge size */
  HUGE_REALLOC_SHRUNK,     /* realloc to a huge size less than half */
} overflow_kind_t;
#define HUGE_PATHS 4
static const overflow_kind_t huge_paths[HUGE_PATHS] = {HUGE_FROM_CACHE_SMALLER, HUGE_FROM_CACHE_GROWN,
                                                       HUGE_REALLOC_GROWN, HUGE_REALLOC_SHRUNK};
static const char* const kind_names[] = {"malloc", "aligned_alloc", "malloc from the huge cache (smaller)",
                                         "malloc from the huge cache (grown)", "realloc grown",
                                         "realloc shrunk"};
#define HUGE_PATH_SIZE (12 * MiB)

/* A block of `size` made the `kind` way. */
static unsigned char* make_block(size_t size, overflow_kind_t kind) {
  void* first;
  switch (kind) {
    case OVERFLOW_ALIGNED: return T_aligned_alloc(ALIGNMENT_SMALL, size);
    case HUGE_FROM_CACHE_SMALLER:
      T_free(T_malloc(size + size / 2));
      return T_malloc(size);
    case HUGE_FROM_CACHE_GROWN:
      T_free(T_malloc(size / 2 + size / 4));
      return T_malloc(size);
    case HUGE_REALLOC_GROWN:
      first = T_malloc(size / 2);
      return first == NULL ? NULL : T_realloc(first, size);
    case HUGE_REALLOC_SHRUNK:
      first = T_malloc(size * 3);
      return first == NULL ? NULL : T_realloc(first, size);
    case OVERFLOW_MALLOC: break;
  }
  return T_malloc(size);
}

/* The child's part: one byte past the usable size (one that differs from what lies
 * there: a canary byte equal to the written one would be no overwrite), then free. A
 * SIGSEGV outside a guard page exits NOT_AT_A_GUARD. */
static void overflow_and_free(size_t size, overflow_kind_t kind) {
  unsigned char* p = make_block(size, kind);
  if (p == NULL) _exit(2);
  expect_guard_fault();
  size_t usable = T_usable_size(p);
  memset(p, FILL, usable);
  volatile unsigned char* past = p + usable;
  *past = (unsigned char)~*past;
  T_free(p);
  _exit(0);
}

/* Runs overflow_and_free in a child; true when it died as expected: by SIGSEGV at a
 * guard page for a huge block, else by SIGABRT after an error line naming the overflow. */
static bool overflow_is_caught(size_t size, overflow_kind_t kind, bool huge) {
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return false;
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) return false;
  if (pid == 0) {
    dup2(pipe_fds[1], STDERR_FILENO);
    close(pipe_fds[0]);
    overflow_and_free(size, kind);
  }
  close(pipe_fds[1]);
  static char text[4096];
  size_t len = 0;
  ssize_t n;
  while (len < sizeof text - 1 && (n = read(pipe_fds[0], text + len, sizeof text - 1 - len)) > 0) len += (size_t)n;
  text[len] = '\0';
  close(pipe_fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  const char* what = kind_names[kind];
  if (huge) {
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV) return true;
    tap_diag("%s(%zu), one byte past the usable size: not killed by SIGSEGV (status %#x)", what, size, status);
    return false;
  }
  const char* line = strstr(text, ERROR_PREFIX);
  bool named = line != NULL && strstr(line, OVERFLOW_WORDS) != NULL;
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT && named) return true;
  tap_diag("%s(%zu), one byte past the usable size, then free: status %#x, stderr: %.160s", what, size, status,
           len > 0 ? text : "(empty)");
  return false;
}

/* An aligned request takes its alignment more (aligned.c), and one near the top of the
 * classes is huge then: those are left to the huge check. */
static bool overflow_each_class(overflow_kind_t kind) {
  bool ok = true;
  for (size_t i = 0; i < class_count; i++) {
    if (kind == OVERFLOW_ALIGNED && class_top[i] + 2 * ALIGNMENT_SMALL > LARGEST_CLASS_TOP) continue;
    ok &= overflow_is_caught(class_top[i], kind, false);
  }
  return ok;
}

static bool t_overflow_malloc(void) { return overflow_each_class(OVERFLOW_MALLOC); }
static bool t_overflow_aligned(void) { return overflow_each_class(OVERFLOW_ALIGNED); }

static bool t_overflow_huge(void) {
  bool ok = true;
  for (size_t i = 0; i < HUGE_SIZES; i++) {
    ok &= overflow_is_caught(huge_sizes[i], OVERFLOW_MALLOC, true);
    ok &= overflow_is_caught(huge_sizes[i], OVERFLOW_ALIGNED, true);
  }
  for (size_t i = 0; i < HUGE_PATHS; i++) ok &= overflow_is_caught(HUGE_PATH_SIZE, huge_paths[i], true);
  return ok;
}

int main(int argc, char** argv) {
  bool overflow_caught = argc > 1 && strcmp(argv[1], "--overflow-caught") == 0;
  if (argc > 2 || (argc == 2 && !overflow_caught)) {
    fprintf(stderr, "usage: %s [--overflow-caught]\n", argv[0]);
    return 2;
  }
  printf("# usable sizes through the %s\n", T_API_NAME);
  tap_require(find_classes(), "the size classes up to the huge threshold found from the usable sizes");
  printf("# %zu size classes up to %zu bytes, and %d huge sizes\n", class_count, class_top[class_count - 1],
         HUGE_SIZES);
  tap_run("malloc: each class's bottom and top request has the top as its usable size, filled to it and freed",
          t_malloc);
  tap_run("calloc: each class's top request zeroed, filled to its usable size and freed", t_calloc);
  tap_run("realloc into each class, then to its usable size in place, filled to it and freed", t_realloc);
  tap_run("aligned_alloc (64) and posix_memalign (4096) in each class, filled to the usable size and freed",
          t_aligned);
  if (overflow_caught) {
    tap_run("one byte past the usable size of a malloc'd block of each class: free aborts naming the overflow",
            t_overflow_malloc);
    tap_run("one byte past the usable size of an aligned block of each class: free aborts naming the overflow",
            t_overflow_aligned);
    tap_run("one byte past the usable size of a huge block (malloc'd, aligned, reused from the cache smaller "
            "and grown, realloc'd larger and smaller): SIGSEGV at its guard", t_overflow_huge);
  }
  return tap_exit_status();
}
