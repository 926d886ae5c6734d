/* debug.c: the checks of the debug build (SA_DEBUG=1), behind the hooks of
 * debug.h (floor 6, see README.md). Release builds compile none of this; see
 * allocator/tests/README.md for what each build detects.
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
    size = (size_t)(sa_huge_block_end(segment) - block);
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
  if (canary_end - end > SA_DEBUG_CANARY_MAX) canary_end = end + SA_DEBUG_CANARY_MAX;
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
  if (canary_end - end > SA_DEBUG_CANARY_MAX) canary_end = end + SA_DEBUG_CANARY_MAX;
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
void sa_debug_check_pop(sa_page_t* page, sa_block_t* block, sa_block_t* next) {
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

/* ---- the invariant checker ------------------------------------------------------
 * Run by sa_collect (before and after it collects) on the calling thread's heaps:
 * only the owner changes their queues, its pages' free and local lists and its
 * segments' counts, so all of it can be read without a lock. A broken invariant is
 * an allocator bug: reported and aborted, whatever abort_on_error says. Once
 * misuse was reported (a cut list, a leaked block) the heaps are broken by design,
 * and the checker stands down. */

#define SA_CHECK(cond, where, fmt, ...) \
  ((cond) ? (void)0 : sa_fatal("invariant broken at %s: " fmt, (where), __VA_ARGS__))

/* Counts a page's free list (free or local_free): every link a block of the page
 * (inside its carved blocks, at a block start) and no cycle (at most capacity). */
static uint32_t check_block_list(const sa_page_t* page, sa_block_t* list, const char* name, const char* where) {
  uint32_t count = 0;
  uint8_t* end = page->start + (size_t)page->capacity * page->block_size;
  for (sa_block_t* b = list; b != NULL; b = sa_link_get(page, b)) {
    SA_CHECK((uint8_t*)b >= page->start && (uint8_t*)b < end &&
                 (size_t)((uint8_t*)b - page->start) % page->block_size == 0,
             where, "page %p: %s list holds %p, not one of its blocks", (const void*)page, name, (void*)b);
    SA_CHECK(++count <= page->capacity, where, "page %p: %s list is longer than the page's %u blocks (a cycle)",
             (const void*)page, name, page->capacity);
  }
  return count;
}

/* A page of the heap's queue `bin`: its counts, its lists, its segment. */
static void check_page(const sa_heap_t* heap, const sa_page_t* page, size_t bin, const char* where) {
  sa_segment_t* segment = sa_segment_of(page);
  SA_CHECK(page->in_use, where, "page %p in queue %zu is not in use", (const void*)page, bin);
  SA_CHECK(atomic_load_explicit(&((sa_page_t*)page)->heap, memory_order_relaxed) == heap, where,
           "page %p in queue %zu belongs to another heap", (const void*)page, bin);
  SA_CHECK(segment->tld == heap->tld, where, "page %p: its segment is not the heap's thread's", (const void*)page);
  SA_CHECK((page->flags & SA_PAGE_IN_FULL) ? bin == SA_BIN_FULL : page->bin == bin, where,
           "page %p of bin %u (flags %u) sits in queue %zu", (const void*)page, (unsigned)page->bin,
           (unsigned)page->flags, bin);
  SA_CHECK(page->block_size == sa_bin_block_size(page->bin), where, "page %p: block size %zu is not bin %u's",
           (const void*)page, page->block_size, (unsigned)page->bin);
  SA_CHECK(page->capacity <= page->reserved, where, "page %p: capacity %u beyond the %u blocks that fit",
           (const void*)page, page->capacity, page->reserved);
  SA_CHECK(page->used <= page->capacity, where, "page %p: %u used of %u blocks", (const void*)page, page->used,
           page->capacity);
  uint32_t free_count = check_block_list(page, page->free, "free", where);
  uint32_t local_count = check_block_list(page, page->local_free, "local_free", where);
  /* The thread-free word's count is its list's length. Other threads only push in
   * front, so the chain from one reading of the word stays as it is (only this, the
   * owner's, thread takes it). */
  uintptr_t tf = atomic_load_explicit(&((sa_page_t*)page)->thread_free, memory_order_acquire);
  uint32_t thread_count = check_block_list(page, sa_tf_block(tf), "thread_free", where);
  SA_CHECK(thread_count == sa_tf_count(tf), where, "page %p: thread_free list of %u blocks counts %u",
           (const void*)page, thread_count, sa_tf_count(tf));
  /* Blocks freed by other threads (thread_free, batches) still count as used. */
  SA_CHECK(thread_count <= page->used, where, "page %p: %u blocks freed by other threads, %u used",
           (const void*)page, thread_count, page->used);
  SA_CHECK(free_count + local_count + page->used == page->capacity, where,
           "page %p: %u free + %u local_free + %u used != %u carved blocks", (const void*)page, free_count,
           local_count, page->used, page->capacity);
}

