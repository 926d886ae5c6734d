/* sh6bench: MicroQuill's SmartHeap benchmark (2000), as mimalloc-bench builds it:
 * each thread fills a ring of block pointers with blocks of falling sizes and,
 * each time the ring is full, frees most of it, the oldest first from the bottom
 * and the newest first from the top, keeping a fifth alive into the next cycle.
 *
 *   sh6bench [-v] [threads [call_count]]   defaults: the number of processors, 10000
 *   standard: sh6bench 2N (the tradition runs twice as many threads as cores)
 *
 * The call count (mimalloc-bench's build raises it from 1000 to 10000 and takes
 * every other prompt's default) is shared out: with T > 1 threads each gets
 * call_count / T. A thread's ring has that many slots, and it repeats that many
 * times: for each base size 1, 2, 4, 7, 11, ... (x 3/2 + 1) below 1000, for the
 * base and each of its halvings down to 1 byte, allocate 250 blocks of it when it
 * is below 100 bytes and 50 when below 1000 (19,300 blocks per repeat), writing the
 * first and the last byte of each. The total work is fixed: T threads share it.
 *
 * Ring: after each allocation, a thread that reaches the kept fifth jumps over it;
 * when the ring is full it marks the next fifth to keep (wrapping to the start
 * after the last one) and frees all below it in allocation order and all above
 * it in reverse order, then refills from the start. When the kept fifth is the
 * first one, the refill from the start writes over it: its blocks are never
 * freed. That is the original's own bookkeeping (about 1 block in 21 leaks), and
 * we keep it, counting what it drops. At the end a thread frees the blocks below
 * its fill point and keeps the rest, as the original does.
 *
 * Blocks carry a tag in their first and last byte, checked at every free and, for
 * the blocks a thread still holds at its end, then. The run checks itself: no
 * damaged block, and allocated = freed + dropped by the ring + held at the end.
 * Prints `Total elapsed time for T threads: S (C CPU)`; the figure is wall time.
 * -v adds the block accounting on stderr.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../common/cli.h"
#include "../common/clock.h"

static const char usage[] = "[-v] [threads [call_count]]";

#define DEFAULT_CALL_COUNT 10000 /* mimalloc-bench's build; MicroQuill's default is 1000 */
#define MAX_CALL_COUNT 10000000
#define MAX_THREADS 256
#define MIN_BLOCK_SIZE 1
#define MAX_BLOCK_SIZE 1000     /* base sizes stay below this */
#define KEPT_SHARE 5            /* a fifth of the ring survives each cycle */
#define SMALL_BLOCK 100         /* below: 5 x 5 x 10 blocks per size */
#define MEDIUM_BLOCK 1000       /* below: 5 x 10 blocks per size */
#define LARGE_BLOCK 10000       /* below: 10 blocks per size, else 1 */
#define TAG_SALT 0x5a

typedef struct options {
    unsigned threads;
    unsigned long calls_per_thread;
    bool verbose;
} options;

static options opt;

typedef struct worker {
    pthread_t thread;
    uint64_t allocated, freed, dropped, held, damaged;
} worker;

static uint8_t tag_of(uint16_t size)
{
    return (uint8_t)(TAG_SALT ^ size ^ (size >> 8));
}

static unsigned blocks_per_size(unsigned size)
{
    unsigned n = size < LARGE_BLOCK ? 10 : 1;
    if (size < MEDIUM_BLOCK)
        n *= 5;
    if (size < SMALL_BLOCK)
        n *= 5;
    return n;
}

static bool tag_intact(const uint8_t *p, uint16_t size)
{
    return p[0] == tag_of(size) && p[size - 1] == tag_of(size);
}

/* The ring: slot pointers and their blocks' sizes (0: the slot holds nothing). */
typedef struct ring {
    uint8_t **slots;
    uint16_t *sizes;
    size_t count;
} ring;

static void free_slot(worker *w, ring *r, size_t i)
{
    w->damaged += !tag_intact(r->slots[i], r->sizes[i]);
    w->freed++;
    free(r->slots[i]);
    r->sizes[i] = 0;
}

