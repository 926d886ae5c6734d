/* larson: the server simulation of Larson and Krishnan, "Memory allocation for
 * long-running server applications" (ISMM 1998).
 *
 *   larson seconds min_size max_size chunks_per_thread rounds seed threads
 *   standard: larson 5 8 1000 5000 100 4141 N
 *
 * A shared array holds threads x chunks blocks. Each worker owns a slice of it
 * and, step after step, frees a random block of its slice and allocates a new
 * one of random size in its place. After rounds x chunks steps the worker starts
 * a successor on the same slice and exits, so blocks are freed by threads other
 * than the one that allocated them, often after that thread has died: the churn
 * of a server whose requests are handled by short-lived threads. The main thread
 * sleeps, raises a stop flag, joins every chain of workers and prints
 *   Throughput = X operations per second, relative time: Ys.
 * where an operation is one free plus one allocation and Y = 1e9 / X.
 *
 * Built twice, as the original: both allocate with C++ `new char[size]`;
 * `larson` frees with `delete[]`, `larson-sized` (LARSON_SIZED_FREE=1) with the
 * sized `operator delete[](p, size)`, passing exactly the size requested (never
 * a rounded or guessed one). The C++ calls live in larson_new.cc; a preloaded
 * allocator that exports operator new[] / delete[] (mimalloc, jemalloc,
 * tcmalloc, ours) receives them directly, others through libstdc++'s, which
 * call malloc and free.
 *
 * Self-checks: every block carries a tag byte at both ends, checked when it is
 * freed; every slice's chain of workers must run and end; any failure prints a
 * message and exits 1.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cli.h"
#include "../common/clock.h"
#include "../common/rng.h"

#ifndef LARSON_SIZED_FREE
#define LARSON_SIZED_FREE 0
#endif

/* larson_new.cc: C++ new[] and (sized) delete[] for C. */
extern void *larson_new(size_t size);
extern void larson_delete(void *p);
extern void larson_delete_sized(void *p, size_t size);

#if LARSON_SIZED_FREE
#define PROGRAM_NAME "larson-sized"
#else
#define PROGRAM_NAME "larson"
#endif

static const char usage[] = "seconds min_size max_size chunks_per_thread rounds seed threads";

#define MAX_THREADS 100             /* as the original */
#define MAX_SECONDS 3600.0
#define MAX_BLOCK_BYTES (1u << 20)  /* keeps threads x chunks x size within reach */
#define MAX_TOTAL_BLOCKS 100000000ll
#define MAX_ROUNDS 1000000000ll
/* The warm-up does this many random free+allocate pairs per block, so the heap
 * the workers start from is already fragmented, as a long-running server's is. */
#define WARMUP_PAIRS_PER_BLOCK 4

typedef struct config {
    double seconds;
    uint32_t min_size, max_size; /* sizes drawn from [min_size, max_size) */
    size_t chunks;               /* blocks per slice */
    uint64_t rounds;
    uint64_t seed;
    unsigned threads;
} config;

/* One worker's part of the block array, handed from each thread to its successor. */
typedef struct slice {
    void **blocks;
    uint32_t *sizes;
    rng_t rng;                  /* the slice's random stream, continued by successors */
    uint64_t operations;        /* free+allocate pairs done by workers */
    uint64_t generations;       /* threads that have worked this slice */
    uint64_t damaged_blocks;    /* blocks whose tags changed while allocated */
    bool has_predecessor;
    pthread_t predecessor;      /* set by a worker before it starts its successor */
    pthread_t last_thread;      /* the worker that ended the chain */
    bool chain_failed;          /* a successor could not be started */
} slice;

static config cfg;
static atomic_bool stop_requested;
static pthread_mutex_t finish_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t chain_finished = PTHREAD_COND_INITIALIZER;
static unsigned chains_finished;

/* ---- blocks ------------------------------------------------------------------ */

static uint8_t block_tag(uint32_t size) { return (uint8_t)(0xa5 ^ size ^ (size >> 8)); }

static uint32_t random_size(rng_t *rng)
{
    if (cfg.max_size <= cfg.min_size)
        return cfg.min_size;
    return cfg.min_size + (uint32_t)rng_below(rng, cfg.max_size - cfg.min_size);
}

