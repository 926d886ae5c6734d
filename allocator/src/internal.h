/* internal.h: every declaration shared between the allocator's files, by floor
 * (README.md: the floor order) and, within a floor, by the file that defines it;
 * with the small inline helpers of the fast paths next to the concern they serve.
 * No .c file declares another file's function itself. A lower floor calls a
 * higher one only through a hook: a function named sa_hook_*, declared here in
 * the caller's section and defined by the higher floor. */
#ifndef SA_INTERNAL_H
#define SA_INTERNAL_H

#include <errno.h>
#include <string.h>

#include "os.h"
#include "types.h"
#include "secure.h"

/* ======== floor 1: base ======================================================== */

#define sa_likely(x) __builtin_expect(!!(x), 1)
#define sa_unlikely(x) __builtin_expect(!!(x), 0)
#define sa_decl_export __attribute__((visibility("default")))
#define sa_decl_noinline __attribute__((noinline))
#define sa_decl_cold __attribute__((cold, noinline))

/* Asks for a pointer about to be returned to be in the return register already.
 * gcc 12 otherwise keeps the malloc fast path's page there and copies the block
 * over before the `ret`: one instruction a malloc (clang needs no hint). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define sa_in_return_register(p) __asm__("" : "+a"(p))
#else
#define sa_in_return_register(p) ((void)0)
#endif

/* Gives a function a standard name too (malloc for sa_malloc, ...) in the builds
 * that replace the C library's allocator. An alias, not a wrapper: no extra call. */
