/* shardalloc.h: the public interface of the shardalloc allocator.
 *
 * shardalloc is a general-purpose allocator built on free-list sharding: every
 * thread allocates from its own heap, every small page keeps its own free lists,
 * and frees from other threads are pushed onto the owning page without a lock.
 *
 * Three ways to use it:
 *   - preload:  LD_PRELOAD=libshardalloc.so program   (replaces malloc/free/new/delete)
 *   - link:     -lshardalloc, then call the sa_ functions below (or the standard
 *               names, which the shared library also defines)
 *   - tune:     SHARDALLOC_<OPTION>=value in the environment (see sa_option_t)
 *
 * Semantics follow glibc: every impossible request returns NULL with errno set to
 * ENOMEM (never a wrapped-around size), alignments that are not powers of two give
 * EINVAL (posix_memalign) or NULL, and free/sa_free keep errno.
 */
#ifndef SHARDALLOC_H
#define SHARDALLOC_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SHARDALLOC_VERSION_MAJOR 0
#define SHARDALLOC_VERSION_MINOR 1

#if defined(__GNUC__)
#define sa_attr_malloc __attribute__((malloc))
#define sa_attr_alloc_size(n) __attribute__((alloc_size(n)))
#define sa_attr_alloc_size2(n, m) __attribute__((alloc_size(n, m)))
#define sa_attr_alloc_align(n) __attribute__((alloc_align(n)))
#define sa_attr_nodiscard __attribute__((warn_unused_result))
#else
#define sa_attr_malloc
#define sa_attr_alloc_size(n)
#define sa_attr_alloc_size2(n, m)
#define sa_attr_alloc_align(n)
#define sa_attr_nodiscard
#endif

/* ---- Allocation ----------------------------------------------------------
 * Every block is aligned to at least 16 bytes when its size is 16 or more, and to
 * its natural alignment (8) when smaller. sa_malloc(0) returns a unique block. */

sa_attr_nodiscard sa_attr_malloc sa_attr_alloc_size(1) void* sa_malloc(size_t size);
/* Zeroed memory; n * size overflowing gives NULL and ENOMEM. */
sa_attr_nodiscard sa_attr_malloc sa_attr_alloc_size2(1, 2) void* sa_calloc(size_t n, size_t size);
/* sa_malloc, then zeroed. */
sa_attr_nodiscard sa_attr_malloc sa_attr_alloc_size(1) void* sa_zalloc(size_t size);
/* Grows in place when the block's usable size allows, else moves. Shrinks in place
 * unless the new size's class would use less than half the block: then the block
 * moves to a smaller one (a huge block shrinking to another huge size gives its
 * tail back instead); a shrink never fails (without memory it stays in place).
 * sa_realloc(NULL, n) is sa_malloc(n). sa_realloc(p, 0) frees p and returns NULL
 * (glibc's behaviour). On failure NULL is returned with ENOMEM and p is untouched. */
sa_attr_nodiscard sa_attr_alloc_size(2) void* sa_realloc(void* p, size_t newsize);
/* sa_realloc(p, n * size) with an overflow check (NULL and ENOMEM). */
sa_attr_nodiscard sa_attr_alloc_size2(2, 3) void* sa_reallocarray(void* p, size_t n, size_t size);
/* Frees a block from any thread. NULL is ignored. errno is kept. */
void sa_free(void* p);
/* Like sa_free; size must be the size the block was requested with (C23's rule;
 * after a realloc, the size of the last request). Debug builds check it. */
void sa_free_sized(void* p, size_t size);
/* Like sa_free_sized for a block from an aligned allocation. */
void sa_free_aligned_sized(void* p, size_t alignment, size_t size);
/* The number of bytes that may be used at p (>= the requested size); 0 for NULL. */
size_t sa_usable_size(const void* p);
/* The usable size a request of `size` bytes would get (its size class). Sizes no
 * request can get (beyond PTRDIFF_MAX - 4 MiB, up to SIZE_MAX) come back unchanged,
 * never rounded around to a small number. */
size_t sa_good_size(size_t size);

/* ---- Aligned allocation --------------------------------------------------
 * alignment must be a power of two (any, up to 2^31 and beyond for huge blocks);
 * otherwise NULL with EINVAL. */

sa_attr_nodiscard sa_attr_malloc sa_attr_alloc_size(1) sa_attr_alloc_align(2)
void* sa_malloc_aligned(size_t size, size_t alignment);
sa_attr_nodiscard sa_attr_malloc sa_attr_alloc_size(1) sa_attr_alloc_align(2)
void* sa_zalloc_aligned(size_t size, size_t alignment);
sa_attr_nodiscard sa_attr_malloc sa_attr_alloc_size2(1, 2) sa_attr_alloc_align(3)
void* sa_calloc_aligned(size_t n, size_t size, size_t alignment);
/* Keeps the block where it is when it is already aligned and large enough. */
sa_attr_nodiscard sa_attr_alloc_size(2) sa_attr_alloc_align(3)
void* sa_realloc_aligned(void* p, size_t newsize, size_t alignment);

/* POSIX and C11 flavours with their standard error behaviour. */
int sa_posix_memalign(void** p, size_t alignment, size_t size);
sa_attr_nodiscard sa_attr_malloc void* sa_aligned_alloc(size_t alignment, size_t size);
sa_attr_nodiscard sa_attr_malloc void* sa_memalign(size_t alignment, size_t size);
sa_attr_nodiscard sa_attr_malloc void* sa_valloc(size_t size);
sa_attr_nodiscard sa_attr_malloc void* sa_pvalloc(size_t size);

