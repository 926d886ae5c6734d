/* os/linux.c: the OS interface (os.h) on Linux. */
#include <errno.h>
#include <linux/membarrier.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#ifndef MADV_FREE
#define MADV_FREE 8
#endif

static size_t page_size = 4096;
_Atomic(long) sa_os_fail_countdown;

sa_decl_export void sa_debug_fail_os_after(long n) {
  atomic_store_explicit(&sa_os_fail_countdown, n > 0 ? n : 0, memory_order_relaxed);
}

static bool membarrier_ready;

void sa_os_init(void) {
  long size = sysconf(_SC_PAGESIZE);
  if (size > 0) page_size = (size_t)size;
  int saved = errno;
  membarrier_ready = syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
  errno = saved;
}

bool sa_os_barrier_all_threads(void) {
  if (!membarrier_ready) return false;
  int saved = errno;
  bool ok = syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0;
  errno = saved;
  return ok;
}

size_t sa_os_page_size(void) { return page_size; }

/* Fault injection: true when this call must fail. */
static bool injected_failure(void) {
  long left = atomic_load_explicit(&sa_os_fail_countdown, memory_order_relaxed);
  while (left > 0) {
    if (atomic_compare_exchange_weak(&sa_os_fail_countdown, &left, left - 1)) return left == 1;
  }
  return false;
}

static void count_reserved(int64_t delta) {
  int64_t now = atomic_fetch_add_explicit(&sa_os_stats.reserved_current, delta, memory_order_relaxed) + delta;
  int64_t peak = atomic_load_explicit(&sa_os_stats.reserved_peak, memory_order_relaxed);
  while (now > peak && !atomic_compare_exchange_weak(&sa_os_stats.reserved_peak, &peak, now)) {
  }
}

static void count_committed(int64_t delta) {
  sa_stat_atomic_add(&sa_os_stats.committed_current, &sa_os_stats.committed_peak, delta);
}

static void* map(void* hint, size_t size, bool commit, int extra_flags) {
  if (injected_failure()) {
    errno = ENOMEM;
    return NULL;
  }
  atomic_fetch_add_explicit(&sa_os_stats.mmap_calls, 1, memory_order_relaxed);
  /* Huge OS pages must be reserved at mmap time: with MAP_NORESERVE a system
   * without free huge pages maps them anyway and the first touch is a SIGBUS. */
  int flags = MAP_PRIVATE | MAP_ANONYMOUS | extra_flags;
#ifdef MAP_HUGETLB
  if (!(extra_flags & MAP_HUGETLB)) flags |= MAP_NORESERVE;
#else
  flags |= MAP_NORESERVE;
#endif
  void* p = mmap(hint, size, commit ? PROT_READ | PROT_WRITE : PROT_NONE, flags, -1, 0);
  if (p == MAP_FAILED) {
    errno = ENOMEM;
    return NULL;
  }
  count_reserved((int64_t)size);
  if (commit) count_committed((int64_t)size);
  return p;
}

/* Unmaps memory of which `committed` bytes were read-write. */
static void unmap(void* p, size_t size, size_t committed) {
  if (size == 0) return;
  atomic_fetch_add_explicit(&sa_os_stats.munmap_calls, 1, memory_order_relaxed);
  if (munmap(p, size) == 0) {
    count_reserved(-(int64_t)size);
    count_committed(-(int64_t)committed);
  }
  else if (sa_opt_show_errors) sa_warning("munmap(%p, %zu) failed: errno %d", p, size, errno);
}

static bool is_placed(uintptr_t p, size_t alignment, size_t offset) {
  return ((p + offset) & (alignment - 1)) == 0;
}

/* Next address hint for aligned mappings: mapping right below the last one tends
 * to succeed, which saves the over-allocate-and-trim dance. */
static _Atomic(uintptr_t) aligned_hint;

/* Maps size bytes at an address aligned as asked: one mmap at a hint that usually
 * works, else over-allocate by the alignment and trim both ends. */
static void* map_aligned(size_t size, size_t alignment, size_t offset, bool commit, int extra_flags) {
  if (alignment <= page_size) return map(NULL, size, commit, extra_flags);
  if (size > SIZE_MAX - alignment) {
    errno = ENOMEM;
    return NULL;
  }
  /* Try the hint first: one mmap, no trimming. */
#if SA_SECURE_RANDOM_ADDRESSES
  uintptr_t hint = sa_secure_map_hint(size, alignment, offset); /* where is not guessable */
#else
  uintptr_t hint = atomic_load_explicit(&aligned_hint, memory_order_relaxed);
#endif
  if (hint != 0 && hint > size + alignment) {
    uintptr_t want = ((hint - size) & ~(uintptr_t)(alignment - 1)) - offset % alignment;
    uint8_t* p = map((void*)want, size, commit, extra_flags);
    if (p == NULL) return NULL;
    if (is_placed((uintptr_t)p, alignment, offset)) {
      atomic_store_explicit(&aligned_hint, (uintptr_t)p, memory_order_relaxed);
      return p;
    }
    unmap(p, size, commit ? size : 0);
  }
  /* Over-allocate by the alignment and trim both ends. */
  uint8_t* raw = map(NULL, size + alignment, commit, extra_flags);
  if (raw == NULL) return NULL;
  uintptr_t start = sa_align_up((uintptr_t)raw + offset, alignment) - offset;
  if (start < (uintptr_t)raw) start += alignment;
  uint8_t* p = (uint8_t*)start;
  size_t before = (size_t)(p - raw), after = (size_t)(raw + size + alignment - (p + size));
  unmap(raw, before, commit ? before : 0);
  unmap(p + size, after, commit ? after : 0);
  atomic_store_explicit(&aligned_hint, (uintptr_t)p, memory_order_relaxed);
  return p;
}

