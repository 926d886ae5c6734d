/* unate.c: cofactors, tautology and complement by unate recursion.
 *
 * Both recursions split a cube list on its most binate input (the one whose
 * 0 and 1 literals appear in the most cubes, the smaller count first) into
 * its two cofactors, each a fresh list with a fresh cofactor cube, as
 * espresso's cofactor builds them; complements are covers of fresh cubes. The outputs form one multiple-valued variable that is never split: a
 * cover whose cubes all leave the inputs free is a tautology exactly when the
 * union of its output parts is every output, and its complement is the one
 * cube of the outputs it misses.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/cli.h"
#include "espresso.h"

/* Every complement starts with room for this many cubes and grows by realloc,
 * as espresso's set families do. */
#define COMPLEMENT_START_CAPACITY 8


/* The bits of listed cube x as it stands in its list: raised by the cofactor. */
static inline word listed(const cube_list t, const cube x, int w) { return x[1 + w] | t[0][1 + w]; }

static cube_list list_new(int capacity, const cube cofactor_cube)
{
    cube_list t = malloc(((size_t)capacity + 3) * sizeof(cube));
    if (t == NULL)
        cli_fail(EXIT_CHECK_FAILED, "out of memory allocating a cube list");
    t[0] = cofactor_cube;
    t[1] = (cube)(t + LIST_FIRST);
    t[LIST_FIRST] = NULL;
    return t;
}

static inline void list_append(cube_list t, cube x)
{
    cube *end = (cube *)t[1];
    *end++ = x;
    *end = NULL;
    t[1] = (cube)end;
}

void list_free(cube_list t)
{
    cube_free(t[0]);
    free(t);
}

/* How the cubes of a list use each input, and which outputs they reach. */
typedef struct census {
    bool has_universe;
    bool outputs_complete;
    int split_var;       /* the most binate input, or -1 when none is used */
} census;

static census take_census(const cube_list t)
{
    int zeros[MAX_INPUTS] = {0}, ones[MAX_INPUTS] = {0};
    word outputs[(MAX_INPUTS * 2 + MAX_OUTPUTS) / 32 + 1] = {0};
    census c = {false, true, -1};
    for (cube *p = t + LIST_FIRST; *p; p++) {
        bool universe = true;
        for (int w = 0; w < shape.words; w++) {
            word x = listed(t, *p, w);
            universe &= x == shape.all[w];
            outputs[w] |= x & shape.output_mask[w];
            /* per input pair: 01 = only 0 allowed, 10 = only 1 */
            word low = shape.input_low[w];
            word only0 = x & ~(x >> 1) & low, only1 = (x >> 1) & ~x & low;
            while (only0) {
                zeros[(w * 32 + __builtin_ctz(only0)) / 2]++;
                only0 &= only0 - 1;
            }
            while (only1) {
                ones[(w * 32 + __builtin_ctz(only1)) / 2]++;
                only1 &= only1 - 1;
            }
        }
        if (universe) {
            c.has_universe = true;
            return c;
        }
    }
    for (int w = 0; w < shape.words; w++)
        if (outputs[w] != shape.output_mask[w])
            c.outputs_complete = false;
    int best_binate = 0, best_active = 0;
    for (int v = 0; v < shape.inputs; v++) {
        int binate = zeros[v] < ones[v] ? zeros[v] : ones[v];
        int active = zeros[v] + ones[v];
        if (active == 0)
            continue;
        if (c.split_var < 0 || binate > best_binate ||
            (binate == best_binate && active > best_active)) {
            c.split_var = v;
            best_binate = binate;
            best_active = active;
        }
    }
    return c;
}

/* The cofactor with respect to input v = value: the cubes that allow the
 * value, under a cofactor cube that also raises v. */
static cube_list split(const cube_list t, int v, int value)
{
    cube raise = cube_copy(t[0]);
    cube_set(raise, 2 * v);
    cube_set(raise, 2 * v + 1);
    cube_list r = list_new(list_count(t), raise);
    int b = 2 * v + value;
    for (cube *p = t + LIST_FIRST; *p; p++)
        if (cube_bit(*p, b) || cube_bit(t[0], b))
            list_append(r, *p);
    return r;
}

cube_list cofactor(const cover *f, const cover *d, const cube p, const cube skip)
{
    int n = f->count + (d ? d->count : 0);
    cube raise = cube_new();
    for (int w = 0; w < shape.words; w++)
        raise[1 + w] = ~p[1 + w] & shape.all[w];
    cube_list r = list_new(n, raise);
    for (int k = 0; k < 2; k++) {
        const cover *g = k == 0 ? f : d;
        if (g == NULL)
            continue;
        for (int i = 0; i < g->count; i++) {
            cube x = g->cubes[i];
            if (x != skip && !(x[0] & CUBE_COVERED) && !cube_disjoint(x, p))
                list_append(r, x);
        }
    }
    return r;
}

