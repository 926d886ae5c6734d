/* aligned.c: allocation with an alignment larger than the natural 16 bytes
 * (floor 7, see README.md).
 *
 * Small alignments are served from ordinary pages: either the next free block
 * already sits at an aligned address, or a block of size + alignment - 1 is taken
 * and an interior, aligned pointer handed out (the page is then flagged
 * HAS_ALIGNED so that free finds the block start). Alignments so large that this
 * would not fit a large page go to a huge segment placed at the alignment. */
#include "internal.h"

void* sa_heap_malloc_aligned_zero(sa_heap_t* heap, size_t size, size_t alignment, bool zero) {
  if (sa_unlikely(!sa_is_power_of_two(alignment))) {
    errno = EINVAL;
    return NULL;
  }
  if (sa_unlikely(size > SA_MAX_REQUEST || alignment > SA_MAX_REQUEST)) {
    errno = ENOMEM;
    return NULL;
  }
  if (alignment <= SA_MAX_ALIGN) {
    /* Blocks of 16 bytes and more are 16-aligned; smaller ones only need rounding up
     * when 16 is asked for (debug blocks, and blocks with a canary, are 16 bytes at
     * least anyway). */
    bool round_up = !SA_DEBUG && !SA_SECURE_CANARY && alignment > SA_WORD_SIZE && size < alignment;
    return sa_heap_malloc_zero(heap, round_up ? alignment : size, zero);
  }

  if (sa_unlikely(heap == &sa_heap_empty)) {
    if (sa_thread_has_exited()) {
      /* The thread's exit clean-up has run: from the orphan heap. */
      void* p = sa_heap_malloc_aligned_zero(sa_orphan_acquire(), size, alignment, zero);
      sa_orphan_release();
      return p;
    }
    heap = sa_heap_for_thread();
    if (heap == NULL) {
      errno = ENOMEM;
      return NULL;
    }
  }
  /* Lucky case: the block the direct table would hand out is already aligned. */
  if (sa_raw_size(size) <= SA_DIRECT_MAX) {
    sa_page_t* page = sa_direct_page(heap, sa_raw_size(size));
    if (page->free != NULL && ((uintptr_t)page->free & (alignment - 1)) == 0) {
      return sa_heap_malloc_zero(heap, size, zero);
    }
  }
  size_t padded = size + alignment - 1;
  if (padded + SA_BLOCK_TRAILER > SA_LARGE_OBJ_MAX) { /* huge: no canary (a guard instead) */
    void* p = sa_huge_alloc(heap, size + SA_DEBUG_TRAILER, alignment, zero);
    if (p != NULL) sa_debug_on_alloc(p, size);
    return p;
  }

  uint8_t* block = sa_heap_malloc_zero(heap, padded, zero);
  if (block == NULL) return NULL;
  uint8_t* aligned = (uint8_t*)sa_align_up((uintptr_t)block, alignment);
  if (aligned != block) {
    sa_segment_t* segment = sa_segment_of(block);
    sa_page_t* page = sa_page_of(segment, block);
    page->flags |= SA_PAGE_HAS_ALIGNED;
    sa_page_sync_owner(page);
  }
  sa_debug_on_alloc(aligned, size);
  return aligned;
}

sa_decl_export void* sa_malloc_aligned(size_t size, size_t alignment) {
  return sa_heap_malloc_aligned_zero(sa_heap_default, size, alignment, false);
}

sa_decl_export void* sa_zalloc_aligned(size_t size, size_t alignment) {
  return sa_heap_malloc_aligned_zero(sa_heap_default, size, alignment, true);
}

sa_decl_export void* sa_heap_malloc_aligned(sa_heap_t* heap, size_t size, size_t alignment) {
  return sa_heap_malloc_aligned_zero(heap, size, alignment, false);
}