void* sa_os_alloc_aligned(size_t size, size_t alignment, size_t offset, bool commit) {
  return map_aligned(size, alignment, offset, commit, 0);
}

void* sa_os_alloc_large_pages(size_t size, size_t alignment, size_t large_page_size) {
#if defined(MAP_HUGETLB) && defined(MAP_HUGE_SHIFT)
  int log2 = __builtin_ctzl(large_page_size);
  int saved = errno;
  void* p = map_aligned(size, alignment, 0, true, MAP_HUGETLB | (log2 << MAP_HUGE_SHIFT));
  errno = saved;
  return p;
#else
  (void)size;
  (void)alignment;
  (void)large_page_size;
  return NULL;
#endif
}

bool sa_os_commit(void* p, size_t size) {
  if (injected_failure()) return false;
  int saved = errno;
  bool ok = mprotect(p, size, PROT_READ | PROT_WRITE) == 0;
  errno = saved;
  if (ok) count_committed((int64_t)size);
  return ok;
}

bool sa_os_decommit(void* p, size_t size) {
  atomic_fetch_add_explicit(&sa_os_stats.madvise_calls, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&sa_os_stats.purged_total, (int64_t)size, memory_order_relaxed);
  int saved = errno;
  bool ok = madvise(p, size, MADV_DONTNEED) == 0 && mprotect(p, size, PROT_NONE) == 0;
  errno = saved;
  if (ok) count_committed(-(int64_t)size);
  return ok;
}

void sa_os_free(void* p, size_t size, size_t committed) { unmap(p, size, committed); }

bool sa_os_purge(void* p, size_t size, bool decommit) {
  if (size == 0) return true;
  atomic_fetch_add_explicit(&sa_os_stats.madvise_calls, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&sa_os_stats.purged_total, (int64_t)size, memory_order_relaxed);
  int saved = errno;
  bool ok = true;
  if (decommit || madvise(p, size, MADV_FREE) != 0) ok = madvise(p, size, MADV_DONTNEED) == 0;
  errno = saved;
  return ok;
}

void* sa_os_remap(void* p, size_t old_size, size_t new_size) {
  if (injected_failure()) return NULL;
  atomic_fetch_add_explicit(&sa_os_stats.mremap_calls, 1, memory_order_relaxed);
  int saved = errno;
  void* q = mremap(p, old_size, new_size, 0);
  errno = saved;
  if (q == MAP_FAILED) return NULL;
  count_reserved((int64_t)new_size - (int64_t)old_size);
  count_committed((int64_t)new_size - (int64_t)old_size);
  return q;
}

void* sa_os_grow_aligned(void* p, size_t old_size, size_t new_size, size_t alignment, size_t offset) {
  if (sa_os_remap(p, old_size, new_size) == p) return p;
  uint8_t* target = sa_os_alloc_aligned(new_size, alignment, offset, true);
  if (target == NULL) return NULL;
  atomic_fetch_add_explicit(&sa_os_stats.mremap_calls, 1, memory_order_relaxed);
  int saved = errno;
  /* Moves the old pages over the start of the new region, replacing what was there. */
  void* q = mremap(p, old_size, old_size, MREMAP_MAYMOVE | MREMAP_FIXED, target);
  errno = saved;
  if (q == MAP_FAILED) {
    unmap(target, new_size, new_size);
    return NULL;
  }
  count_reserved(-(int64_t)old_size);
  count_committed(-(int64_t)old_size);
  return q;
}

void sa_os_advise_thp(void* p, size_t size, bool enable) {
#if defined(MADV_HUGEPAGE) && defined(MADV_NOHUGEPAGE)
  int saved = errno;
  madvise(p, size, enable ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
  errno = saved;
#else
  (void)p;
  (void)size;
  (void)enable;
#endif
}

void sa_os_write_stderr(const char* msg, size_t len) {
  while (len > 0) {
    ssize_t n = write(STDERR_FILENO, msg, len);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return;
    }
    msg += n;
    len -= (size_t)n;
  }
}

int64_t sa_os_clock_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
