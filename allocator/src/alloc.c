/* alloc.c: allocation (floor 7, see README.md). The fast path is a pop from the
 * page the direct table names, written once (heap_malloc) for sa_malloc and every
 * other entry point; everything else (first use of a thread, empty page, large and
 * huge sizes) goes through sa_heap_malloc_generic. */
#include "internal.h"

#if SA_SECURE_ENCODED_LISTS
/* A popped block whose link does not decode into its page: reported, and the list
 * cut there (never followed: the rest of it is lost, not handed out); the block
 * itself is still good. Out of line and reached by a tail call, so that the fast
 * path needs no stack frame. */
static sa_decl_noinline sa_decl_cold void* page_pop_bad_link(sa_page_t* page, sa_block_t* block) {
  sa_secure_bad_link(page, block, "malloc");
  page->free = NULL;
  sa_block_clear_free(block);
  sa_canary_set(page, block);
  page->used++;
  sa_debug_on_popped(page, block);
  return block;
}
#endif

/* Pops a block from a page known to have one. */
static inline void* page_pop(sa_page_t* page) {
  sa_block_t* block = page->free;
  sa_debug_on_pop(page, block);
#if SA_SECURE_ENCODED_LISTS
  sa_block_t* next = sa_link_get(page, block);
  /* Into the page (a changed link decodes outside it: secure.h). Tested first: it
   * passes for every link but a list's last, so the common case takes one branch
   * (NULL, the end, is tested only when it fails). */
  if (sa_unlikely(!sa_link_in_page(page, next)) && next != NULL) return page_pop_bad_link(page, block);
  page->free = next;
  sa_block_clear_free(block); /* an allocated block must not look free (sa_secure_check_free) */
#else
  page->free = block->next;
#endif
  sa_canary_set(page, block);
  page->used++;
  sa_debug_on_popped(page, block);
  return block;
}

/* The fast path: a pop from the direct table's page, else the generic path. `size`
 * is the raw size (sa_raw_size): zeroing leaves the canary alone. */
static inline void* heap_malloc_raw(sa_heap_t* heap, size_t size, bool zero) {
  if (sa_likely(size <= SA_DIRECT_MAX)) {
    sa_page_t* page = sa_direct_page(heap, size);
    if (sa_likely(page->free != NULL)) {
      void* p = page_pop(page);
      if (zero) memset(p, 0, size - SA_CANARY_SIZE);
      sa_in_return_register(p);
      return p;
    }
  }
  return sa_heap_malloc_generic(size, heap, zero);
}

/* Every entry point's allocation. Debug builds ask for room for the trailer (at
 * least 16 bytes, so that it never shares a word with the free-list link) and
 * write it once the block is out; builds with canaries for the canary word. */
static inline void* heap_malloc(sa_heap_t* heap, size_t size, bool zero) {
  if (!SA_DEBUG && !SA_SECURE_CANARY) return heap_malloc_raw(heap, size, zero);
  if (size > SA_MAX_REQUEST) {
    errno = ENOMEM;
    return NULL;
  }
  void* p = heap_malloc_raw(heap, sa_raw_size(size), zero);
  if (p != NULL) sa_debug_on_alloc(p, size);
  return p;
}

void* sa_heap_malloc_zero(sa_heap_t* heap, size_t size, bool zero) { return heap_malloc(heap, size, zero); }

sa_decl_export void* sa_malloc(size_t size) { return heap_malloc(sa_heap_default, size, false); }

/* An allocation by a thread whose exit clean-up has run: from the orphan heap. */
static void* orphan_malloc(size_t size, bool zero) {
  void* p = sa_heap_malloc_zero(sa_orphan_acquire(), size, zero);
  sa_orphan_release();
  return p;
}

