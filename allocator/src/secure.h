/* secure.h: the secure build's protections, each a compile-time flag.
 *
 * SA_SECURE=1 (build/secure) turns on the default set; each flag can also be set on
 * its own (-DSA_SECURE_RANDOM_ORDER=0 to leave one out). In the release build every
 * flag is 0 and every hook below is the plain operation it replaces, so the fast
 * paths compile to exactly what they were. What each flag stops and costs: the
 * table in allocator/SECURITY.md. */
#ifndef SA_SECURE_H
#define SA_SECURE_H

#include "os.h"
#include "types.h"

#ifndef SA_SECURE
#define SA_SECURE 0
#endif
/* Free-list links encoded with per-page random keys (a multiply); checked when popped. */
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
/* An inaccessible OS page right after every huge block (its end rounded up to the
 * OS page): a linear overflow off a huge block's end faults. */
#ifndef SA_SECURE_HUGE_GUARD
#define SA_SECURE_HUGE_GUARD SA_SECURE
#endif
/* Optional, off by default: freed blocks are zeroed (past their link word and free mark). */
#ifndef SA_SECURE_ZERO_ON_FREE
#define SA_SECURE_ZERO_ON_FREE 0
#endif
/* Optional, off by default (mimalloc's "full" level): an inaccessible OS page at the
 * end of every page of a small or medium segment (a large page's end is the
 * segment's guard already): an overflow off a page's last block faults. Costs a
 * mapping (VMA) per page in use: see allocator/SECURITY.md on vm.max_map_count. */
#ifndef SA_SECURE_PAGE_GUARDS
#define SA_SECURE_PAGE_GUARDS 0
#endif
/* Optional, off by default: the last word of every small, medium and large block is
 * a canary, written when the block is handed out and checked when it is freed; the
 * usable size is one word less. Huge blocks have SA_SECURE_HUGE_GUARD instead. */
#ifndef SA_SECURE_CANARY
#define SA_SECURE_CANARY 0
#endif

#if SA_SECURE_DOUBLE_FREE && !SA_SECURE_ENCODED_LISTS
#error "SA_SECURE_DOUBLE_FREE tests block starts with the keys' geometry and names a use after free by the encoded link: it needs SA_SECURE_ENCODED_LISTS"
#endif
#if SA_SECURE_PAGE_GUARDS && !SA_SECURE_GUARD_PAGES
#error "SA_SECURE_PAGE_GUARDS extends the segment's guards (the last page's is the segment's): it needs SA_SECURE_GUARD_PAGES"
#endif
#if SA_SECURE_CANARY && SA_DEBUG
#error "SA_SECURE_CANARY and the debug build both keep the block's last word: the debug build has its own canaries"
#endif

/* The guard page size: the OS page of x86-64 and most aarch64 Linux systems. A
 * system with bigger pages gets no guard (mprotect refuses; the layout stays). */
#define SA_GUARD_SIZE (SA_SECURE_GUARD_PAGES ? SA_OS_PAGE_MIN : 0)
/* The guard at the end of every page (the segment's last page has the segment's). */
#define SA_PAGE_GUARD_SIZE (SA_SECURE_PAGE_GUARDS ? SA_GUARD_SIZE : 0)
/* Whether any guard is ever protected (segment_map.c's helpers exist). */
#define SA_SECURE_ANY_GUARD (SA_SECURE_GUARD_PAGES || SA_SECURE_HUGE_GUARD)

/* The guard after a huge block: one OS page, the last of its segment (huge.c). 0 in
 * builds without it, so that every size computed from it stays as it was. */
static inline size_t sa_huge_guard_size(void) { return SA_SECURE_HUGE_GUARD ? sa_os_page_size() : 0; }
/* The end of a huge segment's block: the guard follows it. */
static inline uint8_t* sa_huge_block_end(const sa_segment_t* segment) {
  return (uint8_t*)segment + segment->size - sa_huge_guard_size();
}

