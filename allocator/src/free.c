/* free.c: freeing (floor 7, see README.md). The fast path pushes onto the page's
 * local list when the calling thread owns the segment and the page needs no
 * special care; a free from another thread goes to remote.c. */
#include "internal.h"

static void sa_free_generic(void* p);
#if SA_SECURE_DOUBLE_FREE
static void sa_free_invalid(void* p);
#endif

/* What every free does to its block before it goes on a list, whoever frees it: the
 * optional zeroing, and the secure build's free mark (secure.h). */
static inline void block_to_free(const sa_page_t* page, sa_block_t* block) {
#if SA_SECURE_ZERO_ON_FREE
  if (page->block_size > sizeof(sa_block_t)) memset(block + 1, 0, page->block_size - sizeof(sa_block_t));
#endif
  sa_block_mark_free(page, block);
}

/* The caller has run the debug build's hook (sa_debug_on_free). */
static inline void page_push_local(sa_page_t* page, sa_block_t* block) {
  block_to_free(page, block);
  sa_link_set(page, block, page->local_free);
  page->local_free = block;
}

sa_decl_export void sa_free(void* p) {
  if (sa_unlikely(p == NULL)) return;
  /* Debug builds, before anything reads the segment: p may not point into one at all. */
  if (!sa_debug_free_ok(p)) return; /* reported; leaking beats corrupting */
#if SA_SECURE_DOUBLE_FREE
  /* Before the segment is read: p may point anywhere. The full check reports it
   * (a tail call: the fast path keeps no stack frame). */
  if (sa_unlikely(!sa_secure_may_be_ours(p))) return sa_free_invalid(p);
#endif
  sa_segment_t* segment = sa_segment_of(p);
  sa_page_t* page = sa_page_of(segment, p);
  if (sa_likely(atomic_load_explicit(&page->xthread_id, memory_order_relaxed) == sa_thread_id())) {
#if SA_SECURE_DOUBLE_FREE
    /* The owner's page, in use, no flags: the rest of sa_secure_check_free's checks
     * come down to these two, inline. */
    if (sa_unlikely(!sa_page_is_block(page, p) || sa_block_marked_free(page, (const sa_block_t*)p))) {
      return sa_free_generic(p); /* the full check: reported there; leaking beats corrupting */
    }
#endif
    if (sa_unlikely(!sa_canary_intact(page, p))) return sa_free_generic(p); /* reported there */
    sa_debug_on_free(page, (sa_block_t*)p);
    page_push_local(page, (sa_block_t*)p);
    if (sa_unlikely(--page->used == 0)) sa_page_retire(atomic_load_explicit(&page->heap, memory_order_relaxed), page);
    return;
  }
  sa_free_generic(p);
}

/* A free into an abandoned segment (abandon.c): false if another thread took the
 * segment over meanwhile. A thread without a heap pushes the block but never takes
 * the segment: it may be past its exit clean-up, and a heap made now would never
 * be ended (nor would the segment). A page it empties counts as a retirement: the
 * freeing thread may do nothing else, and what went back must be purged. */
static bool free_abandoned(sa_segment_t* segment, sa_page_t* page, sa_block_t* block) {
  sa_heap_t* heap = sa_heap_default;
  if (heap != &sa_heap_empty) heap = heap->tld->heap_default;
  switch (sa_segment_free_abandoned(heap == &sa_heap_empty ? NULL : heap, segment, page, block)) {
    case SA_ABANDONED_NOT: return false;
    case SA_ABANDONED_PUSHED: return true;
    case SA_ABANDONED_EMPTIED: break;
  }
  sa_heap_retire_tick(heap);
  return true;
}

#if SA_SECURE_DOUBLE_FREE
/* Secure build: a free of a pointer that is not in one of our segments (sa_free
 * looked). The full check says what it is, and nothing is freed. */
static sa_decl_noinline sa_decl_cold void sa_free_invalid(void* p) { (void)sa_secure_check_free(p); }
#endif

static sa_decl_noinline void free_huge(sa_segment_t* segment, sa_page_t* page) {
  int saved_errno = errno;
  sa_huge_free(segment, page);
  errno = saved_errno;
}

/* A block of an abandoned segment (owner 0) or of the calling thread's own page
 * that sa_free could not take (a full page, an aligned pointer). */
static sa_decl_noinline void free_unowned_or_own(sa_segment_t* segment, sa_page_t* page, sa_block_t* block,
                                                 uintptr_t owner) {
  if (owner == 0) {
    block_to_free(page, block);
    int saved_errno = errno;
    bool freed = free_abandoned(segment, page, block);
    errno = saved_errno;
    if (freed) return;
    owner = atomic_load_explicit(&segment->thread_id, memory_order_acquire); /* taken over meanwhile */
    if (owner != sa_thread_id()) return sa_free_remote(page, block);        /* keeps errno */
  }
  sa_heap_t* heap = atomic_load_explicit(&page->heap, memory_order_relaxed);
  page_push_local(page, block);
  page->used--;
  if (page->flags & SA_PAGE_IN_FULL) sa_page_unfull(heap, page);
  if (page->used == 0) sa_page_retire(heap, page); /* keeps errno */
}

