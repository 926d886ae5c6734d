/* cache-scratch: passive false sharing (Hoard suite; see cache_common.h).
 *
 * The main thread allocates one object per thread back to back, so several of
 * them likely share a cache line, and hands one to each thread. Each thread
 * frees the object it was handed and then repeatedly allocates, writes and
 * frees its own. An allocator that hands the freed (shared) memory straight
 * back to the thread that freed it makes the threads write to one cache line
 * without ever sharing an object: the "passive" false sharing this measures.
 */
#include <stdlib.h>

#include "../common/cli.h"
#include "cache_common.h"

typedef struct scratch_thread {
    const cache_config *config;
    char *handed_object; /* allocated by main, freed by this thread */
    uint64_t wrong_bytes;
} scratch_thread;

static void *scratch_worker(void *arg)
{
    scratch_thread *t = arg;
    const cache_config *c = t->config;
    free(t->handed_object);
    t->wrong_bytes = cache_churn(c);
    return NULL;
}

int main(int argc, char **argv)
{
    cli_set_program("cache-scratch");
    cache_config config = cache_parse_args(argc, argv);
    scratch_thread *threads =
        cli_checked_calloc(config.threads, sizeof(scratch_thread), "thread state");
    for (unsigned i = 0; i < config.threads; i++) {
        threads[i].config = &config;
        threads[i].handed_object = cache_allocate(config.object_size);
    }
    cache_run_threads(&config, scratch_worker, threads, sizeof(scratch_thread));
    uint64_t wrong = 0;
    for (unsigned i = 0; i < config.threads; i++)
        wrong += threads[i].wrong_bytes;
    free(threads);
    cache_check(wrong);
    return 0;
}
