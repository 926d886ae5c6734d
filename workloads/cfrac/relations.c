/* relations.c: partial pairing, GF(2) elimination and the final gcd (relations.h). */
#include "relations.h"

#include <stdlib.h>
#include <string.h>

#include "../common/cli.h"
#include "bignum_math.h"

/* A dependency splits N with probability at least 1/2 whenever N is not a prime
 * power (cfrac_main.c removes those), so this many failures in a row means
 * something is wrong, not bad luck (2^-64). */
#define MAX_FAILED_DEPENDENCIES 64

/* The partial table starts this large (a power of two) and doubles at half full. */
#define PARTIAL_TABLE_INITIAL 1024u

#define BITS_PER_WORD 64u

typedef struct relation {
    bignum *x;
    uint32_t large_prime; /* 1, or L for a relation made of two partials */
    uint16_t power_count;
    fb_power *powers;     /* ascending columns */
} relation;

typedef struct partial {
    uint32_t large_prime; /* 0 marks an empty slot */
    uint16_t power_count;
    bignum *x;
    fb_power *powers;
} partial;

struct relation_set {
    const bignum *n;
    const factor_base *fb;
    unsigned columns;       /* sign + primes */
    unsigned parity_words;  /* words of a row's exponent-parity bit vector */
    unsigned history_words; /* words of a row's set of relation indices */

    relation *relations;
    unsigned relation_count, relation_limit;

    /* pivot_parity[c] is the stored row whose lowest set parity bit is c (or
     * NULL); pivot_history[c] says which relations were added to make it. */
    uint64_t **pivot_parity;
    uint64_t **pivot_history;
    uint64_t *scratch_parity, *scratch_history;

    partial *partials;
    unsigned partial_capacity, partial_count;

    unsigned failed_dependencies;
    relation_stats stats;
};

relation_set *relation_set_create(const bignum *n, const factor_base *fb)
{
    relation_set *set = cli_checked_calloc(1, sizeof *set, "the relation set");
    set->n = n;
    set->fb = fb;
    set->columns = fb->count + 1;
    set->parity_words = (set->columns + BITS_PER_WORD - 1) / BITS_PER_WORD;
    /* Every stored relation is a pivot row or a failed dependency. */
    set->relation_limit = set->columns + MAX_FAILED_DEPENDENCIES + 1;
    set->history_words = (set->relation_limit + BITS_PER_WORD - 1) / BITS_PER_WORD;
    set->relations = cli_checked_calloc(set->relation_limit, sizeof(relation), "relations");
    set->pivot_parity = cli_checked_calloc(set->columns, sizeof(uint64_t *), "pivot rows");
    set->pivot_history = cli_checked_calloc(set->columns, sizeof(uint64_t *), "pivot rows");
    set->scratch_parity = cli_checked_calloc(set->parity_words, sizeof(uint64_t), "a row");
    set->scratch_history = cli_checked_calloc(set->history_words, sizeof(uint64_t), "a row");
    set->partial_capacity = PARTIAL_TABLE_INITIAL;
    set->partials = cli_checked_calloc(set->partial_capacity, sizeof(partial), "partials");
    return set;
}

void relation_set_free(relation_set *set)
{
    for (unsigned i = 0; i < set->relation_count; i++) {
        bn_release(set->relations[i].x);
        free(set->relations[i].powers);
    }
    for (unsigned c = 0; c < set->columns; c++) {
        free(set->pivot_parity[c]);
        free(set->pivot_history[c]);
    }
    for (unsigned i = 0; i < set->partial_capacity; i++) {
        if (set->partials[i].large_prime != 0) {
            bn_release(set->partials[i].x);
            free(set->partials[i].powers);
        }
    }
    free(set->relations);
    free(set->pivot_parity);
    free(set->pivot_history);
    free(set->scratch_parity);
    free(set->scratch_history);
    free(set->partials);
    free(set);
}

bool relation_set_exhausted(const relation_set *set)
{
    return set->relation_count >= set->relation_limit;
}

const relation_stats *relation_set_stats(const relation_set *set) { return &set->stats; }

