/* segment_map.c: a segment's layout, mapping and unmapping, and the map of which
 * address ranges are segments (floor 4, see README.md). With it any pointer can be
 * checked for being ours without touching memory that may not be mapped. */
#include "internal.h"

/* ---- the segment map: which SA_SEGMENT_SIZE regions are our segments ------------
 * One entry per possible segment in the address space (internal.h: a bit, or in the
 * secure build a byte), zero-initialised static memory of which only the touched
 * pages cost anything. */
#if SA_SECURE_DOUBLE_FREE
_Atomic(uint8_t) sa_segment_entries[SA_SEGMENT_MAP_ENTRIES];

void sa_segment_map_mark(const sa_segment_t* segment, bool present) {
  size_t index = (uintptr_t)segment >> SA_SEGMENT_SHIFT;
  if (index < SA_SEGMENT_MAP_ENTRIES) atomic_store_explicit(&sa_segment_entries[index], present, memory_order_release);
}
#else
_Atomic(uint64_t) sa_segment_entries[SA_SEGMENT_MAP_ENTRIES / SA_BITS_PER_WORD];

void sa_segment_map_mark(const sa_segment_t* segment, bool present) {
  size_t index = (uintptr_t)segment >> SA_SEGMENT_SHIFT;
  if (index >= SA_SEGMENT_MAP_ENTRIES) return;
  uint64_t bit = (uint64_t)1 << (index % SA_BITS_PER_WORD);
  if (present) atomic_fetch_or_explicit(&sa_segment_entries[index / SA_BITS_PER_WORD], bit, memory_order_release);
  else atomic_fetch_and_explicit(&sa_segment_entries[index / SA_BITS_PER_WORD], ~bit, memory_order_release);
}
#endif

sa_decl_export bool sa_is_in_heap_region(const void* p) {
  return p != NULL && sa_segment_holds(sa_segment_of(p), p);
}

/* A pointer is plausible when its segment carries the cookie only shardalloc writes
 * and it points into a page in use (sa_plausible_page, inline; this says what
 * is wrong). Release builds check on realloc and malloc_usable_size; debug builds
 * on every free. */
bool sa_check_pointer(const void* p, const char* operation) {
  if (((uintptr_t)p & (SA_WORD_SIZE - 1)) != 0) {
    sa_error(EINVAL, "%s: invalid pointer %p (unaligned)", operation, p);
    return false;
  }
  if (!sa_is_in_heap_region(p)) {
    sa_error(EINVAL, "%s: invalid pointer %p (not allocated by shardalloc)", operation, p);
    return false;
  }
  sa_segment_t* segment = sa_segment_of(p);
  sa_page_t* page = sa_page_of(segment, p);
  if (!page->in_use || (uint8_t*)p < page->start) {
    sa_error(EINVAL, "%s: invalid pointer %p (not a live block)", operation, p);
    return false;
  }
  return true;
}

/* ---- geometry -------------------------------------------------------------------- */

size_t sa_segment_header_size_max(void) {
  return sa_align_up(sizeof(sa_segment_t) + SA_SMALL_PAGES_PER_SEGMENT * sizeof(sa_page_t), SA_SEGMENT_HEADER_ALIGN);
}

size_t sa_segment_header_size(size_t page_count) {
#if SA_SECURE_GUARD_PAGES
  /* Secure build: every kind keeps the largest header and a guard page after it, at
   * one place whatever kind a cached segment is reused as (sa_secure_guard_segment). */
  (void)page_count;
  return sa_segment_header_size_max() + SA_GUARD_SIZE;
#else
  return sa_align_up(sizeof(sa_segment_t) + page_count * sizeof(sa_page_t), SA_SEGMENT_HEADER_ALIGN);
#endif
}

/* The part of every segment that is never purged: the largest header of any kind
 * (a small segment's). A segment is reused as another kind, from a cache, and its
 * new header must land in memory that is still read-write (eager_commit off). */
size_t sa_segment_header_keep(void) { return sa_segment_header_size(SA_SMALL_PAGES_PER_SEGMENT); }

/* The bytes of a page that hold blocks: the first page gives up the header. */
size_t sa_page_usable_area(const sa_segment_t* segment, const sa_page_t* page, uint8_t** start) {
  size_t index = (size_t)(page - segment->pages);
  size_t page_size = segment->kind == SA_PAGE_HUGE ? segment->size : (size_t)1 << segment->page_shift;
  uint8_t* page_start = (uint8_t*)segment + index * page_size;
  size_t skip = index == 0 ? sa_segment_header_size(segment->page_count) : 0;
  *start = page_start + skip;
  /* Secure build: the segment's last OS page is a guard (sa_secure_guard_segment);
   * with page guards every page's last OS page is one (sa_secure_page_guard). */
  bool last = index + 1 == segment->page_count;
  size_t tail_guard = segment->kind == SA_PAGE_HUGE ? 0 : last ? SA_GUARD_SIZE : SA_PAGE_GUARD_SIZE;
  return page_size - skip - tail_guard;
}