#if defined(__GNUC__) && !defined(__clang__)
#define SA_COPY_ATTRIBUTES(target) __attribute__((copy(target)))
#else
#define SA_COPY_ATTRIBUTES(target)
#endif
#if SA_OVERRIDE
#define SA_ALSO_NAMED(name, target) \
  extern __typeof__(target) name SA_COPY_ATTRIBUTES(target) \
      __attribute__((alias(#target), visibility("default"), used));
#else
#define SA_ALSO_NAMED(name, target)
#endif

/* The debug and secure builds report misuse and abort on it by default; release
 * stays quiet. */
#if SA_DEBUG || SA_SECURE
#define SA_CHECKED 1
#else
#define SA_CHECKED 0
#endif

#if SA_DEBUG
#define sa_assert(cond) ((cond) ? (void)0 : sa_assert_fail(#cond, __FILE__, __LINE__, __func__))
#else
#define sa_assert(cond) ((void)0)
#endif

/* ---- arithmetic ---------------------------------------------------------------- */

static inline size_t sa_align_up(size_t n, size_t alignment) {
  return (n + alignment - 1) & ~(alignment - 1);
}

static inline bool sa_is_power_of_two(size_t n) { return n != 0 && (n & (n - 1)) == 0; }

/* n * size, or false if it overflows. */
static inline bool sa_mul_overflows(size_t n, size_t size, size_t* total) {
  return __builtin_mul_overflow(n, size, total);
}

/* ---- thread identity ------------------------------------------------------------- */

/* The thread pointer: unique among live threads and free to read. */
static inline uintptr_t sa_thread_id(void) {
#if defined(__x86_64__) || defined(__aarch64__)
  /* A builtin, not an asm: the compiler folds the read into the compare of the free
   * fast path (cmp %fs:0, reg: one instruction less a free). */
  return (uintptr_t)__builtin_thread_pointer();
#else
  static __thread uint64_t sa_thread_anchor; /* 8-aligned: the low bits stay free for flags */
  return (uintptr_t)&sa_thread_anchor;
#endif
}

/* ---- statistics counters (per thread: plain; the OS's: atomic) -------------------- */

static inline void sa_stat_increase(sa_stat_count_t* stat, int64_t amount) {
  stat->current += amount;
  stat->total += amount;
  if (stat->current > stat->peak) stat->peak = stat->current;
}

static inline void sa_stat_decrease(sa_stat_count_t* stat, int64_t amount) { stat->current -= amount; }

/* Adds delta to an atomic current value and raises its peak. */
static inline void sa_stat_atomic_add(_Atomic(int64_t)* current, _Atomic(int64_t)* peak, int64_t delta) {
  int64_t now = atomic_fetch_add_explicit(current, delta, memory_order_relaxed) + delta;
  int64_t seen = atomic_load_explicit(peak, memory_order_relaxed);
  while (now > seen && !atomic_compare_exchange_weak(peak, &seen, now)) {
  }
}

/* ---- base.c: locks, errors, the process key, randomness ------------------------------ */

/* A small spin lock for rare, short critical sections. The lock word is the
 * holder's thread id (0: free), taken in one CAS, so that a thread that comes back
 * for a lock it holds (a signal handler that interrupted it inside the allocator)
 * is told so and stopped, instead of spinning for ever. */
typedef struct sa_lock_s {
  _Atomic(uintptr_t) holder;
} sa_lock_t;
#define SA_LOCK_INIT {0}
void sa_lock_acquire(sa_lock_t* lock);
static inline void sa_lock_release(sa_lock_t* lock) {
  atomic_store_explicit(&lock->holder, 0, memory_order_release);
}
/* One step of waiting for another thread (a lock holder, a remote free that is
 * notifying): pause a little, then yield, then sleep, so that a waiter of higher
 * (real-time) priority lets the thread it waits for run. `*spins` starts at 0. */
void sa_spin_wait(unsigned* spins);

/* Reports misuse (bad free, corruption) when show_errors is set, and aborts when
 * abort_on_error is; errno is left alone (free must keep it). */
void sa_error(int err, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reports a state the allocator cannot go on from and aborts, whatever abort_on_error says. */
__attribute__((noreturn)) void sa_fatal(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void sa_warning(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void sa_message(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void sa_assert_fail(const char* cond, const char* file, int line, const char* func);
/* How sa_error reacts (written by options.c from show_errors and abort_on_error). */
extern long sa_opt_abort_on_error;
extern long sa_opt_show_errors;
/* Misuse reported so far: once there was some, the heaps may hold what the
 * invariant checker (debug.c) would call broken (a cut list), by design. */
extern _Atomic(long) sa_errors_reported;

extern uintptr_t sa_process_key; /* random per process (thread.c seeds it), for segment cookies */

#if SA_SECURE_ENCODED_LISTS || SA_SECURE_RANDOM_ORDER || SA_SECURE_RANDOM_ADDRESSES || SA_SECURE_CANARY
/* A random word from the thread's generator (seeded from the OS and the process key). */
uint64_t sa_secure_random(void);
#endif

/* ======== floor 2: os (memory from the OS; the port below it is os.h) ================ */

/* ---- memory.c ------------------------------------------------------------------ */

/* Counters touched from any thread (OS calls, huge blocks): atomic. */
typedef struct sa_os_stats_s {
  _Atomic(int64_t) mmap_calls, munmap_calls, madvise_calls, mremap_calls;
  _Atomic(int64_t) reserved_current, reserved_peak, purged_total, committed_current, committed_peak;
  _Atomic(int64_t) huge_current, huge_peak, huge_total; /* bytes in huge blocks: freed from any thread */
} sa_os_stats_t;
extern sa_os_stats_t sa_os_stats;

/* Maps `size` bytes (a multiple of the page size) of zeroed memory whose address p
 * satisfies (p + offset) % alignment == 0; alignment is a power of two. With
 * `commit` the memory is read-write at once, else inaccessible until sa_mem_commit.
 * Returns NULL (errno ENOMEM) on failure. */
void* sa_mem_alloc_aligned(size_t size, size_t alignment, size_t offset, bool commit);
/* Maps `size` bytes of huge OS pages of `page_size` (2 MiB or 1 GiB), aligned to
 * `alignment` (a multiple of page_size); NULL when the system has none to give. */
void* sa_mem_alloc_large_pages(size_t size, size_t alignment, size_t page_size);
/* Makes reserved memory read-write, or inaccessible again (dropping its contents).
 * Return false if the OS refused. */
bool sa_mem_commit(void* p, size_t size);
bool sa_mem_decommit(void* p, size_t size);
/* Unmaps memory from sa_mem_alloc_aligned (or a page-aligned part of it), of which
 * `committed` bytes were read-write (for the statistics). */
void sa_mem_free(void* p, size_t size, size_t committed);
/* Gives the contents of these pages back (the mapping stays usable): at once with
 * `decommit` (MADV_DONTNEED), else lazily (MADV_FREE). False if the OS refused. */
bool sa_mem_purge(void* p, size_t size, bool decommit);
/* Grows or shrinks a mapping where it stands; NULL if it cannot. */
void* sa_mem_remap(void* p, size_t old_size, size_t new_size);
/* Grows a mapping to new_size at an address p' with (p' + offset) % alignment == 0,
 * moving its pages (no copy, no new faults for them) if it cannot grow in place.
 * Returns the new address, or NULL (the old mapping then stays as it was). */
void* sa_mem_grow_aligned(void* p, size_t old_size, size_t new_size, size_t alignment, size_t offset);

/* ======== floor 3: options, metadata, statistics ========================================= */

/* ---- options.c ---------------------------------------------------------------- */

void sa_options_init(void);
/* The hot options, cached in plain variables (read on slow paths). */
extern long sa_opt_purge_delay_ms;
extern long sa_opt_segment_cache;
extern long sa_opt_remote_batch;

/* ---- metadata.c ------------------------------------------------------------------ */

extern sa_lock_t sa_metadata_lock;
void* sa_metadata_alloc(size_t size); /* zeroed, never freed to the OS */
void sa_metadata_free(void* p, size_t size);

/* ---- stats.c --------------------------------------------------------------------- */

/* Merges an ending thread's counts into the process totals (and clears them). */
void sa_stats_merge_thread(sa_tld_t* tld);
/* The exited threads' totals, plus `own` (NULL: none). */
void sa_stats_totals(sa_stats_t* out, const sa_stats_t* own);
void sa_stats_clear_totals(void);
void sa_stats_fork_prepare(void);
void sa_stats_fork_release(void);

/* ======== floor 4: segments ================================================================ */

/* ---- pointer -> segment -> page (inline) -----------------------------------------
 * Masks p - 1 rather than p: a huge block aligned to a segment boundary or more
 * starts exactly one segment past its segment's header (see huge.c). Every other
 * block starts strictly inside its segment, so both agree for them. */
static inline sa_segment_t* sa_segment_of(const void* p) {
  return (sa_segment_t*)(((uintptr_t)p - 1) & ~(uintptr_t)SA_SEGMENT_MASK);
}

/* The segment map (segment_map.c), read inline by the secure build's free: one entry
 * per possible segment, so that any pointer can be asked about without touching
 * memory that may not be mapped. A bit each (8 MiB of zero-initialised static
 * memory) where only the slow paths read it; a byte each (64 MiB, of which only the
 * pages touched cost memory) in the builds whose every free does: a load and a
 * compare instead of a shift, a load and a bit test. */
#define SA_SEGMENT_MAP_ENTRIES ((size_t)1 << (SA_ADDRESS_BITS - SA_SEGMENT_SHIFT))
#if SA_SECURE_DOUBLE_FREE
extern _Atomic(uint8_t) sa_segment_entries[SA_SEGMENT_MAP_ENTRIES];
static inline bool sa_segment_is_mapped(const sa_segment_t* segment) {
  size_t index = (uintptr_t)segment >> SA_SEGMENT_SHIFT;
  return index < SA_SEGMENT_MAP_ENTRIES && atomic_load_explicit(&sa_segment_entries[index], memory_order_acquire) != 0;
}
#else
extern _Atomic(uint64_t) sa_segment_entries[SA_SEGMENT_MAP_ENTRIES / SA_BITS_PER_WORD];
static inline bool sa_segment_is_mapped(const sa_segment_t* segment) {
  size_t index = (uintptr_t)segment >> SA_SEGMENT_SHIFT;
  if (index >= SA_SEGMENT_MAP_ENTRIES) return false;
  uint64_t word = atomic_load_explicit(&sa_segment_entries[index / SA_BITS_PER_WORD], memory_order_acquire);
  return (word & ((uint64_t)1 << (index % SA_BITS_PER_WORD))) != 0;
}
#endif

static inline sa_page_t* sa_page_of(const sa_segment_t* segment, const void* p) {
  /* The segment is aligned to its size, so p's bits above page_shift and below
   * SA_SEGMENT_SHIFT are the page index: no subtraction of the segment's address.
   * Large and huge segments have one page and a mask of 0 (a huge block aligned to
   * a segment boundary lies past its segment's first 4 MiB: still page 0). */
  size_t offset = ((uintptr_t)p >> segment->page_index_shift) & segment->page_index_mask;
  /* Opaque to the optimiser: else gcc keeps the index and rebuilds the page's address
   * for each field the caller reads (the free fast path took three instructions more). */
  __asm__("" : "+r"(offset));
  return (sa_page_t*)((uint8_t*)segment->pages + offset);
}

/* The kind of page (and segment) that blocks of `block_size` bytes live in. */
static inline sa_page_kind_t sa_page_kind_for(size_t block_size) {
  if (block_size <= SA_SMALL_OBJ_MAX) return SA_PAGE_SMALL;
  if (block_size <= SA_MEDIUM_OBJ_MAX) return SA_PAGE_MEDIUM;
  return SA_PAGE_LARGE;
}

/* The page of p if p is a block shardalloc could have handed out: word-aligned, in
 * a mapped segment that carries the cookie only shardalloc writes, in a page in
 * use; else NULL (and for NULL). Touches no memory that may be unmapped. Inline,
 * for a caller that checks every pointer (malloc_usable_size: redis calls it on
 * every malloc and free); sa_check_pointer says what was wrong. */
/* Whether p lies in `segment` (sa_segment_of(p)) and that is one of our segments. */
static inline bool sa_segment_holds(const sa_segment_t* segment, const void* p) {
  return sa_segment_is_mapped(segment) && segment->cookie == ((uintptr_t)segment ^ sa_process_key) &&
         (uintptr_t)p < (uintptr_t)segment + segment->size;
}

static inline sa_page_t* sa_plausible_page(const void* p) {
  sa_segment_t* segment = sa_segment_of(p);
  if (((uintptr_t)p & (SA_WORD_SIZE - 1)) != 0 || !sa_segment_holds(segment, p)) return NULL;
  sa_page_t* page = sa_page_of(segment, p);
  return page->in_use && (const uint8_t*)p >= page->start ? page : NULL;
}

/* Recomputes page->xthread_id after the page's flags or its segment's owner
 * changed. Thread ids are thread pointers, aligned far beyond the flag bits. */
static inline void sa_page_sync_owner(sa_page_t* page) {
  sa_segment_t* segment = sa_segment_of(page);
  uintptr_t owner = atomic_load_explicit(&segment->thread_id, memory_order_relaxed);
  atomic_store_explicit(&page->xthread_id, owner | page->flags, memory_order_relaxed);
}

/* The page's flags as any thread may read them (the owner changes page->flags;
 * other threads see them through the atomic owner word). */
static inline uint8_t sa_page_flags_shared(const sa_page_t* page) {
  return (uint8_t)(atomic_load_explicit(&((sa_page_t*)page)->xthread_id, memory_order_relaxed) &
                   (SA_PAGE_IN_FULL | SA_PAGE_HAS_ALIGNED | SA_PAGE_IS_HUGE));
}

/* The start of the block that contains p (p may be an interior, aligned pointer). */
static inline sa_block_t* sa_page_block_of(const sa_page_t* page, const void* p) {
  size_t offset = (size_t)((uint8_t*)p - page->start);
  return (sa_block_t*)(page->start + offset - offset % page->block_size);
}

/* ---- arena.c: memory reserved at start --------------------------------------------- */

void sa_arenas_init(void);
void* sa_arena_alloc(size_t size, bool* large_pages);
bool sa_arena_free(void* p, size_t size);
bool sa_arena_contains(const void* p);
void sa_arenas_fork_prepare(void);
void sa_arenas_fork_release(void);

/* ---- segment_map.c: layout, mapping, the map of our segments ------------------------ */

/* Maps a segment; (segment + offset) is aligned to `alignment`. */
sa_segment_t* sa_segment_map(size_t size, size_t alignment, size_t offset, bool commit);
void sa_segment_unmap(sa_segment_t* segment);
/* Marks or unmarks a segment in the segment map (huge.c, around moving one). */
void sa_segment_map_mark(const sa_segment_t* segment, bool present);
/* Checks that p is a block shardalloc could have handed out; reports it if not. */
bool sa_check_pointer(const void* p, const char* operation);
/* The header of a small segment (the largest kind), and the part of every segment
 * that is never purged. */
size_t sa_segment_header_size_max(void);
size_t sa_segment_header_keep(void);
/* The bytes before the first block of a segment with `page_count` pages. */
size_t sa_segment_header_size(size_t page_count);
size_t sa_page_usable_area(const sa_segment_t* segment, const sa_page_t* page, uint8_t** start);
#if SA_SECURE_ANY_GUARD
/* Protects the guard pages of a small, medium or large segment (after mapping it, and
 * after committing its first or last page, which would make them accessible). */
void sa_secure_guard_segment(sa_segment_t* segment);
/* Makes the SA_GUARD_SIZE bytes at p inaccessible (a failure leaves no guard). */
void sa_secure_protect_guard(void* p);
/* Makes [p, p + size) (whole OS pages) inaccessible; a failure leaves no guard and is
 * told once. */
void sa_secure_protect(void* p, size_t size);
/* Makes [p, p + size) read-write again, guards and all (an arena slot given back). */
void sa_secure_unguard(void* p, size_t size);
#endif
#if SA_SECURE_PAGE_GUARDS
/* A freshly mapped segment has no page guards yet. */
void sa_secure_page_guards_forget(sa_segment_t* segment);
/* Page `index` is about to be used: its last OS page becomes a guard unless it is one
 * already for this kind (`recommitted`: the page's commit just made it read-write);
 * guards laid for another kind are cleared first. */
void sa_secure_page_guard(sa_segment_t* segment, size_t index, bool recommitted);
#endif

/* ---- segment_cache.c: the caches of empty segments, purging ---------------------------- */

/* The cached segment that suits a use touching its first `want` bytes best (see
 * segment_cache.c), or NULL: the thread's own cache, the global one. */
sa_segment_t* sa_segment_cache_pop(sa_tld_t* tld, size_t want);
sa_segment_t* sa_segment_global_cache_pop(size_t want);
/* An empty segment: kept in the thread's cache, or unmapped. */
void sa_segment_free(sa_segment_t* segment, sa_tld_t* tld);
void sa_segment_cache_flush(sa_tld_t* tld, size_t keep, bool donate);
/* Unmaps the global cache's segments; returns how many. */
size_t sa_segment_global_cache_flush(void);
void sa_segment_cache_fork_prepare(void);
void sa_segment_cache_fork_release(void);
/* A free page's memory back to the OS: now, or once the purge delay has passed. */
void sa_segment_page_purge(sa_segment_t* segment, size_t index);
/* With a NULL tld the segment is abandoned: abandon.c purges it when due. */
void sa_segment_page_purge_later(sa_tld_t* tld, sa_segment_t* segment, size_t index);
/* Puts a segment with pages to purge on its owner's list (once). */
void sa_segment_purge_list_add(sa_tld_t* tld, sa_segment_t* segment);
void sa_segment_purge_pending(sa_segment_t* segment);
void sa_segment_purge_list_remove(sa_tld_t* tld, sa_segment_t* segment);
/* Purges what is due (all of it with force): the free pages of the thread's
 * segments and its cached segments; and the global cache's segments that are due. */
void sa_segments_purge_due(sa_tld_t* tld, int64_t now_ms, bool force);
/* Only the free pages of the thread's segments (thread exit: its cached segments
 * go to the global cache as they are). */
void sa_segments_purge_pending(sa_tld_t* tld, int64_t now_ms, bool force);

/* ---- segment.c: segments as a thread's source of pages --------------------------------- */

/* A fresh page of the kind `block_size` needs, owned by the heap's thread. */
sa_page_t* sa_segment_page_alloc(sa_heap_t* heap, size_t block_size);
void sa_segment_page_free(sa_tld_t* tld, sa_page_t* page);
/* A page of an abandoned segment (not its last in use) whose every block is on its
 * thread-free list: back to the segment, its memory purged after the delay, as the
 * free pages of an abandoned segment are (sa_segments_abandoned_purge_due).
 * abandon.c calls it under the abandoned list's lock; `tld` is the freeing
 * thread's, which keeps the process's page count in balance. */
void sa_segment_page_free_abandoned(sa_tld_t* tld, sa_page_t* page);
/* The segment leaves its thread's queues (abandon) or joins a new owner's (reclaim). */
void sa_segment_disown(sa_tld_t* tld, sa_segment_t* segment);
void sa_segment_own(sa_tld_t* tld, sa_segment_t* segment);

/* ======== floor 5: pages ==================================================================== */

/* ---- size classes (inline) ----------------------------------------------------------- */

static inline size_t sa_wsize_of(size_t size) { return (size + SA_WORD_SIZE - 1) / SA_WORD_SIZE; }

/* The smallest size class in use: the 8-byte blocks, but where a free block keeps a
 * second word (the secure build's free mark, secure.h) requests of 8 bytes or less
 * take the 16-byte class and bin 0 stays empty. */
#define SA_BIN_MIN (SA_SECURE_DOUBLE_FREE ? 1 : 0)

static inline size_t sa_bin_of(size_t size) {
  size_t wsize = sa_wsize_of(size);
  if (wsize <= 1) return SA_BIN_MIN;
  if (wsize <= 16) return (wsize + 1) / 2;
  size_t w = wsize - 1;
  size_t top = (SA_BITS_PER_WORD - 1) - (size_t)__builtin_clzl(w);
  return 9 + ((top - 4) << 2) + ((w >> (top - 2)) & 3);
}

static inline size_t sa_bin_block_size(size_t bin) {
  if (bin == 0) return SA_WORD_SIZE;
  if (bin <= 8) return bin * 16;
  size_t i = bin - 9;
  size_t top = 4 + (i >> 2);
  return ((size_t)(5 + (i & 3)) << (top - 2)) * SA_WORD_SIZE;
}

/* The bytes a request really takes: debug builds add the trailer (debug.c), builds
 * with canaries the canary word (secure.h), and at least 16 bytes, so that the
 * trailer or the canary never shares a word with the free-list link. */
#define SA_BLOCK_TRAILER (SA_DEBUG_TRAILER + SA_CANARY_SIZE)
static inline size_t sa_raw_size(size_t size) {
#if SA_DEBUG || SA_SECURE_CANARY
  return size + SA_BLOCK_TRAILER < 16 ? 16 : size + SA_BLOCK_TRAILER;
#else
  return size;
#endif
}

/* ---- the thread-free word: a block pointer, a notify state and a count in one atomic ---
 * The count (the top bits, above SA_ADDRESS_BITS) is how many blocks the list holds,
 * added by each push: the owner takes the list without walking it (each link of a
 * list other threads wrote is a cache miss, and a walk takes them one after another;
 * malloc takes them one at a time, among the program's own work). */
#define SA_TF_COUNT_SHIFT SA_ADDRESS_BITS
#define SA_TF_BLOCK_MASK ((((uintptr_t)1 << SA_TF_COUNT_SHIFT) - 1) & ~SA_NOTIFY_MASK)
_Static_assert(((size_t)1 << (SA_BITS_PER_WORD - SA_TF_COUNT_SHIFT)) > SA_SMALL_PAGE_SIZE / SA_WORD_SIZE,
               "the count holds a page's blocks");

static inline sa_block_t* sa_tf_block(uintptr_t tf) { return (sa_block_t*)(tf & SA_TF_BLOCK_MASK); }
static inline sa_notify_t sa_tf_notify(uintptr_t tf) { return (sa_notify_t)(tf & SA_NOTIFY_MASK); }
static inline uint32_t sa_tf_count(uintptr_t tf) { return (uint32_t)(tf >> SA_TF_COUNT_SHIFT); }
static inline uintptr_t sa_tf_make(sa_block_t* b, sa_notify_t n, uint32_t count) {
  return (uintptr_t)b | n | ((uintptr_t)count << SA_TF_COUNT_SHIFT);
}
/* The same list and count in another notify state. */
static inline uintptr_t sa_tf_with_notify(uintptr_t tf, sa_notify_t n) { return (tf & ~SA_NOTIFY_MASK) | n; }

/* ---- the direct table (inline; relaxed atomics: plain loads and stores) ------------------ */

static inline sa_page_t* sa_direct_page(const sa_heap_t* heap, size_t size) {
  return atomic_load_explicit(&((sa_heap_t*)heap)->pages_direct[size], memory_order_relaxed);
}
static inline void sa_direct_set(sa_heap_t* heap, size_t size, sa_page_t* page) {
  atomic_store_explicit(&heap->pages_direct[size], page, memory_order_relaxed);
}
/* Every entry at the empty page (a new heap, a poke; page.c). */
void sa_direct_clear(sa_heap_t* heap);

/* Whether remote frees into the page may wait in a batch (remote.c): pages of a
 * thread's own heap that hold many blocks. */
static inline bool sa_page_may_batch(const sa_heap_t* heap, const sa_page_t* page) {
  return heap->is_default && page->block_size <= SA_MEDIUM_OBJ_MAX;
}

/* Counts one more generic call or retirement of the thread; returns the new count.
 * Atomic so that other threads may read it; a plain increment, since only the
 * thread itself writes it. */
static inline uint64_t sa_heartbeat_tick(sa_tld_t* tld) {
  uint64_t beat = atomic_load_explicit(&tld->heartbeat, memory_order_relaxed) + 1;
  atomic_store_explicit(&tld->heartbeat, beat, memory_order_relaxed);
  return beat;
}

/* ---- page.c -------------------------------------------------------------------------- */

extern const sa_heap_t sa_heap_empty;
extern const sa_page_t sa_page_empty;
void sa_page_queue_remove(sa_page_queue_t* queue, sa_page_t* page);
void sa_page_queue_push_front(sa_page_queue_t* queue, sa_page_t* page);
/* Updates the direct-table entries of the queue's bin after its front changed. */
void sa_heap_direct_update(sa_heap_t* heap, size_t bin);
/* Finds or makes a page of `bin` with a free block, at the front of its queue. */
sa_page_t* sa_page_find_free(sa_heap_t* heap, size_t bin);
/* Hook page.c calls upward (abandon.c): before a fresh page for blocks of
 * `block_size` is taken, reclaim an abandoned segment that can give one (and free
 * the abandoned segments found all free); true if any was taken. */
bool sa_hook_reclaim_for_page(sa_heap_t* heap, size_t block_size);
/* Moves local_free and thread_free into free (when free is empty or `force`). */
void sa_page_collect(sa_page_t* page, bool force);
/* The generic path's common case (alloc.c), without sa_page_find_free's walk and
 * calls: a direct page (the front of its bin's queue) ran out of free blocks, its
 * local list holds some and no other thread freed into it. Then the local list
 * becomes the free list, as sa_page_collect would make it. Not when the block at
 * the local list's head links to itself (freed twice in a row): sa_page_collect
 * reports that. The empty page has no local list. */
static inline bool sa_page_refillable(const sa_page_t* page) {
  const sa_block_t* local = page->local_free;
  return local != NULL && page->free == NULL &&
         sa_tf_block(atomic_load_explicit(&((sa_page_t*)page)->thread_free, memory_order_relaxed)) == NULL &&
         sa_likely(sa_link_get(page, local) != local);
}
static inline void sa_page_refill(sa_page_t* page) {
  page->free = page->local_free;
  page->local_free = NULL;
}
/* A free found the page in the full queue with room now. */
void sa_page_unfull(sa_heap_t* heap, sa_page_t* page);
void sa_page_free_to_segment(sa_heap_t* heap, sa_page_t* page);
/* Takes the page into `heap`'s queue for its bin (reclaim, heap delete). */
void sa_page_adopt(sa_heap_t* heap, sa_page_t* page);
/* Sets the notify state; waits while a remote free is in the middle of notifying. */
void sa_page_set_notify(sa_page_t* page, sa_notify_t state, bool only_if_none);
/* Handles the full pages that remote frees gave room. */
void sa_heap_drain_notified(sa_heap_t* heap);

/* ---- huge.c --------------------------------------------------------------------------- */

void* sa_huge_alloc(sa_heap_t* heap, size_t size, size_t alignment, bool zero);
void sa_huge_free(sa_segment_t* segment, sa_page_t* page);
/* Resizes a huge block in place or by remapping; NULL if it cannot. */
void* sa_huge_realloc(void* p, size_t newsize);
void sa_huge_cache_flush(bool force);
/* Frees (destroy) every huge block of the heap, or gives them to `new_owner`
 * (heap delete; NULL at thread exit). */
void sa_huge_heap_release(sa_heap_t* heap, bool free_blocks, sa_heap_t* new_owner);
void sa_huge_fork_prepare(void);
void sa_huge_fork_release(void);

/* ---- secure.c: see secure.h ---------------------------------------------------------------- */

/* ======== floor 6: heaps, threads, collection, abandon and reclaim, remote frees ============= */

/* Calls visit(heap, page, arg) for every page of the heap's first `bins` queues;
 * visit may remove the page. */
static inline void sa_heap_visit(sa_heap_t* heap, size_t bins, void (*visit)(sa_heap_t*, sa_page_t*, void*),
                                 void* arg) {
  for (size_t bin = 0; bin < bins; bin++) {
    sa_page_t* page = heap->queues[bin].first;
    while (page != NULL) {
      sa_page_t* next = page->link.next;
      visit(heap, page, arg);
      page = next;
    }
  }
}

/* ---- heap.c -------------------------------------------------------------------------- */

/* The calling thread's current heap (sa_heap_empty until its first allocation). */
extern __thread sa_heap_t* sa_heap_default __attribute__((tls_model("initial-exec")));
void sa_heap_init(sa_heap_t* heap, sa_tld_t* tld, bool is_default);
/* Called at thread exit for the thread's default heap. */
void sa_heap_thread_done(sa_heap_t* heap);
/* After fork, in the child: pages left half-notified by the parent's threads. */
void sa_heaps_fork_child(sa_tld_t* tld);
/* The orphan heap, for threads whose exit clean-up has run: held under its lock
 * between acquire and release. */
sa_heap_t* sa_orphan_acquire(void);
void sa_orphan_release(void);
void sa_orphan_collect(bool force);
void sa_orphan_fork_prepare(void);
void sa_orphan_fork_release(void);

/* ---- collect.c ------------------------------------------------------------------------ */

/* Collects every page's frees; frees the empty pages (force: every page, the full
 * ones too). */
void sa_heap_collect_frees(sa_heap_t* heap, bool force);
/* The same, then purges what is due (sa_segments_purge_due). */
void sa_heap_collect_pages(sa_heap_t* heap, bool force);
/* The same, and empties the caches as far as `force` says. */
void sa_heap_collect(sa_heap_t* heap, bool force);
/* Collects and purges when the purge delay (or generic_collect) says it is time. */
void sa_heap_collect_if_due(sa_heap_t* heap);
/* The generic path looks at the clock every this many calls (a vDSO call is cheap,
 * but not free), and collects the heap when the purge delay or the generic_collect
 * count says so: that is how freed memory goes back to the OS while a thread runs. */
#define SA_CLOCK_CHECK_INTERVAL 64
static inline void sa_heap_generic_tick(sa_heap_t* heap) {
  if (sa_unlikely(sa_heartbeat_tick(heap->tld) % SA_CLOCK_CHECK_INTERVAL == 0)) sa_heap_collect_if_due(heap);
}
/* A free left the page with no block in use. */
void sa_page_retire(sa_heap_t* heap, sa_page_t* page);
/* Counts a page a free emptied (a retirement, or a page of an abandoned segment) and
 * now and then looks at the clock: a thread that only frees, or allocates from pages
 * it already has, never takes the generic path, yet what it freed must be purged. */
void sa_heap_retire_tick(sa_heap_t* heap);
/* Asks the heap's thread to collect (a remote free found the page's list empty). */
void sa_heap_poke(sa_heap_t* heap, int64_t now_ms);
/* Whether this thread may look at the owner `thread_id` now (at most once a ms). */
bool sa_poke_worth_a_look(uintptr_t thread_id, int64_t now_ms);
/* The generic path found the thread poked: collect, purge, restore the direct table. */
void sa_heap_poked(sa_heap_t* heap);

/* ---- abandon.c ------------------------------------------------------------------------ */

extern _Atomic(size_t) sa_abandoned_count;
/* The thread is going away: the page's segment goes to whoever needs it next. */
void sa_segments_abandon_page(sa_tld_t* tld, sa_page_t* page);
/* Hands the segments set aside by sa_segments_abandon_page to the global list. */
void sa_segments_abandon_publish(sa_tld_t* tld);
/* The free pages of abandoned segments whose delay has passed (all with force);
 * a load when none is due. collect.c calls it wherever it purges a thread's own. */
void sa_segments_abandoned_purge_due(int64_t now_ms, bool force);
/* Takes over abandoned segments (at most `max`) into `heap`; returns how many. */
size_t sa_segments_reclaim(sa_heap_t* heap, size_t max);
/* A free found the block's segment abandoned. The block goes onto its page's
 * thread-free list (where a thread that reclaims the segment for its pages collects
 * it). If that left every block of the segment free, `heap` takes the segment over,
 * which frees it; if only every block of the page, the page goes back to the
 * segment (sa_segment_page_free_abandoned). Neither with a NULL heap. NOT if the
 * segment is no longer abandoned: the caller frees the block to its new owner. The
 * segment is not taken over before:
 * a thread that frees blocks of exited threads but allocates little (a main
 * thread between rounds of workers) would hold the segments' free memory where
 * no allocating thread can reach it. */
typedef enum sa_abandoned_free_e {
  SA_ABANDONED_NOT,     /* no longer abandoned: nothing done */
  SA_ABANDONED_PUSHED,  /* the block is on the thread-free list */
  SA_ABANDONED_EMPTIED, /* and that emptied its page, or the whole segment, which went back */
} sa_abandoned_free_t;
sa_abandoned_free_t sa_segment_free_abandoned(sa_heap_t* heap, sa_segment_t* segment, sa_page_t* page,
                                              sa_block_t* block);
void sa_abandoned_fork_prepare(void);
void sa_abandoned_fork_release(void);

/* ---- thread.c ---------------------------------------------------------------------------- */

void sa_process_init(void);
/* The calling thread's heap, set up on first use; NULL if that failed (ENOMEM) or
 * the thread's exit clean-up has run (then allocate from the orphan heap). */
sa_heap_t* sa_heap_for_thread(void);
bool sa_thread_has_exited(void);
/* Makes sure thread exit runs our clean-up even for a thread without a heap. */
void sa_thread_watch_exit(void);
/* Asks the thread `thread_id`, if it lives, to collect (sa_heap_poke). */
void sa_thread_poke(uintptr_t thread_id);
/* Ends the calling thread's heaps now (sa_thread_done). */
void sa_thread_release_current(void);
void sa_threads_fork_prepare(void);
void sa_threads_fork_release(void);
void sa_threads_fork_child_end_lost(void);
/* Hooks thread.c calls upward: */
void sa_hook_thread_exit(bool thread_exits); /* remote.c: the thread's batch goes out */
void sa_hook_process_started(void);          /* process.c: fork and exit handlers */

/* ---- remote.c ---------------------------------------------------------------------------- */

/* Frees b into a page the calling thread does not own (batched, see remote.c). */
void sa_free_remote(sa_page_t* page, sa_block_t* b);
/* Pushes out the calling thread's batch of remote frees. */
extern __thread sa_remote_batch_t sa_remote_batch __attribute__((tls_model("initial-exec")));
void sa_remote_batch_flush_now(void); /* the batch is not empty */
static inline void sa_remote_batch_flush(void) {
  if (atomic_load_explicit(&sa_remote_batch.page, memory_order_relaxed) != NULL) sa_remote_batch_flush_now();
}
/* Pushes it out and unregisters it; with thread_exits, nothing is batched after. */
void sa_remote_batch_close(bool thread_exits);
/* Pushes out every thread's batch (idle threads' too). */
void sa_remote_batches_flush_all(void);
void sa_remote_batches_fork_prepare(void);
void sa_remote_batches_fork_parent(void);
void sa_remote_batches_fork_child(void);

/* ---- debug.c: the debug seam (debug.h) ------------------------------------------------------ */

#include "debug.h"

/* ======== floor 7: allocation and free ========================================================== */

/* ---- alloc.c ------------------------------------------------------------------------------ */

/* The size first: the fast paths jump here with it still in the register it came in. */
void* sa_heap_malloc_generic(size_t size, sa_heap_t* heap, bool zero);
void* sa_heap_malloc_zero(sa_heap_t* heap, size_t size, bool zero);
void* sa_heap_realloc_zero(sa_heap_t* heap, void* p, size_t newsize, bool zero);
size_t sa_usable_size_of(const void* p);

/* ---- aligned.c ------------------------------------------------------------------------------ */

void* sa_heap_malloc_aligned_zero(sa_heap_t* heap, size_t size, size_t alignment, bool zero);

/* ---- free.c: only the API (shardalloc.h) -------------------------------------------------------- */

/* ======== floor 8: entry points ================================================================== *
 * process.c (fork, exit, sa_collect, sa_thread_done), stats_report.c, override.c,
 * glibc_compat.c: only the API (shardalloc.h) and the hook sa_hook_process_started. */

#endif /* SA_INTERNAL_H */
