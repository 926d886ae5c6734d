/* sh8bench: MicroQuill's SmartHeap benchmark (2005), as mimalloc-bench builds it:
 * sh6bench's ring of blocks with a fixed size histogram, plus ten million small
 * blocks allocated by the main thread while the workers run, every one of them
 * freed by a worker: frees from a thread that did not allocate the block.
 *
 *   sh8bench [-v] [threads [iterations]]   defaults: the number of processors, 700000
 *   standard: sh8bench 2N (the tradition runs twice as many threads as cores)
 *
 * mimalloc-bench's build raises the iterations from 100,000 to 700,000 and takes
 * the other prompts' defaults: a heap of 1,000,000 blocks and 10,000,000 foreign
 * blocks (rounded down to a multiple of threads^2). Iterations and heap are
 * shared out among the T threads, so the total work is fixed.
 *
 * Each iteration a thread first frees the foreign blocks the main thread has
 * published so far in its share (1/T of the foreign array, taken as T equal
 * pieces, one from each thread's region, so every thread's frees interleave with
 * everyone's), stopping at the first one not yet there. Then it takes the next
 * entry of the histogram (8 B x 1000, 16 x 5000, 48 x 1000, 72, 148 and 200 x 100,
 * 520 x 10, 1056 x 5, 4096 x 3, and one each of 9162, 34562 and 168524 bytes) and
 * puts that many blocks into its ring, writing each one's first and last byte.
 * The ring is sh6bench's: a fifth kept alive each cycle, the rest freed oldest
 * first below it and newest first above it (here without sh6bench's overwrite).
 * The main thread allocates every foreign block 8 bytes long, stores in it the
 * address of its slot and then publishes it. As in the original, nobody frees what
 * is still in a ring at the end.
 *
 * Every block is checked when freed (a ring block's tag bytes, a foreign block's
 * slot address) and, for what is held at the end, then. The run checks itself:
 * no damaged block, allocated = freed + held at the end. Prints `Total elapsed
 * time for T threads: S (C CPU)`; the figure is wall time. -v adds the block
 * accounting on stderr.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../common/cli.h"
#include "../common/clock.h"

static const char usage[] = "[-v] [threads [iterations]]";

#define DEFAULT_ITERATIONS 700000 /* mimalloc-bench's build; MicroQuill's default is 100000 */
#define MAX_ITERATIONS 100000000
#define HEAP_BLOCKS 1000000
#define FOREIGN_BLOCKS 10000000
#define FOREIGN_BLOCK_SIZE 8 /* the histogram's first size: every foreign block alike */
#define MAX_THREADS 256
#define KEPT_SHARE 5
#define TAG_SALT 0x5a

typedef struct histogram_entry {
    uint32_t size, count;
} histogram_entry;

static const histogram_entry histogram[] = {
    {8, 1000}, {16, 5000}, {48, 1000},   {72, 100},   {148, 100},   {200, 100},
    {520, 10}, {1056, 5},  {4096, 3},    {9162, 1},   {34562, 1},   {168524, 1}};
#define HISTOGRAM_ENTRIES (sizeof histogram / sizeof histogram[0])

typedef struct options {
    unsigned threads;
    unsigned long iterations;
    bool verbose;
} options;

static options opt;
static _Atomic(void **) *foreign; /* the main thread's blocks; each holds its slot's address */
static size_t foreign_count;

/* This thread's share of the foreign blocks: `left` more to free, the next at
 * `next`, `piece_left` more in the current piece. */
typedef struct foreign_share {
    size_t left, next, piece_left, piece, region;
} foreign_share;

typedef struct worker {
    pthread_t thread;
    unsigned index;
    foreign_share share; /* what is left of it at the end is checked by main */
    uint64_t allocated, freed, held, damaged;
} worker;

static uint8_t tag_of(uint32_t size)
{
    return (uint8_t)(TAG_SALT ^ size ^ (size >> 8));
}

static bool tag_intact(const uint8_t *p, uint32_t size)
{
    return p[0] == tag_of(size) && p[size - 1] == tag_of(size);
}

typedef struct ring {
    uint8_t **slots;
    uint32_t *sizes;
    size_t count;
} ring;

static void free_slot(worker *w, ring *r, size_t i)
{
    w->damaged += !tag_intact(r->slots[i], r->sizes[i]);
    w->freed++;
    free(r->slots[i]);
    r->sizes[i] = 0;
}


static void free_foreign(worker *w, foreign_share *f)
{
    while (f->left > 0) {
        void **block = atomic_load_explicit(&foreign[f->next], memory_order_acquire);
        if (block == NULL)
            break; /* not published yet: try again next iteration */
        w->damaged += *block != (void *)&foreign[f->next];
        w->freed++;
        free(block);
        f->next++;
        f->left--;
        if (--f->piece_left == 0) { /* on to this thread's piece of the next region */
            f->piece_left = f->piece;
            f->next += f->region - f->piece;
        }
    }
}

