/* malloc-large: mimalloc-bench's test of large allocations (contributed in
 * mimalloc's issue 447 and adapted by Daan Leijen).
 *
 *   malloc-large [iterations]
 *   standard: malloc-large            (2000 iterations)
 *
 * Twenty slots hold large blocks. Each iteration picks a random slot and a
 * random size of 5 to 25 MiB (uniform, both ends included), allocates a block
 * of that size and zeroes all of it, then frees the slot's old block and puts
 * the new one in its place. That is the original's
 * `buffers[i] = std::make_unique<char[]>(size)`: value-initialized (zeroed),
 * and the old buffer released only after the new one exists, so up to 21
 * blocks (about 470 MiB at the peak of the standard run) are live. The blocks
 * left at the end are freed. Single thread; prints nothing; the figure is the
 * wall time. An allocator that returns such blocks to the OS at every free
 * pays page faults for all of every new block; one that keeps them does not.
 *
 * Deterministic: the random stream is seeded with a fixed seed (the original's
 * is a Mersenne twister seeded with 42; ours is our generator, seeded with 42).
 *
 * Self-check: after zeroing, a tag byte is written at both ends of each block
 * and checked when it is freed; a wrong tag or a failed malloc prints a message
 * and exits 1.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cli.h"
#include "../common/rng.h"

static const char usage[] = "[iterations]";

#define MiB (1024u * 1024u)
#define SLOTS 20
#define MIN_BLOCK_BYTES (5 * MiB)
#define MAX_BLOCK_BYTES (25 * MiB)
#define DEFAULT_ITERATIONS 2000
#define MAX_ITERATIONS 100000000ll
#define SEED 42

static uint8_t block_tag(uint64_t iteration) { return (uint8_t)(0x5a ^ iteration ^ (iteration >> 8)); }

int main(int argc, char **argv)
{
    cli_set_program("malloc-large");
    if (argc > 2)
        cli_usage_error(usage, "expected at most 1 argument, got %d", argc - 1);
    long long iterations = DEFAULT_ITERATIONS;
    if (argc > 1)
        iterations = cli_parse_integer(argv[1], "iterations", 1, MAX_ITERATIONS);

    uint8_t *blocks[SLOTS] = {0};
    size_t sizes[SLOTS] = {0};
    uint8_t tags[SLOTS] = {0};
    uint64_t damaged = 0;
    rng_t rng = rng_seeded(SEED, 0);
    for (long long i = 0; i < iterations; i++) {
        size_t slot = (size_t)rng_below(&rng, SLOTS);
        size_t size = MIN_BLOCK_BYTES + (size_t)rng_below(&rng, MAX_BLOCK_BYTES - MIN_BLOCK_BYTES + 1);
        uint8_t *p = malloc(size);
        if (p == NULL)
            cli_fail(EXIT_CHECK_FAILED, "out of memory allocating a %zu-byte block", size);
        memset(p, 0, size);
        uint8_t tag = block_tag((uint64_t)i);
        p[0] = tag;
        p[size - 1] = tag;
        if (blocks[slot] != NULL) {
            if (blocks[slot][0] != tags[slot] || blocks[slot][sizes[slot] - 1] != tags[slot])
                damaged++;
            free(blocks[slot]);
        }
        blocks[slot] = p;
        sizes[slot] = size;
        tags[slot] = tag;
    }
    for (size_t s = 0; s < SLOTS; s++) {
        if (blocks[s] == NULL)
            continue;
        if (blocks[s][0] != tags[s] || blocks[s][sizes[s] - 1] != tags[s])
            damaged++;
        free(blocks[s]);
    }
    if (damaged != 0)
        cli_fail(EXIT_CHECK_FAILED, "check failed: %llu blocks were damaged while allocated",
                 (unsigned long long)damaged);
    return 0;
}