/* ---- free-list links ----------------------------------------------------------
 * encoded = ((next ^ block) * link_key) ^ block, link_key a random odd word (an odd
 * multiplier is a bijection mod 2^64: link_unkey, its inverse, decodes). The block's
 * own address goes in on both sides of the multiply, so that a link copied from one
 * free block into another decodes to noise there, as does the end of a list (no
 * fixed word means NULL). The multiply spreads any change to an encoded word, of one
 * bit or of all 64, over every bit of the decoded link above the lowest bit changed:
 * what a program writes over a link decodes outside its page (sa_link_in_page) but
 * by odds of 2^-40 or less, a page spanning at most 16 MiB of the 2^64. One free
 * block whose link and next are both known gives its product with the key away; what
 * reads a free block is a use after free already. (A difference inside instead of
 * the XOR would make an extension's links of neighbours an XOR each, the product the
 * same for all: one instruction less a pair on cfrac, but 9% more time on
 * glibc-simple, measured, for no reason found.) */
#if SA_SECURE_ENCODED_LISTS
/* The page's key for sa_link_encode: loops that link many blocks keep it in a
 * register (a store to a block might be a store to the page, as far as the
 * compiler knows). */
static inline uintptr_t sa_link_key(const sa_page_t* page) { return page->link_key; }
static inline sa_block_t* sa_link_encode(uintptr_t key, const sa_block_t* block, const sa_block_t* next) {
  uintptr_t b = (uintptr_t)block;
  return (sa_block_t*)((((uintptr_t)next ^ b) * key) ^ b);
}
static inline sa_block_t* sa_link_get(const sa_page_t* page, const sa_block_t* block) {
  uintptr_t b = (uintptr_t)block;
  return (sa_block_t*)((((uintptr_t)block->next ^ b) * page->link_unkey) ^ b);
}
#else
static inline uintptr_t sa_link_key(const sa_page_t* page) { return (void)page, 0; }
static inline sa_block_t* sa_link_encode(uintptr_t key, const sa_block_t* block, const sa_block_t* next) {
  return (void)key, (void)block, (sa_block_t*)next;
}
static inline sa_block_t* sa_link_get(const sa_page_t* page, const sa_block_t* block) {
  (void)page;
  return block->next;
}
#endif
static inline void sa_link_set(const sa_page_t* page, sa_block_t* block, const sa_block_t* next) {
  block->next = sa_link_encode(sa_link_key(page), block, next);
}

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

/* Whether a decoded link points into the page's blocks: a subtraction and a compare.
 * Enough for a popped link and for telling a free block's link from what a program
 * wrote (the encoding spreads any change: see above); a link in range that is no
 * block start would take forging, which takes the keys. */
static inline bool sa_link_in_page(const sa_page_t* page, const sa_block_t* next) {
  return (uintptr_t)next - (uintptr_t)page->start < page->span;
}

#if SA_SECURE_ENCODED_LISTS
/* Whether the block's first word decodes as a free block's link does (NULL, or into
 * the page): true of every block on a free list, and of a block in use only by the
 * odds above (malloc clears the link; what the program writes there decodes to a
 * random word). The double-free check's second opinion (secure.c). */
static inline bool sa_link_looks_free(const sa_page_t* page, const sa_block_t* block) {
  sa_block_t* next = sa_link_get(page, block);
  return next == NULL || sa_link_in_page(page, next);
}
#endif

/* ---- free marks -------------------------------------------------------------------
 * The second word of every free block (16 bytes or more: SA_BIN_MIN) holds its
 * page's free mark, a random word drawn with the page's keys; malloc clears it. So
 * "is this block free?", asked on every free, is one load and one compare, where
 * decoding the link takes a dozen instructions. The mark never reaches a program:
 * it is cleared before a block is handed out, and a page drawn afresh has a new one
 * (what an earlier use of the memory left is no mark of the new page). A word in use
 * equals the mark by the odds of guessing a random 64-bit word. */
