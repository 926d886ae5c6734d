/* rptest: rpmalloc's benchmark. Threads churn a ring of slots with sizes from a
 * fixed table and hand batches of fresh blocks to each other to free. (Mattias
 * Jansson's rpmalloc-benchmark, as mimalloc-bench runs it: the "crt" build, whose
 * allocations are calloc or memalign + memset so every byte is touched.)
 *
 *   rptest [-p pause] threads mode size_mode cross_rate loops allocs op_count min_size [max_size]
 *   standard: rptest N 0 1 2 500 1000 100 8 16000
 *
 *   threads     worker threads (at most 256)
 *   mode        0: sizes drawn from [min_size, max_size]; 1: every block min_size bytes
 *   size_mode   the random sizes' distribution: 0 even, 1 linear drop-off, 2 faster
 *               drop-off (the product of two falling weights)
 *   cross_rate  every cross_rate-th loop a thread also allocates a batch of blocks
 *               and hands it to another thread, which frees them; 0: never (and
 *               never with one thread)
 *   loops       loops per pass (0: 819200)
 *   allocs      slots per thread (0: 10240)
 *   op_count    the scale of a loop's work (0: 1000): a loop frees 0.8 x op_count x
 *               (30..99)% slots and allocates op_count x (30..99)% blocks
 *   min_size, max_size   in bytes; min_size at least 8 (a block carries a tag)
 *   -p pause    ours: the seconds of each of the original's pauses (default 1)
 *
 * The whole benchmark runs twice, each time with fresh threads. A thread makes two
 * passes of `loops` loops. A loop: take the batches other threads handed it; free
 * the blocks of a few slots, stepping through the ring by one prime; free the
 * handed-over blocks; allocate into a few slots, stepping by another prime (a slot
 * that still holds a block has it freed first); every cross_rate-th loop, allocate
 * a batch and hand it to the next other thread in turn. Once any thread has ended
 * its pass, no thread hands over any more. After each pass the threads meet, the
 * main thread samples memory, and each frees all its slots.
 *
 * The original's main thread paces the run with one-second sleeps: before the
 * start, before and after each memory sample, around the final meeting (and it
 * looks whether all threads have met only once a second), while the threads wait
 * looking at their inbox every millisecond; a run takes about 16 s, nearly all of
 * it pauses. The pauses matter to the figure of merit beside time, peak memory:
 * an allocator that gives memory back while the threads sit idle peaks lower. We
 * keep them, one second each by default; -p shortens them for quick runs.
 *
 * Every block's first bytes hold its size and a cookie, its last byte a 1 and
 * each of its pages is written, as in the original; size and cookie are checked
 * when the block is freed, by whichever thread frees it. The run checks itself:
 * no damaged block, and every block allocated was freed.
 *
 * Prints the original's line, ending `X memory ops/CPU second (...)`: X counts
 * allocations and frees per second of thread time spent in the loops and the
 * frees (the tradition reads it as the relative time 2e6 / X). Unlike the
 * original, the threads of a run start their first pass at a barrier (the
 * original's poll for the start in step), the main thread opens the next phase
 * only once every handed-over batch is freed, no result file is written, and the
 * size and op-count tables are our own draws (uniform, like the original's fixed
 * tables).
 */
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../common/cli.h"
#include "../common/clock.h"
#include "../common/rng.h"

static const char usage[] =
    "[-p pause] threads mode size_mode cross_rate loops allocs op_count min_size [max_size]";

#define MAX_THREADS 256
#define MAX_COUNT 0xFFFFFF /* the original's limit on loops, allocs and op_count */
#define DEFAULT_LOOPS (800 * 1024)
#define DEFAULT_ALLOCS (10 * 1024)
#define DEFAULT_OP_COUNT 1000
#define MIN_BLOCK 8 /* size (4 bytes), cookie (2), and the last byte */
#define MAX_BLOCK (64u << 20)
#define BENCHMARK_RUNS 2 /* the whole benchmark, fresh threads each time */
#define PASSES 2         /* per thread */
#define PAGE 4096
/* Blocks below a page get these alignments in turn (0: plain calloc). */
#define ALIGNMENTS 3
static const size_t alignments[ALIGNMENTS] = {0, 8, 16};
#define BATCH_ALIGNMENT 16