static fb_power *copy_powers(const fb_power *powers, unsigned count)
{
    fb_power *copy = cli_checked_calloc(count ? count : 1, sizeof(fb_power), "a factorisation");
    memcpy(copy, powers, count * sizeof(fb_power));
    return copy;
}

/* ---- the square root of a dependency, and the gcd ---------------------------- */

static bignum *mul_mod(const bignum *a, const bignum *b, const bignum *n)
{
    bignum *product = bn_mul(a, b);
    bignum *reduced = bn_mod(product, n);
    bn_release(product);
    return reduced;
}

/* The relations in `history` multiply to x^2 = y^2 (mod N): build x and y and
 * return gcd(x - y, N) when it is a proper factor. */
static bignum *try_dependency(relation_set *set, const uint64_t *history)
{
    uint32_t *exponents = cli_checked_calloc(set->columns, sizeof(uint32_t), "exponents");
    bignum *x = bn_from_u64(1);
    bignum *y = bn_from_u64(1);
    for (unsigned i = 0; i < set->relation_count; i++) {
        if (!(history[i / BITS_PER_WORD] >> (i % BITS_PER_WORD) & 1))
            continue;
        const relation *r = &set->relations[i];
        bn_assign(&x, mul_mod(x, r->x, set->n));
        if (r->large_prime != 1) {
            bignum *l = bn_from_u64(r->large_prime);
            bn_assign(&y, mul_mod(y, l, set->n));
            bn_release(l);
        }
        for (unsigned j = 0; j < r->power_count; j++)
            exponents[r->powers[j].column] += r->powers[j].exponent;
    }
    for (unsigned c = 0; c < set->columns; c++) {
        if (exponents[c] % 2 != 0)
            cli_fail(EXIT_CHECK_FAILED, "internal error: a dependency is not a square");
        if (c == 0 || exponents[c] == 0)
            continue; /* (-1)^even is 1 */
        /* Reduced mod N as it grows: the exponent may run to thousands. */
        bignum *p = bn_from_u64(set->fb->primes[c - 1]);
        bignum *half = bn_from_u64(exponents[c] / 2);
        bignum *power = bn_powmod(p, half, set->n);
        bn_assign(&y, mul_mod(y, power, set->n));
        bn_release(power);
        bn_release(half);
        bn_release(p);
    }
    free(exponents);

    bignum *difference = bn_sub(x, y);
    bignum *reduced = bn_mod(difference, set->n);
    bignum *factor = bn_gcd(reduced, set->n);
    bn_release(difference);
    bn_release(reduced);
    bn_release(x);
    bn_release(y);
    if (bn_is_one(factor) || bn_compare(factor, set->n) == 0 || bn_is_zero(factor)) {
        bn_release(factor);
        return NULL;
    }
    return factor;
}

/* ---- elimination --------------------------------------------------------------- */

/* Pivot rows are calloc'd, like the original's bit vectors. */
static uint64_t *copy_row(const uint64_t *row, unsigned words)
{
    uint64_t *copy = cli_checked_calloc(words, sizeof(uint64_t), "a pivot row");
    memcpy(copy, row, words * sizeof(uint64_t));
    return copy;
}

static int lowest_set_bit(const uint64_t *words, unsigned count)
{
    for (unsigned w = 0; w < count; w++)
        if (words[w] != 0)
            return (int)(w * BITS_PER_WORD + (unsigned)__builtin_ctzll(words[w]));
    return -1;
}