/* Frees that need care, once the secure build's checks passed: huge pages, aligned
 * (interior) pointers, full pages, and blocks of pages that other threads own. The
 * common one, a block of another live thread's page, makes no call but its tail
 * call (so no stack frame) and no system call (so errno stays); the others are out
 * of line, and keep errno where they may make a system call (the huge free, a
 * reclaim, a page retirement, a poke of the owner). */
static inline void free_accepted(sa_segment_t* segment, sa_page_t* page, void* p, uint8_t flags) {
  /* flags: the page's shared flags; only HUGE and HAS_ALIGNED are read here */
  if (sa_unlikely(flags & SA_PAGE_IS_HUGE)) return free_huge(segment, page);
  sa_block_t* block = (sa_block_t*)p;
  if (sa_unlikely(flags & SA_PAGE_HAS_ALIGNED)) block = sa_page_block_of(page, p);
  if (sa_unlikely(!sa_secure_check_canary(page, block))) return; /* reported; leaked, not reused */

  /* The debug build's hook runs once, before the block is on any list. */
  sa_debug_on_free(page, block);
  uintptr_t owner = atomic_load_explicit(&segment->thread_id, memory_order_acquire);
  if (sa_likely(owner != sa_thread_id() && owner != 0)) {
    block_to_free(page, block);
    return sa_free_remote(page, block); /* keeps errno */
  }
  free_unowned_or_own(segment, page, block, owner);
}

#if SA_SECURE_DOUBLE_FREE
/* Secure build: a free that sa_free_generic's inline test did not accept. The full
 * check reports what is wrong, or accepts a huge or aligned block. */
static sa_decl_noinline void free_checked(void* p) {
  if (sa_unlikely(!sa_secure_check_free(p))) return; /* reported; leaking beats corrupting */
  sa_segment_t* segment = sa_segment_of(p);
  sa_page_t* page = sa_page_of(segment, p);
  free_accepted(segment, page, p, sa_page_flags_shared(page));
}
#endif

/* Every free that left sa_free's fast path. */
static sa_decl_noinline void sa_free_generic(void* p) {
  /* Found again rather than passed in: that keeps the fast path's registers free. */
  sa_segment_t* segment = sa_segment_of(p);
  sa_page_t* page = sa_page_of(segment, p);
  uint8_t flags = sa_page_flags_shared(page);
#if SA_SECURE_DOUBLE_FREE
  /* sa_free looked at the segment map, so the segment's header is ours (the fast
   * path trusts it as much). What remains of the full check for the common case, a
   * block start of a page in use without the free mark, inline; anything else (a
   * pointer that is not word-aligned is no block start) goes to the full check. */
  if (sa_unlikely((flags & (SA_PAGE_IS_HUGE | SA_PAGE_HAS_ALIGNED)) != 0 || !page->in_use ||
                  !sa_page_is_block(page, p) || sa_block_marked_free(page, (const sa_block_t*)p))) {
    return free_checked(p);
  }
  flags = 0; /* neither huge nor aligned, as just seen (free_accepted reads no other flag) */
#endif
  free_accepted(segment, page, p, flags);
}

sa_decl_export void sa_free_sized(void* p, size_t size) {
  if (p != NULL && !sa_debug_free_sized_ok(p, size)) return; /* debug builds: reported */
  sa_free(p);
}

sa_decl_export void sa_free_aligned_sized(void* p, size_t alignment, size_t size) {
  if (p != NULL && !sa_debug_free_aligned_ok(p, alignment)) return; /* debug builds: reported */
  sa_free_sized(p, size);
}

/* ---- standard names ------------------------------------------------------------ */

SA_ALSO_NAMED(free, sa_free)
SA_ALSO_NAMED(cfree, sa_free)
SA_ALSO_NAMED(__libc_free, sa_free)
SA_ALSO_NAMED(__libc_cfree, sa_free)
SA_ALSO_NAMED(free_sized, sa_free_sized)
SA_ALSO_NAMED(free_aligned_sized, sa_free_aligned_sized)
/* C++ delete: plain, array, and sized (the block knows its size anyway). */
SA_ALSO_NAMED(_ZdlPv, sa_free)
SA_ALSO_NAMED(_ZdaPv, sa_free)
SA_ALSO_NAMED(_ZdlPvm, sa_free_sized)
SA_ALSO_NAMED(_ZdaPvm, sa_free_sized)