/* The fixed tables: sizes in 1/100000 of the range, op counts in percent. Their
 * lengths are the original's (primes, so the two op tables cycle independently). */
#define SIZE_TABLE 2000
#define ALLOC_OPS_TABLE 311
#define FREE_OPS_TABLE 257
#define SIZE_STEPS 100000
#define OPS_MIN_PERCENT 30
#define OPS_MAX_PERCENT 100 /* exclusive */
#define FREE_OPS_SHARE 0.8
#define TABLE_SEED 0x7270746573747461ull /* "rptestta" */
#define SIZE_INDEX_STRIDE 37 /* a thread's pass p starts at ((thread + 1) x (p + 1) x 37) */
#define COOKIE_MULTIPLIER 0x9e3779b1u
#define LAST_BYTE 1
#define WAIT_SLEEP_S 0.001 /* how often waiting threads look at their inbox */
#define DEFAULT_PAUSE_S 1.0 /* the original's pauses */
#define MAX_PAUSE_S 60.0
/* After freeing its slots a thread waits this long (at most the pause) before it
 * frees what was handed to it meanwhile, as the original's does. */
#define SETTLE_S 0.01

enum { MODE_RANDOM = 0, MODE_FIXED = 1 };
enum { SIZE_EVEN = 0, SIZE_LINEAR = 1, SIZE_EXP = 2 };

typedef struct options {
    double pause;
    unsigned threads, mode, size_mode;
    size_t cross_rate, loops, allocs, op_count, min_size, max_size;
} options;

static options opt;
static size_t sizes[SIZE_TABLE];
static size_t alloc_ops[ALLOC_OPS_TABLE], free_ops[FREE_OPS_TABLE];
static size_t alloc_stride, free_stride;

/* A batch of blocks handed to another thread, which frees them and it. */
typedef struct batch {
    void **blocks;
    size_t count;
    struct batch *next;
    unsigned owner;
} batch;

typedef struct worker {
    pthread_t thread;
    unsigned index;
    _Atomic(batch *) inbox;
    atomic_llong live_bytes; /* of the blocks this thread allocated */
    uint64_t ops;           /* allocations and frees in the timed sections */
    double seconds;         /* time in the timed sections */
    uint64_t allocated, freed, damaged;
} worker;

static worker *workers;

/* Phases: a thread that ends a pass (or the benchmark) announces it in
 * `arrived`, then keeps freeing what is handed to it until main opens the gate. */
static atomic_uint arrived;
static atomic_uint gate; /* bumped by main to let waiting threads go on */
/* All threads of a run start their first pass together: the original's threads
 * were created together and poll for the start in step, so they start within
 * microseconds of each other; a pass lasts a few milliseconds, and a thread that
 * starts late would find a pile of batches handed to it meanwhile. */
static pthread_barrier_t start_line;

/* ---- blocks -------------------------------------------------------------------- */

static uint16_t cookie_of(uint32_t size)
{
    return (uint16_t)((size * COOKIE_MULTIPLIER) >> 16);
}

static void *allocate(worker *w, size_t alignment, size_t size)
{
    void *p;
    if (alignment == 0) {
        p = calloc(1, size);
    } else {
        p = memalign(alignment, size);
        if (p != NULL)
            memset(p, 0xCD, size);
    }
    if (p == NULL)
        cli_fail(EXIT_CHECK_FAILED, "out of memory allocating %zu bytes", size);
    w->allocated++;
    return p;
}

/* A block as the benchmark fills it: size, cookie, a byte in each page, last byte. */
static void *new_block(worker *w, size_t alignment, size_t size)
{
    uint8_t *p = allocate(w, alignment, size);
    uint32_t size32 = (uint32_t)size;
    uint16_t cookie = cookie_of(size32);
    memcpy(p, &size32, sizeof size32);
    memcpy(p + sizeof size32, &cookie, sizeof cookie);
    size_t pages = (size - 1) / PAGE;
    for (size_t page = 1; page < pages; page++)
        p[page * PAGE] = 1;
    p[size - 1] = LAST_BYTE;
    return p;
}

