/* os.h: the port, the one narrow interface between shardalloc and the operating
 * system (floor 0, see README.md). os/linux.c implements it for Linux and other
 * POSIX systems with mmap/madvise; a port to another system is one new file.
 *
 * These are primitives only: no statistics, options, fault injection or placement
 * policy (those are memory.c's, the floor above). Every function keeps errno as it
 * was unless it says otherwise, is safe to call before the allocator is
 * initialised, and never allocates through malloc. */
#ifndef SA_OS_H
#define SA_OS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Called once at process start, before any other function here is needed. */
void sa_os_init(void);

/* The OS page size (4 KiB here; 16 KiB or 64 KiB on some aarch64 systems). */
size_t sa_os_page_size(void);

/* Maps `size` bytes of zeroed memory near `hint` (NULL: anywhere), read-write with
 * `commit`, else inaccessible. huge_page_size 0 maps normal pages, reserved lazily;
 * else huge OS pages of that size (2 MiB, 1 GiB), reserved at once. NULL on failure
 * (errno then is the system's). */
void* sa_os_map(void* hint, size_t size, bool commit, size_t huge_page_size);

/* Unmaps [p, p + size); false (errno set) if the OS refused. */
bool sa_os_unmap(void* p, size_t size);

/* Makes mapped memory read-write (true) or inaccessible (false). */
bool sa_os_protect(void* p, size_t size, bool read_write);

/* Lets the OS drop the contents of these pages: at once (`now`: they read back as
 * zero) or lazily (they read back as zero or as they were). The mapping stays. */
bool sa_os_discard(void* p, size_t size, bool now);

/* Grows or shrinks a mapping where it stands; false if it cannot. */
bool sa_os_resize(void* p, size_t old_size, size_t new_size);

/* Moves the pages of [p, p + size) to `target` (replacing what was mapped there),
 * without copying; false if the OS refused. */
bool sa_os_move(void* p, size_t size, void* target);

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

#endif /* SA_OS_H */
