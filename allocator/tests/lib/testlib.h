/* testlib.h: the small kit every allocator test program shares.
 *
 *   - TAP output: each check prints `ok - name` or `not ok - name`, diagnostics
 *     print as `# ...` lines (scripts/test counts the checks).
 *   - Isolated checks: tap_run() runs a check in a forked child, so a check that
 *     crashes the allocator reports itself as failed (with the signal) and the
 *     remaining checks still run. TAP_NOFORK=1 runs them in-process (for gdb).
 *   - Deterministic patterns for filling blocks and verifying them later.
 *   - A fast PRNG, an opaque() to keep the compiler from reasoning about sizes,
 *     and RSS / address-space readings from /proc/self/statm.
 *
 * Header-only, and the harness itself never calls malloc.
 */
#ifndef SA_TESTLIB_H
#define SA_TESTLIB_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- TAP ------------------------------------------------------------------ */

static int tap_failed_count;
static int tap_passed_count;
static int tap_skipped_count;

/* Diagnostics per check are capped, so one broken check cannot flood the log. */
#define TAP_DIAG_LIMIT 12
static int tap_diag_count;

static inline void tap_diag(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void tap_diag(const char* fmt, ...) {
  if (tap_diag_count++ >= TAP_DIAG_LIMIT) {
    if (tap_diag_count == TAP_DIAG_LIMIT + 1) fputs("# (more diagnostics left out)\n", stdout);
    return;
  }
  va_list ap;
  va_start(ap, fmt);
  fputs("# ", stdout);
  vprintf(fmt, ap);
  fputc('\n', stdout);
  va_end(ap);
  fflush(stdout);
}

/* Prints one check's verdict; returns ok so callers can chain. */
static inline bool tap_result(bool ok, const char* name) {
  tap_diag_count = 0;
  printf("%s - %s\n", ok ? "ok" : "not ok", name);
  fflush(stdout);
  if (ok) tap_passed_count++;
  else tap_failed_count++;
  return ok;
}

/* A check that does not apply here: TAP's skip directive, with the reason. scripts/test
 * counts it as skipped (not passed) and fails the run unless the manifest line declares
 * the skip expected ({skip-ok: reason}). */
static inline void tap_skip(const char* name, const char* reason) {
  printf("ok - %s # SKIP %s\n", name, reason);
  fflush(stdout);
  tap_skipped_count++;
}

/* A precondition of the checks that follow (threads started, fork worked): not a
 * check of its own. Met, it prints nothing; unmet, TAP's `Bail out!` with the reason
 * and exit status 1, so the run fails without counting a check for it. */
static inline void tap_require(bool met, const char* what) {
  if (met) return;
  printf("Bail out! precondition failed: %s\n", what);
  fflush(stdout);
  exit(1);
}

/* The exit status of a test program: 0 when every check passed. */
static inline int tap_exit_status(void) {
  printf("# %d passed, %d failed, %d skipped\n", tap_passed_count, tap_failed_count, tap_skipped_count);
  fflush(stdout);
  return tap_failed_count == 0 ? 0 : 1;
}

/* Seconds a single isolated check may take before it counts as hung
 * (an allocator that deadlocks must fail a check, not the whole run). */
#define TAP_CHECK_TIMEOUT_S 60

/* Runs fn() as one check. In a forked child unless TAP_NOFORK is set, so that a
 * crash or a hang fails only this check; the child's diagnostics come first. */
static inline bool tap_run(const char* name, bool (*fn)(void)) {
  tap_diag_count = 0;
  const char* nofork = getenv("TAP_NOFORK");
  if (nofork != NULL && nofork[0] != '\0' && nofork[0] != '0') {
    return tap_result(fn(), name);
  }
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) {
    tap_diag("fork failed: %s", strerror(errno));
    return tap_result(false, name);
  }
  if (pid == 0) {
    alarm(TAP_CHECK_TIMEOUT_S);
    bool ok = fn();
    fflush(stdout);
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      tap_diag("waitpid failed: %s", strerror(errno));
      return tap_result(false, name);
    }
  }
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    tap_diag("%s: killed by signal %d (%s)%s", name, sig, strsignal(sig),
             sig == SIGALRM ? " -- hung past the time limit" : "");
    return tap_result(false, name);
  }
  return tap_result(WIFEXITED(status) && WEXITSTATUS(status) == 0, name);
}