/* Check a block's tag and free it; returns its size (0 when damaged). */
static size_t free_block(worker *w, void *block)
{
    const uint8_t *p = block;
    uint32_t size;
    uint16_t cookie;
    memcpy(&size, p, sizeof size);
    memcpy(&cookie, p + sizeof size, sizeof cookie);
    bool good = size >= opt.min_size && size <= opt.max_size && cookie == cookie_of(size) &&
                p[size - 1] == LAST_BYTE;
    w->damaged += !good;
    w->freed++;
    free(block);
    return good ? size : 0;
}

static size_t block_size(size_t size_index)
{
    return opt.mode == MODE_RANDOM ? sizes[(size_index + 2) % SIZE_TABLE] : opt.min_size;
}

static size_t block_alignment(size_t size, size_t turn)
{
    return size < PAGE ? alignments[turn % ALIGNMENTS] : 0;
}

/* ---- batches handed between threads ------------------------------------------- */

static void hand_over(worker *to, batch *b)
{
    batch *top = atomic_load_explicit(&to->inbox, memory_order_relaxed);
    do
        b->next = top;
    while (!atomic_compare_exchange_weak_explicit(&to->inbox, &top, b, memory_order_release,
                                                  memory_order_relaxed));
}

static batch *take_inbox(worker *w)
{
    return atomic_exchange_explicit(&w->inbox, NULL, memory_order_acquire);
}

/* Free every block of every batch in the list, and the batches; returns the frees. */
static uint64_t free_batches(worker *w, batch *b)
{
    uint64_t frees = 0;
    while (b != NULL) {
        batch *next = b->next;
        size_t count = b->count;
        long long bytes = 0;
        for (size_t i = 0; i < count; i++)
            bytes += (long long)free_block(w, b->blocks[i]);
        atomic_fetch_sub_explicit(&workers[b->owner].live_bytes, bytes, memory_order_relaxed);
        w->freed += 2; /* the batch's two blocks are ours to count, not to check */
        free(b->blocks);
        free(b);
        frees += count + 2;
        b = next;
    }
    return frees;
}

/* ---- one thread ----------------------------------------------------------------- */

static void timed_free_inbox(worker *w)
{
    batch *b = take_inbox(w);
    if (b == NULL)
        return;
    double t0 = clock_now_seconds();
    w->ops += free_batches(w, b);
    w->seconds += clock_now_seconds() - t0;
}

/* Announce the end of a phase, then free what is handed over until main opens
 * the gate (`seen` is the gate's value before the announcement). */
static void meet(worker *w, unsigned seen)
{
    atomic_fetch_add(&arrived, 1);
    while (atomic_load(&gate) == seen) {
        timed_free_inbox(w);
        clock_sleep_seconds(WAIT_SLEEP_S);
    }
}

static batch *make_batch(worker *w, size_t count, size_t *size_index, long long *bytes)
{
    batch *b = allocate(w, BATCH_ALIGNMENT, sizeof *b);
    b->blocks = allocate(w, BATCH_ALIGNMENT, count * sizeof *b->blocks);
    b->count = count;
    b->owner = w->index;
    for (size_t i = 0; i < count; i++) {
        size_t size = block_size(*size_index);
        b->blocks[i] = new_block(w, block_alignment(size, *size_index + i), size);
        *bytes += (long long)size;
        *size_index = (*size_index + 1) % SIZE_TABLE;
    }
    w->ops += count + 2;
    return b;
}