static void *run_thread(void *arg)
{
    worker *w = arg;
    const size_t n = opt.calls_per_thread;
    ring r = {malloc(n * sizeof *r.slots), cli_checked_calloc(n, sizeof *r.sizes, "the ring"), n};
    if (r.slots == NULL)
        cli_fail(EXIT_CHECK_FAILED, "out of memory allocating the ring");
    size_t mp = 0, save_start = n, save_end = n;

    for (unsigned long repeat = 0; repeat < n; repeat++)
        for (unsigned base = MIN_BLOCK_SIZE; base < MAX_BLOCK_SIZE; base = base * 3 / 2 + 1)
            for (unsigned size = base; size >= MIN_BLOCK_SIZE; size /= 2)
                for (unsigned k = blocks_per_size(size); k > 0; k--) {
                    uint8_t *p = malloc(size);
                    if (p == NULL)
                        cli_fail(EXIT_CHECK_FAILED, "out of memory allocating %u bytes", size);
                    p[0] = p[size - 1] = tag_of((uint16_t)size);
                    w->allocated++;
                    w->dropped += r.sizes[mp] != 0; /* the original's refill over the kept fifth */
                    r.slots[mp] = p;
                    r.sizes[mp] = (uint16_t)size;
                    mp++;
                    if (mp == save_start)
                        mp = save_end;
                    if (mp >= n) {
                        mp = 0;
                        save_start = save_end >= n ? 0 : save_end;
                        save_end = save_start + n / KEPT_SHARE;
                        if (save_end > n)
                            save_end = n;
                        for (; mp < save_start; mp++)
                            if (r.sizes[mp] != 0)
                                free_slot(w, &r, mp); /* oldest first */
                        for (mp = n; mp > save_end; mp--)
                            if (r.sizes[mp - 1] != 0)
                                free_slot(w, &r, mp - 1); /* newest first */
                        mp = 0;
                    }
                }

    for (size_t i = 0; i < mp; i++)
        if (r.sizes[i] != 0)
            free_slot(w, &r, i);
    for (size_t i = mp; i < n; i++)
        if (r.sizes[i] != 0) {
            w->damaged += !tag_intact(r.slots[i], r.sizes[i]);
            w->held++;
        }
    free(r.slots);
    free(r.sizes);
    return NULL;
}

static options parse_options(int argc, char **argv)
{
    bool verbose = argc > 1 && strcmp(argv[1], "-v") == 0;
    if (verbose) {
        argv++;
        argc--;
    }
    if (argc > 3)
        cli_usage_error(usage, "too many arguments (%d)", argc - 1);
    long processors = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned threads = processors > 0 ? (unsigned)processors : 1;
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    if (argc > 1)
        threads = (unsigned)cli_parse_integer(argv[1], "threads", 1, MAX_THREADS);
    unsigned long calls = DEFAULT_CALL_COUNT;
    if (argc > 2)
        calls = (unsigned long)cli_parse_integer(argv[2], "call_count", 1, MAX_CALL_COUNT);
    options o = {threads, threads > 1 ? calls / threads : calls, verbose};
    if (o.calls_per_thread < KEPT_SHARE)
        cli_usage_error(usage, "call_count (%lu) must give each of the %u threads at least %d",
                        calls, threads, KEPT_SHARE);
    return o;
}

int main(int argc, char **argv)
{
    cli_set_program("sh6bench");
    opt = parse_options(argc, argv);
    worker *workers = cli_checked_calloc(opt.threads, sizeof *workers, "the threads");
    double start = clock_now_seconds();
    clock_t start_cpu = clock();
    for (unsigned i = 0; i < opt.threads; i++)
        if (pthread_create(&workers[i].thread, NULL, run_thread, &workers[i]) != 0)
            cli_fail(EXIT_CHECK_FAILED, "could not start thread %u", i);
    uint64_t allocated = 0, freed = 0, dropped = 0, held = 0, damaged = 0;
    for (unsigned i = 0; i < opt.threads; i++) {
        pthread_join(workers[i].thread, NULL);
        allocated += workers[i].allocated;
        freed += workers[i].freed;
        dropped += workers[i].dropped;
        held += workers[i].held;
        damaged += workers[i].damaged;
    }
    double elapsed = clock_now_seconds() - start;
    double cpu = (double)(clock() - start_cpu) / CLOCKS_PER_SEC;
    free(workers);

    if (damaged != 0)
        cli_fail(EXIT_CHECK_FAILED, "check failed: %llu blocks were damaged",
                 (unsigned long long)damaged);
    if (allocated != freed + dropped + held)
        cli_fail(EXIT_CHECK_FAILED,
                 "check failed: %llu blocks allocated but %llu freed, %llu dropped, %llu held",
                 (unsigned long long)allocated, (unsigned long long)freed,
                 (unsigned long long)dropped, (unsigned long long)held);
    if (opt.verbose)
        fprintf(stderr,
                "sh6bench: %llu blocks allocated, %llu freed, %llu dropped by the ring, %llu "
                "held at the end\n",
                (unsigned long long)allocated, (unsigned long long)freed,
                (unsigned long long)dropped, (unsigned long long)held);
    printf("\nTotal elapsed time for %u threads: %.2f (%.4f CPU)\n", opt.threads, elapsed, cpu);
    return 0;
}