/* ---- Values the compiler cannot see through --------------------------------
 * Sizes like SIZE_MAX passed through opaque() cannot be folded or warned about
 * (-Walloc-size-larger-than), and the call really happens at run time. */

static inline size_t opaque(size_t v) {
  volatile size_t hidden = v;
  return hidden;
}

/* Keeps a pointer alive as far as the optimiser is concerned. */
static inline void* opaque_ptr(void* p) {
  void* volatile hidden = p;
  return hidden;
}

/* ---- Random numbers: splitmix64 (a good, tiny generator) ------------------ */

static inline uint64_t rng_next(uint64_t* state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static inline size_t rng_range(uint64_t* state, size_t lo, size_t hi) {
  return lo + (size_t)(rng_next(state) % (uint64_t)(hi - lo + 1));
}

/* True with probability 1/n. */
static inline bool rng_one_in(uint64_t* state, uint64_t n) {
  return rng_next(state) % n == 0;
}

/* ---- Patterns ----------------------------------------------------------------
 * Byte i of a block filled with `seed` is a mix of seed and i, so two blocks (or
 * two offsets) practically never share a pattern: an overlap between blocks, a
 * lost write or a block handed out twice shows up as a mismatch. */

static inline uint64_t pattern_word(uint64_t seed, size_t word_index) {
  uint64_t x = seed ^ ((uint64_t)word_index * 0x9E3779B97F4A7C15ull);
  x ^= x >> 29;
  return x * 0xBF58476D1CE4E5B9ull;
}

static inline void pattern_fill(void* p, size_t n, uint64_t seed) {
  unsigned char* b = (unsigned char*)p;
  size_t words = n / 8;
  for (size_t i = 0; i < words; i++) {
    uint64_t w = pattern_word(seed, i);
    memcpy(b + i * 8, &w, 8);
  }
  uint64_t tail = pattern_word(seed, words);
  memcpy(b + words * 8, &tail, n - words * 8);
}

/* The offset of the first byte that differs from the pattern, or SIZE_MAX. */
static inline size_t pattern_check(const void* p, size_t n, uint64_t seed) {
  const unsigned char* b = (const unsigned char*)p;
  size_t words = n / 8;
  for (size_t i = 0; i < words; i++) {
    uint64_t w = pattern_word(seed, i);
    if (memcmp(b + i * 8, &w, 8) != 0) {
      for (size_t j = 0; j < 8; j++) {
        if (b[i * 8 + j] != ((const unsigned char*)&w)[j]) return i * 8 + j;
      }
    }
  }
  uint64_t tail = pattern_word(seed, words);
  for (size_t j = 0; j < n - words * 8; j++) {
    if (b[words * 8 + j] != ((const unsigned char*)&tail)[j]) return words * 8 + j;
  }
  return SIZE_MAX;
}

/* The offset of the first non-zero byte, or SIZE_MAX. */
static inline size_t first_nonzero(const void* p, size_t n) {
  const unsigned char* b = (const unsigned char*)p;
  for (size_t i = 0; i < n; i++) {
    if (b[i] != 0) return i;
  }
  return SIZE_MAX;
}

static inline bool is_aligned(const void* p, size_t alignment) {
  return ((uintptr_t)p & (alignment - 1)) == 0;
}

static inline size_t round_up(size_t n, size_t multiple) {
  return (n + multiple - 1) / multiple * multiple;
}

/* ---- Process memory ------------------------------------------------------- */

static inline size_t os_page_size(void) {
  return (size_t)sysconf(_SC_PAGESIZE);
}

/* Reads /proc/self/statm: total mapped bytes and resident bytes. Uses read(2),
 * not stdio, so it allocates nothing. Returns false if it cannot. */
static inline bool statm_read(size_t* mapped_bytes, size_t* resident_bytes) {
  char buf[256];
  int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return false;
  buf[n] = '\0';
  unsigned long size_pages = 0, resident_pages = 0;
  if (sscanf(buf, "%lu %lu", &size_pages, &resident_pages) != 2) return false;
  if (mapped_bytes) *mapped_bytes = size_pages * os_page_size();
  if (resident_bytes) *resident_bytes = resident_pages * os_page_size();
  return true;
}

static inline size_t rss_bytes(void) {
  size_t rss = 0;
  statm_read(NULL, &rss);
  return rss;
}

#define MiB ((size_t)1 << 20)
#define KiB ((size_t)1 << 10)

#endif /* SA_TESTLIB_H */
