/* teardown.c: frees and allocations after the allocator's own thread teardown
 * (issue 9, items 2 and 3). A plain program, run with LD_PRELOAD=libshardalloc.so.
 *
 * Usage: teardown late-frees THREADS | glibc-late THREADS
 *
 *   late-frees  each thread allocates, then creates (the first one, for all) a
 *               pthread key whose destructor runs after the allocator's (its key is
 *               older, and glibc runs destructors in key order); its first call into
 *               the allocator is a free of a main-thread block. The destructor frees
 *               a block of the thread's own and a block of the main thread's (a
 *               cross-thread free), and (every other thread) allocates and frees
 *               again. Checks: every
 *               block the main thread handed out comes back (its pages, after
 *               sa_collect(true), return to the baseline: the leak account), and
 *               address space and resident memory stay bounded.
 *   glibc-late  each thread calls strerror() on an unknown errno and dlerror() after
 *               a failed dlopen(): glibc frees their buffers in __libc_thread_freeres,
 *               after every key destructor. Address space (VmSize) and resident
 *               memory (VmRSS) must stay bounded over THREADS threads (glibc itself:
 *               ~74 MiB for 500), and the leak account must balance.
 *
 * Threads run CONCURRENT at a time.
 */
#include "leak_account.h"

#include <dlfcn.h>
#include <sys/mman.h>

#define CONCURRENT 4
#define MAX_THREADS 100000
/* Bounds on growth over the run, after a warm-up of WARMUP threads. */
#define WARMUP 50
#define VM_GROWTH_BOUND (256 * MiB)
#define RSS_GROWTH_BOUND (48 * MiB)
#define MAIN_BLOCK_SIZE 48

static pthread_key_t late_key;
static pthread_once_t late_key_once = PTHREAD_ONCE_INIT;
/* Two per thread, allocated by main: [i] is freed by thread i's key destructor,
 * [total_threads + i] by thread i as its very first call into the allocator. */
static void** main_blocks;
static size_t total_threads;
static atomic_int destructor_runs;
static atomic_int destructor_failures;

typedef struct late_value_s {
  void* own;        /* allocated by the thread itself */
  void* from_main;  /* allocated by the main thread */
  size_t index;
} late_value_t;

static late_value_t values[MAX_THREADS]; /* not malloc'ed: see late_destructor */

/* In odd threads the destructor's one call into the allocator is the cross-thread
 * free (the thread freed its own block before it returned); even ones also free
 * their own block and allocate and free again afterwards. */
static void late_destructor(void* arg) {
  late_value_t* v = arg;
  free(v->from_main);
  if (v->index % 2 == 0) {
    free(v->own);
    void* again = malloc(opaque(300));
    if (again == NULL) atomic_fetch_add(&destructor_failures, 1);
    else memset(again, 1, 300);
    free(again);
  }
  atomic_fetch_add(&destructor_runs, 1);
}

static void make_late_key(void) {
  if (pthread_key_create(&late_key, late_destructor) != 0) late_key = (pthread_key_t)-1;
}

static void* late_frees_thread(void* arg) {
  size_t index = (size_t)(uintptr_t)arg;
  late_value_t* v = &values[index];
  /* The thread's first call: a free into the main thread's page (a remote free, batched). */
  free(main_blocks[total_threads + index]);
  v->own = malloc(opaque(100 + index % 2000)); /* the allocator's thread set-up happens here */
  pthread_once(&late_key_once, make_late_key);
  v->from_main = main_blocks[index];
  v->index = index;
  if (index % 2 == 1) free(v->own);
  pthread_setspecific(late_key, v);
  return NULL;
}

static void* glibc_late_thread(void* arg) {
  size_t index = (size_t)(uintptr_t)arg;
  /* An unknown errno: glibc formats "Unknown error N" into a per-thread buffer. */
  const char* text = strerror((int)(100000 + index));
  if (text == NULL || strstr(text, "nknown") == NULL) atomic_fetch_add(&destructor_failures, 1);
  /* A failed dlopen: the error text is allocated per thread, kept until thread exit. */
  if (dlopen("/nonexistent/libshardalloc-test-none.so", RTLD_NOW) != NULL || dlerror() == NULL) {
    atomic_fetch_add(&destructor_failures, 1);
  }
  if (dlopen("/nonexistent/libshardalloc-test-also-none.so", RTLD_NOW) != NULL) {
    atomic_fetch_add(&destructor_failures, 1);
  }
  return NULL;
}

