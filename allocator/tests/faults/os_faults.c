/* faults.c: every OS failure becomes NULL with ENOMEM (or a fallback), never a crash
 * or a leak.
 *
 * A scenario reaches every call site that asks the OS for memory: a new thread's
 * first allocation (its metadata and its first segment), new small, medium and large
 * segments, huge blocks (fresh and grown out of the huge-block cache), growing a huge
 * block by realloc, aligned huge blocks, zeroed huge blocks, and many sa_heap_new
 * (more metadata). A run without failures counts the OS calls it makes (K, from
 * os.mmap + os.mremap). Then, for n = 1 .. K + 4, a forked child arms
 * sa_debug_fail_os_after(n) and runs the scenario: every allocation must succeed or
 * return NULL with errno ENOMEM; blocks allocated earlier keep their contents;
 * after sa_debug_fail_os_after(0) every kind of allocation works again; and after
 * freeing everything and sa_collect(true) the reserved memory is what the run
 * without failures ends with (nothing leaked).
 *
 * With --preload LIB PROGRAM it also runs PROGRAM (faults_plain.c) with
 * LD_PRELOAD=LIB and SHARDALLOC_FAIL_OS_AFTER=n for n = 1 .. K + 4.
 * Usage: faults [--preload LIB PROGRAM]    (TAP; sa_ API build)
 */
#include "ostest.h"

#include <sys/mman.h>

/* ---- what one run found --------------------------------------------------------- */

#define N_SITES 12
static const char* const site_names[N_SITES] = {
  "a new thread's first allocations", "small segments", "medium segments", "large segments", "huge blocks",
  "huge from the cache, grown", "realloc growing a huge block", "aligned huge blocks", "zeroed huge block",
  "sa_heap_new (metadata)", "heap allocations", "a thread after many heaps",
};

typedef struct result_s {
  int ran;              /* the child got to the end */
  int violations;       /* NULL without ENOMEM, or a non-NULL result that is wrong */
  int corrupted;        /* blocks whose contents changed */
  int nulls;            /* allocations that failed (NULL, ENOMEM) */
  int site_nulls[N_SITES];
  long long site_calls[N_SITES]; /* OS calls made at each site */
  int works_again;      /* every kind of allocation works after turning injection off */
  long long os_calls;   /* os.mmap + os.mremap during the scenario */
  long long reserved_end; /* os.reserved.current after freeing all and sa_collect(true) */
  char diag[600];
} result_t;

static result_t* R;

static void note(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char* fmt, ...) {
  size_t at = strlen(R->diag);
  if (at + 2 >= sizeof R->diag) return;
  if (at > 0) R->diag[at++] = ';', R->diag[at++] = ' ';
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(R->diag + at, sizeof R->diag - at, fmt, ap);
  va_end(ap);
}

/* ---- the blocks the scenario holds ---------------------------------------------- */

#define MAX_BLOCKS 14000
static struct {
  char* p;
  size_t size;
  uint64_t seed;
} held[MAX_BLOCKS];
static int nheld;

/* Records the outcome of one allocation at `site`: NULL must come with ENOMEM. */
static bool got(void* p, int err, size_t size, int site) {
  if (p == NULL) {
    R->nulls++;
    R->site_nulls[site]++;
    if (err != ENOMEM) {
      R->violations++;
      note("%s: NULL with errno %d for %zu bytes", site_names[site], err, size);
    }
    return false;
  }
  if (nheld < MAX_BLOCKS) {
    uint64_t seed = (uint64_t)nheld * 7919 + size;
    size_t fill = size < (64 << 10) ? size : (64 << 10); /* the start of big blocks, and their end */
    pattern_fill(p, fill, seed);
    if (size > fill) pattern_fill((char*)p + size - 4096, 4096, seed ^ 1);
    held[nheld].p = p;
    held[nheld].size = size;
    held[nheld].seed = seed;
    nheld++;
  }
  return true;
}

static bool intact(int i) {
  size_t size = held[i].size;
  size_t fill = size < (64 << 10) ? size : (64 << 10);
  if (pattern_check(held[i].p, fill, held[i].seed) != SIZE_MAX) return false;
  if (size > fill && pattern_check(held[i].p + size - 4096, 4096, held[i].seed ^ 1) != SIZE_MAX) return false;
  return true;
}

static void verify_all(const char* when) {
  for (int i = 0; i < nheld; i++) {
    if (held[i].p != NULL && !intact(i)) {
      R->corrupted++;
      if (R->corrupted == 1) note("%s: block %d (%zu bytes) changed", when, i, held[i].size);
    }
  }
}

