/* verify.c: the two checks of a result.
 *
 * covers_equivalent is espresso's own verify, in the cube algebra (each cube
 * of one cover must be covered by the other plus the don't-cares: a tautology
 * of a cofactor), run after every minimisation as the original does.
 * exhaustive_check shares no code with the algebra: it lists the minterms of
 * every cube and compares output vectors minterm by minterm.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cli.h"
#include "espresso.h"

static bool each_covered(const cover *a, const cover *b, const cover *d)
{
    for (int i = 0; i < a->count; i++)
        if (!cube_is_covered(a->cubes[i], b, d, NULL))
            return false;
    return true;
}

bool covers_equivalent(const cover *a, const cover *b, const cover *d)
{
    return each_covered(a, b, d) && each_covered(b, a, d);
}

#define OUTPUT_WORD_BITS 64

/* ORs the outputs of every cube of f into table[minterm], minterm by minterm. */
static void paint(uint64_t *table, int per_minterm, const cover *f)
{
    for (int i = 0; i < f->count; i++) {
        const cube c = f->cubes[i];
        uint32_t fixed = 0, free_inputs = 0;
        bool empty = false;
        for (int v = 0; v < shape.inputs; v++) {
            bool can0 = cube_bit(c, 2 * v), can1 = cube_bit(c, 2 * v + 1);
            if (can0 && can1)
                free_inputs |= 1u << v;
            else if (can1)
                fixed |= 1u << v;
            else if (!can0)
                empty = true;
        }
        if (empty)
            continue;
        uint64_t outputs[MAX_OUTPUTS / OUTPUT_WORD_BITS + 1] = {0};
        for (int j = 0; j < shape.outputs; j++)
            if (cube_bit(c, output_bit(j)))
                outputs[j / OUTPUT_WORD_BITS] |= (uint64_t)1 << (j % OUTPUT_WORD_BITS);
        /* every subset of the free inputs, including none */
        uint32_t sub = 0;
        do {
            uint64_t *row = table + (size_t)(fixed | sub) * (size_t)per_minterm;
            for (int k = 0; k < per_minterm; k++)
                row[k] |= outputs[k];
            sub = (sub - free_inputs) & free_inputs;
        } while (sub != 0);
    }
}

bool exhaustive_check(const cover *on, const cover *dc, const cover *f, char *why,
                      size_t why_bytes)
{
    if (shape.inputs > EXHAUSTIVE_MAX_INPUTS) {
        snprintf(why, why_bytes, "more than %d inputs", EXHAUSTIVE_MAX_INPUTS);
        return false;
    }
    int per_minterm = (shape.outputs + OUTPUT_WORD_BITS - 1) / OUTPUT_WORD_BITS;
    size_t minterms = (size_t)1 << shape.inputs;
    size_t cells = minterms * (size_t)per_minterm;
    uint64_t *want = cli_checked_calloc(cells, sizeof(uint64_t), "the minterm table");
    uint64_t *may = cli_checked_calloc(cells, sizeof(uint64_t), "the minterm table");
    uint64_t *got = cli_checked_calloc(cells, sizeof(uint64_t), "the minterm table");
    paint(want, per_minterm, on);
    paint(may, per_minterm, dc);
    paint(got, per_minterm, f);
    bool good = true;
    for (size_t m = 0; m < minterms && good; m++)
        for (int k = 0; k < per_minterm; k++) {
            size_t at = m * (size_t)per_minterm + (size_t)k;
            uint64_t missing = want[at] & ~got[at];
            uint64_t extra = got[at] & ~(want[at] | may[at]);
            if (missing | extra) {
                int j = k * OUTPUT_WORD_BITS + __builtin_ctzll(missing | extra);
                char inputs[MAX_INPUTS + 1];
                for (int v = 0; v < shape.inputs; v++)
                    inputs[v] = (m >> v) & 1 ? '1' : '0';
                inputs[shape.inputs] = '\0';
                snprintf(why, why_bytes, "input %s, output %d: %s", inputs, j + 1,
                         missing ? "in the ON-set but not covered" : "covered but OFF");
                good = false;
                break;
            }
        }
    free(want);
    free(may);
    free(got);
    return good;
}