/* VmSize and VmRSS from /proc/self/status, in bytes (read(2): no allocation). */
static bool vm_read(size_t* vm, size_t* rss) {
  static char buf[8192];
  int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return false;
  buf[n] = 0;
  long long v = ot_field_kb(buf, "VmSize:"), r = ot_field_kb(buf, "VmRSS:");
  if (v < 0 || r < 0) return false;
  *vm = (size_t)v * 1024;
  *rss = (size_t)r * 1024;
  return true;
}

static bool run_threads(size_t total, void* (*fn)(void*), size_t* vm_warm, size_t* rss_warm, size_t* vm_peak,
                        size_t* rss_peak) {
  pthread_t tids[CONCURRENT];
  size_t created = 0;
  while (created < total) {
    size_t batch = 0;
    for (; batch < CONCURRENT && created < total; batch++, created++) {
      if (pthread_create(&tids[batch], NULL, fn, (void*)(uintptr_t)created) != 0) {
        for (size_t i = 0; i < batch; i++) pthread_join(tids[i], NULL);
        tap_diag("pthread_create failed after %zu threads", created);
        return false;
      }
    }
    for (size_t i = 0; i < batch; i++) pthread_join(tids[i], NULL);
    size_t vm = 0, rss = 0;
    if (!vm_read(&vm, &rss)) continue;
    if (created <= WARMUP) *vm_warm = vm, *rss_warm = rss;
    if (vm > *vm_peak) *vm_peak = vm;
    if (rss > *rss_peak) *rss_peak = rss;
  }
  return true;
}

int main(int argc, char** argv) {
  bool late = argc == 3 && strcmp(argv[1], "late-frees") == 0;
  bool glibc_late = argc == 3 && strcmp(argv[1], "glibc-late") == 0;
  long total = argc == 3 ? atol(argv[2]) : 0;
  if ((!late && !glibc_late) || total <= WARMUP || total > MAX_THREADS) {
    fprintf(stderr, "teardown: usage: teardown late-frees|glibc-late THREADS (%d..%d)\n", WARMUP + 1,
            MAX_THREADS);
    return 2;
  }
  tap_diag("%s in %ld short-lived threads, %d at a time", argv[1], total, CONCURRENT);
  leak_account_t account = leak_account_start();
  size_t vm_warm = 0, rss_warm = 0, vm_peak = 0, rss_peak = 0;
  if (late) {
    total_threads = (size_t)total;
    main_blocks = mmap(NULL, 2 * (size_t)total * sizeof(void*), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    tap_require(main_blocks != MAP_FAILED, "mmap for the block table");
    for (long i = 0; i < 2 * total; i++) {
      main_blocks[i] = malloc(MAIN_BLOCK_SIZE);
      tap_require(main_blocks[i] != NULL, "the main thread's blocks are allocated");
    }
  }
  tap_require(run_threads((size_t)total, late ? late_frees_thread : glibc_late_thread, &vm_warm, &rss_warm, &vm_peak,
                          &rss_peak),
              "every thread started");
  tap_diag("VmSize after %d threads %zu MiB, peak %zu MiB; VmRSS %zu MiB, peak %zu MiB", WARMUP, vm_warm / MiB,
           vm_peak / MiB, rss_warm / MiB, rss_peak / MiB);
  if (late) {
    tap_result(atomic_load(&destructor_runs) == total && atomic_load(&destructor_failures) == 0,
               "a key destructor that runs after the allocator's frees and allocates in every thread");
  } else {
    tap_result(atomic_load(&destructor_failures) == 0, "strerror and dlerror give their texts in every thread");
  }
  tap_result(vm_peak <= vm_warm + VM_GROWTH_BOUND, "address space (VmSize) stays bounded over the threads");
  tap_result(rss_peak <= rss_warm + RSS_GROWTH_BOUND, "resident memory (VmRSS) stays bounded over the threads");
  leak_account_check(&account, late ? "late and cross-thread frees from key destructors" : "glibc's late frees");
  return tap_exit_status();
}
