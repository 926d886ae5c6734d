/* debug.c: the checks of the debug build (SA_DEBUG=1). Release builds compile none
 * of this; see allocator/tests/faults/README.md for what each build detects.
 *
 * Every block carries a trailer in its last word: while the block is live it holds
 * the end of the requested bytes (offset from the block start) encoded with the
 * block's address; the bytes between that end and the trailer hold a canary. On
 * free the trailer becomes a "freed" mark and the block body is filled with a
 * pattern. So free can tell a double free (the mark), an overflow (canary or
 * trailer changed), and allocation can tell a write after free (pattern changed)
 * and a corrupted free list (a next pointer outside the page). */
#include "internal.h"

#if SA_DEBUG

#define SA_DEBUG_CANARY 0xCA
#define SA_DEBUG_TRAILER_KEY 0x9E3779B97F4A7C15ULL
#define SA_DEBUG_FREED_KEY 0xF4EED0F4EED0F4EDULL

/* The block of p, its page, and the block's size (huge: up to the mapping end). */
static uint8_t* block_of(const void* p, sa_page_t** page_out, size_t* size_out) {
  sa_segment_t* segment = sa_segment_of(p);
  sa_page_t* page = sa_page_of(segment, p);
  uint8_t* block;
  size_t size;
  uint8_t flags = sa_page_flags_shared(page);
  if (flags & SA_PAGE_IS_HUGE) {
    block = page->start;
    size = (size_t)((uint8_t*)segment + segment->size - block);
  } else {
    block = (flags & SA_PAGE_HAS_ALIGNED) ? (uint8_t*)sa_page_block_of(page, p) : (uint8_t*)p;
    size = page->block_size;
  }
  *page_out = page;
  *size_out = size;
  return block;
}

static uint64_t* trailer_of(uint8_t* block, size_t size) { return (uint64_t*)(block + size - SA_DEBUG_TRAILER); }

/* A live trailer: the end offset in the low 40 bits, a 24-bit check of the block
 * address and the end above them, so that a damaged trailer is noticed (a plain
 * encoding could decode to another plausible size). */
#define SA_DEBUG_END_BITS 40
#define SA_DEBUG_END_MASK (((uint64_t)1 << SA_DEBUG_END_BITS) - 1)
static uint64_t end_check(const uint8_t* block, uint64_t end) {
  uint64_t x = ((uintptr_t)block ^ (end << 7)) * SA_DEBUG_TRAILER_KEY;
  return x >> SA_DEBUG_END_BITS;
}
static uint64_t live_code(const uint8_t* block, size_t end) {
  return ((uint64_t)end & SA_DEBUG_END_MASK) | (end_check(block, end) << SA_DEBUG_END_BITS);
}
static uint64_t freed_code(const uint8_t* block) { return (uintptr_t)block * SA_DEBUG_FREED_KEY; }

void sa_debug_on_alloc(void* p, size_t requested) {
  sa_page_t* page;
  size_t size;
  uint8_t* block = block_of(p, &page, &size);
  size_t end = (size_t)((uint8_t*)p - block) + requested;
  sa_assert(end + SA_DEBUG_TRAILER <= size);
  size_t canary_end = size - SA_DEBUG_TRAILER;
  /* Huge blocks: a bounded canary, not megabytes of it. */
  if (canary_end - end > 4 * SA_KiB) canary_end = end + 4 * SA_KiB;
  memset(block + end, SA_DEBUG_CANARY, canary_end - end);
  *trailer_of(block, size) = live_code(block, end);
}

/* The requested size of a live block, or (size_t)-1 if its trailer is damaged. */
static size_t requested_end(uint8_t* block, size_t size) {
  uint64_t code = *trailer_of(block, size);
  uint64_t end = code & SA_DEBUG_END_MASK;
  if (code >> SA_DEBUG_END_BITS != end_check(block, end)) return (size_t)-1;
  return end <= size - SA_DEBUG_TRAILER ? (size_t)end : (size_t)-1;
}

size_t sa_debug_usable_size(const void* p) {
  sa_page_t* page;
  size_t size;
  uint8_t* block = block_of(p, &page, &size);
  size_t end = requested_end(block, size);
  size_t offset = (size_t)((const uint8_t*)p - block);
  return end == (size_t)-1 || end < offset ? 0 : end - offset;
}

