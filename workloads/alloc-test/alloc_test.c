/* alloc-test: random alloc/free over a fixed set of slots, sizes skewed small,
 * slots picked with a Pareto-like skew. (OLogN Technologies' "memory allocator
 * tester", 2018, as mimalloc-bench builds it: its benchmark mode, one run of
 * `threads` threads, every allocated byte written and read back.)
 *
 *   alloc-test [threads [operations]]     defaults: 6 threads, 100000000 operations
 *   standard: alloc-test 1 and alloc-test N (N at most 16)
 *
 * 2^18 slots are shared out among the threads (each owns 2^18 / threads of them;
 * nothing crosses threads). Set-up: each slot gets an object with probability
 * 1/2. Then each thread does `operations` steps (the work per thread is fixed,
 * so N threads ideally take the time of one): pick a slot; if it holds an object,
 * read it all and free it, otherwise allocate one and fill it. At the end every
 * remaining object is read and freed.
 *
 * Sizes: with probability 1/2 5-8 bytes, 1/4 9-16, 1/8 17-32, ... 1/128 each of
 * 257-512 and 513-1024 (uniform within a class). Slots: the probabilities of the
 * seven terms of Binomial(6, 1/5), 0.262144 down to 0.000064, are paired with
 * slot ranges sized the other way round, so 26% of the steps land on the hottest
 * 0.0064% of a thread's slots and 0.0064% on the coldest 26%: "80/20" six times.
 *
 * The random numbers come from the original's generator (xorshift64 with a
 * multiplied output) from its seed 41, the same for every thread, drawn in the
 * original's order: our run takes the original's very steps, so its allocation
 * profile is the original's. Each object is filled with its size's low byte and
 * checked byte for byte when freed (the original only summed them). The run
 * checks itself: no damaged object, as many frees as allocations in every thread.
 * Prints `T threads made X alloc/dealloc operations in M ms (P ms per 1 million)`;
 * the figure is wall time.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cli.h"
#include "../common/clock.h"

static const char usage[] = "[threads [operations]]";

#define DEFAULT_THREADS 6
#define MAX_THREADS 16 /* the tradition's limit for this test */
#define DEFAULT_OPERATIONS 100000000ll
#define MAX_OPERATIONS 100000000000ll
#define TOTAL_SLOTS (1u << 18)
#define SEED 41
/* Sizes go up to 2^MAX_SIZE_EXP bytes. */
#define MAX_SIZE_EXP 10
#define SMALLEST_CLASS_EXP 2 /* the smallest class is (4, 8] bytes */
#define SETUP_GROUP 32       /* set-up draws one 32-bit word per 32 slots */
#define PHASES 32            /* the main loop runs in 32 equal phases */
#define PARETO_TERMS 7       /* Binomial(6, 1/5) has seven terms */

typedef struct options {
    unsigned threads;
    long long operations;
} options;

static options opt;

/* ---- the original's random numbers ---------------------------------------------- */

typedef struct xorshift {
    uint64_t state;
} xorshift;

static uint32_t next32(xorshift *r)
{
    uint64_t out = r->state * 0xd989bcacc137dcd5ull;
    r->state ^= r->state >> 11;
    r->state ^= r->state << 31;
    r->state ^= r->state >> 18;
    return (uint32_t)(out >> 32);
}

static uint64_t next64(xorshift *r)
{
    uint64_t high = next32(r);
    return (high << 32) + next32(r);
}

/* A size from one 64-bit draw: its low bits pick the class (the count of trailing
 * zeros, so each class is half as likely as the one below), the next bits the
 * size within it. */
static uint32_t draw_size(uint64_t random)
{
    const unsigned class_bits = MAX_SIZE_EXP - 3;
    uint32_t class_base = (uint32_t)(random & ((1u << class_bits) - 1)) + 1;
    random >>= class_bits;
    unsigned exp = (unsigned)__builtin_ctz(class_base) + SMALLEST_CLASS_EXP;
    uint32_t low = 1u << exp;
    return (uint32_t)(random & (low - 1)) + 1 + low;
}

/* ---- slot choice -------------------------------------------------------------- */

typedef struct pareto {
    uint32_t thresholds[PARETO_TERMS - 1]; /* cumulative probabilities, scaled to 2^32 */
    uint32_t offsets[PARETO_TERMS + 1];    /* the slot ranges */
} pareto;

/* Binomial(6, 1/5) in millionths: C(6,k) 2^k 8^(6-k). */
static const uint32_t binomial_millionths[PARETO_TERMS] = {262144, 393216, 245760, 81920,
                                                            15360,  1536,   64};

static double term(unsigned k)
{
    return (double)binomial_millionths[k] / 1e6;
}

/* As the original rounds: each threshold adds a truncated term, the last one is
 * 1 - p6; range i gets a truncated share p(6-i) of the slots, the last the rest. */
static pareto pareto_init(uint32_t slots)
{
    pareto p;
    p.thresholds[0] = (uint32_t)(UINT32_MAX * term(0));
    for (unsigned i = 1; i < PARETO_TERMS - 2; i++)
        p.thresholds[i] = p.thresholds[i - 1] + (uint32_t)(UINT32_MAX * term(i));
    p.thresholds[PARETO_TERMS - 2] = (uint32_t)(UINT32_MAX * (1.0 - term(PARETO_TERMS - 1)));
    p.offsets[0] = 0;
    for (unsigned i = 0; i < PARETO_TERMS - 1; i++)
        p.offsets[i + 1] = p.offsets[i] + (uint32_t)(slots * term(PARETO_TERMS - 1 - i));
    p.offsets[PARETO_TERMS] = slots;
    return p;
}