sa_decl_export void* sa_calloc_aligned(size_t n, size_t size, size_t alignment) {
  size_t total;
  if (sa_unlikely(sa_mul_overflows(n, size, &total))) {
    errno = ENOMEM;
    return NULL;
  }
  return sa_heap_malloc_aligned_zero(sa_heap_default, total, alignment, true);
}

sa_decl_export void* sa_realloc_aligned(void* p, size_t newsize, size_t alignment) {
  if (sa_unlikely(!sa_is_power_of_two(alignment))) {
    errno = EINVAL;
    return NULL;
  }
  if (p == NULL) return sa_malloc_aligned(newsize, alignment);
  if (newsize == 0) {
    sa_free(p);
    return NULL;
  }
  if (newsize > SA_MAX_REQUEST) {
    errno = ENOMEM;
    return NULL;
  }
  if (!sa_check_pointer(p, "realloc_aligned")) {
    errno = EINVAL;
    return NULL;
  }
  size_t capacity = sa_usable_size_of(p);
  size_t usable = SA_DEBUG ? sa_debug_usable_size(p) : capacity; /* as in sa_heap_realloc_zero */
  /* In place whenever the block is aligned and large enough, as sa_realloc does. */
  if (((uintptr_t)p & (alignment - 1)) == 0 && newsize + SA_DEBUG_TRAILER <= capacity) {
    sa_debug_on_alloc(p, newsize);
    return p;
  }
  void* q = sa_malloc_aligned(newsize, alignment);
  if (q == NULL) return NULL;
  memcpy(q, p, usable < newsize ? usable : newsize);
  sa_free(p);
  return q;
}

/* ---- the POSIX and C11 entry points -------------------------------------------- */

sa_decl_export int sa_posix_memalign(void** p, size_t alignment, size_t size) {
  /* POSIX: a power of two that is also a multiple of sizeof(void*); *p untouched on error. */
  if (!sa_is_power_of_two(alignment) || alignment % sizeof(void*) != 0) return EINVAL;
  int saved_errno = errno;
  void* q = sa_malloc_aligned(size, alignment);
  if (q == NULL) {
    int err = errno;
    errno = saved_errno;
    return err;
  }
  *p = q;
  return 0;
}

/* C17 and glibc accept any power-of-two alignment (including 1) and any size. */
sa_decl_export void* sa_aligned_alloc(size_t alignment, size_t size) {
  return sa_malloc_aligned(size, alignment);
}

/* glibc's memalign rounds an alignment that is not a power of two up to one. */
sa_decl_export void* sa_memalign(size_t alignment, size_t size) {
  if (alignment > SA_MAX_REQUEST) {
    errno = EINVAL;
    return NULL;
  }
  if (!sa_is_power_of_two(alignment)) {
    size_t rounded = 1;
    while (rounded < alignment) rounded <<= 1;
    alignment = rounded;
  }
  return sa_malloc_aligned(size, alignment);
}

sa_decl_export void* sa_valloc(size_t size) { return sa_malloc_aligned(size, sa_os_page_size()); }

sa_decl_export void* sa_pvalloc(size_t size) {
  size_t page = sa_os_page_size();
  if (size > SA_MAX_REQUEST) {
    errno = ENOMEM;
    return NULL;
  }
  size_t rounded = size == 0 ? page : sa_align_up(size, page);
  return sa_malloc_aligned(rounded, page);
}

/* ---- standard names ------------------------------------------------------------ */

SA_ALSO_NAMED(posix_memalign, sa_posix_memalign)
SA_ALSO_NAMED(__posix_memalign, sa_posix_memalign)
SA_ALSO_NAMED(aligned_alloc, sa_aligned_alloc)
SA_ALSO_NAMED(memalign, sa_memalign)
SA_ALSO_NAMED(__libc_memalign, sa_memalign)
SA_ALSO_NAMED(valloc, sa_valloc)
SA_ALSO_NAMED(__libc_valloc, sa_valloc)
SA_ALSO_NAMED(pvalloc, sa_pvalloc)
SA_ALSO_NAMED(__libc_pvalloc, sa_pvalloc)