/* ---- mapping and unmapping --------------------------------------------------------- */

/* Whether large OS pages are still worth trying: off after the first refusal. */
static _Atomic(bool) large_pages_refused;

/* Maps `size` bytes for a segment; (segment + offset) is aligned to `alignment`.
 * In order: reserved arenas, large OS pages (allow_large_os_pages), plain pages;
 * with limit_os_alloc only the arenas. Segments that are not committed up front
 * (eager_commit off) get their header committed here and their pages on use. */
sa_segment_t* sa_segment_map(size_t size, size_t alignment, size_t offset, bool commit) {
  sa_segment_t* segment = NULL;
  bool large_pages = false;
  if (alignment == SA_SEGMENT_SIZE && offset == 0) segment = sa_arena_alloc(size, &large_pages);
  if (segment == NULL && sa_option_is_enabled(sa_option_limit_os_alloc)) {
    errno = ENOMEM;
    return NULL;
  }
  if (segment != NULL) commit = true;
  if (segment == NULL && sa_option_is_enabled(sa_option_allow_large_os_pages) &&
      size % SA_LARGE_OS_PAGE_SIZE == 0 && offset == 0 &&
      !atomic_load_explicit(&large_pages_refused, memory_order_relaxed)) {
    segment = sa_mem_alloc_large_pages(size, alignment, SA_LARGE_OS_PAGE_SIZE);
    if (segment != NULL) {
      large_pages = commit = true;
    } else if (!atomic_exchange(&large_pages_refused, true)) {
      sa_warning("no 2 MiB huge OS pages available (see /proc/sys/vm/nr_hugepages): using normal pages%s",
                 sa_option_is_enabled(sa_option_allow_thp) ? " with transparent huge pages" : "");
    }
  }
  if (segment == NULL) {
    segment = sa_mem_alloc_aligned(size, alignment, offset, commit);
    if (segment == NULL) return NULL;
    /* Without allow_thp the kernel must not back us with transparent huge pages;
     * with allow_large_os_pages (when no real ones are left) we ask for them. Not by
     * default: a touched 4 KiB would cost 2 MiB of RSS, and on these VMs even dense
     * huge blocks ran slower with them (malloc-large: 1.2-1.8 s against 0.8 s). */
    if (!sa_option_is_enabled(sa_option_allow_thp)) sa_os_advise_thp(segment, size, false);
    else if (sa_option_is_enabled(sa_option_allow_large_os_pages)) sa_os_advise_thp(segment, size, true);
  }
  if (!commit && !sa_mem_commit(segment, sa_segment_header_keep())) {
    sa_mem_free(segment, size, 0);
    errno = ENOMEM;
    return NULL;
  }
  sa_segment_map_mark(segment, true);
  segment->is_committed = commit;
  segment->large_pages = large_pages;
  return segment;
}

/* Bytes of the segment that are read-write (all, unless it commits on use). */
static size_t segment_committed_bytes(const sa_segment_t* segment) {
  if (segment->is_committed) return segment->size;
  size_t bytes = sa_segment_header_keep();
  for (uint32_t i = 0; i < segment->page_count; i++) {
    if (segment->pages[i].is_committed) bytes += (size_t)1 << segment->page_shift;
  }
  return bytes;
}

void sa_segment_unmap(sa_segment_t* segment) {
  sa_segment_map_mark(segment, false);
  segment->cookie = 0;
#if SA_SECURE_ANY_GUARD
  /* an arena slot is reused as any kind: its next user lays out its own guards */
  if (sa_arena_contains(segment)) sa_secure_unguard(segment, segment->size);
#endif
  if (!sa_arena_free(segment, segment->size)) sa_mem_free(segment, segment->size, segment_committed_bytes(segment));
}

/* ---- guard pages (the secure build) ------------------------------------------------ */
#if SA_SECURE_ANY_GUARD
/* Whether a guard could not be protected was said already (once a process). */
static _Atomic(bool) guard_failure_told;

void sa_secure_protect(void* p, size_t size) {
  if (sa_os_protect(p, size, false)) return;
  /* mprotect splits a mapping in three: the likely cause is vm.max_map_count. The
   * memory stays usable, only without this guard. */
  if (!atomic_exchange_explicit(&guard_failure_told, true, memory_order_relaxed)) {
    sa_warning("could not protect the guard page at %p (mprotect failed: too many mappings? see "
               "/proc/sys/vm/max_map_count): going on without it", p);
  }
}

