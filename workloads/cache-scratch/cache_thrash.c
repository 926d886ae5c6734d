/* cache-thrash: active false sharing (Hoard suite; see cache_common.h).
 *
 * Each thread allocates, writes and frees its own objects from the start;
 * nothing is handed between threads. An allocator that serves different
 * threads from one cache line (a shared heap carving small blocks back to
 * back) makes them write to one line concurrently: the "active" false sharing
 * this measures. Like cache-scratch, each thread writes repetitions / nthreads
 * times per object, so the total work does not depend on the thread count.
 */
#include <stdlib.h>

#include "../common/cli.h"
#include "cache_common.h"

typedef struct thrash_thread {
    const cache_config *config;
    uint64_t wrong_bytes;
} thrash_thread;

static void *thrash_worker(void *arg)
{
    thrash_thread *t = arg;
    const cache_config *c = t->config;
    t->wrong_bytes = cache_churn(c);
    return NULL;
}

int main(int argc, char **argv)
{
    cli_set_program("cache-thrash");
    cache_config config = cache_parse_args(argc, argv);
    thrash_thread *threads =
        cli_checked_calloc(config.threads, sizeof(thrash_thread), "thread state");
    for (unsigned i = 0; i < config.threads; i++)
        threads[i].config = &config;
    cache_run_threads(&config, thrash_worker, threads, sizeof(thrash_thread));
    uint64_t wrong = 0;
    for (unsigned i = 0; i < config.threads; i++)
        wrong += threads[i].wrong_bytes;
    free(threads);
    cache_check(wrong);
    return 0;
}