static void *run_thread(void *arg)
{
    worker *w = arg;
    const size_t n = HEAP_BLOCKS / opt.threads;
    ring r = {malloc(n * sizeof *r.slots), cli_checked_calloc(n, sizeof *r.sizes, "the ring"), n};
    if (r.slots == NULL)
        cli_fail(EXIT_CHECK_FAILED, "out of memory allocating the ring");
    size_t region = foreign_count / opt.threads, piece = region / opt.threads;
    foreign_share f = {region, piece * w->index, piece, piece, region};
    size_t mp = 0, save_start = n, save_end = n;
    unsigned entry = 0;

    for (unsigned long it = opt.iterations / opt.threads; it > 0; it--) {
        free_foreign(w, &f);
        if (++entry == HISTOGRAM_ENTRIES)
            entry = 0;
        uint32_t size = histogram[entry].size;
        for (uint32_t k = histogram[entry].count; k > 0; k--) {
            if (mp == save_start)
                mp = save_end;
            if (mp >= n) { /* full: keep the next fifth, free the rest (no block this turn) */
                save_start = save_end >= n ? 0 : save_end;
                save_end = save_start + n / KEPT_SHARE;
                if (save_end > n)
                    save_end = n;
                for (mp = 0; mp < save_start; mp++)
                    if (r.sizes[mp] != 0)
                        free_slot(w, &r, mp); /* oldest first */
                for (mp = n; mp > save_end; mp--)
                    if (r.sizes[mp - 1] != 0)
                        free_slot(w, &r, mp - 1); /* newest first */
                mp = 0;
                continue;
            }
            uint8_t *p = malloc(size);
            if (p == NULL)
                cli_fail(EXIT_CHECK_FAILED, "out of memory allocating %u bytes", size);
            p[0] = p[size - 1] = tag_of(size);
            w->allocated++;
            r.slots[mp] = p;
            r.sizes[mp] = size;
            mp++;
        }
    }

    for (size_t i = 0; i < n; i++)
        if (r.sizes[i] != 0) {
            w->damaged += !tag_intact(r.slots[i], r.sizes[i]);
            w->held++;
        }
    w->share = f;
    return NULL;
}

/* The foreign blocks a thread never got to (main has published them all by now):
 * held, as in the original, and checked. */
static void check_leftovers(worker *w)
{
    foreign_share *f = &w->share;
    for (; f->left > 0; f->left--) {
        void **block = atomic_load_explicit(&foreign[f->next], memory_order_acquire);
        w->damaged += block == NULL || *block != (void *)&foreign[f->next];
        w->held++;
        f->next++;
        if (--f->piece_left == 0) {
            f->piece_left = f->piece;
            f->next += f->region - f->piece;
        }
    }
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
    unsigned long iterations = DEFAULT_ITERATIONS;
    if (argc > 2)
        iterations = (unsigned long)cli_parse_integer(argv[2], "iterations", 1, MAX_ITERATIONS);
    return (options){threads, iterations, verbose};
}

int main(int argc, char **argv)
{
    cli_set_program("sh8bench");
    opt = parse_options(argc, argv);
    foreign_count = FOREIGN_BLOCKS / ((size_t)opt.threads * opt.threads) * opt.threads * opt.threads;
    worker *workers = cli_checked_calloc(opt.threads, sizeof *workers, "the threads");
    foreign = malloc(foreign_count * sizeof *foreign);
    if (foreign == NULL)
        cli_fail(EXIT_CHECK_FAILED, "out of memory allocating the foreign array");
    memset((void *)foreign, 0, foreign_count * sizeof *foreign);

    double start = clock_now_seconds();
    clock_t start_cpu = clock();
    for (unsigned i = 0; i < opt.threads; i++) {
        workers[i].index = i;
        if (pthread_create(&workers[i].thread, NULL, run_thread, &workers[i]) != 0)
            cli_fail(EXIT_CHECK_FAILED, "could not start thread %u", i);
    }
    for (size_t i = 0; i < foreign_count; i++) {
        void **block = malloc(FOREIGN_BLOCK_SIZE);
        if (block == NULL)
            cli_fail(EXIT_CHECK_FAILED, "out of memory allocating a foreign block");
        *block = (void *)&foreign[i];
        atomic_store_explicit(&foreign[i], block, memory_order_release);
    }
    uint64_t allocated = foreign_count, freed = 0, held = 0, damaged = 0;
    for (unsigned i = 0; i < opt.threads; i++) {
        pthread_join(workers[i].thread, NULL);
        check_leftovers(&workers[i]);
        allocated += workers[i].allocated;
        freed += workers[i].freed;
        held += workers[i].held;
        damaged += workers[i].damaged;
    }
    double elapsed = clock_now_seconds() - start;
    double cpu = (double)(clock() - start_cpu) / CLOCKS_PER_SEC;

    if (damaged != 0)
        cli_fail(EXIT_CHECK_FAILED, "check failed: %llu blocks were damaged",
                 (unsigned long long)damaged);
    if (allocated != freed + held)
        cli_fail(EXIT_CHECK_FAILED, "check failed: %llu blocks allocated but %llu freed, %llu held",
                 (unsigned long long)allocated, (unsigned long long)freed,
                 (unsigned long long)held);
    if (opt.verbose)
        fprintf(stderr, "sh8bench: %llu blocks allocated (%zu by the main thread), %llu freed, "
                        "%llu held at the end\n",
                (unsigned long long)allocated, foreign_count, (unsigned long long)freed,
                (unsigned long long)held);
    printf("\nTotal elapsed time for %u threads: %.2f (%.4f CPU)\n", opt.threads, elapsed, cpu);
    return 0;
}
