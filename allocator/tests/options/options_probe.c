/* options_probe.c: what the allocator made of its environment, and the options API.
 *
 *   options_probe          prints `name=value` for every option, one a line, as the
 *                          allocator parsed them from SHARDALLOC_* (options_test.py
 *                          runs it under many environments and checks the values and
 *                          the warnings on stderr); then `alloc=ok` once a few
 *                          allocations worked. Exit 3 if the sa_ API is missing
 *                          (a plain build not run under LD_PRELOAD).
 *   options_probe api      TAP checks of sa_option_get/set/enable/disable/
 *                          is_enabled/name (sa_ API build only).
 *
 * Built against libshardalloc.a (-DSA_API) and as a plain program that finds the
 * sa_ functions of the preloaded library with dlsym. Output uses write(2) only.
 */
#include "ostest.h"

static void print_options(void) {
  char line[256];
  for (int i = 0;; i++) {
    const char* name = ot_option_name(i);
    if (name == NULL) break;
    snprintf(line, sizeof line, "%s=%ld\n", name, ot_option_get(i));
    ot_write(1, line);
  }
}

/* A few allocations of every kind, written and freed. */
static bool allocations_work(void) {
  static const size_t sizes[] = {8, 100, 1000, 5000, 40000, 1 << 20, 9 << 20};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
#ifdef SA_API
    char* p = sa_malloc(sizes[i]);
#else
    char* p = malloc(sizes[i]);
#endif
    if (p == NULL) return false;
    memset(p, 0x5A, sizes[i]);
#ifdef SA_API
    sa_free(p);
#else
    free(p);
#endif
  }
  return true;
}

#ifdef SA_API

/* Every option of the header with the name the table must give it. */
static const struct {
  sa_option_t option;
  const char* name;
  bool is_bool;
} expected[] = {
  {sa_option_verbose, "verbose", true},
  {sa_option_show_errors, "show_errors", true},
  {sa_option_show_stats, "show_stats", true},
  {sa_option_purge_delay, "purge_delay", false},
  {sa_option_purge_decommits, "purge_decommits", true},
  {sa_option_eager_commit, "eager_commit", true},
  {sa_option_allow_large_os_pages, "allow_large_os_pages", true},
  {sa_option_reserve_huge_os_pages, "reserve_huge_os_pages", false},
  {sa_option_reserve_os_memory, "reserve_os_memory", false},
  {sa_option_allow_thp, "allow_thp", true},
  {sa_option_max_segment_reclaim, "max_segment_reclaim", false},
  {sa_option_generic_collect, "generic_collect", false},
  {sa_option_destroy_on_exit, "destroy_on_exit", true},
  {sa_option_limit_os_alloc, "limit_os_alloc", true},
  {sa_option_segment_cache, "segment_cache", false},
  {sa_option_large_cache, "large_cache", false},
  {sa_option_abort_on_error, "abort_on_error", true},
  {sa_option_fail_os_after, "fail_os_after", false},
  {sa_option_remote_batch, "remote_batch", false},
};
#define N_EXPECTED (sizeof expected / sizeof expected[0])

static bool check_names(void) {
  bool ok = true;
  for (int i = 0; i < (int)_sa_option_count; i++) {
    const char* name = sa_option_name((sa_option_t)i);
    if (name == NULL || name[0] == 0) {
      tap_diag("option %d has no name", i);
      ok = false;
      continue;
    }
    for (const char* c = name; *c; c++) {
      if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_')) {
        tap_diag("option %d: name '%s' is not lower-case identifier characters", i, name);
        ok = false;
        break;
      }
    }
    for (int j = 0; j < i; j++) {
      const char* other = sa_option_name((sa_option_t)j);
      if (other != NULL && strcmp(other, name) == 0) {
        tap_diag("options %d and %d share the name '%s'", j, i, name);
        ok = false;
      }
    }
  }
  if (sa_option_name(_sa_option_count) != NULL || sa_option_name((sa_option_t)-1) != NULL) {
    tap_diag("sa_option_name out of range does not return NULL");
    ok = false;
  }
  return ok;
}

static bool check_enum_names(void) {
  bool ok = true;
  if (N_EXPECTED != (size_t)_sa_option_count) {
    tap_diag("the header has %d options, this test knows %zu (update the test)", (int)_sa_option_count, N_EXPECTED);
    ok = false;
  }
  for (size_t i = 0; i < N_EXPECTED; i++) {
    const char* name = sa_option_name(expected[i].option);
    if (name == NULL || strcmp(name, expected[i].name) != 0) {
      tap_diag("option %d: name '%s', expected '%s'", (int)expected[i].option, name ? name : "(null)", expected[i].name);
      ok = false;
    }
  }
  return ok;
}

