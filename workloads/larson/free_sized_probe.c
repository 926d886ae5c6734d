/* free_sized_probe.c: an LD_PRELOAD shim that provides C23's free_sized for the
 * larson-sized test, where glibc (2.36) has none.
 *
 *   LD_PRELOAD=build/workloads/free_sized_probe.so build/workloads/larson-sized ...
 *
 * It proves that larson-sized really takes the sized path when an allocator
 * offers one, and that every size it passes is plausible (no larger than the
 * block's usable size, which a mismatched size would often exceed). At exit it
 * prints "free_sized-probe: C calls, B bad sizes" to stderr.
 */
#include <malloc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

static atomic_ulong calls, bad_sizes;

void free_sized(void *p, size_t size)
{
    atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed);
    if (p != NULL && size > malloc_usable_size(p))
        atomic_fetch_add_explicit(&bad_sizes, 1, memory_order_relaxed);
    free(p);
}

__attribute__((destructor)) static void report(void)
{
    fprintf(stderr, "free_sized-probe: %lu calls, %lu bad sizes\n",
            (unsigned long)calls, (unsigned long)bad_sizes);
}
