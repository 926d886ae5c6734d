/* glibc-simple: glibc's malloc micro-benchmark bench-malloc-simple (from glibc's
 * benchtests), as the mimalloc-bench suite runs it.
 *
 *   glibc-simple [block_size [blocks_per_test]]
 *   standard: glibc-simple            (block_size 16, 2000000 blocks per test)
 *
 * Single-threaded churn of fixed-size blocks, aimed at an allocator's thread
 * cache: for each of three sizes (block_size, 2x and 4x it) and each batch count
 * n of 25, 100, 400 and 1600, repeat blocks_per_test / n times: allocate n
 * blocks (writing every int of each), then free them all. Each (size, n) test
 * runs four times: a warm-up and a run on the main thread, a run on a second
 * thread, and a run on the main thread again once the process has had a second
 * thread (glibc then takes its locked paths: glibc's "main arena with
 * SINGLE_THREAD_P false"). The standard run makes 96 M mallocs and frees, a
 * third each of 16, 32 and 64 bytes, with at most 1600 blocks live.
 *
 * The original prints nothing (its JSON timings are disabled in the suite's
 * copy); neither do we. The figure is the wall time.
 *
 * Self-check: each block gets int g = g + its index in the batch (the original
 * writes g alone) so that two live blocks handed out at one address show up as
 * a wrong first int, checked at every free; a wrong value or a failed malloc
 * prints a message and exits 1.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../common/cli.h"

static const char usage[] = "[block_size [blocks_per_test]]";

#define DEFAULT_BLOCK_SIZE 16
#define DEFAULT_BLOCKS_PER_TEST 2000000 /* the original's NUM_ITERS */
#define MAX_BLOCK_SIZE 16384            /* 4x that, 1600 times: 100 MiB live at most */
#define MAX_BLOCKS_PER_TEST 1000000000ll
#define SIZE_STEPS 3                    /* block_size, 2x, 4x */
#define BATCH_COUNTS 4
static const int batch_counts[BATCH_COUNTS] = {25, 100, 400, 1600};
#define MAX_BATCH 1600

typedef struct test {
    size_t size;
    long rounds; /* batches allocated and freed */
    int n;       /* blocks per batch */
} test;

static long damaged_blocks; /* only touched on the thread that runs the test */

static void fail_allocation(size_t size)
{
    cli_fail(EXIT_CHECK_FAILED, "out of memory allocating a %zu-byte block", size);
}

static void run_test(const test *t, int **batch)
{
    size_t words = t->size / sizeof(int);
    long damaged = 0;
    for (long r = 0; r < t->rounds; r++) {
        for (int i = 0; i < t->n; i++) {
            int *p = malloc(t->size);
            if (p == NULL)
                fail_allocation(t->size);
            for (size_t g = 0; g < words; g++)
                p[g] = (int)g + i;
            batch[i] = p;
        }
        for (int i = 0; i < t->n; i++) {
            if (words > 0 && batch[i][0] != i)
                damaged++;
            free(batch[i]);
        }
    }
    damaged_blocks += damaged;
}

typedef struct thread_job {
    const test *tests;
    int **batch;
} thread_job;

static void *run_tests_on_thread(void *arg)
{
    thread_job *job = arg;
    for (int i = 0; i < BATCH_COUNTS; i++)
        run_test(&job->tests[i], job->batch);
    return NULL;
}

/* One size: the original's bench(size). */
static void bench(size_t size, long blocks_per_test)
{
    int **batch = malloc(MAX_BATCH * sizeof *batch);
    if (batch == NULL)
        fail_allocation(MAX_BATCH * sizeof *batch);
    test tests[BATCH_COUNTS];
    for (int i = 0; i < BATCH_COUNTS; i++) {
        tests[i] = (test){.size = size, .rounds = blocks_per_test / batch_counts[i],
                          .n = batch_counts[i]};
        run_test(&tests[i], batch); /* warm-up */
    }
    for (int i = 0; i < BATCH_COUNTS; i++)
        run_test(&tests[i], batch);

    thread_job job = {tests, batch};
    pthread_t thread;
    if (pthread_create(&thread, NULL, run_tests_on_thread, &job) != 0)
        cli_fail(EXIT_CHECK_FAILED, "could not start the second thread");
    pthread_join(thread, NULL);

    for (int i = 0; i < BATCH_COUNTS; i++)
        run_test(&tests[i], batch);
    free(batch);
}

int main(int argc, char **argv)
{
    cli_set_program("glibc-simple");
    if (argc > 3)
        cli_usage_error(usage, "expected at most 2 arguments, got %d", argc - 1);
    size_t size = DEFAULT_BLOCK_SIZE;
    long blocks_per_test = DEFAULT_BLOCKS_PER_TEST;
    if (argc > 1)
        size = (size_t)cli_parse_integer(argv[1], "block_size", 1, MAX_BLOCK_SIZE);
    if (argc > 2) /* at least one batch of the largest count, so every test runs */
        blocks_per_test = (long)cli_parse_integer(argv[2], "blocks_per_test", MAX_BATCH,
                                                  MAX_BLOCKS_PER_TEST);
    for (int step = 0; step < SIZE_STEPS; step++)
        bench(size << step, blocks_per_test);
    if (damaged_blocks != 0)
        cli_fail(EXIT_CHECK_FAILED, "check failed: %ld blocks were damaged while allocated",
                 damaged_blocks);
    return 0;
}