static void free_all(void) {
  for (int i = 0; i < nheld; i++) {
    sa_free(held[i].p);
    held[i].p = NULL;
  }
  nheld = 0;
}

#define TRY(expr, size, site)        \
  do {                               \
    errno = 0;                       \
    void* p_ = (expr);               \
    got(p_, errno, (size), (site));  \
  } while (0)

/* ---- the scenario ------------------------------------------------------------------ */

typedef struct thread_job_s {
  char* small;
  char* medium;
  char* huge;
  int err[3];
  int create_failed;
} thread_job_t;

static void* thread_first_use(void* arg) {
  thread_job_t* job = arg;
  errno = 0;
  job->small = sa_malloc(100);
  job->err[0] = errno;
  errno = 0;
  job->medium = sa_malloc(30000);
  job->err[1] = errno;
  errno = 0;
  job->huge = sa_malloc((size_t)6 << 20);
  job->err[2] = errno;
  return NULL;
}

static void run_thread(int site) {
  thread_job_t job;
  memset(&job, 0, sizeof job);
  pthread_t t;
  if (pthread_create(&t, NULL, thread_first_use, &job) != 0) return; /* the C library's own failure */
  pthread_join(t, NULL);
  got(job.small, job.err[0], 100, site);
  got(job.medium, job.err[1], 30000, site);
  got(job.huge, job.err[2], (size_t)6 << 20, site);
}

static sa_heap_t* heaps[150];
static long long os_calls(void);

/* Counts the OS calls made since the last mark against `site`. */
static long long site_mark;
static void site_done(int site) {
  long long now = os_calls();
  R->site_calls[site] += now - site_mark;
  site_mark = now;
}

static void scenario(void) {
  site_mark = os_calls();
  /* (the thread's own metadata, its first small, medium and huge segments; and the
   * creating thread's first allocation for the new thread's bookkeeping) */
  run_thread(0);
  site_done(0);
  /* More than the free pages of this thread's segment and of the ended thread's
   * (reclaimed): new small and medium segments. */
  for (int i = 0; i < 10000; i++) TRY(sa_malloc(1000), 1000, 1);
  site_done(1);
  for (int i = 0; i < 200; i++) TRY(sa_malloc(30000), 30000, 2);
  site_done(2);
  for (int i = 0; i < 3; i++) TRY(sa_malloc((2 << 20) - 100), (2 << 20) - 100, 3);
  site_done(3);
  for (int i = 0; i < 2; i++) TRY(sa_malloc((size_t)10 << 20), (size_t)10 << 20, 4);
  site_done(4);

  /* A huge block freed into the cache, then a bigger request grows that segment
   * (a failure there falls back to a fresh mapping). */
  char* cached = sa_malloc((size_t)8 << 20);
  if (cached != NULL) sa_free(cached);
  site_done(4);
  TRY(sa_malloc((size_t)14 << 20), (size_t)14 << 20, 5);
  site_done(5);

  /* realloc growing a huge block: NULL keeps the old block intact. */
  errno = 0;
  char* h = sa_malloc((size_t)5 << 20);
  if (got(h, errno, (size_t)5 << 20, 6)) {
    int i = nheld - 1;
    for (int step = 0; step < 3; step++) {
      size_t bigger = held[i].size * 3;
      errno = 0;
      char* q = sa_realloc(held[i].p, bigger);
      if (q == NULL) {
        got(NULL, errno, bigger, 6);
        if (!intact(i)) {
          R->corrupted++;
          note("realloc to %zu failed and the old block changed", bigger);
        }
        break;
      }
      size_t fill = held[i].size < (64 << 10) ? held[i].size : (64 << 10);
      if (pattern_check(q, fill, held[i].seed) != SIZE_MAX) {
        R->corrupted++;
        note("realloc to %zu lost the contents", bigger);
      }
      held[i].p = q;
      held[i].size = bigger;
      pattern_fill(q, 64 << 10, held[i].seed);
      pattern_fill(q + bigger - 4096, 4096, held[i].seed ^ 1);
    }
  }

  site_done(6);
  TRY(sa_malloc_aligned(1 << 20, (size_t)8 << 20), 1 << 20, 7);
  TRY(sa_malloc_aligned(100, (size_t)1 << 24), 100, 7);
  TRY(sa_malloc_aligned((size_t)5 << 20, 1 << 16), (size_t)5 << 20, 7);
  void* pm = NULL;
  int rc = sa_posix_memalign(&pm, 1 << 21, 3 << 20);
  if (rc != 0 && pm != NULL) {
    R->violations++;
    note("sa_posix_memalign failed with %d but set the pointer", rc);
  }
  got(rc == 0 ? pm : NULL, rc, 3 << 20, 7);
  site_done(7);

  errno = 0;
  char* z = sa_zalloc((size_t)7 << 20);
  if (z != NULL && first_nonzero(z, (size_t)7 << 20) != SIZE_MAX) {
    R->violations++;
    note("sa_zalloc(7 MiB) is not zero");
  }
  got(z, errno, (size_t)7 << 20, 8);
  errno = 0;
  char* c = sa_calloc(1000, 1000);
  if (c != NULL && first_nonzero(c, 1000 * 1000) != SIZE_MAX) {
    R->violations++;
    note("sa_calloc(1000, 1000) is not zero");
  }
  got(c, errno, 1000 * 1000, 8);
  site_done(8);

  for (int i = 0; i < 150; i++) {
    errno = 0;
    heaps[i] = sa_heap_new();
    site_done(9);
    if (heaps[i] == NULL) {
      got(NULL, errno, sizeof(void*), 9);
      continue;
    }
    TRY(sa_heap_malloc(heaps[i], 64), 64, 10);
    if (i % 10 == 0) TRY(sa_heap_malloc(heaps[i], 40000), 40000, 10);
    site_done(10);
  }
  run_thread(11);
  site_done(11);
  verify_all("after the scenario");
}

