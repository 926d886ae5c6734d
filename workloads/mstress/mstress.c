/* mstress: threads churn objects of mixed sizes and swap them through a shared
 * array, so blocks are freed by threads other than (and after the death of) the
 * one that allocated them. (Daan Leijen's stress test from the mimalloc
 * repository, as mimalloc-bench runs it.)
 *
 *   mstress [threads [scale [rounds]]]      defaults: 32 50 10
 *   standard: mstress N 50 25
 *
 * Each round starts `threads` threads and joins them all. Thread t does
 * 100 x scale x (t mod 8 + 1) short-lived allocations ("data") and half as many
 * retained ones (kept to its end), interleaved at random: a data object is 1 to
 * 16 words (a power of two), a retained one 1 to 64 words; now and then an object
 * is 100, 1000 or even 10000 times larger. After each allocation the thread frees
 * a random data object with probability 2/3 and with probability 1/4 swaps a
 * random data slot with a random slot of the shared 1000-entry transfer array
 * (an atomic exchange), so what it later frees may come from any thread, of this
 * round or an earlier one. When its quota is done it frees everything it holds.
 * Between rounds the main thread frees each transfer slot with probability 1/2
 * (all of them after the last round): the rest cross into the next round's
 * threads.
 *
 * As in the original, "with probability p%" is a draw below 100 that is <= p, so
 * it really happens (p+1)% of the time; the profile depends on it. Every word of
 * an object holds its index from the end XOR a cookie, written at allocation and
 * checked at every free. The run checks itself: no damaged object, and as many
 * objects freed as were allocated. Prints the original's start line only; the
 * figure is wall time.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../common/cli.h"

static const char usage[] = "[threads [scale [rounds]]]";

#define DEFAULT_THREADS 32
#define DEFAULT_SCALE 50
#define DEFAULT_ROUNDS 10
#define MAX_THREADS 256
#define MAX_SCALE 10000
#define MAX_ROUNDS 100000

#define TRANSFER_SLOTS 1000
#define ALLOCS_PER_SCALE 100        /* data allocations of thread 0 per unit of scale */
#define THREAD_WEIGHTS 8            /* thread t does (t mod 8 + 1) times thread 0's share */
#define DATA_SIZE_CLASSES 5         /* data objects: 1 << (0..4) words */
#define RETAINED_SIZE_CLASSES 7     /* retained objects: 1 << (0..6) words */
#define DATA_SLOTS_STEP 100000      /* the data array grows by realloc in these steps */
/* glibc's pthreads allocates 40-word blocks when it grows stacks; the original
 * steers clear of that size so as not to share its blocks. */
#define PTHREAD_STACK_WORDS 40

static const uintptr_t cookie = 0xbf58476d1ce4e5b9ull;
/* The original's seeds: thread t starts from (t + 1) x 43, main from 43 x 43. */
#define SEED_FACTOR 43

typedef struct options {
    unsigned threads;
    unsigned scale;
    unsigned rounds;
} options;

static options opt;
static _Atomic(uintptr_t *) transfer[TRANSFER_SLOTS];

/* What one thread (or main) did, summed after the joins. */
typedef struct tally {
    uint64_t allocated, freed, damaged;
} tally;

/* The original's generator: the state is replaced by splitmix64's output
 * function of itself (no increment). Drawing the same numbers in the same order
 * from the same seeds makes our run take the very decisions the original takes,
 * so its allocation profile (which a few giant objects dominate) is the
 * original's, not merely one like it. */
typedef struct mix_rng {
    uint64_t state;
} mix_rng;

static uint64_t mix_next(mix_rng *r)
{
    uint64_t x = r->state;
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    r->state = x;
    return x;
}

static uint64_t rng_below(mix_rng *r, uint64_t bound)
{
    return mix_next(r) % bound;
}

/* True with probability (percent + 1) / 100: the original's <= test. */
static bool chance(unsigned percent, mix_rng *rng)
{
    return rng_below(rng, 100) <= percent;
}

static uintptr_t *alloc_items(size_t items, mix_rng *rng, tally *t)
{
    if (chance(1, rng)) {
        if (chance(1, rng))
            items *= 10000; /* giant */
        else if (chance(10, rng))
            items *= 1000; /* huge */
        else
            items *= 100; /* large */
    }
    if (items == PTHREAD_STACK_WORDS)
        items++;
    uintptr_t *p = malloc(items * sizeof *p);
    if (p == NULL)
        cli_fail(EXIT_CHECK_FAILED, "out of memory allocating %zu words", items);
    for (uintptr_t i = 0; i < items; i++)
        p[i] = (items - i) ^ cookie;
    t->allocated++;
    return p;
}

/* Check every word of an object (its first word says how many it has) and free it. */
static void free_items(uintptr_t *p, tally *t)
{
    if (p == NULL)
        return;
    uintptr_t items = p[0] ^ cookie;
    bool damaged = items == 0;
    for (uintptr_t i = 0; i < items && !damaged; i++)
        damaged = (p[i] ^ cookie) != items - i;
    t->damaged += damaged;
    t->freed++;
    free(p);
}