void sa_secure_protect_guard(void* p) {
  if (sa_os_page_size() == SA_OS_PAGE_MIN) sa_secure_protect(p, SA_OS_PAGE_MIN);
}

void sa_secure_unguard(void* p, size_t size) { sa_os_protect(p, size, true); }

/* The page after the largest header (sa_segment_header_size) and the segment's last
 * page. Large OS pages cannot be split: they keep no guards. */
void sa_secure_guard_segment(sa_segment_t* segment) {
  if (segment->large_pages || SA_GUARD_SIZE == 0) return;
  size_t header = sa_segment_header_size_max();
  sa_secure_protect_guard((uint8_t*)segment + header);
  sa_secure_protect_guard((uint8_t*)segment + SA_SEGMENT_SIZE - SA_GUARD_SIZE);
}
#endif

#if SA_SECURE_PAGE_GUARDS
/* Which pages' end guards are inaccessible, and for which page size. Protected when
 * a page is first used (sa_segment_page_alloc), not when the segment is laid out: a
 * guard splits a mapping, and pages never used cost no mapping. Kept in the header
 * just past the largest kind's page structures, which every kind keeps
 * (sa_segment_header_size) and segment_init does not clear (it clears only its own
 * kind's), so that the guards are known through the segment's reuse from a cache. */
typedef struct page_guards_s {
  uint64_t protected_mask; /* bit i: the last OS page of page i is a guard */
  uint8_t page_shift;      /* the page size they lie at (0: none laid yet) */
} page_guards_t;
#define SA_PAGE_GUARDS_OFFSET (sizeof(sa_segment_t) + SA_SMALL_PAGES_PER_SEGMENT * sizeof(sa_page_t))
_Static_assert(SA_PAGE_GUARDS_OFFSET % SA_SEGMENT_HEADER_ALIGN != 0 &&
                   SA_PAGE_GUARDS_OFFSET % SA_SEGMENT_HEADER_ALIGN + sizeof(page_guards_t) <= SA_SEGMENT_HEADER_ALIGN,
               "the page guards' record fits in the largest header's last unit");
_Static_assert(SA_SMALL_PAGES_PER_SEGMENT <= SA_BITS_PER_WORD, "one bit per page");

static page_guards_t* page_guards_of(sa_segment_t* segment) {
  return (page_guards_t*)((uint8_t*)segment + SA_PAGE_GUARDS_OFFSET);
}

void sa_secure_page_guards_forget(sa_segment_t* segment) { *page_guards_of(segment) = (page_guards_t){0, 0}; }

/* The segment is reused as a kind of another page size: the old guards lie inside
 * the new pages. Where the segment is read-write throughout, one call makes the run
 * from the first to the last of them read-write (what lies between is read-write
 * already, and no segment guard is in it); where pages commit on use (eager_commit
 * off), the commit of the page around each one does it. */
static void page_guards_clear(sa_segment_t* segment, page_guards_t* guards) {
  uint64_t mask = guards->protected_mask;
  if (mask != 0 && segment->is_committed) {
    size_t first = (size_t)__builtin_ctzll(mask), last = (size_t)(SA_BITS_PER_WORD - 1 - __builtin_clzll(mask));
    uint8_t* from = (uint8_t*)segment + ((first + 1) << guards->page_shift) - SA_PAGE_GUARD_SIZE;
    uint8_t* to = (uint8_t*)segment + ((last + 1) << guards->page_shift);
    sa_secure_unguard(from, (size_t)(to - from));
  }
  guards->protected_mask = 0;
  guards->page_shift = segment->page_shift;
}

void sa_secure_page_guard(sa_segment_t* segment, size_t index, bool recommitted) {
  if (segment->large_pages) return; /* large OS pages cannot be split: no guards */
  page_guards_t* guards = page_guards_of(segment);
  if (guards->page_shift != segment->page_shift) page_guards_clear(segment, guards);
  if (index + 1 >= segment->page_count) return; /* it ends at the segment's own guard */
  uint64_t bit = (uint64_t)1 << index;
  if (recommitted) guards->protected_mask &= ~bit; /* the commit made it read-write */
  if (guards->protected_mask & bit) return;
  uint8_t* page_end = (uint8_t*)segment + ((index + 1) << segment->page_shift);
  sa_secure_protect_guard(page_end - SA_PAGE_GUARD_SIZE);
  guards->protected_mask |= bit; /* also when it failed: no retry on every use */
}
#endif
