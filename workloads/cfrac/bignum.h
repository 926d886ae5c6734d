/* bignum.h: cfrac's arbitrary-precision integers.
 *
 * This library is the point of the benchmark: like the original cfrac's, every
 * number is its own heap object (an 8-byte header, then base-65536 digits, so a
 * number of n digits takes 8 + 2n bytes), numbers are reference counted, and
 * every operation returns a freshly allocated result. Nothing is cached or
 * recycled: every number created is one malloc and every number dropped is one
 * free, so the allocator sees the original's stream of small short-lived blocks.
 *
 * Ownership: a function returning bignum * hands the caller one reference, which
 * the caller gives back with bn_release (or passes on). Arguments are borrowed.
 */
#ifndef CFRAC_BIGNUM_H
#define CFRAC_BIGNUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint16_t bn_digit;      /* one base-65536 digit */
#define BN_DIGIT_BITS 16
#define BN_BASE (1u << BN_DIGIT_BITS)

/* Largest number of digits an operand may have: the header stores lengths in 16
 * bits, and the scratch buffers of division and conversion are sized by this.
 * cfrac's inputs are capped far below it (see cfrac_main.c). */
#define BN_MAX_DIGITS 512

typedef struct bignum {
    uint16_t refs;     /* references held; the object is freed when it drops to 0 */
    uint16_t capacity; /* digits allocated after the header */
    uint16_t length;   /* digits in use, >= 1; the top one is non-zero unless the value is 0 */
    uint8_t negative;  /* 1 for a value below zero (zero is never negative) */
    uint8_t unused;
    bn_digit digits[]; /* little-endian: digits[0] is the least significant */
} bignum;

_Static_assert(sizeof(bignum) == 8, "the header must stay 8 bytes, as in the original");

/* Reference counting. */
bignum *bn_retain(bignum *x);
void bn_release(bignum *x);
/* Replace *slot (releasing what it held) by owned, which the slot takes over. */
void bn_assign(bignum **slot, bignum *owned);

/* Construction and conversion. */
bignum *bn_from_u64(uint64_t value);
bool bn_fits_u64(const bignum *x);
uint64_t bn_to_u64(const bignum *x); /* magnitude; only when bn_fits_u64 */
/* Parse a string of decimal digits; NULL when it is not one (or is too long). */
bignum *bn_from_decimal(const char *text);
/* Decimal text in a buffer the caller frees. */
char *bn_to_decimal(const bignum *x);

/* Queries. */
bool bn_is_zero(const bignum *x);
bool bn_is_one(const bignum *x);
bool bn_is_odd(const bignum *x);
int bn_compare(const bignum *a, const bignum *b); /* -1, 0 or 1 */
int bn_compare_u64(const bignum *a, uint64_t b);
unsigned bn_bit_length(const bignum *x); /* of the magnitude; 0 for zero */
bool bn_bit(const bignum *x, unsigned index); /* bit of the magnitude */

/* Arithmetic: each returns a new number. */
bignum *bn_negate(const bignum *a);
bignum *bn_add(const bignum *a, const bignum *b);
bignum *bn_sub(const bignum *a, const bignum *b);
bignum *bn_mul(const bignum *a, const bignum *b);
bignum *bn_shift_left(const bignum *a, unsigned bits);
/* Truncating division (C semantics); either output pointer may be NULL. b != 0. */
void bn_divmod(const bignum *a, const bignum *b, bignum **quotient, bignum **remainder);
bignum *bn_div(const bignum *a, const bignum *b);
/* The remainder in [0, |m|), whatever the sign of a. m != 0. */
bignum *bn_mod(const bignum *a, const bignum *m);
/* a / d and a % d for a small divisor 0 < d < 65536; the remainder allocates nothing. */
bignum *bn_div_small(const bignum *a, uint32_t d);
uint32_t bn_mod_small(const bignum *a, uint32_t d);

#endif
