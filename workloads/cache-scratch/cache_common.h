/* cache_common.h: what cache-scratch and cache-thrash share (both from the Hoard
 * suite: Berger, McKinley, Blumofe and Wilson, "Hoard: A Scalable Memory
 * Allocator for Multithreaded Applications", ASPLOS 2000).
 *
 *   cache-scratch nthreads iterations objsize repetitions concurrency
 *   cache-thrash  nthreads iterations objsize repetitions concurrency
 *
 * Each thread does `iterations` times: allocate objsize bytes, write and read
 * back every byte repetitions / nthreads times, free. The total work is fixed,
 * so with N threads an allocator that keeps different threads' objects in
 * different cache lines runs in about 1/N of the one-thread time, and one that
 * puts them in one line pays for false sharing on every write. Both print
 * nothing on success: the figure is the wall time.
 */
#ifndef CACHE_COMMON_H
#define CACHE_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cache_config {
    unsigned threads;
    uint64_t iterations;
    size_t object_size;
    uint64_t passes_per_object; /* repetitions / threads */
    unsigned concurrency;       /* a hint to the thread library, as in the original */
} cache_config;

/* Parse the five arguments (exits with a message on a bad one). */
cache_config cache_parse_args(int argc, char **argv);

/* Allocate object_size bytes or exit with a message. */
char *cache_allocate(size_t object_size);

/* Write every byte `passes` times, reading each back (volatile: every access
 * reaches the cache line). Returns the number of bytes that read back wrong. */
uint64_t cache_touch(volatile char *object, size_t size, uint64_t passes);

/* One thread's work: `iterations` times allocate an object, touch it
 * (cache_touch) and free it. Returns the bytes that read back wrong. */
uint64_t cache_churn(const cache_config *config);

/* Run body on `threads` threads, the i-th getting arguments + i * argument_size,
 * and join them all; exits with a message if one cannot be started. */
void cache_run_threads(const cache_config *config, void *(*body)(void *), void *arguments,
                       size_t argument_size);

/* Exit with a message when any byte read back wrong. */
void cache_check(uint64_t wrong_bytes);

#endif