/* Every allocation that is not a pop from a direct page and not a refill. */
static sa_decl_noinline void* heap_malloc_slow(size_t size, sa_heap_t* heap, bool zero) {
  if (sa_unlikely(heap == &sa_heap_empty)) {
    if (sa_thread_has_exited()) return orphan_malloc(size, zero);
    heap = sa_heap_for_thread();
    if (heap == NULL) {
      errno = ENOMEM;
      return NULL;
    }
  }
  if (sa_unlikely(size > SA_MAX_REQUEST)) {
    errno = ENOMEM;
    return NULL;
  }
  sa_tld_t* tld = heap->tld;
  tld->stats.malloc_slow++;
  sa_remote_batch_flush();
  if (sa_unlikely(atomic_load_explicit(&tld->poked, memory_order_relaxed))) sa_heap_poked(heap);
  sa_heap_generic_tick(heap);
  if (atomic_load_explicit(&heap->notified, memory_order_relaxed) != NULL) {
    sa_heap_drain_notified(heap);
  }
  /* huge blocks keep no canary (a guard follows them): not the word more */
  if (sa_unlikely(size > SA_LARGE_OBJ_MAX)) return sa_huge_alloc(heap, size - SA_CANARY_SIZE, 0, zero);

  sa_page_t* page = sa_page_find_free(heap, sa_bin_of(size));
  if (sa_unlikely(page == NULL)) {
    errno = ENOMEM;
    return NULL;
  }
  void* p = page_pop(page);
  if (zero) memset(p, 0, size - SA_CANARY_SIZE);
  return p;
}

/* Whether a generic call of the thread, its heartbeat's `beat`-th, has nothing to
 * do but find a block: no remote frees batched, no poke, no full page that got
 * room, and no clock check at this beat (every SA_CLOCK_CHECK_INTERVAL-th). Each
 * of these is the slow path's. */
static inline bool heap_nothing_due(const sa_heap_t* heap, const sa_tld_t* tld, uint64_t beat) {
  return atomic_load_explicit(&sa_remote_batch.page, memory_order_relaxed) == NULL &&
         !atomic_load_explicit(&tld->poked, memory_order_relaxed) &&
         atomic_load_explicit(&((sa_heap_t*)heap)->notified, memory_order_relaxed) == NULL &&
         beat % SA_CLOCK_CHECK_INTERVAL != 0;
}

/* Every allocation that is not a pop from a direct page ends up here. The common
 * case first: the direct page's local list refills its free list (cfrac: 99% of
 * generic calls). It makes no call, so it needs no stack frame, and takes about a
 * third of the slow path's instructions. */
sa_decl_noinline void* sa_heap_malloc_generic(size_t size, sa_heap_t* heap, bool zero) {
  if (sa_likely(size <= SA_DIRECT_MAX)) {
    sa_page_t* page = sa_direct_page(heap, size);
    /* refillable: not the empty page, so heap is a real one with its tld */
    if (sa_page_refillable(page)) {
      sa_tld_t* tld = heap->tld;
      uint64_t beat = atomic_load_explicit(&tld->heartbeat, memory_order_relaxed) + 1;
      if (sa_unlikely(!heap_nothing_due(heap, tld, beat))) return heap_malloc_slow(size, heap, zero);
      atomic_store_explicit(&tld->heartbeat, beat, memory_order_relaxed); /* sa_heartbeat_tick */
      tld->stats.malloc_slow++;
      sa_page_refill(page);
      void* p = page_pop(page);
      if (zero) memset(p, 0, size - SA_CANARY_SIZE);
      return p;
    }
  }
  return heap_malloc_slow(size, heap, zero);
}

sa_decl_export void* sa_zalloc(size_t size) { return sa_heap_malloc_zero(sa_heap_default, size, true); }

sa_decl_export void* sa_calloc(size_t n, size_t size) {
  size_t total;
  if (sa_unlikely(sa_mul_overflows(n, size, &total))) {
    errno = ENOMEM;
    return NULL;
  }
  return sa_heap_malloc_zero(sa_heap_default, total, true);
}

/* ---- realloc ------------------------------------------------------------------ */

/* A shrinking realloc moves the block (allocate, copy, free) when the size class of
 * the new size would use less than 1/SA_REALLOC_SHRINK_RATIO of the block: keeping it
 * would waste more than the block's own new size, for as long as the block lives
 * (realloc(malloc(1 MiB), 100) would hold 1 MiB). A block that stays within a factor
 * 2 keeps its place, so a string trimmed a little or a buffer that shrinks and grows
 * again costs no copy; the copy of a move is at most half the old block, i.e. no more
 * than the realloc that grew it. Huge blocks shrinking to another huge size give
 * their tail back with mremap instead (sa_huge_realloc: no copy). */
