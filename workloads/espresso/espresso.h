/* espresso.h: a two-level logic minimiser in the style of Berkeley espresso
 * (Brayton, Hachtel, McMullen and Sangiovanni-Vincentelli, "Logic Minimization
 * Algorithms for VLSI Synthesis", Kluwer 1984; Rudell's espresso-MV, 1986).
 *
 * A cube is a bit-set: two bits per binary input (bit 2i: the input may be 0,
 * bit 2i+1: it may be 1; both: don't care), then one bit per output (the cube
 * belongs to that output's function). Word 0 of a cube holds flags, as in
 * espresso, and the bits follow. Every cube is its own heap object and every
 * operation that makes cubes or lists of them allocates them: the allocation
 * pattern (millions of 16-byte cubes and short pointer arrays, freed almost at
 * once) is what this workload measures.
 */
#ifndef WORKLOADS_ESPRESSO_H
#define WORKLOADS_ESPRESSO_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define MAX_INPUTS 128
#define MAX_OUTPUTS 512
#define MAX_NAME_BYTES 64

typedef uint32_t word;
typedef word *cube;        /* cube[0]: flags, cube[1..shape.words]: the bits */

/* Flags in cube[0]. */
#define CUBE_PRIME 1u      /* made by expand: no literal can be raised */
#define CUBE_COVERED 2u    /* expand found it inside another cube: to be dropped */

/* The shape every cube of the run shares (espresso's global `cube`). */
typedef struct cube_shape {
    int inputs, outputs;
    int bits;                    /* 2 x inputs + outputs */
    int words;                   /* words of bits per cube */
    word *input_low;             /* per word: bit 2i of every input pair in it */
    word *output_mask;           /* per word: the output bits */
    word *all;                   /* per word: every valid bit */
    word *none;                  /* zero words, to clear a new cube from */
} cube_shape;

extern cube_shape shape;

/* A set of cubes, laid out like espresso's set family (40 bytes): its counts,
 * the shape of its cubes, the pointer array, and a link for chaining covers.
 * Growing it reallocates the pointer array, as espresso's families grow. */
typedef struct cover {
    int count, capacity;
    int active_count;        /* cubes not flagged covered (kept by cover_drop_flagged) */
    int words, bits;         /* the shape its cubes were made for */
    cube *cubes;
    struct cover *next;      /* unused link, as in espresso's families */
} cover;

/* Bits set in a word. Open-coded: the build targets plain x86-64 (no POPCNT
 * instruction), where __builtin_popcount becomes a slower library call. */
static inline int word_bits(word x)
{
    x = x - ((x >> 1) & 0x55555555u);
    x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
    return (int)((((x + (x >> 4)) & 0x0f0f0f0fu) * 0x01010101u) >> 24);
}

/* ---- cubes (cube.c) ---- */
void shape_setup(int inputs, int outputs);
void shape_release(void);
cube cube_new(void);                 /* all bits clear */
cube cube_universe(void);            /* every bit set */
cube cube_copy(const cube c);
void cube_free(cube c);
static inline bool cube_bit(const cube c, int b) { return (c[1 + (b >> 5)] >> (b & 31)) & 1; }
static inline void cube_set(cube c, int b) { c[1 + (b >> 5)] |= (word)1 << (b & 31); }
static inline void cube_clear(cube c, int b) { c[1 + (b >> 5)] &= ~((word)1 << (b & 31)); }
static inline int output_bit(int j) { return 2 * shape.inputs + j; }
bool cube_is_universe(const cube c);
bool cube_contains(const cube big, const cube small);   /* small inside big */
bool cube_disjoint(const cube a, const cube b);          /* empty intersection */
bool cube_equal(const cube a, const cube b);
int cube_literals(const cube c);       /* specified inputs + outputs present */
int cube_bit_count(const cube c);
/* How many variables (inputs, and the outputs as one) a and b conflict in. */
int cube_distance(const cube a, const cube b);
/* The inputs where a and b have no value in common; the outputs count as
 * variable `shape.inputs`. Writes up to `max` of them, returns how many. */
int cube_conflicts(const cube a, const cube b, int *vars, int max);

/* ---- covers (cube.c) ---- */
cover *cover_new(int capacity);
void cover_add(cover *f, cube c);      /* takes ownership of c */
cover *cover_copy(const cover *f);
void cover_free(cover *f);             /* frees its cubes too */
void cover_drop_flagged(cover *f, word flag);  /* frees and removes flagged cubes */

/* ---- cofactors, tautology, complement (unate.c) ---- */
/* A cube list, espresso's cofactor representation: one block of n + 3 pointers,
 * [0] the cofactor cube (the bits every listed cube is raised by), [1] the end
 * (a pointer to the NULL), [2 .. n + 1] the cubes, then NULL. The cubes are
 * not copied: a listed cube stands for (cube | cofactor). */
typedef cube *cube_list;
#define LIST_FIRST 2
static inline int list_count(const cube_list t) { return (int)((cube *)t[1] - (t + LIST_FIRST)); }
void list_free(cube_list t);           /* the list and its cofactor cube, not the cubes */
/* The cofactor of the cubes of f (and of d, when not NULL) with respect to p,
 * leaving out skip (when not NULL) and flagged-covered cubes: the cubes that
 * meet p, raised by ~p. With p the universe: the cubes themselves. */
cube_list cofactor(const cover *f, const cover *d, const cube p, const cube skip);
bool tautology(const cube_list t);
cover *complement(const cube_list t);  /* a fresh cover of the complement */
/* Is c covered by the cubes of f and d, leaving out skip? */
bool cube_is_covered(const cube c, const cover *f, const cover *d, const cube skip);

/* ---- the minimisation (minimize.c) ---- */
typedef struct minimize_stats {
    int iterations;
    int initial_cubes, final_cubes;
    long complement_cubes;
} minimize_stats;
/* Minimise the ON-set f (consumed) with don't-cares d; returns the new cover. */
cover *espresso_minimize(cover *f, const cover *d, minimize_stats *stats);

/* ---- PLA files (pla.c) ---- */
typedef struct pla {
    cover *on, *dc;
    bool fd_type;                          /* `.type fd`: outputs '-' are don't-cares */
    char (*input_names)[MAX_NAME_BYTES];   /* NULL without .ilb */
    char (*output_names)[MAX_NAME_BYTES];  /* NULL without .ob */
    int declared_terms;                    /* .p, or -1 */
} pla;
/* Reads a PLA; sets up `shape` from .i/.o the first time, and requires the
 * same .i/.o afterwards. Exits 2 with "file:line: ..." on a malformed file. */
void pla_read(const char *path, pla *p);
void pla_write(FILE *out, const pla *p, const cover *f);
void pla_release(pla *p);

/* ---- checks (verify.c) ---- */
/* espresso's verify: every cube of a inside b + d, and every cube of b inside
 * a + d. Returns true when the covers are equivalent. */
bool covers_equivalent(const cover *a, const cover *b, const cover *d);
/* Minterm by minterm, independent of the cube algebra: on <= f <= on + dc.
 * Only for inputs <= EXHAUSTIVE_MAX_INPUTS; returns false and describes the
 * first wrong minterm in `why` otherwise. */
#define EXHAUSTIVE_MAX_INPUTS 20
bool exhaustive_check(const cover *on, const cover *dc, const cover *f, char *why,
                      size_t why_bytes);

#endif