/* Everything works again once the injection is off. */
static void after_injection(void) {
  sa_debug_fail_os_after(0);
  static const size_t sizes[] = {8, 1000, 30000, (2 << 20) - 100, (size_t)10 << 20, (size_t)30 << 20};
  int failed = 0;
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    char* p = sa_malloc(sizes[i]);
    if (p == NULL) {
      failed++;
      continue;
    }
    memset(p, 0x44, sizes[i]);
    sa_free(p);
  }
  char* a = sa_malloc_aligned(100, (size_t)1 << 23);
  if (a == NULL) failed++;
  sa_free(a);
  sa_heap_t* h = sa_heap_new();
  if (h == NULL || sa_heap_malloc(h, 100) == NULL) failed++;
  if (h != NULL) sa_heap_destroy(h);
  thread_job_t job;
  memset(&job, 0, sizeof job);
  pthread_t t;
  if (pthread_create(&t, NULL, thread_first_use, &job) != 0) {
    failed++;
  } else {
    pthread_join(t, NULL);
    if (job.small == NULL || job.medium == NULL || job.huge == NULL) failed++;
    sa_free(job.small);
    sa_free(job.medium);
    sa_free(job.huge);
  }
  if (failed) note("%d allocations failed after sa_debug_fail_os_after(0)", failed);
  R->works_again = failed == 0;
}

static long long os_calls(void) {
  char dump[8192];
  sa_stats_dump(dump, sizeof dump);
  return ot_stat(dump, "os.mmap", 0) + ot_stat(dump, "os.mremap", 0);
}

/* The child: arm, run, check, clean up, report. */
static void child(long n) {
  nheld = 0;
  long long calls0 = os_calls();
  sa_debug_fail_os_after(n);
  scenario();
  sa_debug_fail_os_after(0);
  R->os_calls = os_calls() - calls0;
  verify_all("after the injection was turned off");
  after_injection();
  verify_all("after allocating again");
  free_all();
  for (int i = 0; i < 150; i++) {
    if (heaps[i] != NULL) {
      if (i % 2) sa_heap_destroy(heaps[i]);
      else sa_heap_delete(heaps[i]);
    }
  }
  sa_collect(true);
  char dump[8192];
  sa_stats_dump(dump, sizeof dump);
  R->reserved_end = ot_stat(dump, "os.reserved.current", -1);
  R->ran = 1;
}

/* Runs the scenario with injection at n in a forked child; false if it crashed. */
static bool run_child(long n, result_t* out, int* status) {
  memset(R, 0, sizeof *R);
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) return false;
  if (pid == 0) {
    alarm(60);
    child(n);
    _exit(0);
  }
  waitpid(pid, status, 0);
  *out = *R;
  return WIFEXITED(*status) && WEXITSTATUS(*status) == 0 && out->ran;
}

/* ---- the checks ---------------------------------------------------------------------- */

static result_t results[400];
static int crashed[400];
static long K;