#define SA_REALLOC_SHRINK_RATIO 2

/* True when a block of `capacity` bytes that must now hold `raw` bytes (at most
 * capacity) is better moved to a smaller block. */
static bool shrink_should_move(const sa_segment_t* segment, size_t capacity, size_t raw) {
  /* Huge to huge: mremap gives the tail back in place, except in a reserved arena,
   * whose slots keep their size (sa_huge_realloc): there the block moves. */
  if (raw > SA_LARGE_OBJ_MAX) return sa_arena_contains(segment) && raw < capacity / SA_REALLOC_SHRINK_RATIO;
  size_t need = sa_bin_block_size(sa_bin_of(raw)) - SA_CANARY_SIZE; /* usable, as capacity is */
  if (segment->kind != SA_PAGE_HUGE && need >= capacity) return false; /* same class */
  return need < capacity / SA_REALLOC_SHRINK_RATIO;
}

void* sa_heap_realloc_zero(sa_heap_t* heap, void* p, size_t newsize, bool zero) {
  if (p == NULL) return sa_heap_malloc_zero(heap, newsize, zero);
  if (sa_unlikely(newsize > SA_MAX_REQUEST)) {
    errno = ENOMEM;
    return NULL;
  }
  bool valid = SA_DEBUG ? sa_debug_check_live(p, "realloc") : sa_check_pointer(p, "realloc");
  if (!valid) {
    errno = EINVAL;
    return NULL;
  }
  /* capacity: what the block can hold; usable: what the caller may rely on (the
   * same, except in debug builds, which keep the requested size and a trailer). */
  size_t capacity = sa_usable_size_of(p);
  size_t usable = SA_DEBUG ? sa_debug_usable_size(p) : capacity;
  /* A block stays where it is when the new size fits and wastes at most half of it
   * (shrink_should_move); huge blocks grow by mremap and give their tail back. */
  sa_segment_t* segment = sa_segment_of(p);
  size_t raw = sa_raw_size(newsize);
  bool fits = newsize + SA_DEBUG_TRAILER <= capacity;
  bool move_smaller = fits && shrink_should_move(segment, capacity, raw);
  bool in_place = !move_smaller && (segment->kind == SA_PAGE_HUGE ? sa_huge_realloc(p, newsize + SA_DEBUG_TRAILER) != NULL
                                                                  : fits);
  if (in_place) {
    sa_debug_on_alloc(p, newsize);
    return p;
  }
  void* q = sa_heap_malloc_zero(heap, newsize, false);
  if (q == NULL && move_smaller) {
    /* Shrinking never fails: without memory for the smaller copy the block stays (a
     * huge one gives its tail back if it can; if not, it is simply larger). */
    if (segment->kind == SA_PAGE_HUGE) (void)sa_huge_realloc(p, newsize + SA_DEBUG_TRAILER);
    sa_debug_on_alloc(p, newsize);
    return p;
  }
  if (q == NULL) return NULL; /* errno is ENOMEM; p stays valid */
  size_t keep = usable < newsize ? usable : newsize;
  memcpy(q, p, keep);
  if (zero && newsize > keep) memset((uint8_t*)q + keep, 0, newsize - keep);
  sa_free(p);
  return q;
}

/* realloc(p, 0) frees p and returns NULL, as glibc does (C23 leaves it undefined). */
sa_decl_export void* sa_realloc(void* p, size_t newsize) {
  if (p != NULL && newsize == 0) {
    sa_free(p);
    return NULL;
  }
  return sa_heap_realloc_zero(sa_heap_default, p, newsize, false);
}

sa_decl_export void* sa_reallocarray(void* p, size_t n, size_t size) {
  size_t total;
  if (sa_unlikely(sa_mul_overflows(n, size, &total))) {
    errno = ENOMEM;
    return NULL;
  }
  return sa_realloc(p, total);
}

/* ---- sizes ------------------------------------------------------------------------ */

