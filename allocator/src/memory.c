/* memory.c: memory from the OS (floor 2, see README.md): the port's primitives
 * (os.h) with what the allocator adds to them, so that the port stays a leaf:
 * the statistics of every OS call, fault injection for tests, and placement
 * (mappings at an alignment, near a hint, or at a random address in the secure
 * build). Every function that maps memory can be made to fail by
 * sa_debug_fail_os_after. */
#include "internal.h"

sa_os_stats_t sa_os_stats;

/* Fault injection for tests: while positive it is decremented by every call that
 * maps memory; the call that brings it to zero fails. */
static _Atomic(long) fail_countdown;

sa_decl_export void sa_debug_fail_os_after(long n) {
  atomic_store_explicit(&fail_countdown, n > 0 ? n : 0, memory_order_relaxed);
}

/* True when this call must fail. */
static bool injected_failure(void) {
  long left = atomic_load_explicit(&fail_countdown, memory_order_relaxed);
  while (left > 0) {
    if (atomic_compare_exchange_weak(&fail_countdown, &left, left - 1)) return left == 1;
  }
  return false;
}

static void count_reserved(int64_t delta) {
  sa_stat_atomic_add(&sa_os_stats.reserved_current, &sa_os_stats.reserved_peak, delta);
}

static void count_committed(int64_t delta) {
  sa_stat_atomic_add(&sa_os_stats.committed_current, &sa_os_stats.committed_peak, delta);
}

static void* map(void* hint, size_t size, bool commit, size_t huge_page_size) {
  if (injected_failure()) {
    errno = ENOMEM;
    return NULL;
  }
  atomic_fetch_add_explicit(&sa_os_stats.mmap_calls, 1, memory_order_relaxed);
  void* p = sa_os_map(hint, size, commit, huge_page_size);
  if (p == NULL) {
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
  if (sa_os_unmap(p, size)) {
    count_reserved(-(int64_t)size);
    count_committed(-(int64_t)committed);
  } else if (sa_opt_show_errors) {
    sa_warning("munmap(%p, %zu) failed: errno %d", p, size, errno);
  }
}

static bool is_placed(uintptr_t p, size_t alignment, size_t offset) {
  return ((p + offset) & (alignment - 1)) == 0;
}

/* Next address hint for aligned mappings: mapping right below the last one tends
 * to succeed, which saves the over-allocate-and-trim dance. */
static _Atomic(uintptr_t) aligned_hint;

#if SA_SECURE_RANDOM_ADDRESSES
/* A hint anywhere in [2^40, 2^46): below the 47-bit user space limit and the segment
 * map's 48 bits, above where the program, its libraries and the brk heap lie. The
 * kernel takes it when the range is free; the caller falls back otherwise. */
#define SA_RANDOM_BASE ((uintptr_t)1 << 40)
#define SA_RANDOM_SPAN (((uintptr_t)1 << 46) - SA_RANDOM_BASE)

/* A random, aligned address hint for the next mapping (0: none): where is not guessable. */
static uintptr_t random_hint(size_t size, size_t alignment) {
  if (size >= SA_RANDOM_SPAN / 2) return 0;
  uintptr_t hint = SA_RANDOM_BASE + (uintptr_t)(sa_secure_random() % (SA_RANDOM_SPAN - size));
  return (hint & ~(uintptr_t)(alignment - 1)) + size; /* map_aligned maps just below the hint */
}
#endif

/* Maps size bytes at an address aligned as asked: one mmap at a hint that usually
 * works, else over-allocate by the alignment and trim both ends. */
static void* map_aligned(size_t size, size_t alignment, size_t offset, bool commit, size_t huge_page_size) {
  if (alignment <= sa_os_page_size()) return map(NULL, size, commit, huge_page_size);
  if (size > SIZE_MAX - alignment) {
    errno = ENOMEM;
    return NULL;
  }
  /* Try the hint first: one mmap, no trimming. */
#if SA_SECURE_RANDOM_ADDRESSES
  uintptr_t hint = random_hint(size, alignment);
#else
  uintptr_t hint = atomic_load_explicit(&aligned_hint, memory_order_relaxed);
#endif
  if (hint != 0 && hint > size + alignment) {
    uintptr_t want = ((hint - size) & ~(uintptr_t)(alignment - 1)) - offset % alignment;
    uint8_t* p = map((void*)want, size, commit, huge_page_size);
    if (p == NULL) return NULL;
    if (is_placed((uintptr_t)p, alignment, offset)) {
      atomic_store_explicit(&aligned_hint, (uintptr_t)p, memory_order_relaxed);
      return p;
    }
    unmap(p, size, commit ? size : 0);
  }
  /* Over-allocate by the alignment and trim both ends. */
  uint8_t* raw = map(NULL, size + alignment, commit, huge_page_size);
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

void* sa_mem_alloc_aligned(size_t size, size_t alignment, size_t offset, bool commit) {
  return map_aligned(size, alignment, offset, commit, 0);
}

void* sa_mem_alloc_large_pages(size_t size, size_t alignment, size_t large_page_size) {
  int saved = errno;
  void* p = map_aligned(size, alignment, 0, true, large_page_size);
  errno = saved;
  return p;
}

bool sa_mem_commit(void* p, size_t size) {
  if (injected_failure()) return false;
  bool ok = sa_os_protect(p, size, true);
  if (ok) count_committed((int64_t)size);
  return ok;
}

bool sa_mem_decommit(void* p, size_t size) {
  atomic_fetch_add_explicit(&sa_os_stats.madvise_calls, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&sa_os_stats.purged_total, (int64_t)size, memory_order_relaxed);
  bool ok = sa_os_discard(p, size, true) && sa_os_protect(p, size, false);
  if (ok) count_committed(-(int64_t)size);
  return ok;
}

void sa_mem_free(void* p, size_t size, size_t committed) { unmap(p, size, committed); }

bool sa_mem_purge(void* p, size_t size, bool decommit) {
  if (size == 0) return true;
  atomic_fetch_add_explicit(&sa_os_stats.madvise_calls, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&sa_os_stats.purged_total, (int64_t)size, memory_order_relaxed);
  return sa_os_discard(p, size, decommit);
}

void* sa_mem_remap(void* p, size_t old_size, size_t new_size) {
  if (injected_failure()) return NULL;
  atomic_fetch_add_explicit(&sa_os_stats.mremap_calls, 1, memory_order_relaxed);
  if (!sa_os_resize(p, old_size, new_size)) return NULL;
  count_reserved((int64_t)new_size - (int64_t)old_size);
  count_committed((int64_t)new_size - (int64_t)old_size);
  return p;
}

void* sa_mem_grow_aligned(void* p, size_t old_size, size_t new_size, size_t alignment, size_t offset) {
  if (sa_mem_remap(p, old_size, new_size) == p) return p;
  uint8_t* target = sa_mem_alloc_aligned(new_size, alignment, offset, true);
  if (target == NULL) return NULL;
  atomic_fetch_add_explicit(&sa_os_stats.mremap_calls, 1, memory_order_relaxed);
  /* Moves the old pages over the start of the new region, replacing what was there. */
  if (!sa_os_move(p, old_size, target)) {
    unmap(target, new_size, new_size);
    return NULL;
  }
  count_reserved(-(int64_t)old_size);
  count_committed(-(int64_t)old_size);
  return target;
}