#if SA_SECURE_DOUBLE_FREE
static inline uintptr_t* sa_block_mark_slot(const sa_block_t* block) { return (uintptr_t*)block + 1; }
static inline uintptr_t sa_free_mark(const sa_page_t* page) { return page->free_mark; }
static inline void sa_block_set_mark(uintptr_t mark, sa_block_t* block) { *sa_block_mark_slot(block) = mark; }
static inline void sa_block_mark_free(const sa_page_t* page, sa_block_t* block) {
  sa_block_set_mark(sa_free_mark(page), block);
}
static inline bool sa_block_marked_free(const sa_page_t* page, const sa_block_t* block) {
  return *sa_block_mark_slot(block) == page->free_mark;
}
/* A block about to be handed out: neither its link nor its mark reaches the program. */
static inline void sa_block_clear_free(sa_block_t* block) {
  block->next = NULL;
  *sa_block_mark_slot(block) = 0;
}
#else
static inline uintptr_t sa_free_mark(const sa_page_t* page) { return (void)page, 0; }
static inline void sa_block_set_mark(uintptr_t mark, sa_block_t* block) { (void)mark, (void)block; }
static inline void sa_block_mark_free(const sa_page_t* page, sa_block_t* block) { (void)page, (void)block; }
#if SA_SECURE_ENCODED_LISTS
/* The encoded link does not reach the program (a known link would give the keys away). */
static inline void sa_block_clear_free(sa_block_t* block) { block->next = NULL; }
#else
static inline void sa_block_clear_free(sa_block_t* block) { (void)block; }
#endif
#endif

#if SA_SECURE_DOUBLE_FREE
/* The part of sa_secure_check_free that must come before the segment is read: a
 * pointer into one of our segments (sa_segment_is_mapped, internal.h). Alignment is
 * not tested here: a pointer that is not word-aligned is no block start, so it fails
 * sa_page_is_block on every path and the full check reports it. */
#define sa_secure_may_be_ours(p) sa_segment_is_mapped(sa_segment_of(p))
#endif

/* ---- canaries --------------------------------------------------------------------
 * The last word of every block of a small, medium or large page, written when the
 * block is handed out (page_pop) and checked when it is freed, before anything else
 * touches the block. Its value, rotl((block ^ canary_key) * odd, 32), mixes the
 * segment's random key with the block's address: not guessable, and a canary copied
 * from one block is wrong in any other (the key is the segment's: the page's first
 * cache line, which every free reads, is full). The usable size is one word less
 * (SA_CANARY_SIZE), and requests take that word more (sa_raw_size). Huge blocks have
 * the guard after them instead. */
#if SA_SECURE_CANARY
#define SA_CANARY_SIZE SA_WORD_SIZE
#define SA_CANARY_MIX 0x9E3779B97F4A7C15ULL /* odd: the multiply loses nothing */
static inline uintptr_t* sa_canary_slot(const sa_page_t* page, const void* block) {
  return (uintptr_t*)((uint8_t*)block + page->block_size - SA_CANARY_SIZE);
}
static inline uintptr_t sa_canary_of(const void* block) {
  /* the segment's key: no block of a canary build sits at its segment's start */
  const sa_segment_t* segment = (const sa_segment_t*)((uintptr_t)block & ~(uintptr_t)SA_SEGMENT_MASK);
  uintptr_t x = ((uintptr_t)block ^ segment->canary_key) * SA_CANARY_MIX;
  return (x >> (SA_BITS_PER_WORD / 2)) | (x << (SA_BITS_PER_WORD / 2));
}
static inline void sa_canary_set(const sa_page_t* page, sa_block_t* block) {
  *sa_canary_slot(page, block) = sa_canary_of(block);
}
static inline bool sa_canary_intact(const sa_page_t* page, const void* block) {
  return *sa_canary_slot(page, block) == sa_canary_of(block);
}
/* secure.c: a block about to be freed; false (reported: "buffer overflow") when its
 * canary was overwritten, and the block must then be leaked, not reused. */
bool sa_secure_check_canary(const sa_page_t* page, const sa_block_t* block);
#else
#define SA_CANARY_SIZE 0
static inline void sa_canary_set(const sa_page_t* page, sa_block_t* block) { (void)page, (void)block; }
static inline bool sa_canary_intact(const sa_page_t* page, const void* block) {
  return (void)page, (void)block, true;
}
static inline bool sa_secure_check_canary(const sa_page_t* page, const sa_block_t* block) {
  return (void)page, (void)block, true;
}
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
