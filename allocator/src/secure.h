/* secure.h: the secure build's protections, each a compile-time flag.
 *
 * SA_SECURE=1 (build/secure) turns on the default set; each flag can also be set on
 * its own (-DSA_SECURE_RANDOM_ORDER=0 to leave one out). In the release build every
 * flag is 0 and every hook below is the plain operation it replaces, so the fast
 * paths compile to exactly what they were. What each flag stops and costs: the
 * table in allocator/SECURITY.md. */
#ifndef SA_SECURE_H
#define SA_SECURE_H

#include "types.h"

#ifndef SA_SECURE
#define SA_SECURE 0
#endif
/* Free-list links XOR-ed and rotated with per-page random keys; checked when popped. */
#ifndef SA_SECURE_ENCODED_LISTS
#define SA_SECURE_ENCODED_LISTS SA_SECURE
#endif
/* Fresh blocks go on the free list in random order. */
#ifndef SA_SECURE_RANDOM_ORDER
#define SA_SECURE_RANDOM_ORDER SA_SECURE
#endif
/* Every free checks its pointer (ours, a block start) and for a double free. */
#ifndef SA_SECURE_DOUBLE_FREE
#define SA_SECURE_DOUBLE_FREE SA_SECURE
#endif
/* An inaccessible page between a segment's metadata and its first block, and one at
 * the segment's end (no block sits right below another segment's metadata). */
#ifndef SA_SECURE_GUARD_PAGES
#define SA_SECURE_GUARD_PAGES SA_SECURE
#endif
/* Segments mapped at random addresses (an mmap hint from a random base). */
#ifndef SA_SECURE_RANDOM_ADDRESSES
#define SA_SECURE_RANDOM_ADDRESSES SA_SECURE
#endif
/* Optional, off by default: freed blocks are zeroed (past their link word). */
#ifndef SA_SECURE_ZERO_ON_FREE
#define SA_SECURE_ZERO_ON_FREE 0
#endif

#if SA_SECURE_DOUBLE_FREE && !SA_SECURE_ENCODED_LISTS
#error "SA_SECURE_DOUBLE_FREE recognises a free block by its encoded link: it needs SA_SECURE_ENCODED_LISTS"
#endif

/* The guard page size: the OS page of x86-64 and most aarch64 Linux systems. A
 * system with bigger pages gets no guard (mprotect refuses; the layout stays). */
#define SA_GUARD_SIZE (SA_SECURE_GUARD_PAGES ? SA_OS_PAGE_MIN : 0)

/* ---- free-list links ----------------------------------------------------------
 * encoded = rotl(next ^ link_key, r) ^ block, r = link_rotation in 1..63. The
 * block's own address is mixed in so that a link copied from one free block into
 * another does not decode to anything valid there. */
#if SA_SECURE_ENCODED_LISTS
static inline unsigned sa_link_rotation(const sa_page_t* page) { return page->link_rotation; }
static inline sa_block_t* sa_link_get(const sa_page_t* page, const sa_block_t* block) {
  uintptr_t x = (uintptr_t)block->next ^ (uintptr_t)block;
  unsigned r = sa_link_rotation(page);
  x = (x >> r) | (x << (SA_BITS_PER_WORD - r));
  return (sa_block_t*)(x ^ page->link_key);
}
static inline void sa_link_set(const sa_page_t* page, sa_block_t* block, const sa_block_t* next) {
  uintptr_t x = (uintptr_t)next ^ page->link_key;
  unsigned r = sa_link_rotation(page);
  x = (x << r) | (x >> (SA_BITS_PER_WORD - r));
  block->next = (sa_block_t*)(x ^ (uintptr_t)block);
}
#else
static inline sa_block_t* sa_link_get(const sa_page_t* page, const sa_block_t* block) {
  (void)page;
  return block->next;
}
static inline void sa_link_set(const sa_page_t* page, sa_block_t* block, const sa_block_t* next) {
  (void)page;
  block->next = (sa_block_t*)next;
}
#endif

/* Whether p is the start of one of the page's carved blocks, in one multiply: with
 * block_size = m << k (m odd) and inv = m^-1 mod 2^64, rotr((p - start) * inv, k) is
 * the block index when block_size divides the offset and exceeds any index otherwise
 * (also for p below start); see page.c, sa_page_set_geometry. */
static inline bool sa_page_is_block(const sa_page_t* page, const void* p) {
  uintptr_t x = ((uintptr_t)p - (uintptr_t)page->start) * page->block_inverse;
  unsigned k = page->block_shift;
  if (k != 0) x = (x >> k) | (x << (SA_BITS_PER_WORD - k));
  return x < page->capacity;
}

/* Whether a decoded link points into the page's blocks: a subtraction and a compare,
 * where sa_page_is_block takes a multiply. Enough for telling a free block from one
 * in use (sa_link_looks_free): what a program wrote over a block decodes to a random
 * word, in range with odds of 2^-40 or less (a page spans at most 16 MiB of the
 * 2^64). Not enough for a popped link (alloc.c checks a block start there): one bit
 * flipped below the block size stays in range. */
static inline bool sa_link_in_page(const sa_page_t* page, const sa_block_t* next) {
  return (uintptr_t)next - (uintptr_t)page->start < page->span;
}

#if SA_SECURE_ENCODED_LISTS
/* Whether the block's first word decodes as a free block's link does (NULL, or into
 * the page): true of every block on a free list, and of a block in use only by the
 * odds above (malloc clears the link; what the program writes there decodes to a
 * random word). So a free that finds it true is a double free. */
static inline bool sa_link_looks_free(const sa_page_t* page, const sa_block_t* block) {
  sa_block_t* next = sa_link_get(page, block);
  return next == NULL || sa_link_in_page(page, next);
}
#endif

#if SA_SECURE_DOUBLE_FREE
/* The part of sa_secure_check_free that must come before the segment is read: a
 * word-aligned pointer into one of our segments (sa_segment_is_mapped, internal.h). */
#define sa_secure_may_be_ours(p) \
  ((((uintptr_t)(p) & (SA_WORD_SIZE - 1)) == 0) && sa_segment_is_mapped(sa_segment_of(p)))
#endif

/* ---- secure.c (floor 5) ---------------------------------------------------------
 * The random generator is base.c's (sa_secure_random), the guard pages
 * segment_map.c's: see internal.h. */
/* The page's new keys and geometry (page_fresh). */
void sa_secure_page_init(sa_page_t* page);
/* A popped link that is not a block of its page: reported; the list is cut there. */
void sa_secure_bad_link(const sa_page_t* page, const sa_block_t* block, const char* where);
/* The checks of every free: false (reported) when p must not be freed. */
bool sa_secure_check_free(const void* p);

#endif /* SA_SECURE_H */