/* Store relations[index] and reduce it against the pivot rows. */
static bignum *add_relation(relation_set *set, relation r)
{
    unsigned index = set->relation_count++;
    set->relations[index] = r;
    uint64_t *parity = set->scratch_parity, *history = set->scratch_history;
    memset(parity, 0, set->parity_words * sizeof(uint64_t));
    memset(history, 0, set->history_words * sizeof(uint64_t));
    history[index / BITS_PER_WORD] |= 1ull << (index % BITS_PER_WORD);
    for (unsigned j = 0; j < r.power_count; j++) {
        unsigned column = r.powers[j].column;
        if (r.powers[j].exponent % 2 != 0)
            parity[column / BITS_PER_WORD] ^= 1ull << (column % BITS_PER_WORD);
    }

    int column;
    while ((column = lowest_set_bit(parity, set->parity_words)) >= 0) {
        uint64_t *pivot = set->pivot_parity[column];
        if (pivot == NULL) {
            /* A new pivot: the row is independent of everything stored. */
            set->pivot_parity[column] = copy_row(parity, set->parity_words);
            set->pivot_history[column] = copy_row(history, set->history_words);
            return NULL;
        }
        for (unsigned w = 0; w < set->parity_words; w++)
            parity[w] ^= pivot[w];
        for (unsigned w = 0; w < set->history_words; w++)
            history[w] ^= set->pivot_history[column][w];
    }
    set->stats.factor_attempts++;
    bignum *factor = try_dependency(set, history);
    if (factor == NULL)
        set->failed_dependencies++;
    return factor;
}

bignum *relation_set_add_full(relation_set *set, const bignum *x, const fb_power *powers,
                              unsigned power_count)
{
    if (relation_set_exhausted(set))
        return NULL;
    set->stats.full_relations++;
    relation r = {bn_retain((bignum *)x), 1, (uint16_t)power_count,
                  copy_powers(powers, power_count)};
    return add_relation(set, r);
}

/* ---- partials ---------------------------------------------------------------------- */

static unsigned partial_slot(const partial *table, unsigned capacity, uint32_t large_prime)
{
    /* Fibonacci hashing, then linear probing; capacity is a power of two. */
    unsigned slot = (unsigned)((large_prime * 2654435769u) & (capacity - 1));
    while (table[slot].large_prime != 0 && table[slot].large_prime != large_prime)
        slot = (slot + 1) & (capacity - 1);
    return slot;
}

static void grow_partials(relation_set *set)
{
    unsigned capacity = set->partial_capacity * 2;
    partial *table = cli_checked_calloc(capacity, sizeof(partial), "partials");
    for (unsigned i = 0; i < set->partial_capacity; i++)
        if (set->partials[i].large_prime != 0)
            table[partial_slot(table, capacity, set->partials[i].large_prime)] = set->partials[i];
    free(set->partials);
    set->partials = table;
    set->partial_capacity = capacity;
}

/* Sum two ascending factorisations; the result is ascending too. */
static unsigned merge_powers(const fb_power *a, unsigned a_count, const fb_power *b,
                             unsigned b_count, fb_power *out)
{
    unsigned i = 0, j = 0, n = 0;
    while (i < a_count || j < b_count) {
        if (j == b_count || (i < a_count && a[i].column < b[j].column))
            out[n++] = a[i++];
        else if (i == a_count || b[j].column < a[i].column)
            out[n++] = b[j++];
        else {
            out[n] = a[i];
            out[n].exponent = (uint16_t)(a[i].exponent + b[j].exponent);
            n++, i++, j++;
        }
    }
    return n;
}

bignum *relation_set_add_partial(relation_set *set, const bignum *x, uint32_t large_prime,
                                 const fb_power *powers, unsigned power_count)
{
    if (relation_set_exhausted(set))
        return NULL;
    set->stats.partials++;
    unsigned slot = partial_slot(set->partials, set->partial_capacity, large_prime);
    partial *first = &set->partials[slot];
    if (first->large_prime == 0) {
        first->large_prime = large_prime;
        first->x = bn_retain((bignum *)x);
        first->power_count = (uint16_t)power_count;
        first->powers = copy_powers(powers, power_count);
        if (++set->partial_count * 2 > set->partial_capacity)
            grow_partials(set);
        return NULL;
    }
    /* Same large prime as a stored partial: their product is a relation with
     * L^2 on the right, so L goes into y. The stored one stays, to pair again. */
    set->stats.partial_pairs++;
    fb_power *merged = cli_checked_calloc(first->power_count + power_count + 1u,
                                          sizeof(fb_power), "a factorisation");
    unsigned merged_count = merge_powers(first->powers, first->power_count, powers,
                                         power_count, merged);
    relation r = {mul_mod(first->x, x, set->n), large_prime, (uint16_t)merged_count, merged};
    return add_relation(set, r);
}
