/* arena.c (floor 4, see README.md): memory reserved at start-up (reserve_os_memory, reserve_huge_os_pages),
 * from which segments are carved before the OS is asked; with limit_os_alloc it is
 * the only memory segments come from. An arena is a run of segment-sized slots
 * with a bitmap of the used ones; a huge segment takes several neighbouring slots. */
#include "internal.h"

#define SA_ARENA_MAX 8
#define SA_ARENA_MAX_SLOTS ((size_t)64 * 1024) /* 256 GiB of 4 MiB slots per arena */

typedef struct arena_s {
  uint8_t* start;
  size_t slot_count;
  bool large_pages; /* backed by huge OS pages: purged, never decommitted */
  uint64_t used[SA_ARENA_MAX_SLOTS / SA_BITS_PER_WORD];
} arena_t;

static arena_t arenas[SA_ARENA_MAX];
static size_t arena_count;
static sa_lock_t arena_lock = SA_LOCK_INIT;

static void arena_add(void* start, size_t size, bool large_pages) {
  if (arena_count == SA_ARENA_MAX) return;
  arena_t* arena = &arenas[arena_count];
  arena->start = start;
  arena->slot_count = size / SA_SEGMENT_SIZE;
  if (arena->slot_count > SA_ARENA_MAX_SLOTS) arena->slot_count = SA_ARENA_MAX_SLOTS;
  arena->large_pages = large_pages;
  arena_count++;
}

void sa_arenas_init(void) {
  long huge_pages = sa_option_get(sa_option_reserve_huge_os_pages);
  if (huge_pages > 0) {
    size_t size = (size_t)huge_pages * SA_GIANT_OS_PAGE_SIZE;
    void* p = sa_mem_alloc_large_pages(size, SA_GIANT_OS_PAGE_SIZE, SA_GIANT_OS_PAGE_SIZE);
    if (p != NULL) {
      arena_add(p, size, true);
    } else {
      sa_warning("could not reserve %ld huge OS page(s) of 1 GiB (none free; see /proc/sys/vm/nr_hugepages): "
                 "using normal pages", huge_pages);
    }
  }
  long reserve = sa_option_get(sa_option_reserve_os_memory);
  if (reserve > 0) {
    size_t size = sa_align_up((size_t)reserve, SA_SEGMENT_SIZE);
    void* p = sa_mem_alloc_aligned(size, SA_SEGMENT_SIZE, 0, true);
    if (p != NULL) arena_add(p, size, false);
    else sa_warning("could not reserve %zu bytes of memory at start", size);
  }
}

static bool slot_used(const arena_t* arena, size_t slot) { return arena->used[slot / SA_BITS_PER_WORD] >> (slot % SA_BITS_PER_WORD) & 1; }

static void slots_set(arena_t* arena, size_t first, size_t count, bool used) {
  for (size_t i = first; i < first + count; i++) {
    uint64_t bit = (uint64_t)1 << (i % SA_BITS_PER_WORD);
    if (used) arena->used[i / SA_BITS_PER_WORD] |= bit;
    else arena->used[i / SA_BITS_PER_WORD] &= ~bit;
  }
}

/* A segment-aligned run of free slots for `size` bytes; NULL if no arena has one. */
void* sa_arena_alloc(size_t size, bool* large_pages) {
  size_t need = (size + SA_SEGMENT_SIZE - 1) / SA_SEGMENT_SIZE;
  void* found = NULL;
  sa_lock_acquire(&arena_lock);
  for (size_t a = 0; a < arena_count && found == NULL; a++) {
    arena_t* arena = &arenas[a];
    size_t run = 0;
    for (size_t slot = 0; slot < arena->slot_count; slot++) {
      run = slot_used(arena, slot) ? 0 : run + 1;
      if (run == need) {
        size_t first = slot + 1 - need;
        slots_set(arena, first, need, true);
        found = arena->start + first * SA_SEGMENT_SIZE;
        *large_pages = arena->large_pages;
        break;
      }
    }
  }
  sa_lock_release(&arena_lock);
  return found;
}

static arena_t* arena_of(const void* p) {
  for (size_t a = 0; a < arena_count; a++) {
    const uint8_t* start = arenas[a].start;
    if ((const uint8_t*)p >= start && (const uint8_t*)p < start + arenas[a].slot_count * SA_SEGMENT_SIZE) {
      return &arenas[a];
    }
  }
  return NULL;
}

bool sa_arena_contains(const void* p) { return arena_count > 0 && arena_of(p) != NULL; }

/* Gives a segment's slots back (its memory purged); false if p is not in an arena. */
bool sa_arena_free(void* p, size_t size) {
  if (arena_count == 0) return false;
  arena_t* arena = arena_of(p);
  if (arena == NULL) return false;
  sa_mem_purge(p, size, !arena->large_pages);
  size_t first = (size_t)((uint8_t*)p - arena->start) / SA_SEGMENT_SIZE;
  sa_lock_acquire(&arena_lock);
  slots_set(arena, first, (size + SA_SEGMENT_SIZE - 1) / SA_SEGMENT_SIZE, false);
  sa_lock_release(&arena_lock);
  return true;
}

void sa_arenas_fork_prepare(void) { sa_lock_acquire(&arena_lock); }
void sa_arenas_fork_release(void) { sa_lock_release(&arena_lock); }
