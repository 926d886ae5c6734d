/* minimize.c: espresso's loop: expand, irredundant, then reduce / expand /
 * irredundant while the cover keeps getting cheaper.
 *
 *   expand       grows each cube into a prime implicant: raises one bit at a
 *                time, most popular bits first (those that let it swallow the
 *                most other cubes), as long as it stays clear of the OFF-set R;
 *                the cubes it then contains are dropped.
 *   irredundant  drops every cube the others (and the don't-cares) cover.
 *   reduce       shrinks each cube to the smallest cube containing the part
 *                of it no other cube covers, so the next expand can take it
 *                elsewhere.
 * R is the complement of ON + DC, computed once.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/cli.h"
#include "espresso.h"

typedef struct cost {
    int cubes, literals;
} cost;

static cost cover_cost(const cover *f)
{
    cost c = {f->count, 0};
    for (int i = 0; i < f->count; i++)
        c.literals += cube_literals(f->cubes[i]);
    return c;
}

static bool cheaper(cost a, cost b)
{
    return a.cubes < b.cubes || (a.cubes == b.cubes && a.literals < b.literals);
}

/* The bits of input or output variable v within word w. */
static word var_mask(int v, int w)
{
    if (v == shape.inputs)
        return shape.output_mask[w];
    return (2 * v) / 32 == w ? (word)3 << ((2 * v) % 32) : 0;
}

/* Bit-count order, ties by position: qsort needs a total order to be
 * deterministic across C libraries. */
static int larger_first(const void *pa, const void *pb)
{
    const cube a = *(const cube *)pa, b = *(const cube *)pb;
    int na = cube_bit_count(a), nb = cube_bit_count(b);
    if (na != nb)
        return nb - na;
    return memcmp(a + 1, b + 1, (size_t)shape.words * sizeof(word));
}

static int smaller_first(const void *pa, const void *pb) { return larger_first(pb, pa); }

static int column_count[2 * MAX_INPUTS + MAX_OUTPUTS];

static int more_popular_first(const void *pa, const void *pb)
{
    int a = *(const int *)pa, b = *(const int *)pb;
    if (column_count[a] != column_count[b])
        return column_count[b] - column_count[a];
    return a - b;
}

/* The OFF-set cubes at distance one from the cube being expanded forbid
 * raising the bits they have in the one variable where they conflict. */
static void forbid(word *forbidden, const cube c, const cube r)
{
    int v;
    cube_conflicts(c, r, &v, 1);
    for (int w = 0; w < shape.words; w++)
        forbidden[w] |= r[1 + w] & var_mask(v, w);
}

/* For each bit b, the OFF-set cubes that conflict with any cube lacking b
 * in b's variable and stop conflicting when b is raised: for an input bit,
 * the cubes whose input allows only that value; for an output bit, the cubes
 * with that output (they conflict when they share no output with the cube).
 * Built once per expand, so raising a bit visits only the cubes it affects. */
typedef struct bit_index {
    int *start;   /* bits + 1 offsets into entries */
    int *entries;
} bit_index;

static bool affected_by(const cube x, int b)
{
    if (b >= 2 * shape.inputs)
        return cube_bit(x, b);
    return cube_bit(x, b) && !cube_bit(x, b ^ 1);
}

static bit_index index_bits(const cover *r)
{
    bit_index ix;
    ix.start = calloc((size_t)shape.bits + 1, sizeof(int));
    if (ix.start == NULL)
        cli_fail(EXIT_CHECK_FAILED, "out of memory in expand");
    for (int i = 0; i < r->count; i++)
        for (int b = 0; b < shape.bits; b++)
            ix.start[b + 1] += affected_by(r->cubes[i], b);
    for (int b = 0; b < shape.bits; b++)
        ix.start[b + 1] += ix.start[b];
    ix.entries = malloc(((size_t)ix.start[shape.bits] + 1) * sizeof(int));
    int *fill = malloc(((size_t)shape.bits + 1) * sizeof(int));
    if (ix.entries == NULL || fill == NULL)
        cli_fail(EXIT_CHECK_FAILED, "out of memory in expand");
    memcpy(fill, ix.start, (size_t)shape.bits * sizeof(int));
    for (int i = 0; i < r->count; i++)
        for (int b = 0; b < shape.bits; b++)
            if (affected_by(r->cubes[i], b))
                ix.entries[fill[b]++] = i;
    free(fill);
    return ix;
}

