/* secure.c: the slow parts of the secure build's protections (secure.h): keys, the
 * checks of every free, guard pages, random addresses. Compiled into the secure
 * build only. */
#include <sys/mman.h>
#include <sys/random.h>

#include "internal.h"

/* ---- randomness ------------------------------------------------------------------
 * A per-thread splitmix64 generator: not a cryptographic one, but seeded from the
 * OS per thread, and its outputs (keys, orders, addresses) never leave the process. */
static __thread uint64_t random_state __attribute__((tls_model("initial-exec")));

static uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t sa_secure_random(void) {
  if (sa_unlikely(random_state == 0)) {
    uint64_t seed = 0;
    int saved = errno;
    if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed)) seed = 0;
    errno = saved;
    seed ^= sa_process_key ^ (uint64_t)sa_thread_id() ^ (uint64_t)sa_os_clock_ms() << 20;
    random_state = seed | 1;
  }
  random_state += 0x9E3779B97F4A7C15ull;
  return mix64(random_state);
}

/* ---- pages -------------------------------------------------------------------------- */

void sa_secure_page_init(sa_page_t* page) {
  page->keys[0] = sa_secure_random();
  page->keys[1] = 1 + sa_secure_random() % 63;
  /* block_size = m << k with m odd; m's inverse mod 2^64 by Newton's iteration (each
   * step doubles the correct low bits: 3 from x = m, then 6, 12, 24, 48, 96). */
  size_t size = page->block_size;
  unsigned k = (unsigned)__builtin_ctzl(size);
  uint64_t m = size >> k, inverse = m;
  for (int i = 0; i < 5; i++) inverse *= 2 - m * inverse;
  page->block_shift = (uint8_t)k;
  page->block_inverse = inverse;
}

void sa_secure_bad_link(const sa_page_t* page, const sa_block_t* block, const char* where) {
  sa_error(EFAULT, "%s: corrupted free list at block %p (size class %u: %zu-byte blocks; link overwritten or forged)",
           where, (const void*)block, (unsigned)page->bin, page->block_size);
}

/* ---- free ---------------------------------------------------------------------------
 * A free block is recognised by its link: it decodes (with the page's keys and the
 * block's address) to NULL or to a block of the page. malloc clears the link of every
 * block it hands out, and a program cannot write a value that decodes so without
 * knowing the keys, so an allocated block decodes to garbage: the test has no false
 * alarms in practice (2^-50 per free for arbitrary data) and catches every double
 * free of a block still free, wherever it waits (its page's lists, another thread's
 * batch). It cannot tell a block freed, handed out again and freed (a valid free) from
 * the stale pointer's second free: that one frees the new owner's block. */
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
  sa_error(EFAULT, "free: double free of block %p (size class %u: %zu-byte blocks)", (const void*)block,
           (unsigned)page->bin, page->block_size);
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
  sa_block_t* next = sa_link_get(page, block);
  if (next == NULL || sa_page_is_block(page, next)) return double_free(page, block);
  return true;
}

/* On every free: the common case (a block start whose link does not decode) inline
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
  sa_block_t* next = sa_link_get(page, (const sa_block_t*)p);
  if (sa_unlikely(next == NULL || sa_page_is_block(page, next))) return double_free(page, (const sa_block_t*)p);
  return true;
}

/* ---- guard pages -------------------------------------------------------------------- */

void sa_secure_protect_guard(void* p) {
  int saved = errno;
  if (sa_os_page_size() == SA_GUARD_SIZE) mprotect(p, SA_GUARD_SIZE, PROT_NONE);
  errno = saved;
}

void sa_secure_unguard(void* p, size_t size) {
  int saved = errno;
  mprotect(p, size, PROT_READ | PROT_WRITE);
  errno = saved;
}

/* The page after the largest header (segment.c, segment_header_size) and the
 * segment's last page. Large OS pages cannot be split: they keep no guards. */
void sa_secure_guard_segment(sa_segment_t* segment) {
  if (segment->large_pages) return;
  size_t header = sa_align_up(sizeof(sa_segment_t) + SA_SMALL_PAGES_PER_SEGMENT * sizeof(sa_page_t), 4 * SA_KiB);
  sa_secure_protect_guard((uint8_t*)segment + header);
  sa_secure_protect_guard((uint8_t*)segment + SA_SEGMENT_SIZE - SA_GUARD_SIZE);
}

/* ---- addresses ------------------------------------------------------------------------
 * A hint anywhere in [2^40, 2^46): below the 47-bit user space limit and the segment
 * map's 48 bits, above where the program, its libraries and the brk heap lie. The
 * kernel takes it when the range is free; the caller falls back otherwise. */
#define SA_RANDOM_BASE ((uintptr_t)1 << 40)
#define SA_RANDOM_SPAN ((uintptr_t)1 << 46) - SA_RANDOM_BASE

uintptr_t sa_secure_map_hint(size_t size, size_t alignment, size_t offset) {
  (void)offset;
  if (size >= SA_RANDOM_SPAN / 2) return 0;
  uintptr_t hint = SA_RANDOM_BASE + (uintptr_t)(sa_secure_random() % (SA_RANDOM_SPAN - size));
  return (hint & ~(uintptr_t)(alignment - 1)) + size; /* map_aligned maps just below the hint */
}