static void run_pass(worker *w, void **slots, unsigned pass, size_t *alloc_idx, size_t *free_idx,
                     unsigned *cross_index)
{
    size_t size_index = ((size_t)(w->index + 1) * ((pass + 1) * SIZE_INDEX_STRIDE)) % SIZE_TABLE;
    bool hand_overs = true;
    for (size_t loop = 0; loop < opt.loops; loop++) {
        batch *received = take_inbox(w);
        long long bytes = 0;
        double t0 = clock_now_seconds();
        size_t frees = free_ops[(pass + loop) % FREE_OPS_TABLE];
        size_t allocs = alloc_ops[(pass + loop) % ALLOC_OPS_TABLE];

        for (size_t i = 0; i < frees; i++) {
            if (slots[*free_idx] != NULL) {
                bytes -= (long long)free_block(w, slots[*free_idx]);
                slots[*free_idx] = NULL;
                w->ops++;
            }
            *free_idx = (*free_idx + free_stride) % opt.allocs;
        }
        w->ops += free_batches(w, received);
        for (size_t i = 0; i < allocs; i++) {
            if (slots[*alloc_idx] != NULL) {
                bytes -= (long long)free_block(w, slots[*alloc_idx]);
                w->ops++;
            }
            size_t size = block_size(size_index);
            slots[*alloc_idx] = new_block(w, block_alignment(size, size_index + i), size);
            bytes += (long long)size;
            w->ops++;
            *alloc_idx = (*alloc_idx + alloc_stride) % opt.allocs;
            size_index = (size_index + 1) % SIZE_TABLE;
        }
        batch *outgoing = NULL;
        if (opt.cross_rate != 0 && loop % opt.cross_rate == 0 && hand_overs)
            outgoing = make_batch(w, allocs, &size_index, &bytes);

        w->seconds += clock_now_seconds() - t0;
        atomic_fetch_add_explicit(&w->live_bytes, bytes, memory_order_relaxed);
        if (outgoing != NULL) {
            *cross_index = (*cross_index + 1) % opt.threads;
            if (opt.threads > 1 && *cross_index == w->index)
                *cross_index = (*cross_index + 1) % opt.threads;
            hand_over(&workers[*cross_index], outgoing);
        }
        if (atomic_load_explicit(&arrived, memory_order_relaxed) > 0)
            hand_overs = false; /* some thread has ended its pass */
    }
}

static void *run_thread(void *arg)
{
    worker *w = arg;
    void **slots = allocate(w, BATCH_ALIGNMENT, opt.allocs * sizeof *slots);
    memset(slots, 0, opt.allocs * sizeof *slots);
    size_t alloc_idx = 0, free_idx = 0;
    unsigned cross_index = 0;
    pthread_barrier_wait(&start_line);

    for (unsigned pass = 0; pass < PASSES; pass++) {
        run_pass(w, slots, pass, &alloc_idx, &free_idx, &cross_index);
        meet(w, atomic_load(&gate));
        long long bytes = 0;
        double t0 = clock_now_seconds();
        for (size_t i = 0; i < opt.allocs; i++)
            if (slots[i] != NULL) {
                bytes -= (long long)free_block(w, slots[i]);
                slots[i] = NULL;
                w->ops++;
            }
        w->seconds += clock_now_seconds() - t0;
        atomic_fetch_add_explicit(&w->live_bytes, bytes, memory_order_relaxed);
        clock_sleep_seconds(opt.pause < SETTLE_S ? opt.pause : SETTLE_S);
        (void)free_batches(w, take_inbox(w)); /* untimed, uncounted, as in the original */
        printf(".");
        fflush(stdout);
    }
    if (opt.pause > 0)
        clock_sleep_seconds(opt.pause);
    meet(w, atomic_load(&gate));
    w->freed++;
    free(slots);
    return NULL;
}

/* ---- main ----------------------------------------------------------------------- */

static size_t resident_bytes(void)
{
    long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f != NULL) {
        if (fscanf(f, "%*s %ld", &pages) != 1)
            pages = 0;
        fclose(f);
    }
    return (size_t)pages * (size_t)sysconf(_SC_PAGESIZE);
}

static void pause_run(void)
{
    if (opt.pause > 0)
        clock_sleep_seconds(opt.pause);
}

/* Wait until every thread has announced the end of its phase and every handed-over
 * batch has been freed (nothing is handed over after an announcement); like the
 * original, look only once a pause. */
static void wait_for_all(void)
{
    for (;;) {
        bool idle = atomic_load(&arrived) == opt.threads;
        for (unsigned i = 0; idle && i < opt.threads; i++)
            idle = atomic_load(&workers[i].inbox) == NULL;
        if (idle)
            return;
        clock_sleep_seconds(opt.pause > WAIT_SLEEP_S ? opt.pause : WAIT_SLEEP_S);
    }
}

static void open_gate(void)
{
    atomic_store(&arrived, 0);
    atomic_fetch_add(&gate, 1);
}

typedef struct sample {
    size_t live, resident;
} sample;

