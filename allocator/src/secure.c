/* secure.c: the slow parts of the secure build's protections (secure.h): keys, the
 * checks of every free, guard pages (the random generator is base.c's, random
 * addresses memory.c's). Compiled into the secure build only. */
#include "internal.h"

/* ---- pages -------------------------------------------------------------------------- */
#if SA_SECURE_ENCODED_LISTS || SA_SECURE_CANARY

#if SA_SECURE_ENCODED_LISTS
/* The inverse of an odd m mod 2^64, by Newton's iteration: each step doubles the
 * correct low bits (3 from x = m, then 6, 12, 24, 48, 96). */
static uint64_t odd_inverse(uint64_t m) {
  uint64_t inverse = m;
  for (int i = 0; i < 5; i++) inverse *= 2 - m * inverse;
  return inverse;
}
#endif

void sa_secure_page_init(sa_page_t* page) {
#if SA_SECURE_ENCODED_LISTS
  page->link_key = sa_secure_random() | 1; /* odd: invertible */
  page->link_unkey = odd_inverse(page->link_key);
  /* block_size = m << k with m odd */
  size_t size = page->block_size;
  unsigned k = (unsigned)__builtin_ctzl(size);
  page->block_shift = (uint8_t)k;
  page->block_inverse = odd_inverse(size >> k);
#if SA_SECURE_DOUBLE_FREE
  page->free_mark = sa_secure_random() | 1; /* never 0: a block handed out has a 0 there */
#endif
#endif
  (void)page; /* a canary build without encoded lists: the keys are the segment's */
}

#if SA_SECURE_CANARY
bool sa_secure_check_canary(const sa_page_t* page, const sa_block_t* block) {
  if (sa_likely(sa_canary_intact(page, block))) return true;
  sa_error(EFAULT, "free: buffer overflow past the end of block %p (size class %u: %zu-byte blocks, %zu usable; "
           "its canary was overwritten)", (const void*)block, (unsigned)page->bin, page->block_size,
           page->block_size - SA_CANARY_SIZE);
  return false;
}
#endif

#if SA_SECURE_ENCODED_LISTS
void sa_secure_bad_link(const sa_page_t* page, const sa_block_t* block, const char* where) {
  sa_error(EFAULT, "%s: corrupted free list at block %p (size class %u: %zu-byte blocks; link overwritten or forged)",
           where, (const void*)block, (unsigned)page->bin, page->block_size);
}

#endif
#endif /* SA_SECURE_ENCODED_LISTS || SA_SECURE_CANARY */

/* ---- free ---------------------------------------------------------------------------
 * A free block is recognised by its page's free mark in its second word (secure.h):
 * every block on a free list has it, wherever it waits (its page's lists, another
 * thread's batch), and malloc clears it. A word a program wrote equals it by the odds
 * of guessing a random 64-bit word, so the test has no false alarms in practice and
 * catches every double free of a block still free. The link says which double free
 * it is: a link that still decodes into the page, or one overwritten after the first
 * free (a use after free; the list it is on is cut where malloc pops it). Neither
 * can tell a block freed, handed out again and freed (a valid free) from the stale
 * pointer's second free: that one frees the new owner's block. */
#if SA_SECURE_DOUBLE_FREE
static sa_decl_cold bool invalid(const void* p, const char* why, const sa_page_t* page) {
  if (page != NULL) {
    sa_error(EINVAL, "free: invalid pointer %p (%s; size class %u: %zu-byte blocks)", p, why, (unsigned)page->bin,
             page->block_size);
  } else {
    sa_error(EINVAL, "free: invalid pointer %p (%s)", p, why);
  }
  return false;
}

static sa_decl_cold bool double_free(const sa_page_t* page, const sa_block_t* block) {
  if (sa_link_looks_free(page, block)) {
    sa_error(EFAULT, "free: double free of block %p (size class %u: %zu-byte blocks)", (const void*)block,
             (unsigned)page->bin, page->block_size);
  } else {
    sa_error(EFAULT, "free: double free of block %p (size class %u: %zu-byte blocks; its free-list link was "
             "overwritten after the first free: a use after free)", (const void*)block, (unsigned)page->bin,
             page->block_size);
  }
  return false;
}

/* The pointers that are not a block start of a small, medium or large page. */
static sa_decl_cold bool check_unusual(const sa_page_t* page, const void* p, uint8_t flags) {
  if (flags & SA_PAGE_IS_HUGE) {
    /* the start of the block, or its aligned start (the same here) */
    return (const uint8_t*)p == page->start ? true : invalid(p, "not the start of its huge block", page);
  }
  uint8_t* end = page->start + (size_t)page->capacity * page->block_size;
  bool inside = (const uint8_t*)p >= page->start && (const uint8_t*)p < end;
  /* an interior pointer is valid only as an aligned allocation's */
  if (!inside) return invalid(p, "not in a block", page);
  if (!(flags & SA_PAGE_HAS_ALIGNED)) return invalid(p, "not the start of a block", page);
  const sa_block_t* block = sa_page_block_of(page, p);
  if (sa_block_marked_free(page, block)) return double_free(page, block);
  return true;
}

/* On every free: the common case (a block start without the free mark) inline
 * here, everything else out of line. sa_error leaves errno alone. */
bool sa_secure_check_free(const void* p) {
  if (sa_unlikely(((uintptr_t)p & (SA_WORD_SIZE - 1)) != 0)) return invalid(p, "unaligned", NULL);
  if (sa_unlikely(!sa_is_in_heap_region(p))) return invalid(p, "not allocated by shardalloc", NULL);
  sa_segment_t* segment = sa_segment_of(p);
  sa_page_t* page = sa_page_of(segment, p);
  if (sa_unlikely(!page->in_use)) return invalid(p, "not in a page in use: freed twice, or never a block", NULL);
  uint8_t flags = sa_page_flags_shared(page);
  if (sa_unlikely(flags != 0 || !sa_page_is_block(page, p))) {
    if (flags & (SA_PAGE_IS_HUGE | SA_PAGE_HAS_ALIGNED) || !sa_page_is_block(page, p)) {
      return check_unusual(page, p, flags);
    }
  }
  if (sa_unlikely(sa_block_marked_free(page, (const sa_block_t*)p))) return double_free(page, (const sa_block_t*)p);
  return true;
}
#endif /* SA_SECURE_DOUBLE_FREE */
