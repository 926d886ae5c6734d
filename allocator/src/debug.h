/* debug.h: the debug seam, the one place where the debug build (SA_DEBUG=1) hooks
 * into the paths of the others. Every hook here is called unconditionally by the
 * allocation and free paths; in release and secure builds each compiles to nothing
 * (or to its trivial answer), so the fast paths stay exactly as they were, and no
 * other file needs an `#if SA_DEBUG` block. The checks themselves are debug.c's
 * (floor 6); what each build detects: allocator/tests/README.md. */
#ifndef SA_DEBUG_H
#define SA_DEBUG_H

/* Patterns written into blocks by debug builds, to expose use of stale memory. */
#define SA_DEBUG_UNINIT 0xD0
#define SA_DEBUG_FREED 0xDF

/* Answer in every build (callers test SA_DEBUG first): */
/* The requested size of a live block (its trailer). */
size_t sa_debug_usable_size(const void* p);
/* Checks a block about to be freed or resized; false (reported) if it must not be touched. */
bool sa_debug_check_live(const void* p, const char* operation);
bool sa_debug_check_sized(const void* p, size_t size);

#if SA_DEBUG
void sa_debug_on_alloc(void* p, size_t requested);
void sa_debug_on_free(sa_page_t* page, sa_block_t* block);
void sa_debug_check_pop(sa_page_t* page, sa_block_t* block, sa_block_t* next);
/* The invariant checker: every heap of the thread, their queues, pages and segments. */
void sa_debug_check_heaps(sa_tld_t* tld, const char* where);

/* A block leaves its free list: the link it held, its fill (write after free). */
static inline void sa_debug_on_pop(sa_page_t* page, sa_block_t* block) {
  sa_debug_check_pop(page, block, block->next);
  sa_stat_increase(&atomic_load_explicit(&page->heap, memory_order_relaxed)->tld->stats.bin_blocks[page->bin], 1);
}
/* The block is out: fill it, so that reading it before writing shows. */
static inline void sa_debug_on_popped(sa_page_t* page, sa_block_t* block) {
  memset(block, SA_DEBUG_UNINIT, page->block_size);
}
/* Fresh blocks: forget any trailer an earlier use of this memory left behind. */
static inline void sa_debug_on_extend(sa_page_t* page, uint8_t* first, size_t count) {
  for (size_t i = 0; i < count; i++) *(uint64_t*)(first + (i + 1) * page->block_size - SA_DEBUG_TRAILER) = 0;
}
/* free: true when p may be freed (errno kept). */
static inline bool sa_debug_free_ok(const void* p) {
  int saved_errno = errno;
  bool live = sa_debug_check_live(p, "free");
  errno = saved_errno;
  return live;
}
static inline bool sa_debug_free_sized_ok(const void* p, size_t size) {
  int saved_errno = errno;
  bool ok = sa_debug_check_sized(p, size);
  errno = saved_errno;
  return ok;
}
static inline bool sa_debug_free_aligned_ok(const void* p, size_t alignment) {
  if (!sa_is_power_of_two(alignment) || ((uintptr_t)p & (alignment - 1)) != 0) {
    sa_error(EINVAL, "free_aligned_sized: invalid pointer %p (not aligned to %zu)", p, alignment);
    return false;
  }
  return true;
}
#else
static inline void sa_debug_on_alloc(void* p, size_t requested) { (void)p, (void)requested; }
static inline void sa_debug_on_free(sa_page_t* page, sa_block_t* block) { (void)page, (void)block; }
static inline void sa_debug_check_heaps(sa_tld_t* tld, const char* where) { (void)tld, (void)where; }
static inline void sa_debug_on_pop(sa_page_t* page, sa_block_t* block) { (void)page, (void)block; }
static inline void sa_debug_on_popped(sa_page_t* page, sa_block_t* block) { (void)page, (void)block; }
static inline void sa_debug_on_extend(sa_page_t* page, uint8_t* first, size_t count) {
  (void)page, (void)first, (void)count;
}
static inline bool sa_debug_free_ok(const void* p) { return (void)p, true; }
static inline bool sa_debug_free_sized_ok(const void* p, size_t size) { return (void)p, (void)size, true; }
static inline bool sa_debug_free_aligned_ok(const void* p, size_t alignment) {
  return (void)p, (void)alignment, true;
}
#endif

#endif /* SA_DEBUG_H */