static void take_sample(sample *best)
{
    long long live = 0;
    for (unsigned i = 0; i < opt.threads; i++)
        live += atomic_load(&workers[i].live_bytes);
    size_t resident = resident_bytes();
    if ((size_t)live > best->live || resident > best->resident)
        *best = (sample){(size_t)live, resident};
}

static size_t parse_count(const char *text, const char *what, size_t fallback)
{
    size_t n = (size_t)cli_parse_integer(text, what, 0, MAX_COUNT);
    return n == 0 ? fallback : n;
}

static options parse_options(int argc, char **argv)
{
    options o;
    o.pause = DEFAULT_PAUSE_S;
    if (argc > 1 && strcmp(argv[1], "-p") == 0) {
        if (argc < 3)
            cli_usage_error(usage, "option -p needs a value");
        o.pause = strcmp(argv[2], "0") == 0 ? 0.0 : cli_parse_seconds(argv[2], "-p pause", MAX_PAUSE_S);
        argv += 2;
        argc -= 2;
    }
    if (argc < 9 || argc > 10)
        cli_usage_error(usage, "needs 8 or 9 arguments, got %d", argc - 1);
    o.threads = (unsigned)cli_parse_integer(argv[1], "threads", 1, MAX_THREADS);
    o.mode = (unsigned)cli_parse_integer(argv[2], "mode", MODE_RANDOM, MODE_FIXED);
    o.size_mode = (unsigned)cli_parse_integer(argv[3], "size_mode", SIZE_EVEN, SIZE_EXP);
    o.cross_rate = (size_t)cli_parse_integer(argv[4], "cross_rate", 0, MAX_COUNT);
    o.loops = parse_count(argv[5], "loops", DEFAULT_LOOPS);
    o.allocs = parse_count(argv[6], "allocs", DEFAULT_ALLOCS);
    o.op_count = parse_count(argv[7], "op_count", DEFAULT_OP_COUNT);
    o.min_size = (size_t)cli_parse_integer(argv[8], "min_size", MIN_BLOCK, MAX_BLOCK);
    o.max_size = o.min_size;
    if (argc == 10)
        o.max_size = (size_t)cli_parse_integer(argv[9], "max_size", MIN_BLOCK, MAX_BLOCK);
    else if (o.mode == MODE_RANDOM)
        cli_usage_error(usage, "random mode needs max_size");
    if (o.mode == MODE_RANDOM && o.max_size < o.min_size)
        cli_usage_error(usage, "max_size (%zu) is below min_size (%zu)", o.max_size, o.min_size);
    if (o.threads == 1)
        o.cross_rate = 0; /* nobody to hand over to */
    return o;
}

/* The first prime from 7 up that does not divide n and is above `after`. */
static size_t stride_prime(size_t n, size_t after)
{
    for (size_t p = after < 7 ? 7 : after + 1;; p++) {
        bool prime = true;
        for (size_t d = 2; d * d <= p && prime; d++)
            prime = p % d != 0;
        if (prime && n % p != 0)
            return p;
    }
}

/* Our own draws in place of the original's fixed tables, scaled as it scales them. */
static void make_tables(void)
{
    rng_t rng = rng_seeded(TABLE_SEED, 0);
    size_t range = opt.max_size - opt.min_size;
    size_t even[SIZE_TABLE];
    for (size_t i = 0; i < SIZE_TABLE; i++)
        even[i] = opt.min_size + (size_t)round((double)range * (double)rng_below(&rng, SIZE_STEPS) /
                                               SIZE_STEPS);
    double span = range == 0 ? 1.0 : (double)range;
    for (size_t i = 0; i < SIZE_TABLE; i++) {
        double w0 = 1.0 - (double)(even[i] - opt.min_size) / span;
        double w1 = 1.0 - (double)(even[(i + 1) % SIZE_TABLE] - opt.min_size) / span;
        double base = (double)(even[(i + 2) % SIZE_TABLE] - opt.min_size);
        if (opt.size_mode == SIZE_EVEN)
            sizes[i] = even[i];
        else if (opt.size_mode == SIZE_LINEAR)
            sizes[i] = opt.min_size + (size_t)(base * fabs(w0 + w1 - 1.0));
        else
            sizes[i] = opt.min_size + (size_t)(base * w0 * w1);
    }
    const unsigned spread = OPS_MAX_PERCENT - OPS_MIN_PERCENT;
    for (size_t i = 0; i < ALLOC_OPS_TABLE; i++)
        alloc_ops[i] = (size_t)((double)opt.op_count *
                                (double)(OPS_MIN_PERCENT + rng_below(&rng, spread)) / 100.0);
    for (size_t i = 0; i < FREE_OPS_TABLE; i++)
        free_ops[i] = (size_t)(FREE_OPS_SHARE * (double)opt.op_count *
                               (double)(OPS_MIN_PERCENT + rng_below(&rng, spread)) / 100.0);
}