typedef struct worker {
    unsigned id;
    tally t;
} worker;

/* The workers' own records; the pthread_t array is allocated per round, as the
 * original's is (it is one of the few bookkeeping blocks of the profile). */
static worker workers[MAX_THREADS];

static void *stress(void *arg)
{
    worker *w = arg;
    /* Seeded by the thread's index only: every round repeats its sequence, as
     * the original's does. */
    mix_rng rng = {((uint64_t)w->id + 1) * SEED_FACTOR};
    size_t allocs = (size_t)ALLOCS_PER_SCALE * opt.scale * (w->id % THREAD_WEIGHTS + 1);
    size_t retain = allocs / 2;
    uintptr_t **data = NULL;
    size_t data_size = 0, data_top = 0;
    uintptr_t **retained = malloc(retain * sizeof *retained);
    size_t retained_top = 0;
    if (retained == NULL)
        cli_fail(EXIT_CHECK_FAILED, "out of memory allocating the retained array");

    while (allocs > 0 || retain > 0) {
        if (retain == 0 || (chance(50, &rng) && allocs > 0)) {
            allocs--;
            if (data_top >= data_size) {
                data_size += DATA_SLOTS_STEP;
                uintptr_t **grown = realloc(data, data_size * sizeof *data);
                if (grown == NULL)
                    cli_fail(EXIT_CHECK_FAILED, "out of memory growing the data array");
                data = grown;
            }
            size_t words = (size_t)1 << rng_below(&rng, DATA_SIZE_CLASSES);
            data[data_top++] = alloc_items(words, &rng, &w->t);
        } else {
            size_t words = (size_t)1 << rng_below(&rng, RETAINED_SIZE_CLASSES);
            retained[retained_top++] = alloc_items(words, &rng, &w->t);
            retain--;
        }
        if (chance(66, &rng) && data_top > 0) {
            size_t i = rng_below(&rng, data_top);
            free_items(data[i], &w->t);
            data[i] = NULL;
        }
        if (chance(25, &rng) && data_top > 0) {
            size_t i = rng_below(&rng, data_top);
            size_t slot = rng_below(&rng, TRANSFER_SLOTS);
            data[i] = atomic_exchange_explicit(&transfer[slot], data[i], memory_order_acq_rel);
        }
    }
    for (size_t i = 0; i < retained_top; i++)
        free_items(retained[i], &w->t);
    for (size_t i = 0; i < data_top; i++)
        free_items(data[i], &w->t);
    free(retained);
    free(data);
    return NULL;
}

static void run_round(tally *total)
{
    pthread_t *threads = malloc(opt.threads * sizeof *threads);
    if (threads == NULL)
        cli_fail(EXIT_CHECK_FAILED, "out of memory allocating the threads");
    for (unsigned i = 0; i < opt.threads; i++) {
        workers[i] = (worker){.id = i};
        if (pthread_create(&threads[i], NULL, stress, &workers[i]) != 0)
            cli_fail(EXIT_CHECK_FAILED, "could not start thread %u", i);
    }
    for (unsigned i = 0; i < opt.threads; i++) {
        pthread_join(threads[i], NULL);
        total->allocated += workers[i].t.allocated;
        total->freed += workers[i].t.freed;
        total->damaged += workers[i].t.damaged;
    }
    free(threads);
}

static options parse_options(int argc, char **argv)
{
    options o = {DEFAULT_THREADS, DEFAULT_SCALE, DEFAULT_ROUNDS};
    if (argc > 4)
        cli_usage_error(usage, "too many arguments (%d)", argc - 1);
    if (argc > 1)
        o.threads = (unsigned)cli_parse_integer(argv[1], "threads", 1, MAX_THREADS);
    if (argc > 2)
        o.scale = (unsigned)cli_parse_integer(argv[2], "scale", 1, MAX_SCALE);
    if (argc > 3)
        o.rounds = (unsigned)cli_parse_integer(argv[3], "rounds", 1, MAX_ROUNDS);
    return o;
}

int main(int argc, char **argv)
{
    cli_set_program("mstress");
    opt = parse_options(argc, argv);
    printf("start with %u threads with a %u%% load-per-thread and %u iterations\n",
           opt.threads, opt.scale, opt.rounds);
    fflush(stdout);

    tally total = {0, 0, 0};
    mix_rng rng = {(uint64_t)SEED_FACTOR * SEED_FACTOR};
    for (unsigned round = 0; round < opt.rounds; round++) {
        run_round(&total);
        bool last = round + 1 == opt.rounds;
        for (unsigned i = 0; i < TRANSFER_SLOTS; i++)
            if (chance(50, &rng) || last)
                free_items(atomic_exchange(&transfer[i], NULL), &total);
    }

    if (total.damaged != 0)
        cli_fail(EXIT_CHECK_FAILED, "check failed: %llu objects were damaged before their free",
                 (unsigned long long)total.damaged);
    if (total.freed != total.allocated)
        cli_fail(EXIT_CHECK_FAILED, "check failed: %llu objects allocated but %llu freed",
                 (unsigned long long)total.allocated, (unsigned long long)total.freed);
    return 0;
}
