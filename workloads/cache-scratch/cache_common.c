/* cache_common.c: argument parsing, the write loop and thread handling shared by
 * cache-scratch and cache-thrash (see cache_common.h). */
#include "cache_common.h"

#include <pthread.h>
#include <stdlib.h>

#include "../common/cli.h"

static const char usage[] = "nthreads iterations objsize repetitions concurrency";

#define MAX_THREADS 256
#define MAX_ITERATIONS 1000000000ll
#define MAX_OBJECT_SIZE (1ll << 20)
#define MAX_REPETITIONS 1000000000000ll

cache_config cache_parse_args(int argc, char **argv)
{
    if (argc != 6)
        cli_usage_error(usage, "expected 5 arguments, got %d", argc - 1);
    cache_config c;
    c.threads = (unsigned)cli_parse_integer(argv[1], "nthreads", 1, MAX_THREADS);
    c.iterations = (uint64_t)cli_parse_integer(argv[2], "iterations", 1, MAX_ITERATIONS);
    c.object_size = (size_t)cli_parse_integer(argv[3], "objsize", 1, MAX_OBJECT_SIZE);
    uint64_t repetitions =
        (uint64_t)cli_parse_integer(argv[4], "repetitions", 1, MAX_REPETITIONS);
    c.concurrency = (unsigned)cli_parse_integer(argv[5], "concurrency", 1, MAX_THREADS);
    if (repetitions < c.threads)
        cli_usage_error(usage, "repetitions (%llu) must be at least nthreads (%u): each "
                        "thread writes repetitions / nthreads times",
                        (unsigned long long)repetitions, c.threads);
    c.passes_per_object = repetitions / c.threads;
    return c;
}

char *cache_allocate(size_t object_size)
{
    char *p = malloc(object_size);
    if (p == NULL)
        cli_fail(EXIT_CHECK_FAILED, "out of memory allocating a %zu-byte object", object_size);
    return p;
}

uint64_t cache_touch(volatile char *object, size_t size, uint64_t passes)
{
    uint64_t wrong = 0;
    for (uint64_t pass = 0; pass < passes; pass++) {
        for (size_t k = 0; k < size; k++) {
            char expected = (char)(k + pass);
            object[k] = expected;
            if (object[k] != expected)
                wrong++;
        }
    }
    return wrong;
}

uint64_t cache_churn(const cache_config *config)
{
    /* Counted locally: the thread records sit side by side, and writing them
     * in the loop would add false sharing of our own to the measurement. */
    uint64_t wrong = 0;
    for (uint64_t i = 0; i < config->iterations; i++) {
        char *object = cache_allocate(config->object_size);
        wrong += cache_touch(object, config->object_size, config->passes_per_object);
        free(object);
    }
    return wrong;
}

void cache_run_threads(const cache_config *config, void *(*body)(void *), void *arguments,
                       size_t argument_size)
{
    /* Linux records the concurrency hint and ignores it; the call is kept so the
     * argument means what it meant in the original. */
    pthread_setconcurrency((int)config->concurrency);
    unsigned threads = config->threads;
    pthread_t *handles = cli_checked_calloc(threads, sizeof(pthread_t), "threads");
    for (unsigned i = 0; i < threads; i++)
        if (pthread_create(&handles[i], NULL, body, (char *)arguments + i * argument_size) != 0)
            cli_fail(EXIT_CHECK_FAILED, "could not start thread %u", i);
    for (unsigned i = 0; i < threads; i++)
        pthread_join(handles[i], NULL);
    free(handles);
}

void cache_check(uint64_t wrong_bytes)
{
    if (wrong_bytes != 0)
        cli_fail(EXIT_CHECK_FAILED, "check failed: %llu bytes read back a value not written",
                 (unsigned long long)wrong_bytes);
}