int main(int argc, char **argv)
{
    cli_set_program("rptest");
    opt = parse_options(argc, argv);
    alloc_stride = stride_prime(opt.allocs, 0);
    free_stride = stride_prime(opt.allocs, alloc_stride);
    make_tables();

    static const char *size_modes[] = {"even", "linear", "exp"};
    if (opt.mode == MODE_RANDOM)
        printf("%-12s %u threads random %s size [%zu,%zu] %zu loops %zu allocs %zu ops: ",
               "malloc", opt.threads, size_modes[opt.size_mode], opt.min_size, opt.max_size,
               opt.loops, opt.allocs, opt.op_count);
    else
        printf("%-12s %u threads fixed size [%zu] %zu loops %zu allocs %zu ops: ", "malloc",
               opt.threads, opt.min_size, opt.loops, opt.allocs, opt.op_count);
    fflush(stdout);

    workers = calloc(opt.threads, sizeof *workers);
    if (workers == NULL)
        cli_fail(EXIT_CHECK_FAILED, "out of memory allocating the threads");
    uint64_t ops = 0, allocated = 0, freed = 0, damaged = 0;
    double seconds = 0;
    sample best = {0, 0};
    for (unsigned run = 0; run < BENCHMARK_RUNS; run++) {
        if (pthread_barrier_init(&start_line, NULL, opt.threads + 1) != 0)
            cli_fail(EXIT_CHECK_FAILED, "could not set up the start barrier");
        for (unsigned i = 0; i < opt.threads; i++) {
            memset(&workers[i], 0, sizeof workers[i]);
            workers[i].index = i;
            if (pthread_create(&workers[i].thread, NULL, run_thread, &workers[i]) != 0)
                cli_fail(EXIT_CHECK_FAILED, "could not start thread %u", i);
        }
        pause_run();
        pthread_barrier_wait(&start_line);
        for (unsigned pass = 0; pass < PASSES; pass++) {
            wait_for_all();
            pause_run();
            take_sample(&best);
            open_gate();
            pause_run();
        }
        wait_for_all();
        pause_run();
        open_gate();
        pthread_barrier_destroy(&start_line);
        for (unsigned i = 0; i < opt.threads; i++) {
            pthread_join(workers[i].thread, NULL);
            ops += workers[i].ops;
            seconds += workers[i].seconds;
            allocated += workers[i].allocated;
            freed += workers[i].freed;
            damaged += workers[i].damaged;
        }
    }
    free(workers);

    if (damaged != 0)
        cli_fail(EXIT_CHECK_FAILED, "check failed: %llu blocks were damaged before their free",
                 (unsigned long long)damaged);
    if (allocated != freed)
        cli_fail(EXIT_CHECK_FAILED, "check failed: %llu blocks allocated but %llu freed",
                 (unsigned long long)allocated, (unsigned long long)freed);
    if (seconds <= 0)
        seconds = 1e-9;
    struct rusage usage_now;
    getrusage(RUSAGE_SELF, &usage_now);
    size_t peak = (size_t)usage_now.ru_maxrss * 1024;
    const double mib = 1024.0 * 1024.0;
    double overhead = best.live == 0 ? 0
                                     : 100.0 * ((double)best.resident - (double)best.live) /
                                           (double)best.live;
    printf("%llu memory ops/CPU second (%.0fMiB peak, %.0fMiB -> %.0fMiB bytes sample, %.0f%% "
           "overhead)\n",
           (unsigned long long)((double)ops / seconds), (double)peak / mib,
           (double)best.live / mib, (double)best.resident / mib, overhead);
    return 0;
}