static uint32_t pareto_slot(const pareto *p, uint32_t which_range, uint32_t where)
{
    unsigned range = PARETO_TERMS - 1;
    for (unsigned i = 0; i < PARETO_TERMS - 1; i++)
        if (which_range < p->thresholds[i]) {
            range = i;
            break;
        }
    return p->offsets[range] + where % (p->offsets[range + 1] - p->offsets[range]);
}

/* ---- one thread --------------------------------------------------------------- */

typedef struct slot {
    uint8_t *object;
    uint32_t size;
} slot;

typedef struct worker {
    pthread_t thread;
    uint32_t slots;
    uint64_t allocated, freed, damaged;
} worker;

static uint8_t *new_object(worker *w, uint32_t size)
{
    uint8_t *p = malloc(size);
    if (p == NULL)
        cli_fail(EXIT_CHECK_FAILED, "out of memory allocating %u bytes", size);
    memset(p, (uint8_t)size, size);
    w->allocated++;
    return p;
}

/* Read the whole object back, a word at a time, then free it. */
static void drop_object(worker *w, slot *s)
{
    uint64_t pattern = 0x0101010101010101ull * (uint8_t)s->size;
    const uint8_t *p = s->object;
    bool damaged = false;
    uint32_t i = 0;
    for (; i + sizeof pattern <= s->size; i += sizeof pattern) {
        uint64_t word;
        memcpy(&word, p + i, sizeof word);
        damaged |= word != pattern;
    }
    for (; i < s->size; i++)
        damaged |= p[i] != (uint8_t)s->size;
    w->damaged += damaged;
    w->freed++;
    free(s->object);
    s->object = NULL;
}

static void *run_thread(void *arg)
{
    worker *w = arg;
    slot *slots = malloc(w->slots * sizeof *slots);
    if (slots == NULL)
        cli_fail(EXIT_CHECK_FAILED, "out of memory allocating %u slots", w->slots);
    memset(slots, 0, w->slots * sizeof *slots);
    pareto choice = pareto_init(w->slots);
    xorshift rng = {SEED};

    for (uint32_t group = 0; group < w->slots / SETUP_GROUP; group++) {
        uint32_t bits = next32(&rng);
        for (unsigned j = 0; j < SETUP_GROUP; j++)
            if ((bits >> j) & 1) {
                slot *s = &slots[group * SETUP_GROUP + j];
                s->size = draw_size(next64(&rng));
                s->object = new_object(w, s->size);
            }
    }
    long long steps_per_phase = opt.operations / PHASES;
    for (unsigned phase = 0; phase < PHASES; phase++)
        for (long long step = 0; step < steps_per_phase; step++) {
            uint32_t which_range = next32(&rng);
            uint32_t where = next32(&rng);
            slot *s = &slots[pareto_slot(&choice, which_range, where)];
            if (s->object != NULL) {
                drop_object(w, s);
            } else {
                s->size = draw_size(next64(&rng));
                s->object = new_object(w, s->size);
            }
        }
    for (uint32_t i = 0; i < w->slots; i++)
        if (slots[i].object != NULL)
            drop_object(w, &slots[i]);
    free(slots);
    return NULL;
}

/* ---- main ---------------------------------------------------------------------- */

static options parse_options(int argc, char **argv)
{
    options o = {DEFAULT_THREADS, DEFAULT_OPERATIONS};
    if (argc > 3)
        cli_usage_error(usage, "too many arguments (%d)", argc - 1);
    if (argc > 1)
        o.threads = (unsigned)cli_parse_integer(argv[1], "threads", 1, MAX_THREADS);
    if (argc > 2)
        o.operations = cli_parse_integer(argv[2], "operations", PHASES, MAX_OPERATIONS);
    return o;
}

int main(int argc, char **argv)
{
    cli_set_program("alloc-test");
    opt = parse_options(argc, argv);
    worker workers[MAX_THREADS];
    double start = clock_now_seconds();
    for (unsigned i = 0; i < opt.threads; i++) {
        workers[i] = (worker){.slots = TOTAL_SLOTS / opt.threads};
        if (pthread_create(&workers[i].thread, NULL, run_thread, &workers[i]) != 0)
            cli_fail(EXIT_CHECK_FAILED, "could not start thread %u", i);
    }
    uint64_t damaged = 0;
    bool unbalanced = false;
    for (unsigned i = 0; i < opt.threads; i++) {
        pthread_join(workers[i].thread, NULL);
        damaged += workers[i].damaged;
        unbalanced |= workers[i].allocated != workers[i].freed;
    }
    double elapsed_ms = (clock_now_seconds() - start) * 1e3;

    if (damaged != 0)
        cli_fail(EXIT_CHECK_FAILED, "check failed: %llu objects were damaged before their free",
                 (unsigned long long)damaged);
    if (unbalanced)
        cli_fail(EXIT_CHECK_FAILED, "check failed: a thread freed a different number of objects "
                                    "than it allocated");
    long long operations = opt.operations / PHASES * PHASES * opt.threads;
    printf("%u threads made %lld alloc/dealloc operations in %.0f ms (%.0f ms per 1 million)\n",
           opt.threads, operations, elapsed_ms, elapsed_ms * 1e6 / (double)operations);
    return 0;
}