/* The bytes from p to the end of its block, less the secure build's canary. */
static inline size_t usable_size_in(const sa_segment_t* segment, const sa_page_t* page, const void* p) {
  uint8_t flags = sa_page_flags_shared(page);
  if (sa_unlikely(flags & SA_PAGE_IS_HUGE)) {
    return (size_t)(sa_huge_block_end(segment) - (const uint8_t*)p);
  }
  const uint8_t* block = (const uint8_t*)p;
  if (flags & SA_PAGE_HAS_ALIGNED) block = (const uint8_t*)sa_page_block_of(page, p);
  return page->block_size - (size_t)((const uint8_t*)p - block) - SA_CANARY_SIZE;
}

size_t sa_usable_size_of(const void* p) {
  sa_segment_t* segment = sa_segment_of(p);
  return usable_size_in(segment, sa_page_of(segment, p), p);
}

sa_decl_export size_t sa_usable_size(const void* p) {
  sa_page_t* page = sa_plausible_page(p);
  if (sa_likely(page != NULL)) return SA_DEBUG ? sa_debug_usable_size(p) : usable_size_in(sa_segment_of(p), page, p);
  if (p != NULL) (void)sa_check_pointer(p, "malloc_usable_size"); /* reports what is wrong */
  return 0;
}

sa_decl_export size_t sa_good_size(size_t size) {
  if (SA_DEBUG) return size; /* debug builds report exactly the requested size */
  /* No request beyond SA_MAX_REQUEST can succeed; rounding it up could wrap to 0. */
  if (size > SA_MAX_REQUEST) return size;
  size_t raw = sa_raw_size(size); /* with canaries: the word more a block takes */
  if (raw > SA_LARGE_OBJ_MAX) return sa_align_up(size, sa_os_page_size());
  return sa_bin_block_size(sa_bin_of(raw)) - SA_CANARY_SIZE;
}

/* ---- heap-specific ------------------------------------------------------------- */

sa_decl_export void* sa_heap_malloc(sa_heap_t* heap, size_t size) {
  return sa_heap_malloc_zero(heap, size, false);
}

sa_decl_export void* sa_heap_zalloc(sa_heap_t* heap, size_t size) {
  return sa_heap_malloc_zero(heap, size, true);
}

sa_decl_export void* sa_heap_calloc(sa_heap_t* heap, size_t n, size_t size) {
  size_t total;
  if (sa_unlikely(sa_mul_overflows(n, size, &total))) {
    errno = ENOMEM;
    return NULL;
  }
  return sa_heap_malloc_zero(heap, total, true);
}

sa_decl_export void* sa_heap_realloc(sa_heap_t* heap, void* p, size_t newsize) {
  if (p != NULL && newsize == 0) {
    sa_free(p);
    return NULL;
  }
  return sa_heap_realloc_zero(heap, p, newsize, false);
}

/* ---- strings ------------------------------------------------------------------------ */

sa_decl_export char* sa_strdup(const char* s) {
  if (s == NULL) return NULL;
  size_t n = strlen(s) + 1;
  char* copy = sa_malloc(n);
  if (copy != NULL) memcpy(copy, s, n);
  return copy;
}

sa_decl_export char* sa_strndup(const char* s, size_t n) {
  if (s == NULL) return NULL;
  size_t len = strnlen(s, n);
  char* copy = sa_malloc(len + 1);
  if (copy == NULL) return NULL;
  memcpy(copy, s, len);
  copy[len] = 0;
  return copy;
}

/* ---- standard names (see override.c for the C++ operators) ------------------------ */

SA_ALSO_NAMED(malloc, sa_malloc)
SA_ALSO_NAMED(calloc, sa_calloc)
SA_ALSO_NAMED(realloc, sa_realloc)
SA_ALSO_NAMED(reallocarray, sa_reallocarray)
SA_ALSO_NAMED(malloc_usable_size, sa_usable_size)
SA_ALSO_NAMED(__libc_malloc, sa_malloc)
SA_ALSO_NAMED(__libc_calloc, sa_calloc)
SA_ALSO_NAMED(__libc_realloc, sa_realloc)