bool tautology(const cube_list t)
{
    if (list_count(t) == 0)
        return false;
    census c = take_census(t);
    if (c.has_universe)
        return true;
    if (!c.outputs_complete)
        return false;
    if (c.split_var < 0)
        return true;  /* every cube spans the inputs and together they reach every output */
    for (int value = 0; value < 2; value++) {
        cube_list half = split(t, c.split_var, value);
        bool whole = tautology(half);
        list_free(half);
        if (!whole)
            return false;
    }
    return true;
}

bool cube_is_covered(const cube c, const cover *f, const cover *d, const cube skip)
{
    cube_list t = cofactor(f, d, c, skip);
    bool covered = tautology(t);
    list_free(t);
    return covered;
}

/* A fresh cube: listed cube x as it stands in t. */
static cube listed_copy(const cube_list t, const cube x)
{
    cube y = cube_new();
    for (int w = 0; w < shape.words; w++)
        y[1 + w] = listed(t, x, w);
    return y;
}

/* The complement of one cube by De Morgan: one cube per specified input (the
 * other value, everything else free) and one for the outputs it lacks. */
static cover *complement_cube(const cube x)
{
    cover *r = cover_new(COMPLEMENT_START_CAPACITY);
    for (int v = 0; v < shape.inputs; v++) {
        bool can0 = cube_bit(x, 2 * v), can1 = cube_bit(x, 2 * v + 1);
        if (can0 && can1)
            continue;
        cube y = cube_universe();
        cube_clear(y, can0 ? 2 * v : 2 * v + 1);
        cover_add(r, y);
    }
    cube y = cube_universe();
    bool some_output = false;
    for (int w = 0; w < shape.words; w++) {
        y[1 + w] &= ~(x[1 + w] & shape.output_mask[w]);
        some_output |= (y[1 + w] & shape.output_mask[w]) != 0;
    }
    if (some_output)
        cover_add(r, y);
    else
        cube_free(y);
    return r;
}

/* Sorting key of the merge: the cube with input v masked out. */
static word merge_mask_word;
static word merge_mask_bits;

static int compare_masked(const void *pa, const void *pb)
{
    const cube a = *(const cube *)pa, b = *(const cube *)pb;
    for (int w = 0; w < shape.words; w++) {
        word mask = w == (int)merge_mask_word ? ~merge_mask_bits : ~(word)0;
        word x = a[1 + w] & mask, y = b[1 + w] & mask;
        if (x != y)
            return x < y ? -1 : 1;
    }
    return 0;
}

/* x0 (cubes with v = 0) and x1 (v = 1) into one cover; a cube found in both
 * halves becomes one cube with v free. The halves are consumed. */
static cover *merge_halves(cover *x0, cover *x1, int v)
{
    merge_mask_word = (word)((2 * v) / 32);
    merge_mask_bits = (word)3 << ((2 * v) % 32);
    qsort(x0->cubes, (size_t)x0->count, sizeof(cube), compare_masked);
    qsort(x1->cubes, (size_t)x1->count, sizeof(cube), compare_masked);
    cover *r = cover_new(COMPLEMENT_START_CAPACITY);
    int i = 0, j = 0;
    while (i < x0->count || j < x1->count) {
        int order = i == x0->count ? 1 : j == x1->count ? -1
                  : compare_masked(&x0->cubes[i], &x1->cubes[j]);
        if (order < 0) {
            cover_add(r, x0->cubes[i++]);
        } else if (order > 0) {
            cover_add(r, x1->cubes[j++]);
        } else {
            cube both = x0->cubes[i++];
            cube_set(both, 2 * v);
            cube_set(both, 2 * v + 1);
            cover_add(r, both);
            cube_free(x1->cubes[j++]);
        }
    }
    x0->count = x1->count = 0;
    cover_free(x0);
    cover_free(x1);
    return r;
}

cover *complement(const cube_list t)
{
    if (list_count(t) == 0) {
        cover *r = cover_new(COMPLEMENT_START_CAPACITY);
        cover_add(r, cube_universe());
        return r;
    }
    census c = take_census(t);
    if (c.has_universe)
        return cover_new(COMPLEMENT_START_CAPACITY);
    if (c.split_var < 0) {
        /* all cubes span the inputs: the complement is the outputs they miss */
        cover *r = cover_new(COMPLEMENT_START_CAPACITY);
        if (!c.outputs_complete) {
            cube y = cube_universe();
            for (cube *p = t + LIST_FIRST; *p; p++)
                for (int w = 0; w < shape.words; w++)
                    y[1 + w] &= ~(listed(t, *p, w) & shape.output_mask[w]);
            cover_add(r, y);
        }
        return r;
    }
    if (list_count(t) == 1) {
        cube x = listed_copy(t, t[LIST_FIRST]);
        cover *r = complement_cube(x);
        cube_free(x);
        return r;
    }
    int v = c.split_var;
    cover *halves[2];
    for (int value = 0; value < 2; value++) {
        cube_list cof = split(t, v, value);
        halves[value] = complement(cof);
        list_free(cof);
        for (int i = 0; i < halves[value]->count; i++)
            cube_clear(halves[value]->cubes[i], 2 * v + (1 - value));
    }
    return merge_halves(halves[0], halves[1], v);
}
