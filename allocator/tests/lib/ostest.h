/* ostest.h: helpers shared by the tests of the options, statistics and OS layer
 * (allocator/tests: options, stats, memory-return, ...). Builds on testlib.h (TAP, patterns, statm).
 *
 *   - resident memory as the kernel counts it for "memory given back":
 *     Rss minus LazyFree from /proc/self/smaps_rollup (MADV_FREE'd pages stay in
 *     Rss until the kernel needs them, but they are free for the system);
 *   - reading one counter out of a sa_stats_dump() line;
 *   - the sa_ maintenance API in plain (preloaded) builds, found with dlsym, so one
 *     source builds both against libshardalloc.a (-DSA_API) and as a plain program.
 *
 * Like testlib.h it never allocates through malloc: the measurements must not
 * disturb what they measure.
 */
#ifndef SA_OSTEST_H
#define SA_OSTEST_H

#include "testlib.h"

#include <limits.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* ---- /proc/self/smaps_rollup ----------------------------------------------- */

/* The value in kB of field `name` (e.g. "Rss:") in text, or -1. */
static inline long long ot_field_kb(const char* text, const char* name) {
  size_t len = strlen(name);
  for (const char* line = text; line != NULL && *line;) {
    if (strncmp(line, name, len) == 0) {
      const char* at = line + len;
      while (*at == ' ' || *at == '\t') at++;
      long long v = 0;
      bool any = false;
      while (*at >= '0' && *at <= '9') v = v * 10 + (*at++ - '0'), any = true;
      return any ? v : -1;
    }
    line = strchr(line, '\n');
    if (line != NULL) line++;
  }
  return -1;
}

/* Reads /proc/self/smaps_rollup into buf (NUL-terminated); false if it cannot. */
static inline bool ot_read_rollup(char* buf, size_t size) {
  int fd = open("/proc/self/smaps_rollup", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  size_t at = 0;
  for (;;) {
    ssize_t n = read(fd, buf + at, size - 1 - at);
    if (n <= 0) break;
    at += (size_t)n;
    if (at >= size - 1) break;
  }
  close(fd);
  buf[at] = 0;
  return at > 0;
}

/* Resident bytes that the process really holds: Rss - LazyFree. -1 if unknown. */
static inline long long ot_resident_bytes(void) {
  char buf[4096];
  if (!ot_read_rollup(buf, sizeof buf)) return -1;
  long long rss = ot_field_kb(buf, "Rss:");
  long long lazy = ot_field_kb(buf, "LazyFree:");
  if (rss < 0) return -1;
  if (lazy < 0) lazy = 0;
  return (rss - lazy) * 1024;
}

static inline double ot_mib(long long bytes) { return (double)bytes / (1024.0 * 1024.0); }

/* ---- sa_stats_dump lines ---------------------------------------------------- */

/* The value of `key` in a `k=v k=v ...` line; `missing` if the key is absent. */
static inline long long ot_stat(const char* dump, const char* key, long long missing) {
  size_t len = strlen(key);
  for (const char* at = dump; at != NULL && *at;) {
    while (*at == ' ') at++;
    if (strncmp(at, key, len) == 0 && at[len] == '=') {
      const char* v = at + len + 1;
      bool negative = *v == '-';
      if (negative) v++;
      long long n = 0;
      while (*v >= '0' && *v <= '9') n = n * 10 + (*v++ - '0');
      return negative ? -n : n;
    }
    at = strchr(at, ' ');
  }
  return missing;
}

static inline bool ot_has_stat(const char* dump, const char* key) {
  return ot_stat(dump, key, LLONG_MIN) != LLONG_MIN;
}

/* ---- the sa_ maintenance API, linked or looked up ------------------------- */

#ifdef SA_API
#include <shardalloc.h>
#define OT_API_NAME "sa_ API"
static inline bool ot_sa_init(void) { return true; }
#define ot_collect sa_collect
#define ot_stats_dump sa_stats_dump
#define ot_option_get sa_option_get
#define ot_option_set sa_option_set
#define ot_option_name sa_option_name
#define ot_fail_os_after sa_debug_fail_os_after
#define OT_OPTION_COUNT ((int)_sa_option_count)
#else
#include <dlfcn.h>
#define OT_API_NAME "standard names"
/* Option numbers as in shardalloc.h (the plain build does not include it). */
static void (*ot_collect_fn)(bool);
static size_t (*ot_stats_dump_fn)(char*, size_t);
static long (*ot_option_get_fn)(int);
static void (*ot_option_set_fn)(int, long);
static const char* (*ot_option_name_fn)(int);
static void (*ot_fail_os_after_fn)(long);
/* True when the preloaded library provides the sa_ API (false under plain glibc). */
static inline bool ot_sa_init(void) {
  ot_collect_fn = (void (*)(bool))dlsym(RTLD_DEFAULT, "sa_collect");
  ot_stats_dump_fn = (size_t(*)(char*, size_t))dlsym(RTLD_DEFAULT, "sa_stats_dump");
  ot_option_get_fn = (long (*)(int))dlsym(RTLD_DEFAULT, "sa_option_get");
  ot_option_set_fn = (void (*)(int, long))dlsym(RTLD_DEFAULT, "sa_option_set");
  ot_option_name_fn = (const char* (*)(int))dlsym(RTLD_DEFAULT, "sa_option_name");
  ot_fail_os_after_fn = (void (*)(long))dlsym(RTLD_DEFAULT, "sa_debug_fail_os_after");
  return ot_collect_fn && ot_stats_dump_fn && ot_option_get_fn && ot_option_set_fn && ot_option_name_fn &&
         ot_fail_os_after_fn;
}
#define ot_collect(force) ot_collect_fn(force)
#define ot_stats_dump(buf, size) ot_stats_dump_fn(buf, size)
#define ot_option_get(o) ot_option_get_fn((int)(o))
#define ot_option_set(o, v) ot_option_set_fn((int)(o), v)
#define ot_option_name(o) ot_option_name_fn((int)(o))
#define ot_fail_os_after(n) ot_fail_os_after_fn(n)
#endif

/* Writes a whole string to fd 1 or 2 without stdio (no allocation). */
static inline void ot_write(int fd, const char* s) {
  size_t len = strlen(s);
  while (len > 0) {
    ssize_t n = write(fd, s, len);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return;
    }
    s += n;
    len -= (size_t)n;
  }
}

#endif /* SA_OSTEST_H */
