/* xmalloc-test: producers allocate, consumers free; every free is cross-thread.
 * (By Lever and Boreham, "malloc() Performance in a Multithreaded Linux
 * Environment", USENIX 2000 Freenix track, updated by Christian Eder; the
 * mimalloc-bench suite runs the version kept in the SuperMalloc repository.)
 *
 *   xmalloc-test -w W -t seconds -s size [-v]
 *   standard: xmalloc-test -w N -t 5 -s 64
 *
 * W producer threads and W consumer threads (2W threads in all: -w counts each
 * side, it is not the total). A producer mallocs a batch of 4096 objects,
 * writing into each, and pushes the batch onto one mutex-protected stack,
 * waiting while 100 batches are queued. A consumer pops a batch and frees every
 * object in it. With size <= 0 each object's size is drawn from 17 classes from
 * 8 to 2048 bytes. After `seconds` the main thread stops everyone and prints
 *   rtime: R, free/sec: F M
 * with F the frees done by consumers per second, in millions, and R = 100 / F.
 *
 * Unlike the original, only frees that really happened count (not whole batches
 * assumed freed), and the run checks itself: every object's tag bytes must be
 * intact when it is freed, and every object produced must have been freed by a
 * consumer or, for the batches still queued at the end, by the main thread
 * (those leftovers do not count toward F).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../common/cli.h"
#include "../common/clock.h"
#include "../common/rng.h"

static const char usage[] = "-w W -t seconds -s size [-v]";

#define BATCH_OBJECTS 4096
#define MAX_QUEUED_BATCHES 100
#define MAX_WORKERS 64 /* per side: up to 128 threads */
#define MAX_SECONDS 3600.0
/* A fixed size above the largest random class would let the 100 queued batches
 * hold gigabytes; 2048 bounds them to ~800 MiB at worst. */
#define MAX_FIXED_SIZE 2048
#define DEFAULT_WORKERS 1
#define DEFAULT_SECONDS 5.0
#define DEFAULT_SIZE 64
/* Producers draw sizes from a fixed seed: runs are repeatable. */
#define SIZE_SEED 0x786d616c6c6f63ull

/* 8 to 2048 bytes in steps of 1.5x and 4/3x alternately: 17 classes. */
static const uint32_t random_size_classes[] = {8,   12,  16,  24,  32,   48,   64,   96,  128,
                                               192, 256, 384, 512, 768, 1024, 1536, 2048};
#define RANDOM_SIZE_CLASS_COUNT (sizeof random_size_classes / sizeof random_size_classes[0])

typedef struct batch {
    struct batch *next; /* in the stack */
    unsigned producer;
    void *objects[BATCH_OBJECTS];
    uint32_t sizes[BATCH_OBJECTS];
} batch;

typedef struct options {
    unsigned workers;
    double seconds;
    long size; /* <= 0: random sizes */
    bool verbose;
} options;

static options opt;

/* The stack of full batches; every field below is guarded by stack_lock. */
static pthread_mutex_t stack_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t stack_not_full = PTHREAD_COND_INITIALIZER;
static pthread_cond_t stack_not_empty = PTHREAD_COND_INITIALIZER;
static batch *stack_top;
static unsigned stack_depth;
static bool stopping;

static atomic_uint_fast64_t objects_produced, objects_consumed, damaged_objects;
static atomic_uint_fast64_t producer_waits;

static uint8_t object_tag(unsigned producer, unsigned index)
{
    return (uint8_t)(0x5a ^ producer ^ (index * 7));
}

/* ---- producers -------------------------------------------------------------------- */

static batch *fill_batch(unsigned producer, rng_t *rng)
{
    batch *b = malloc(sizeof *b);
    if (b == NULL)
        cli_fail(EXIT_CHECK_FAILED, "out of memory allocating a batch");
    b->producer = producer;
    for (unsigned i = 0; i < BATCH_OBJECTS; i++) {
        uint32_t size = opt.size > 0
                            ? (uint32_t)opt.size
                            : random_size_classes[rng_below(rng, RANDOM_SIZE_CLASS_COUNT)];
        uint8_t *p = malloc(size);
        if (p == NULL)
            cli_fail(EXIT_CHECK_FAILED, "out of memory allocating a %u-byte object", size);
        p[0] = object_tag(producer, i);
        p[size - 1] = object_tag(producer, i);
        b->objects[i] = p;
        b->sizes[i] = size;
    }
    return b;
}

static void push_batch(batch *b)
{
    pthread_mutex_lock(&stack_lock);
    if (stack_depth >= MAX_QUEUED_BATCHES && !stopping)
        atomic_fetch_add_explicit(&producer_waits, 1, memory_order_relaxed);
    /* Once stopping, a finished batch is queued anyway so that its objects are
     * freed (and counted) as leftovers rather than lost. */
    while (stack_depth >= MAX_QUEUED_BATCHES && !stopping)
        pthread_cond_wait(&stack_not_full, &stack_lock);
    b->next = stack_top;
    stack_top = b;
    stack_depth++;
    pthread_cond_signal(&stack_not_empty);
    pthread_mutex_unlock(&stack_lock);
}

static void *producer(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    rng_t rng = rng_seeded(SIZE_SEED, id);
    bool done = false;
    while (!done) {
        batch *b = fill_batch(id, &rng);
        atomic_fetch_add_explicit(&objects_produced, BATCH_OBJECTS, memory_order_relaxed);
        push_batch(b);
        pthread_mutex_lock(&stack_lock);
        done = stopping;
        pthread_mutex_unlock(&stack_lock);
    }
    return NULL;
}

/* ---- consumers -------------------------------------------------------------------- */