/* Checks a block about to be freed or resized. False (after the report) if it must
 * not be touched. */
bool sa_debug_check_live(const void* p, const char* operation) {
  if (!sa_check_pointer(p, operation)) return false;
  sa_page_t* page;
  size_t size;
  uint8_t* block = block_of(p, &page, &size);
  uint8_t flags = sa_page_flags_shared(page);
  bool interior = (flags & SA_PAGE_IS_HUGE) ? (const uint8_t*)p != block
                  : !(flags & SA_PAGE_HAS_ALIGNED) && (const uint8_t*)p != (uint8_t*)sa_page_block_of(page, p);
  if (interior) {
    sa_error(EINVAL, "%s: invalid pointer %p (not the start of a block)", operation, p);
    return false;
  }
  if (*trailer_of(block, size) == freed_code(block)) {
    sa_error(EINVAL, "%s: double free of %p (the block is already free)", operation, p);
    return false;
  }
  size_t end = requested_end(block, size);
  if (end == (size_t)-1) {
    sa_error(EFAULT, "%s: buffer overflow past the end of block %p (its trailer was overwritten)", operation, p);
    return false;
  }
  size_t canary_end = size - SA_DEBUG_TRAILER;
  if (canary_end - end > 4 * SA_KiB) canary_end = end + 4 * SA_KiB;
  for (size_t i = end; i < canary_end; i++) {
    if (block[i] != SA_DEBUG_CANARY) {
      sa_error(EFAULT, "%s: buffer overflow past the end of block %p (byte %zu of a %zu-byte request written)",
               operation, p, i - end, end - (size_t)((const uint8_t*)p - block));
      return false;
    }
  }
  return true;
}

bool sa_debug_check_sized(const void* p, size_t size) {
  if (!sa_debug_check_live(p, "free_sized")) return false;
  size_t requested = sa_debug_usable_size(p);
  if (size != requested) {
    sa_error(EINVAL, "free_sized: size %zu does not match the block at %p (requested %zu)", size, p, requested);
    return false;
  }
  return true;
}

/* Marks a small block freed and fills it, keeping the free-list word. */
void sa_debug_on_free(sa_page_t* page, sa_block_t* block) {
  /* Counted in the freeing thread's statistics: they balance once merged. */
  if (sa_heap_default != &sa_heap_empty) sa_stat_decrease(&sa_heap_default->tld->stats.bin_blocks[page->bin], 1);
  size_t size = page->block_size;
  if (size > sizeof(sa_block_t) + SA_DEBUG_TRAILER) {
    memset((uint8_t*)block + sizeof(sa_block_t), SA_DEBUG_FREED, size - sizeof(sa_block_t) - SA_DEBUG_TRAILER);
  }
  *trailer_of((uint8_t*)block, size) = freed_code((uint8_t*)block);
}

/* Checks a block just taken from a free list: its fill (write after free) and the
 * next pointer it held (free-list corruption). */
void sa_debug_on_pop(sa_page_t* page, sa_block_t* block, sa_block_t* next) {
  uint8_t* end_of_page = page->start + (size_t)page->capacity * page->block_size;
  if (next != NULL && ((uint8_t*)next < page->start || (uint8_t*)next >= end_of_page ||
                       (size_t)((uint8_t*)next - page->start) % page->block_size != 0)) {
    sa_error(EFAULT, "malloc: corrupted free list in page of %zu-byte blocks (block %p points to %p)",
             page->block_size, (void*)block, (void*)next);
    block->next = NULL; /* continuing: cut the list here, losing its rest rather than following garbage */
    return;
  }
  size_t size = page->block_size;
  if (*trailer_of((uint8_t*)block, size) != freed_code((uint8_t*)block)) return; /* never freed yet */
  const uint8_t* body = (const uint8_t*)block + sizeof(sa_block_t);
  for (size_t i = 0; i + sizeof(sa_block_t) + SA_DEBUG_TRAILER < size; i++) {
    if (body[i] != SA_DEBUG_FREED) {
      sa_error(EFAULT, "malloc: write after free in block %p (byte %zu changed while it was free)", (void*)block,
               i + sizeof(sa_block_t));
      return;
    }
  }
}

#endif /* SA_DEBUG */
