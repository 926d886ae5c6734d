/* os.h: the one narrow interface between shardalloc and the operating system.
 * os/linux.c implements it for Linux (and other POSIX systems with mmap/madvise).
 * Every function is safe to call before the allocator is initialised and never
 * allocates through malloc. */
#ifndef SA_OS_H
#define SA_OS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Called once at process start, before any other function here is needed. */
void sa_os_init(void);

/* The OS page size (4 KiB here; 16 KiB or 64 KiB on some aarch64 systems). */
size_t sa_os_page_size(void);

/* Maps `size` bytes (a multiple of the page size) of zeroed memory whose address p
 * satisfies (p + offset) % alignment == 0; alignment is a power of two. With
 * `commit` the memory is read-write at once, else inaccessible until sa_os_commit.
 * Returns NULL (errno ENOMEM) on failure. */
void* sa_os_alloc_aligned(size_t size, size_t alignment, size_t offset, bool commit);

/* Maps `size` bytes of huge OS pages of `page_size` (2 MiB or 1 GiB), aligned to
 * `alignment` (a multiple of page_size); NULL when the system has none to give. */
void* sa_os_alloc_large_pages(size_t size, size_t alignment, size_t page_size);

/* Makes reserved memory read-write, or inaccessible again (dropping its contents).
 * Return false if the OS refused. */
bool sa_os_commit(void* p, size_t size);
bool sa_os_decommit(void* p, size_t size);

/* Unmaps memory from sa_os_alloc_aligned (or a page-aligned part of it), of which
 * `committed` bytes were read-write (for the statistics). */
void sa_os_free(void* p, size_t size, size_t committed);

/* Tells the OS it may drop the contents of these pages (they read back as zero or
 * as their old contents; the mapping stays usable). Used to give memory back.
 * `decommit` asks for the contents to be dropped at once (MADV_DONTNEED) rather
 * than lazily (MADV_FREE). Returns false if the OS refused. */
bool sa_os_purge(void* p, size_t size, bool decommit);

/* Grows or shrinks a mapping, moving it if needed; NULL if it cannot. The result
 * keeps the old alignment only when it did not move. */
void* sa_os_remap(void* p, size_t old_size, size_t new_size);

/* Grows a mapping to new_size at an address p' with (p' + offset) % alignment == 0,
 * moving its pages (no copy, no new faults for them) if it cannot grow in place.
 * Returns the new address, or NULL (the old mapping then stays as it was). */
void* sa_os_grow_aligned(void* p, size_t old_size, size_t new_size, size_t alignment, size_t offset);

/* Asks for (enable) or against transparent huge pages on this range (a hint). */
void sa_os_advise_thp(void* p, size_t size, bool enable);

/* Writes a message straight to standard error, without stdio. */
void sa_os_write_stderr(const char* msg, size_t len);

/* A memory barrier on every running thread of the process (Linux membarrier,
 * private expedited): the other side of barriers the fast paths leave out. False
 * when the kernel has none (then the caller must do without). */
bool sa_os_barrier_all_threads(void);

/* Monotonic milliseconds, for the purge delay. */
int64_t sa_os_clock_ms(void);

/* Fault injection for tests: while `countdown` is positive it is decremented by
 * every call that maps memory; the call that brings it to zero fails. */
extern _Atomic(long) sa_os_fail_countdown;

#endif /* SA_OS_H */