static void *allocate_block(uint32_t size)
{
    uint8_t *p = larson_new(size);
    if (p == NULL)
        cli_fail(EXIT_CHECK_FAILED, "out of memory allocating a %u-byte block", size);
    /* "A couple of bytes": the two ends, which also serve as the check. */
    p[0] = block_tag(size);
    p[size - 1] = block_tag(size);
    return p;
}

static bool block_intact(const void *block, uint32_t size)
{
    const uint8_t *p = block;
    return p[0] == block_tag(size) && p[size - 1] == block_tag(size);
}

static void release_block(void *p, uint32_t size)
{
#if LARSON_SIZED_FREE
    larson_delete_sized(p, size);
#else
    (void)size;
    larson_delete(p);
#endif
}

/* Free block i of the slice (checking it) and put a new random-size one there. */
static void replace_block(void **blocks, uint32_t *sizes, size_t i, rng_t *rng,
                          uint64_t *damaged)
{
    if (!block_intact(blocks[i], sizes[i]))
        (*damaged)++;
    release_block(blocks[i], sizes[i]);
    sizes[i] = random_size(rng);
    blocks[i] = allocate_block(sizes[i]);
}

/* ---- workers -------------------------------------------------------------------- */

static void finish_chain(slice *s)
{
    pthread_mutex_lock(&finish_lock);
    s->last_thread = pthread_self();
    chains_finished++;
    pthread_cond_signal(&chain_finished);
    pthread_mutex_unlock(&finish_lock);
}

static void *worker(void *arg)
{
    slice *s = arg;
    /* The predecessor has done its last write to the slice before creating us;
     * joining it here means every thread of a chain is joined by someone. */
    if (s->has_predecessor)
        pthread_join(s->predecessor, NULL);
    /* Work on local copies: slices sit side by side, and updating them in the
     * loop would add false sharing of our own to what is measured. */
    uint64_t steps = cfg.rounds * cfg.chunks, done = 0;
    uint64_t damaged = 0;
    rng_t rng = s->rng;
    void **blocks = s->blocks;
    uint32_t *sizes = s->sizes;
    while (done < steps && !atomic_load_explicit(&stop_requested, memory_order_relaxed)) {
        size_t i = (size_t)rng_below(&rng, cfg.chunks);
        replace_block(blocks, sizes, i, &rng, &damaged);
        done++;
    }
    s->rng = rng;
    s->operations += done;
    s->damaged_blocks += damaged;
    s->generations++;
    if (done < steps) {
        finish_chain(s);
        return NULL;
    }
    /* Hand the slice to a successor thread and die. */
    s->has_predecessor = true;
    s->predecessor = pthread_self();
    pthread_t successor;
    if (pthread_create(&successor, NULL, worker, s) != 0) {
        s->has_predecessor = false;
        s->chain_failed = true;
        finish_chain(s);
    }
    return NULL;
}

/* ---- main ---------------------------------------------------------------------- */

static config parse_args(int argc, char **argv)
{
    if (argc != 8)
        cli_usage_error(usage, "expected 7 arguments, got %d", argc - 1);
    config c;
    c.seconds = cli_parse_seconds(argv[1], "seconds", MAX_SECONDS);
    c.min_size = (uint32_t)cli_parse_integer(argv[2], "min_size", 1, MAX_BLOCK_BYTES);
    c.max_size = (uint32_t)cli_parse_integer(argv[3], "max_size", 1, MAX_BLOCK_BYTES);
    if (c.max_size < c.min_size)
        cli_usage_error(usage, "max_size (%u) must not be below min_size (%u)", c.max_size,
                        c.min_size);
    c.chunks = (size_t)cli_parse_integer(argv[4], "chunks_per_thread", 1, MAX_TOTAL_BLOCKS);
    c.rounds = (uint64_t)cli_parse_integer(argv[5], "rounds", 1, MAX_ROUNDS);
    c.seed = (uint64_t)cli_parse_integer(argv[6], "seed", 0, INT64_MAX);
    c.threads = (unsigned)cli_parse_integer(argv[7], "threads", 1, MAX_THREADS);
    if ((long long)c.chunks * c.threads > MAX_TOTAL_BLOCKS)
        cli_usage_error(usage, "threads x chunks_per_thread must be at most %lld",
                        MAX_TOTAL_BLOCKS);
    return c;
}

