/* base.c: the ground floor (floor 1, see README.md): locks and waiting, error
 * reporting, and the process's random key. It calls only the port (os.h). */
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

#include "internal.h"

uintptr_t sa_process_key;

/* ---- locks ------------------------------------------------------------------------ */

/* Spins of a wait that only pause the CPU, then that yield, before it sleeps. */
#define SA_SPIN_PAUSES 64
#define SA_SPIN_YIELDS 256
#define SA_SPIN_SLEEP_NS 50000

void sa_spin_wait(unsigned* spins) {
  unsigned n = (*spins)++;
  if (n < SA_SPIN_PAUSES) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
  } else if (n < SA_SPIN_PAUSES + SA_SPIN_YIELDS) {
    sched_yield();
  } else {
    struct timespec pause = {0, SA_SPIN_SLEEP_NS};
    nanosleep(&pause, NULL);
  }
}

void sa_lock_acquire(sa_lock_t* lock) {
  uintptr_t self = sa_thread_id();
  unsigned spins = 0;
  uintptr_t holder = 0;
  while (!atomic_compare_exchange_weak_explicit(&lock->holder, &holder, self, memory_order_acquire,
                                                memory_order_relaxed)) {
    if (holder == self) {
      sa_fatal("re-entered while this thread holds an allocator lock (malloc or free in a signal handler "
               "that interrupted one?): stopping rather than waiting for ever");
    }
    if (holder != 0) sa_spin_wait(&spins);
    holder = 0;
  }
}

/* ---- errors ------------------------------------------------------------------------ */

/* Set from the options (options.c) once they are read. */
long sa_opt_abort_on_error = SA_CHECKED;
long sa_opt_show_errors = SA_CHECKED;
_Atomic(long) sa_errors_reported;

static void vreport(const char* kind, const char* fmt, va_list args) {
  char buf[512];
  int n = snprintf(buf, sizeof(buf), "shardalloc: %s: ", kind);
  if (n < 0) return;
  int m = vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, args);
  size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
  if (len > sizeof(buf) - 2) len = sizeof(buf) - 2;
  buf[len++] = '\n';
  sa_os_write_stderr(buf, len);
}

void sa_error(int err, const char* fmt, ...) {
  atomic_fetch_add_explicit(&sa_errors_reported, 1, memory_order_relaxed);
  if (sa_opt_show_errors || sa_opt_abort_on_error) {
    va_list args;
    va_start(args, fmt);
    vreport("error", fmt, args);
    va_end(args);
  }
  if (sa_opt_abort_on_error) abort();
  (void)err;
}

void sa_message(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  vreport("info", fmt, args);
  va_end(args);
}

void sa_warning(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  vreport("warning", fmt, args);
  va_end(args);
}

void sa_fatal(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  vreport("fatal error", fmt, args);
  va_end(args);
  abort();
}

void sa_assert_fail(const char* cond, const char* file, int line, const char* func) {
  char buf[512];
  int n = snprintf(buf, sizeof(buf), "shardalloc: assertion failed: %s (%s:%d, %s)\n", cond, file, line, func);
  if (n > 0) sa_os_write_stderr(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
  abort();
}

/* ---- randomness (the secure build) ------------------------------------------------
 * A per-thread splitmix64 generator: not a cryptographic one, but seeded from the
 * OS per thread, and its outputs (keys, orders, addresses) never leave the process. */
#if SA_SECURE_ENCODED_LISTS || SA_SECURE_RANDOM_ORDER || SA_SECURE_RANDOM_ADDRESSES || SA_SECURE_CANARY
static __thread uint64_t random_state __attribute__((tls_model("initial-exec")));

static uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t sa_secure_random(void) {
  if (sa_unlikely(random_state == 0)) {
    uint64_t seed = 0;
    int saved = errno;
    if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed)) seed = 0;
    errno = saved;
    seed ^= sa_process_key ^ (uint64_t)sa_thread_id() ^ (uint64_t)sa_os_clock_ms() << 20;
    random_state = seed | 1;
  }
  random_state += 0x9E3779B97F4A7C15ull;
  return mix64(random_state);
}
#endif