static bool check_set_get(void) {
  bool ok = true;
  static const long values[] = {1, 0, 7, 123456, 1L << 40};
  for (int i = 0; i < (int)_sa_option_count; i++) {
    sa_option_t o = (sa_option_t)i;
    if (o == sa_option_fail_os_after) continue; /* arms fault injection: its own check */
    long saved = sa_option_get(o);
    for (size_t k = 0; k < sizeof values / sizeof values[0]; k++) {
      long v = values[k];
      if (o == sa_option_generic_collect && v == 0) continue; /* 0 is clamped (own check) */
      sa_option_set(o, v);
      long got = sa_option_get(o);
      if (got != v) {
        tap_diag("%s: set %ld, got %ld", sa_option_name(o), v, got);
        ok = false;
      }
    }
    sa_option_set(o, saved);
    if (sa_option_get(o) != saved) {
      tap_diag("%s: restoring %ld gave %ld", sa_option_name(o), saved, sa_option_get(o));
      ok = false;
    }
  }
  sa_option_set(sa_option_purge_delay, -1);
  if (sa_option_get(sa_option_purge_delay) != -1) {
    tap_diag("purge_delay: set -1, got %ld", sa_option_get(sa_option_purge_delay));
    ok = false;
  }
  return ok;
}

static bool check_enable_disable(void) {
  bool ok = true;
  for (size_t i = 0; i < N_EXPECTED; i++) {
    sa_option_t o = expected[i].option;
    if (!expected[i].is_bool) continue;
    long saved = sa_option_get(o);
    sa_option_enable(o);
    if (sa_option_get(o) != 1 || !sa_option_is_enabled(o)) {
      tap_diag("%s: after enable get=%ld is_enabled=%d", expected[i].name, sa_option_get(o), sa_option_is_enabled(o));
      ok = false;
    }
    sa_option_disable(o);
    if (sa_option_get(o) != 0 || sa_option_is_enabled(o)) {
      tap_diag("%s: after disable get=%ld is_enabled=%d", expected[i].name, sa_option_get(o), sa_option_is_enabled(o));
      ok = false;
    }
    sa_option_set(o, saved);
  }
  /* is_enabled of a number: anything but 0. */
  long saved = sa_option_get(sa_option_purge_delay);
  sa_option_set(sa_option_purge_delay, 0);
  bool zero = sa_option_is_enabled(sa_option_purge_delay);
  sa_option_set(sa_option_purge_delay, -1);
  bool minus = sa_option_is_enabled(sa_option_purge_delay);
  sa_option_set(sa_option_purge_delay, 50);
  bool fifty = sa_option_is_enabled(sa_option_purge_delay);
  sa_option_set(sa_option_purge_delay, saved);
  if (zero || !minus || !fifty) {
    tap_diag("is_enabled(purge_delay): 0 -> %d, -1 -> %d, 50 -> %d", zero, minus, fifty);
    ok = false;
  }
  return ok;
}

static bool check_out_of_range(void) {
  sa_option_set(_sa_option_count, 5);
  sa_option_set((sa_option_t)-1, 5);
  sa_option_enable(_sa_option_count);
  sa_option_disable((sa_option_t)1000);
  bool ok = sa_option_get(_sa_option_count) == 0 && sa_option_get((sa_option_t)-1) == 0 &&
            !sa_option_is_enabled((sa_option_t)1000);
  if (!ok) tap_diag("an out-of-range option reads as non-zero");
  return ok && allocations_work();
}

/* Many slow-path calls of every kind (the generic path divides by generic_collect). */
static bool churn(void) {
  static void* blocks[2000];
  uint64_t rng = 42;
  for (int round = 0; round < 50; round++) {
    for (int i = 0; i < 2000; i++) {
      size_t size = rng_one_in(&rng, 100) ? rng_range(&rng, 8193, 300000) : rng_range(&rng, 1, 8192);
      blocks[i] = sa_malloc(size);
      if (blocks[i] == NULL) return false;
      memset(blocks[i], 1, size < 64 ? size : 64);
    }
    for (int i = 0; i < 2000; i++) sa_free(blocks[i]);
  }
  return true;
}

static bool check_generic_collect_zero(void) {
  sa_option_set(sa_option_generic_collect, 0);
  if (sa_option_get(sa_option_generic_collect) < 1) {
    tap_diag("generic_collect 0 kept as %ld", sa_option_get(sa_option_generic_collect));
  }
  if (!churn()) return false;
  sa_option_set(sa_option_generic_collect, -5);
  if (!churn()) return false;
  sa_option_set(sa_option_generic_collect, 1);
  return churn();
}

/* The fail_os_after option, set through the API, arms the injection like
 * sa_debug_fail_os_after: the next OS request (a fresh 9 MiB block) fails. */
static bool check_fail_os_after_option(void) {
  sa_collect(true); /* no cached huge segment may serve the request */
  sa_option_set(sa_option_fail_os_after, 1);
  errno = 0;
  void* p = sa_malloc(9 << 20);
  int e = errno;
  sa_option_set(sa_option_fail_os_after, 0);
  void* q = sa_malloc(9 << 20);
  bool ok = true;
  if (p != NULL || e != ENOMEM) {
    tap_diag("with fail_os_after=1: malloc(9 MiB) gave %p errno %d (expected NULL, ENOMEM)", p, e);
    ok = false;
  }
  if (q == NULL) {
    tap_diag("with fail_os_after=0: malloc(9 MiB) failed");
    ok = false;
  }
  sa_free(p);
  sa_free(q);
  return ok;
}