static void run_sweep(void) {
  result_t clean;
  int status;
  if (!run_child(0, &clean, &status)) {
    tap_diag("the scenario without failures did not finish (status %#x): %s", status, clean.diag);
    K = 0;
    return;
  }
  results[0] = clean;
  K = clean.os_calls;
  if (K + 5 > 400) K = 395;
  for (long n = 1; n <= K + 4; n++) {
    crashed[n] = !run_child(n, &results[n], &status) ? (status ? status : -1) : 0;
    if (getenv("FAULTS_VERBOSE") != NULL) {
      printf("# n = %ld: %d NULLs at", n, results[n].nulls);
      for (int s = 0; s < N_SITES; s++) {
        if (results[n].site_nulls[s]) printf(" [%s] x%d", site_names[s], results[n].site_nulls[s]);
      }
      printf("\n");
    }
  }
}

static bool check_no_crash(void) {
  bool ok = K > 0;
  for (long n = 1; n <= K + 4; n++) {
    if (crashed[n]) {
      if (WIFSIGNALED(crashed[n])) {
        tap_diag("n = %ld: killed by signal %d (%s); %s", n, WTERMSIG(crashed[n]), strsignal(WTERMSIG(crashed[n])),
                 results[n].diag);
      } else {
        tap_diag("n = %ld: exit status %#x; %s", n, crashed[n], results[n].diag);
      }
      ok = false;
    }
  }
  tap_diag("K = %ld OS calls in the scenario without failures", K);
  return ok;
}

static bool check_enomem(void) {
  bool ok = K > 0;
  int failing_runs = 0;
  for (long n = 1; n <= K + 4; n++) {
    if (results[n].violations) {
      tap_diag("n = %ld: %s", n, results[n].diag);
      ok = false;
    }
    if (results[n].nulls) failing_runs++;
  }
  tap_diag("%d of %ld runs saw an allocation fail", failing_runs, K + 4);
  return ok;
}

static bool check_intact(void) {
  bool ok = K > 0;
  for (long n = 1; n <= K + 4; n++) {
    if (results[n].corrupted) {
      tap_diag("n = %ld: %d blocks changed: %s", n, results[n].corrupted, results[n].diag);
      ok = false;
    }
  }
  return ok;
}

static bool check_works_again(void) {
  bool ok = K > 0;
  for (long n = 1; n <= K + 4; n++) {
    if (results[n].ran && !results[n].works_again) {
      tap_diag("n = %ld: %s", n, results[n].diag);
      ok = false;
    }
  }
  return ok;
}

static bool check_no_leak(void) {
  bool ok = K > 0;
  long long base = results[0].reserved_end;
  for (long n = 1; n <= K + 4; n++) {
    if (!results[n].ran) continue;
    /* (a metadata chunk of 256 KiB may be taken at a different moment) */
    if (results[n].reserved_end > base + (256 << 10)) {
      tap_diag("n = %ld: %.2f MiB reserved at the end, %.2f MiB without failures", n, ot_mib(results[n].reserved_end),
               ot_mib(base));
      ok = false;
    }
  }
  return ok;
}

static bool check_coverage(void) {
  bool ok = K > 0;
  for (long n = K + 1; n <= K + 4; n++) {
    if (results[n].nulls) {
      tap_diag("n = %ld > K: %d allocations failed (K does not cover the scenario)", n, results[n].nulls);
      ok = false;
    }
  }
  /* Each site made OS calls in the run without failures, so some n in 1..K failed
   * one of them; say which sites then surfaced a NULL (the others fell back). */
  for (int s = 0; s < N_SITES; s++) {
    int seen = 0;
    for (long n = 1; n <= K; n++) seen += results[n].site_nulls[s] != 0;
    if (results[0].site_calls[s] == 0) {
      tap_diag("\"%s\" made no OS call: the scenario does not reach that call site", site_names[s]);
      ok = false;
    } else {
      tap_diag("%-36s %lld OS calls; %d values of n made an allocation there fail", site_names[s],
               results[0].site_calls[s], seen);
    }
  }
  return ok;
}

/* Setting another option must not disarm (or re-arm) the injection. */
static bool check_option_set_keeps_injection(void) {
  sa_collect(true);
  sa_debug_fail_os_after(1);
  sa_option_set(sa_option_purge_delay, sa_option_get(sa_option_purge_delay));
  errno = 0;
  void* p = sa_malloc((size_t)9 << 20);
  int e = errno;
  sa_debug_fail_os_after(0);
  if (p != NULL || e != ENOMEM) {
    tap_diag("sa_debug_fail_os_after(1), then sa_option_set(purge_delay, same value): malloc(9 MiB) = %p, errno %d "
             "(expected NULL, ENOMEM)", p, e);
    sa_free(p);
    return false;
  }
  return true;
}