/* Convenience: copies made with sa_malloc. */
sa_attr_nodiscard sa_attr_malloc char* sa_strdup(const char* s);
sa_attr_nodiscard sa_attr_malloc char* sa_strndup(const char* s, size_t n);

/* ---- First-class heaps -----------------------------------------------------
 * A heap belongs to the thread that created it: only that thread allocates from
 * it, any thread may free its blocks. */

typedef struct sa_heap_s sa_heap_t;

/* A new, empty heap for the calling thread; NULL and ENOMEM if none can be made. */
sa_heap_t* sa_heap_new(void);
/* Deletes the heap; its live blocks move to the thread's default heap and stay valid. */
void sa_heap_delete(sa_heap_t* heap);
/* Frees every block of the heap at once, then deletes it (arena-style use). */
void sa_heap_destroy(sa_heap_t* heap);
/* The calling thread's default heap. */
sa_heap_t* sa_heap_get_default(void);
/* Makes heap the calling thread's default (what sa_malloc uses); returns the previous. */
sa_heap_t* sa_heap_set_default(sa_heap_t* heap);
sa_attr_nodiscard sa_attr_malloc void* sa_heap_malloc(sa_heap_t* heap, size_t size);
sa_attr_nodiscard sa_attr_malloc void* sa_heap_zalloc(sa_heap_t* heap, size_t size);
sa_attr_nodiscard sa_attr_malloc void* sa_heap_calloc(sa_heap_t* heap, size_t n, size_t size);
sa_attr_nodiscard void* sa_heap_realloc(sa_heap_t* heap, void* p, size_t newsize);
sa_attr_nodiscard sa_attr_malloc void* sa_heap_malloc_aligned(sa_heap_t* heap, size_t size, size_t alignment);
/* True if p points into a block of a page this heap owns (p need not be live:
 * telling that would mean walking free lists). */
bool sa_heap_contains(const sa_heap_t* heap, const void* p);
/* True if p points into memory that shardalloc manages. */
bool sa_is_in_heap_region(const void* p);

/* ---- Maintenance --------------------------------------------------------- */

/* Returns free memory to the OS: with force, everything possible now (also the
 * caches), else what the purge delay allows. */
void sa_collect(bool force);
/* Call from a thread that will not allocate again, before it exits, to release its
 * heap early (thread exit does this anyway). */
void sa_thread_done(void);

/* ---- Options ---------------------------------------------------------------
 * Read once from the environment as SHARDALLOC_<NAME> (case-insensitive), and
 * settable at run time. Sizes accept K/M/G suffixes, booleans 1/0/true/false/
 * yes/no/on/off. */

typedef enum sa_option_e {
  sa_option_verbose,               /* print every option at start */
  sa_option_show_errors,           /* print errors (bad frees, OS failures) on stderr */
  sa_option_show_stats,            /* print statistics at exit */
  sa_option_purge_delay,           /* ms before freed memory is purged; 0 at once, -1 never */
  sa_option_purge_decommits,       /* purge by decommitting (MADV_DONTNEED) rather than MADV_FREE */
  sa_option_eager_commit,          /* touch-free commit of whole segments up front */
  sa_option_allow_large_os_pages,  /* use 2 MiB huge OS pages for segments where possible */
  sa_option_reserve_huge_os_pages, /* reserve this many 1 GiB huge pages at start */
  sa_option_reserve_os_memory,     /* reserve this many bytes of address space at start */
  sa_option_allow_thp,             /* let the kernel back segments with transparent huge pages */
  sa_option_max_segment_reclaim,   /* abandoned segments looked at for a page */
  sa_option_generic_collect,       /* slow-path calls between heap collections */
  sa_option_destroy_on_exit,       /* release all memory at process exit */
  sa_option_limit_os_alloc,        /* allocate only from reserved memory */
  sa_option_segment_cache,         /* free segments kept per thread for reuse */
  sa_option_large_cache,           /* bytes of freed huge blocks kept for reuse */
  sa_option_abort_on_error,        /* abort on detected heap corruption (else continue) */
  sa_option_fail_os_after,         /* testing: the n-th OS memory request fails (0 never) */
  sa_option_remote_batch,          /* frees into another thread's page gathered per push */
  _sa_option_count
} sa_option_t;

long sa_option_get(sa_option_t option);
void sa_option_set(sa_option_t option, long value);
void sa_option_enable(sa_option_t option);
void sa_option_disable(sa_option_t option);
bool sa_option_is_enabled(sa_option_t option);
/* The option's name without the prefix, e.g. "purge_delay". */
const char* sa_option_name(sa_option_t option);

/* ---- Statistics ------------------------------------------------------------ */

/* Prints the statistics table on stderr. */
void sa_stats_print(void);
/* Starts the counters afresh (current values stay). */
void sa_stats_reset(void);
/* Writes the statistics as one line of `key=value` pairs into buf (NUL-terminated,
 * truncated to size); returns the length the full text needs. */
size_t sa_stats_dump(char* buf, size_t size);

/* ---- Testing ---------------------------------------------------------------- */

/* Fault injection: the n-th call that asks the OS for memory from now on fails, as
 * if the system were out of memory (n = 1: the next one); 0 turns it off. Every such
 * failure must surface as NULL with ENOMEM (or a fallback), never a crash or a leak.
 * Also settable at start with SHARDALLOC_FAIL_OS_AFTER=n. */
void sa_debug_fail_os_after(long n);

#ifdef __cplusplus
}
#endif

#endif /* SHARDALLOC_H */