/* Free every object of b (checking its tags) and b itself; returns the frees. */
static uint64_t free_batch(batch *b)
{
    uint64_t damaged = 0;
    for (unsigned i = 0; i < BATCH_OBJECTS; i++) {
        const uint8_t *p = b->objects[i];
        uint8_t tag = object_tag(b->producer, i);
        if (p[0] != tag || p[b->sizes[i] - 1] != tag)
            damaged++;
        free(b->objects[i]);
    }
    free(b);
    if (damaged != 0)
        atomic_fetch_add_explicit(&damaged_objects, damaged, memory_order_relaxed);
    return BATCH_OBJECTS;
}

static batch *pop_batch_locked(void)
{
    batch *b = stack_top;
    stack_top = b->next;
    stack_depth--;
    return b;
}

static void *consumer(void *arg)
{
    (void)arg;
    uint64_t freed = 0;
    for (;;) {
        pthread_mutex_lock(&stack_lock);
        while (stack_top == NULL && !stopping)
            pthread_cond_wait(&stack_not_empty, &stack_lock);
        if (stopping) {
            /* What is still queued is freed by main as leftovers, after timing. */
            pthread_mutex_unlock(&stack_lock);
            break;
        }
        batch *b = pop_batch_locked();
        pthread_cond_signal(&stack_not_full);
        pthread_mutex_unlock(&stack_lock);
        freed += free_batch(b);
    }
    atomic_fetch_add_explicit(&objects_consumed, freed, memory_order_relaxed);
    return NULL;
}

/* ---- main ---------------------------------------------------------------------- */

static options parse_options(int argc, char **argv)
{
    options o = {DEFAULT_WORKERS, DEFAULT_SECONDS, DEFAULT_SIZE, false};
    int c;
    opterr = 0; /* our own messages; the leading ':' in the option string tells a
                   missing value (':') from an unknown option ('?') */
    while ((c = getopt(argc, argv, ":w:t:s:v")) != -1) {
        switch (c) {
        case 'w':
            o.workers = (unsigned)cli_parse_integer(optarg, "-w W", 1, MAX_WORKERS);
            break;
        case 't':
            o.seconds = cli_parse_seconds(optarg, "-t seconds", MAX_SECONDS);
            break;
        case 's':
            o.size = (long)cli_parse_integer(optarg, "-s size", -1000000, MAX_FIXED_SIZE);
            break;
        case 'v':
            o.verbose = true;
            break;
        case ':':
            cli_usage_error(usage, "option -%c needs a value", optopt);
        default:
            cli_usage_error(usage, "unknown option -%c", optopt);
        }
    }
    if (optind != argc)
        cli_usage_error(usage, "unexpected argument '%s'", argv[optind]);
    return o;
}

static void start_threads(pthread_t *threads, unsigned count, void *(*body)(void *),
                          const char *role)
{
    for (unsigned i = 0; i < count; i++)
        if (pthread_create(&threads[i], NULL, body, (void *)(uintptr_t)i) != 0)
            cli_fail(EXIT_CHECK_FAILED, "could not start %s thread %u", role, i);
}

int main(int argc, char **argv)
{
    cli_set_program("xmalloc-test");
    opt = parse_options(argc, argv);
    pthread_t *producers = cli_checked_calloc(opt.workers, sizeof(pthread_t), "threads");
    pthread_t *consumers = cli_checked_calloc(opt.workers, sizeof(pthread_t), "threads");

    double start = clock_now_seconds();
    start_threads(consumers, opt.workers, consumer, "consumer");
    start_threads(producers, opt.workers, producer, "producer");
    clock_sleep_seconds(opt.seconds);
    pthread_mutex_lock(&stack_lock);
    stopping = true;
    pthread_cond_broadcast(&stack_not_full);
    pthread_cond_broadcast(&stack_not_empty);
    pthread_mutex_unlock(&stack_lock);
    for (unsigned i = 0; i < opt.workers; i++) {
        pthread_join(producers[i], NULL);
        pthread_join(consumers[i], NULL);
    }
    double elapsed = clock_now_seconds() - start;

    uint64_t leftovers = 0, leftover_batches = stack_depth;
    while (stack_top != NULL)
        leftovers += free_batch(pop_batch_locked());
    uint64_t produced = objects_produced, consumed = objects_consumed;
    if (opt.verbose)
        fprintf(stderr,
                "xmalloc-test: %u producers, %u consumers, %.3f s; produced %llu objects, "
                "consumers freed %llu, %llu left over in %llu batches freed at exit; "
                "producers waited on a full stack %llu times\n",
                opt.workers, opt.workers, elapsed, (unsigned long long)produced,
                (unsigned long long)consumed, (unsigned long long)leftovers,
                (unsigned long long)leftover_batches, (unsigned long long)producer_waits);
    if (damaged_objects != 0)
        cli_fail(EXIT_CHECK_FAILED, "check failed: %llu objects were damaged while queued",
                 (unsigned long long)damaged_objects);
    if (consumed + leftovers != produced)
        cli_fail(EXIT_CHECK_FAILED,
                 "check failed: %llu objects produced but %llu freed by consumers and %llu "
                 "at exit",
                 (unsigned long long)produced, (unsigned long long)consumed,
                 (unsigned long long)leftovers);
    if (consumed == 0)
        cli_fail(EXIT_CHECK_FAILED, "check failed: no object was freed by a consumer in %.3f s",
                 elapsed);

    double frees_per_second_m = (double)consumed / elapsed / 1e6;
    printf("rtime: %.3f, free/sec: %.3f M\n", 100.0 / frees_per_second_m, frees_per_second_m);
    free(producers);
    free(consumers);
    return 0;
}