/* The main thread fills the array, shuffles it, and churns it (see the top). */
static void warm_up(void **blocks, uint32_t *sizes, size_t total)
{
    rng_t rng = rng_seeded(cfg.seed, 0);
    for (size_t i = 0; i < total; i++) {
        sizes[i] = random_size(&rng);
        blocks[i] = allocate_block(sizes[i]);
    }
    for (size_t i = total - 1; i > 0; i--) {
        size_t j = (size_t)rng_below(&rng, i + 1);
        void *b = blocks[i];
        uint32_t sz = sizes[i];
        blocks[i] = blocks[j];
        sizes[i] = sizes[j];
        blocks[j] = b;
        sizes[j] = sz;
    }
    uint64_t damaged = 0;
    for (size_t n = 0; n < WARMUP_PAIRS_PER_BLOCK * total; n++)
        replace_block(blocks, sizes, (size_t)rng_below(&rng, total), &rng, &damaged);
    if (damaged != 0)
        cli_fail(EXIT_CHECK_FAILED, "check failed: %llu blocks damaged during warm-up",
                 (unsigned long long)damaged);
}

int main(int argc, char **argv)
{
    cli_set_program(PROGRAM_NAME);
    cfg = parse_args(argc, argv);
    size_t total = cfg.chunks * cfg.threads;
    void **blocks = cli_checked_calloc(total, sizeof(void *), "the block array");
    uint32_t *sizes = cli_checked_calloc(total, sizeof(uint32_t), "the size array");
    slice *slices = cli_checked_calloc(cfg.threads, sizeof(slice), "the slices");
    warm_up(blocks, sizes, total);

    double start = clock_now_seconds();
    for (unsigned t = 0; t < cfg.threads; t++) {
        slice *s = &slices[t];
        s->blocks = blocks + t * cfg.chunks;
        s->sizes = sizes + t * cfg.chunks;
        s->rng = rng_seeded(cfg.seed, t + 1);
        pthread_t thread;
        if (pthread_create(&thread, NULL, worker, s) != 0)
            cli_fail(EXIT_CHECK_FAILED, "could not start worker thread %u", t);
    }
    clock_sleep_seconds(cfg.seconds);
    atomic_store(&stop_requested, true);
    pthread_mutex_lock(&finish_lock);
    while (chains_finished < cfg.threads)
        pthread_cond_wait(&chain_finished, &finish_lock);
    pthread_mutex_unlock(&finish_lock);
    for (unsigned t = 0; t < cfg.threads; t++)
        pthread_join(slices[t].last_thread, NULL);
    double elapsed = clock_now_seconds() - start;

    uint64_t operations = 0, damaged = 0;
    for (unsigned t = 0; t < cfg.threads; t++) {
        operations += slices[t].operations;
        damaged += slices[t].damaged_blocks;
        if (slices[t].chain_failed)
            cli_fail(EXIT_CHECK_FAILED,
                     "check failed: slice %u could not start a successor thread", t);
        if (slices[t].generations == 0)
            cli_fail(EXIT_CHECK_FAILED, "check failed: no worker ran on slice %u", t);
    }
    for (size_t i = 0; i < total; i++) {
        if (!block_intact(blocks[i], sizes[i]))
            damaged++;
        release_block(blocks[i], sizes[i]);
    }
    if (damaged != 0)
        cli_fail(EXIT_CHECK_FAILED, "check failed: %llu blocks were damaged while allocated",
                 (unsigned long long)damaged);
    if (operations == 0)
        cli_fail(EXIT_CHECK_FAILED, "check failed: the workers did no work in %.3f s", elapsed);

    double throughput = (double)operations / elapsed;
    printf("Throughput = %.0f operations per second, relative time: %.3fs.\n", throughput,
           1e9 / throughput);
    free(blocks);
    free(sizes);
    free(slices);
    return 0;
}