/* ---- options that must change what the allocator does --------------------------- */

static long long reserved_now(void) {
  char dump[8192];
  sa_stats_dump(dump, sizeof dump);
  return ot_stat(dump, "os.reserved.current", -1);
}

/* large_cache=0 keeps no freed huge block: its mapping goes at the free. */
static bool check_large_cache_zero(void) {
  sa_collect(true);
  sa_option_set(sa_option_large_cache, 0);
  char* p = sa_malloc((size_t)20 << 20);
  if (p == NULL) return false;
  memset(p, 1, (size_t)20 << 20);
  long long before = reserved_now();
  sa_free(p);
  long long after = reserved_now();
  if (before - after < ((long long)20 << 20)) {
    tap_diag("large_cache=0: freeing a 20 MiB block gave back %.1f MiB of address space", ot_mib(before - after));
    return false;
  }
  return true;
}

/* The transparent-huge-page setting of the system: 'a'lways, 'm'advise, 'n'ever, 0 unknown. */
static char thp_mode(void) {
  char buf[128];
  int fd = open("/sys/kernel/mm/transparent_hugepage/enabled", O_RDONLY);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  const char* sel = strchr(buf, '[');
  return sel != NULL ? sel[1] : 0;
}

static long long anon_huge_kb(void) {
  char buf[4096];
  return ot_read_rollup(buf, sizeof buf) ? ot_field_kb(buf, "AnonHugePages:") : -1;
}

/* Touches a fresh 64 MiB block; returns how much AnonHugePages grew (kB). */
static long long thp_growth_for_touched_block(void) {
  long long before = anon_huge_kb();
  char* p = sa_malloc((size_t)64 << 20);
  if (p == NULL) return -1;
  memset(p, 1, (size_t)64 << 20);
  long long after = anon_huge_kb();
  sa_free(p);
  sa_collect(true); /* no cached block: the next check maps afresh */
  return after - before;
}

/* allow_large_os_pages=1 where the system has no huge OS pages to give (none are
 * reserved on these machines) falls back to transparent huge pages: a touched
 * 64 MiB block is backed (in part) by them (THP mode "madvise" or "always"). */
static bool check_large_pages_thp(void) {
  sa_option_set(sa_option_allow_thp, 1);
  sa_option_set(sa_option_allow_large_os_pages, 1);
  long long growth = thp_growth_for_touched_block();
  sa_option_set(sa_option_allow_large_os_pages, 0);
  if (growth < 2048) {
    tap_diag("allow_large_os_pages=1, THP mode '%c': AnonHugePages grew %lld kB after touching 64 MiB", thp_mode(),
             growth);
    return false;
  }
  return true;
}

/* allow_thp=0: no transparent huge pages, even when large OS pages are asked for. */
static bool check_allow_thp_off(void) {
  sa_option_set(sa_option_allow_thp, 0);
  sa_option_set(sa_option_allow_large_os_pages, 1);
  long long growth = thp_growth_for_touched_block();
  sa_option_set(sa_option_allow_large_os_pages, 0);
  sa_option_set(sa_option_allow_thp, 1);
  if (growth != 0) {
    tap_diag("allow_thp=0: AnonHugePages grew %lld kB after touching 64 MiB", growth);
    return false;
  }
  return true;
}

static int run_api_checks(void) {
  tap_run("options api: every option has a unique lower-case name; out of range gives NULL", check_names);
  tap_run("options api: the enum and the table agree, option by option", check_enum_names);
  tap_run("options api: sa_option_set then sa_option_get round-trips every option", check_set_get);
  tap_run("options api: enable/disable/is_enabled on every boolean option", check_enable_disable);
  tap_run("options api: out-of-range options are ignored and read as 0", check_out_of_range);
  tap_run("options api: generic_collect 0 or negative does not break the slow path", check_generic_collect_zero);
  tap_run("options api: fail_os_after set through sa_option_set arms the fault injection", check_fail_os_after_option);
  tap_run("options effect: large_cache=0 returns a freed huge block's mapping at once", check_large_cache_zero);
  char mode = thp_mode();
  if (mode == 'a' || mode == 'm') {
    tap_run("options effect: allow_large_os_pages=1 falls back to transparent huge pages for a 64 MiB block",
            check_large_pages_thp);
  } else {
    tap_skip("options effect: allow_large_os_pages=1 falls back to transparent huge pages",
             "the system's THP mode is not always/madvise");
  }
  tap_run("options effect: allow_thp=0 keeps transparent huge pages away", check_allow_thp_off);
  return tap_exit_status();
}

#endif /* SA_API */

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "api") == 0) {
#ifdef SA_API
    return run_api_checks();
#else
    ot_write(2, "options_probe: `api` needs the sa_ API build\n");
    return 2;
#endif
  }
  if (!ot_sa_init()) {
    ot_write(1, "nosa\n");
    return 3;
  }
  print_options();
  ot_write(1, allocations_work() ? "alloc=ok\n" : "alloc=failed\n");
  return 0;
}