static void expand_cube(cube c, const cover *r, const bit_index *ix, int *distance,
                        const int *bit_order)
{
    word forbidden[(2 * MAX_INPUTS + MAX_OUTPUTS) / 32 + 1] = {0};
    for (int i = 0; i < r->count; i++) {
        distance[i] = cube_distance(c, r->cubes[i]);
        if (distance[i] == 0)
            cli_fail(EXIT_CHECK_FAILED, "internal error: a cube of the ON-set meets the OFF-set");
        if (distance[i] == 1)
            forbid(forbidden, c, r->cubes[i]);
    }
    for (int k = 0; k < shape.bits; k++) {
        int b = bit_order[k];
        if (cube_bit(c, b) || ((forbidden[b / 32] >> (b % 32)) & 1))
            continue;
        bool output = b >= 2 * shape.inputs;
        for (int e = ix->start[b]; e < ix->start[b + 1]; e++) {
            int i = ix->entries[e];
            const cube x = r->cubes[i];
            if (output) {  /* an output conflict ends only if x shares no output with c */
                bool shares = false;
                for (int w = 0; w < shape.words; w++)
                    shares |= (c[1 + w] & x[1 + w] & shape.output_mask[w]) != 0;
                if (shares)
                    continue;
            }
            distance[i]--;
            if (distance[i] == 1) {
                cube_set(c, b);
                forbid(forbidden, c, x);
                cube_clear(c, b);
            }
        }
        cube_set(c, b);
    }
    c[0] |= CUBE_PRIME;
}

static void expand(cover *f, const cover *r)
{
    qsort(f->cubes, (size_t)f->count, sizeof(cube), larger_first);
    memset(column_count, 0, sizeof column_count);
    for (int i = 0; i < f->count; i++)
        for (int b = 0; b < shape.bits; b++)
            column_count[b] += cube_bit(f->cubes[i], b);
    int *bit_order = malloc((size_t)shape.bits * sizeof(int));
    int *distance = malloc(((size_t)r->count + 1) * sizeof(int));
    if (bit_order == NULL || distance == NULL)
        cli_fail(EXIT_CHECK_FAILED, "out of memory in expand");
    for (int b = 0; b < shape.bits; b++)
        bit_order[b] = b;
    qsort(bit_order, (size_t)shape.bits, sizeof(int), more_popular_first);
    bit_index ix = index_bits(r);
    for (int i = 0; i < f->count; i++) {
        cube c = f->cubes[i];
        if (c[0] & (CUBE_COVERED | CUBE_PRIME))
            continue;
        expand_cube(c, r, &ix, distance, bit_order);
        for (int j = 0; j < f->count; j++)
            if (j != i && !(f->cubes[j][0] & CUBE_COVERED) && cube_contains(c, f->cubes[j]))
                f->cubes[j][0] |= CUBE_COVERED;
    }
    free(ix.start);
    free(ix.entries);
    free(distance);
    free(bit_order);
    cover_drop_flagged(f, CUBE_COVERED);
}

static void irredundant(cover *f, const cover *d)
{
    qsort(f->cubes, (size_t)f->count, sizeof(cube), smaller_first);
    for (int i = 0; i < f->count; i++)
        if (cube_is_covered(f->cubes[i], f, d, f->cubes[i]))
            f->cubes[i][0] |= CUBE_COVERED;
    cover_drop_flagged(f, CUBE_COVERED);
}

static void reduce(cover *f, const cover *d)
{
    qsort(f->cubes, (size_t)f->count, sizeof(cube), larger_first);
    for (int i = 0; i < f->count; i++) {
        cube c = f->cubes[i];
        cube_list others = cofactor(f, d, c, c);
        cover *uncovered = complement(others);
        list_free(others);
        if (uncovered->count == 0) {
            c[0] |= CUBE_COVERED;
        } else {
            word super[(2 * MAX_INPUTS + MAX_OUTPUTS) / 32 + 1] = {0};
            for (int k = 0; k < uncovered->count; k++)
                for (int w = 0; w < shape.words; w++)
                    super[w] |= uncovered->cubes[k][1 + w];
            for (int w = 0; w < shape.words; w++)
                c[1 + w] &= super[w];
            c[0] &= ~CUBE_PRIME;
        }
        cover_free(uncovered);
    }
    cover_drop_flagged(f, CUBE_COVERED);
}

cover *espresso_minimize(cover *f, const cover *d, minimize_stats *stats)
{
    stats->initial_cubes = f->count;
    for (int i = 0; i < f->count; i++)
        f->cubes[i][0] = 0;
    cube universe = cube_universe();
    cube_list on_and_dc = cofactor(f, d, universe, NULL);
    cover *r = complement(on_and_dc);
    list_free(on_and_dc);
    cube_free(universe);
    stats->complement_cubes = r->count;

    expand(f, r);
    irredundant(f, d);
    stats->iterations = 1;
    for (;;) {
        cost before = cover_cost(f);
        reduce(f, d);
        expand(f, r);
        irredundant(f, d);
        stats->iterations++;
        if (!cheaper(cover_cost(f), before))
            break;
    }
    cover_free(r);
    stats->final_cubes = f->count;
    return f;
}
