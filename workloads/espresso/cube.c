/* cube.c: cubes as bit-sets and covers as growable arrays of them. */
#include <stdlib.h>
#include <string.h>

#include "../common/cli.h"
#include "espresso.h"

#define BITS_PER_WORD 32

cube_shape shape;

static void *checked(void *p, const char *what)
{
    if (p == NULL)
        cli_fail(EXIT_CHECK_FAILED, "out of memory allocating %s", what);
    return p;
}

static word *word_array(void)
{
    return checked(calloc((size_t)shape.words, sizeof(word)), "the cube shape");
}

static void mark(word *w, int b) { w[b / BITS_PER_WORD] |= (word)1 << (b % BITS_PER_WORD); }

void shape_setup(int inputs, int outputs)
{
    shape.inputs = inputs;
    shape.outputs = outputs;
    shape.bits = 2 * inputs + outputs;
    shape.words = (shape.bits + BITS_PER_WORD - 1) / BITS_PER_WORD;
    shape.input_low = word_array();
    shape.output_mask = word_array();
    shape.all = word_array();
    shape.none = word_array();
    for (int i = 0; i < inputs; i++)
        mark(shape.input_low, 2 * i);
    for (int j = 0; j < outputs; j++)
        mark(shape.output_mask, output_bit(j));
    for (int b = 0; b < shape.bits; b++)
        mark(shape.all, b);
}

void shape_release(void)
{
    free(shape.input_low);
    free(shape.output_mask);
    free(shape.all);
    free(shape.none);
    memset(&shape, 0, sizeof shape);
}

cube cube_new(void)
{
    /* Cleared by copying zero words: the original makes no calloc calls, and
     * gcc turns malloc followed by memset(0) into one. */
    cube c = checked(malloc(((size_t)shape.words + 1) * sizeof(word)), "a cube");
    c[0] = 0;
    memcpy(c + 1, shape.none, (size_t)shape.words * sizeof(word));
    return c;
}

cube cube_universe(void)
{
    cube c = checked(malloc(((size_t)shape.words + 1) * sizeof(word)), "a cube");
    c[0] = 0;
    memcpy(c + 1, shape.all, (size_t)shape.words * sizeof(word));
    return c;
}

cube cube_copy(const cube c)
{
    size_t bytes = ((size_t)shape.words + 1) * sizeof(word);
    cube r = checked(malloc(bytes), "a cube");
    memcpy(r, c, bytes);
    return r;
}

void cube_free(cube c) { free(c); }

bool cube_is_universe(const cube c)
{
    for (int w = 0; w < shape.words; w++)
        if (c[1 + w] != shape.all[w])
            return false;
    return true;
}

bool cube_contains(const cube big, const cube small)
{
    for (int w = 0; w < shape.words; w++)
        if (small[1 + w] & ~big[1 + w])
            return false;
    return true;
}

bool cube_equal(const cube a, const cube b)
{
    return memcmp(a + 1, b + 1, (size_t)shape.words * sizeof(word)) == 0;
}

bool cube_disjoint(const cube a, const cube b)
{
    word outputs = 0;
    for (int w = 0; w < shape.words; w++) {
        word x = a[1 + w] & b[1 + w];
        word low = shape.input_low[w];
        /* an input with neither value left: its pair of bits is 00 */
        if (((x | (x >> 1)) & low) != low)
            return true;
        outputs |= x & shape.output_mask[w];
    }
    return outputs == 0;
}

int cube_distance(const cube a, const cube b)
{
    int n = 0;
    word outputs = 0;
    for (int w = 0; w < shape.words; w++) {
        word x = a[1 + w] & b[1 + w];
        n += word_bits(~(x | (x >> 1)) & shape.input_low[w]);
        outputs |= x & shape.output_mask[w];
    }
    return n + (outputs == 0);
}

int cube_conflicts(const cube a, const cube b, int *vars, int max)
{
    int n = 0;
    word outputs = 0;
    for (int w = 0; w < shape.words; w++) {
        word x = a[1 + w] & b[1 + w];
        word low = shape.input_low[w];
        word empty = ~(x | (x >> 1)) & low;
        while (empty) {
            int bit = __builtin_ctz(empty);
            empty &= empty - 1;
            if (n < max)
                vars[n] = (w * BITS_PER_WORD + bit) / 2;
            n++;
        }
        outputs |= x & shape.output_mask[w];
    }
    if (outputs == 0) {
        if (n < max)
            vars[n] = shape.inputs;
        n++;
    }
    return n;
}

int cube_bit_count(const cube c)
{
    int n = 0;
    for (int w = 0; w < shape.words; w++)
        n += word_bits(c[1 + w]);
    return n;
}

int cube_literals(const cube c)
{
    int n = 0;
    for (int w = 0; w < shape.words; w++) {
        word x = c[1 + w];
        word low = shape.input_low[w];
        n += word_bits(~(x & (x >> 1)) & low);   /* inputs not don't-care */
        n += word_bits(x & shape.output_mask[w]);
    }
    return n;
}

cover *cover_new(int capacity)
{
    cover *f = checked(malloc(sizeof *f), "a cover");
    f->count = 0;
    f->active_count = 0;
    f->words = shape.words;
    f->bits = shape.bits;
    f->next = NULL;
    f->capacity = capacity > 0 ? capacity : 1;
    f->cubes = checked(malloc((size_t)f->capacity * sizeof(cube)), "a cover");
    return f;
}

void cover_add(cover *f, cube c)
{
    if (f->count == f->capacity) {
        /* espresso's growth: half again plus one */
        f->capacity += f->capacity / 2 + 1;
        f->cubes = checked(realloc(f->cubes, (size_t)f->capacity * sizeof(cube)), "a cover");
    }
    f->cubes[f->count++] = c;
    f->active_count++;
}

cover *cover_copy(const cover *f)
{
    cover *r = cover_new(f->count);
    for (int i = 0; i < f->count; i++)
        cover_add(r, cube_copy(f->cubes[i]));
    return r;
}

void cover_free(cover *f)
{
    if (f == NULL)
        return;
    for (int i = 0; i < f->count; i++)
        cube_free(f->cubes[i]);
    free(f->cubes);
    free(f);
}

void cover_drop_flagged(cover *f, word flag)
{
    int kept = 0;
    for (int i = 0; i < f->count; i++) {
        if (f->cubes[i][0] & flag)
            cube_free(f->cubes[i]);
        else
            f->cubes[kept++] = f->cubes[i];
    }
    f->count = kept;
    f->active_count = kept;
}