/* ---- SHARDALLOC_FAIL_OS_AFTER with a preloaded plain program ------------------------ */

extern char** environ;

/* Runs program with LD_PRELOAD=lib and SHARDALLOC_FAIL_OS_AFTER=n; its stdout into out. */
static int run_plain(const char* lib, const char* program, long n, char* out, size_t size) {
  static char* env[600];
  static char preload[4200], fail[64];
  size_t k = 0;
  for (size_t i = 0; environ[i] != NULL && k < 590; i++) {
    if (strncasecmp(environ[i], "SHARDALLOC_", 11) == 0 || strncmp(environ[i], "LD_PRELOAD=", 11) == 0) continue;
    env[k++] = environ[i];
  }
  snprintf(preload, sizeof preload, "LD_PRELOAD=%s", lib);
  snprintf(fail, sizeof fail, "SHARDALLOC_FAIL_OS_AFTER=%ld", n);
  env[k++] = preload;
  env[k++] = fail;
  env[k] = NULL;
  int fds[2];
  if (pipe(fds) != 0) return -1;
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    dup2(fds[1], 1);
    char* argv[] = {(char*)program, NULL};
    execve(program, argv, env);
    _exit(127);
  }
  close(fds[1]);
  size_t at = 0;
  for (;;) {
    ssize_t r = read(fds[0], out + at, size - 1 - at);
    if (r <= 0) break;
    at += (size_t)r;
  }
  out[at] = 0;
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

static const char* plain_lib;
static const char* plain_program;

static bool check_preloaded(void) {
  char out[4096];
  int status = run_plain(plain_lib, plain_program, 0, out, sizeof out);
  long long k = ot_stat(out, "os_calls", -1);
  if (status != 0 || k <= 0 || ot_stat(out, "nulls", -1) != 0) {
    tap_diag("%s without failures: status %#x, output \"%s\"", plain_program, status, out);
    return false;
  }
  bool ok = true;
  int failing = 0;
  for (long n = 1; n <= k + 4; n++) {
    status = run_plain(plain_lib, plain_program, n, out, sizeof out);
    long long nulls = ot_stat(out, "nulls", -1);
    if (status != 0 || ot_stat(out, "violations", -1) != 0 || ot_stat(out, "corrupted", -1) != 0 ||
        ot_stat(out, "works_again", 0) != 1) {
      if (WIFSIGNALED(status)) tap_diag("SHARDALLOC_FAIL_OS_AFTER=%ld: killed by signal %d (%s)", n, WTERMSIG(status), strsignal(WTERMSIG(status)));
      else tap_diag("SHARDALLOC_FAIL_OS_AFTER=%ld: status %#x, output \"%s\"", n, status, out);
      ok = false;
    }
    if (nulls > 0) failing++;
    if (n > k && nulls != 0) {
      tap_diag("SHARDALLOC_FAIL_OS_AFTER=%ld > %lld calls: still %lld failures", n, k, nulls);
      ok = false;
    }
  }
  if (failing == 0) {
    tap_diag("no value of SHARDALLOC_FAIL_OS_AFTER made an allocation fail");
    ok = false;
  }
  tap_diag("%lld OS calls in the plain program; %d of %lld values made an allocation fail", k, failing, k + 4);
  return ok;
}

int main(int argc, char** argv) {
  if (argc > 3 && strcmp(argv[1], "--preload") == 0) {
    plain_lib = argv[2];
    plain_program = argv[3];
  }
  R = mmap(NULL, sizeof(result_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (R == MAP_FAILED) return 2;
  run_sweep();
  tap_result(check_no_crash(), "faults: sa_debug_fail_os_after(n) for every n = 1..K+4: no crash, no hang");
  tap_result(check_enomem(), "faults: every failed allocation returned NULL with errno ENOMEM");
  tap_result(check_intact(), "faults: blocks allocated before a failure keep their contents (also a failed realloc's)");
  tap_result(check_works_again(), "faults: after sa_debug_fail_os_after(0) every kind of allocation works again");
  tap_result(check_no_leak(), "faults: no leak: after freeing all and sa_collect(true), reserved memory as without failures");
  tap_result(check_coverage(), "faults: K covers the scenario, and each of its 12 call sites makes OS calls (so some n fails there)");
  tap_run("faults: sa_option_set of another option does not disarm an armed injection", check_option_set_keeps_injection);
  if (plain_program != NULL) {
    tap_run("faults: SHARDALLOC_FAIL_OS_AFTER=n (every n) with a preloaded plain program: NULL/ENOMEM, no crash",
            check_preloaded);
  }
  return tap_exit_status();
}
