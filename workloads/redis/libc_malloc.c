/* libc_malloc.c: an LD_PRELOAD shim that gives a program glibc's malloc back.
 *
 * Debian builds redis-server against the shared libjemalloc.so.2 (its
 * `redis-server --version` says malloc=jemalloc-5.3.0). A preloaded allocator
 * comes first in symbol lookup and takes malloc, free, ... over from jemalloc,
 * but with nothing preloaded the server runs on jemalloc, not on glibc: the
 * suite's glibc baseline would silently be jemalloc. redis-bench therefore
 * preloads this shim when it is given no allocator, so "glibc" means glibc.
 *
 * Every entry point jemalloc would otherwise provide is defined here and
 * forwarded to glibc (its __libc_* names; malloc_usable_size has no such name:
 * see below).
 * jemalloc's own extensions (mallctl, nallocx) stay jemalloc's, as they do
 * under every preloaded allocator: redis only reads statistics through them.
 *
 * Also useful under the counting shim: LD_PRELOAD="alloc_profile.so
 * redis_libc_malloc.so" gives alloc_profile a malloc_usable_size that matches
 * the glibc blocks it hands out.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void __libc_free(void *p);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void *__libc_valloc(size_t size);

void *malloc(size_t size) { return __libc_malloc(size); }

void *calloc(size_t count, size_t size) { return __libc_calloc(count, size); }

void *realloc(void *p, size_t size) { return __libc_realloc(p, size); }

void free(void *p) { __libc_free(p); }

void *memalign(size_t alignment, size_t size) { return __libc_memalign(alignment, size); }

void *aligned_alloc(size_t alignment, size_t size) { return __libc_memalign(alignment, size); }

void *valloc(size_t size) { return __libc_valloc(size); }

int posix_memalign(void **result, size_t alignment, size_t size)
{
    /* POSIX: a power of two and a multiple of sizeof(void *), else EINVAL. */
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0)
        return EINVAL;
    void *p = __libc_memalign(alignment, size);
    if (p == NULL)
        return ENOMEM;
    *result = p;
    return 0;
}

/* glibc exports malloc_usable_size under no other name, and looking it up
 * (dlopen, dlsym) allocates, which under alloc_profile.so recurses back here.
 * So it is computed the way glibc computes it (malloc.c, musable()): the size
 * word just below the block holds the chunk size and flag bits; a block takes
 * the chunk less one size word, or two for an mmapped chunk. This layout has
 * been glibc's since the 1990s (x86-64 has no memory tagging to change it). */
#define GLIBC_SIZE_WORD sizeof(size_t)
#define GLIBC_MMAPPED_BIT ((size_t)2)
#define GLIBC_FLAG_BITS ((size_t)7)

size_t malloc_usable_size(void *p)
{
    if (p == NULL)
        return 0;
    size_t word = ((const size_t *)p)[-1];
    size_t chunk = word & ~GLIBC_FLAG_BITS;
    return chunk - ((word & GLIBC_MMAPPED_BIT) ? 2 * GLIBC_SIZE_WORD : GLIBC_SIZE_WORD);
}