/* A queue's links: each page's prev is the one before it, last is the last one. */
static void check_queue(const sa_heap_t* heap, size_t bin, const char* where) {
  const sa_page_queue_t* queue = &heap->queues[bin];
  const sa_page_t* prev = NULL;
  size_t count = 0;
  for (const sa_page_t* page = queue->first; page != NULL; page = page->link.next) {
    SA_CHECK(page->link.prev == prev, where, "queue %zu: page %p links back to %p, not %p", bin,
             (const void*)page, page->link.prev, (const void*)prev);
    SA_CHECK(++count <= SA_SEGMENT_SIZE, where, "queue %zu has a cycle", bin);
    check_page(heap, page, bin, where);
    prev = page;
  }
  SA_CHECK(queue->last == prev, where, "queue %zu: last is %p, not %p", bin, queue->last, (const void*)prev);
}

/* A segment of the thread: its used count is its pages in use. */
static void check_segment(const sa_segment_t* segment, const char* where) {
  uint32_t in_use = 0;
  for (uint32_t i = 0; i < segment->page_count; i++) in_use += segment->pages[i].in_use;
  SA_CHECK(segment->used == in_use, where, "segment %p: used %u but %u pages in use", (const void*)segment,
           segment->used, in_use);
  SA_CHECK(segment->page_count == (segment->kind == SA_PAGE_SMALL    ? SA_SMALL_PAGES_PER_SEGMENT
                                   : segment->kind == SA_PAGE_MEDIUM ? SA_MEDIUM_PAGES_PER_SEGMENT
                                                                     : 1),
           where, "segment %p: %u pages for its kind %u", (const void*)segment, segment->page_count,
           (unsigned)segment->kind);
}

/* A queue of segments with free pages: links, kind, room, the flag. */
static void check_segment_queue(const sa_segment_queue_t* queue, sa_page_kind_t kind, const char* where) {
  const sa_segment_t* prev = NULL;
  for (const sa_segment_t* segment = queue->first; segment != NULL; segment = segment->link.next) {
    SA_CHECK(segment->link.prev == prev, where, "segment queue: %p links back to %p", (const void*)segment,
             segment->link.prev);
    SA_CHECK(segment->kind == kind && segment->in_free_queue && segment->used < segment->page_count, where,
             "segment %p (kind %u, %u of %u pages used) in the queue of free kind-%u segments",
             (const void*)segment, (unsigned)segment->kind, segment->used, segment->page_count, (unsigned)kind);
    check_segment(segment, where);
    prev = segment;
  }
  SA_CHECK(queue->last == prev, where, "segment queue: last is %p, not %p", queue->last, (const void*)prev);
}

void sa_debug_check_heaps(sa_tld_t* tld, const char* where) {
  if (atomic_load_explicit(&sa_errors_reported, memory_order_relaxed) != 0) return;
  for (sa_heap_t* heap = tld->heaps; heap != NULL; heap = heap->next) {
    SA_CHECK(heap->tld == tld, where, "heap %p in the list of another thread's", (void*)heap);
    for (size_t bin = 0; bin < SA_BIN_COUNT; bin++) check_queue(heap, bin, where);
    for (size_t bin = 0; bin < SA_BIN_COUNT; bin++) {
      for (const sa_page_t* page = heap->queues[bin].first; page != NULL; page = page->link.next) {
        check_segment(sa_segment_of(page), where);
      }
    }
  }
  check_segment_queue(&tld->small_free, SA_PAGE_SMALL, where);
  check_segment_queue(&tld->medium_free, SA_PAGE_MEDIUM, where);
}

#endif /* SA_DEBUG */
