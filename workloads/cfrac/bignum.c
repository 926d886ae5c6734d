/* bignum.c: the arithmetic core of cfrac's integers (see bignum.h).
 *
 * Results are allocated at their worst-case length and then trimmed, so a result
 * is always exactly one malloc of 8 + 2 * capacity bytes. Scratch space needed
 * inside an operation (division's normalised copies) lives on the stack: the
 * original's allocation profile comes from its numbers, not from temporaries.
 */
#include "bignum.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cli.h"

/* ---- allocation and reference counting ---------------------------------- */

static bignum *bn_alloc(unsigned capacity)
{
    if (capacity == 0)
        capacity = 1;
    if (capacity > BN_MAX_DIGITS)
        cli_fail(EXIT_CHECK_FAILED, "internal error: a %u-digit number exceeds the %d-digit limit",
                 capacity, BN_MAX_DIGITS);
    bignum *x = malloc(sizeof(bignum) + capacity * sizeof(bn_digit));
    if (x == NULL)
        cli_fail(EXIT_CHECK_FAILED, "out of memory");
    x->refs = 1;
    x->capacity = (uint16_t)capacity;
    x->length = 1;
    x->negative = 0;
    x->unused = 0;
    x->digits[0] = 0;
    return x;
}

/* Drop leading zero digits; zero is never negative. */
static bignum *bn_trim(bignum *x)
{
    while (x->length > 1 && x->digits[x->length - 1] == 0)
        x->length--;
    if (x->length == 1 && x->digits[0] == 0)
        x->negative = 0;
    return x;
}

static bignum *bn_copy(const bignum *a)
{
    bignum *r = bn_alloc(a->length);
    memcpy(r->digits, a->digits, a->length * sizeof(bn_digit));
    r->length = a->length;
    r->negative = a->negative;
    return r;
}

bignum *bn_retain(bignum *x)
{
    /* A saturated count cannot be raised: hand out a private copy instead. */
    if (x->refs == UINT16_MAX)
        return bn_copy(x);
    x->refs++;
    return x;
}

void bn_release(bignum *x)
{
    if (x != NULL && --x->refs == 0)
        free(x);
}

void bn_assign(bignum **slot, bignum *owned)
{
    bn_release(*slot);
    *slot = owned;
}

/* ---- construction and conversion ------------------------------------------ */

bignum *bn_from_u64(uint64_t value)
{
    bignum *x = bn_alloc(64 / BN_DIGIT_BITS);
    unsigned n = 0;
    do {
        x->digits[n++] = (bn_digit)value;
        value >>= BN_DIGIT_BITS;
    } while (value != 0);
    x->length = (uint16_t)n;
    return x;
}

bool bn_fits_u64(const bignum *x) { return x->length <= 64 / BN_DIGIT_BITS; }

uint64_t bn_to_u64(const bignum *x)
{
    uint64_t value = 0;
    for (unsigned i = x->length; i-- > 0;)
        value = (value << BN_DIGIT_BITS) | x->digits[i];
    return value;
}

/* Decimal digits that always fit in BN_MAX_DIGITS base-65536 digits
 * (each base-65536 digit holds 4.8 decimal digits). */
#define BN_MAX_DECIMAL_DIGITS (BN_MAX_DIGITS * 4)

bignum *bn_from_decimal(const char *text)
{
    size_t count = strlen(text);
    if (count == 0 || count > BN_MAX_DECIMAL_DIGITS)
        return NULL;
    bn_digit work[BN_MAX_DIGITS] = {0};
    unsigned length = 1;
    for (size_t i = 0; i < count; i++) {
        if (text[i] < '0' || text[i] > '9')
            return NULL;
        uint32_t carry = (uint32_t)(text[i] - '0');
        for (unsigned d = 0; d < length; d++) {
            uint32_t t = work[d] * 10u + carry;
            work[d] = (bn_digit)t;
            carry = t >> BN_DIGIT_BITS;
        }
        if (carry != 0)
            work[length++] = (bn_digit)carry;
    }
    bignum *x = bn_alloc(length);
    memcpy(x->digits, work, length * sizeof(bn_digit));
    x->length = (uint16_t)length;
    return bn_trim(x);
}

/* Conversion peels off this many decimal digits per pass. */
#define DECIMAL_CHUNK 10000u
#define DECIMAL_CHUNK_DIGITS 4

char *bn_to_decimal(const bignum *x)
{
    bn_digit work[BN_MAX_DIGITS];
    unsigned length = x->length;
    memcpy(work, x->digits, length * sizeof(bn_digit));
    /* 5 decimal digits per base-65536 digit is generous; plus sign and NUL. */
    size_t room = (size_t)length * 5 + 2;
    char *text = malloc(room);
    if (text == NULL)
        cli_fail(EXIT_CHECK_FAILED, "out of memory");
    size_t end = room - 1;
    text[end] = '\0';
    do {
        uint32_t rest = 0;
        for (unsigned i = length; i-- > 0;) {
            uint32_t t = (rest << BN_DIGIT_BITS) | work[i];
            work[i] = (bn_digit)(t / DECIMAL_CHUNK);
            rest = t % DECIMAL_CHUNK;
        }
        while (length > 1 && work[length - 1] == 0)
            length--;
        bool last = length == 1 && work[0] == 0;
        for (int k = 0; k < DECIMAL_CHUNK_DIGITS && (!last || rest != 0 || k == 0); k++) {
            text[--end] = (char)('0' + rest % 10);
            rest /= 10;
        }
        if (last)
            break;
    } while (true);
    if (x->negative)
        text[--end] = '-';
    memmove(text, text + end, room - end);
    return text;
}

/* ---- queries --------------------------------------------------------------- */

bool bn_is_zero(const bignum *x) { return x->length == 1 && x->digits[0] == 0; }

bool bn_is_one(const bignum *x)
{
    return x->length == 1 && x->digits[0] == 1 && !x->negative;
}

bool bn_is_odd(const bignum *x) { return (x->digits[0] & 1) != 0; }

static int mag_compare(const bignum *a, const bignum *b)
{
    if (a->length != b->length)
        return a->length < b->length ? -1 : 1;
    for (unsigned i = a->length; i-- > 0;)
        if (a->digits[i] != b->digits[i])
            return a->digits[i] < b->digits[i] ? -1 : 1;
    return 0;
}

int bn_compare(const bignum *a, const bignum *b)
{
    if (a->negative != b->negative)
        return a->negative ? -1 : 1;
    int c = mag_compare(a, b);
    return a->negative ? -c : c;
}

int bn_compare_u64(const bignum *a, uint64_t b)
{
    if (a->negative)
        return -1;
    if (!bn_fits_u64(a))
        return 1;
    uint64_t v = bn_to_u64(a);
    return v < b ? -1 : v > b;
}

unsigned bn_bit_length(const bignum *x)
{
    bn_digit top = x->digits[x->length - 1];
    unsigned bits = (x->length - 1u) * BN_DIGIT_BITS;
    while (top != 0) {
        bits++;
        top >>= 1;
    }
    return bits;
}

bool bn_bit(const bignum *x, unsigned index)
{
    unsigned digit = index / BN_DIGIT_BITS;
    if (digit >= x->length)
        return false;
    return (x->digits[digit] >> (index % BN_DIGIT_BITS)) & 1;
}

/* ---- addition and subtraction ---------------------------------------------- */

/* |a| + |b| */
static bignum *mag_add(const bignum *a, const bignum *b)
{
    if (a->length < b->length) {
        const bignum *t = a;
        a = b;
        b = t;
    }
    bignum *r = bn_alloc(a->length + 1u);
    uint32_t carry = 0;
    unsigned i = 0;
    for (; i < b->length; i++) {
        uint32_t t = (uint32_t)a->digits[i] + b->digits[i] + carry;
        r->digits[i] = (bn_digit)t;
        carry = t >> BN_DIGIT_BITS;
    }
    for (; i < a->length; i++) {
        uint32_t t = (uint32_t)a->digits[i] + carry;
        r->digits[i] = (bn_digit)t;
        carry = t >> BN_DIGIT_BITS;
    }
    r->digits[i] = (bn_digit)carry;
    r->length = (uint16_t)(i + 1);
    return r;
}

/* |a| - |b|, requires |a| >= |b| */
static bignum *mag_sub(const bignum *a, const bignum *b)
{
    bignum *r = bn_alloc(a->length);
    int32_t borrow = 0;
    unsigned i = 0;
    for (; i < b->length; i++) {
        int32_t t = (int32_t)a->digits[i] - b->digits[i] - borrow;
        r->digits[i] = (bn_digit)t;
        borrow = t < 0;
    }
    for (; i < a->length; i++) {
        int32_t t = (int32_t)a->digits[i] - borrow;
        r->digits[i] = (bn_digit)t;
        borrow = t < 0;
    }
    r->length = a->length;
    return r;
}

/* a + (-1)^b_negative * |b| */
static bignum *add_signed(const bignum *a, const bignum *b, uint8_t b_negative)
{
    bignum *r;
    if (a->negative == b_negative) {
        r = mag_add(a, b);
        r->negative = a->negative;
    } else if (mag_compare(a, b) >= 0) {
        r = mag_sub(a, b);
        r->negative = a->negative;
    } else {
        r = mag_sub(b, a);
        r->negative = b_negative;
    }
    return bn_trim(r);
}

bignum *bn_add(const bignum *a, const bignum *b) { return add_signed(a, b, b->negative); }

bignum *bn_sub(const bignum *a, const bignum *b)
{
    return add_signed(a, b, (uint8_t)(!b->negative && !bn_is_zero(b)));
}

bignum *bn_negate(const bignum *a)
{
    bignum *r = bn_copy(a);
    r->negative = (uint8_t)!a->negative;
    return bn_trim(r);
}

/* ---- multiplication and shifts --------------------------------------------- */

bignum *bn_mul(const bignum *a, const bignum *b)
{
    unsigned length = a->length + b->length;
    bignum *r = bn_alloc(length);
    memset(r->digits, 0, length * sizeof(bn_digit));
    for (unsigned i = 0; i < a->length; i++) {
        uint32_t carry = 0;
        uint32_t ai = a->digits[i];
        if (ai == 0)
            continue;
        for (unsigned j = 0; j < b->length; j++) {
            /* (2^16-1)^2 + 2 * (2^16-1) == 2^32 - 1: never overflows. */
            uint32_t t = ai * b->digits[j] + r->digits[i + j] + carry;
            r->digits[i + j] = (bn_digit)t;
            carry = t >> BN_DIGIT_BITS;
        }
        r->digits[i + b->length] = (bn_digit)carry;
    }
    r->length = (uint16_t)length;
    r->negative = a->negative ^ b->negative;
    return bn_trim(r);
}

bignum *bn_shift_left(const bignum *a, unsigned bits)
{
    unsigned whole = bits / BN_DIGIT_BITS, part = bits % BN_DIGIT_BITS;
    unsigned length = a->length + whole + 1;
    bignum *r = bn_alloc(length);
    memset(r->digits, 0, length * sizeof(bn_digit));
    for (unsigned i = 0; i < a->length; i++) {
        uint32_t t = (uint32_t)a->digits[i] << part;
        r->digits[i + whole] |= (bn_digit)t;
        r->digits[i + whole + 1] = (bn_digit)(t >> BN_DIGIT_BITS);
    }
    r->length = (uint16_t)length;
    r->negative = a->negative;
    return bn_trim(r);
}

/* ---- division ---------------------------------------------------------------- */

uint32_t bn_mod_small(const bignum *a, uint32_t d)
{
    /* Two digits per division (rest < d < 2^16, so rest * 2^32 + two digits
     * fits in 64 bits): trial division in cfrac's inner loop is this function,
     * and halving its divisions keeps the run dominated by arithmetic that
     * mostly allocates rather than by hardware division. */
    uint64_t rest = 0;
    unsigned i = a->length;
    if (i % 2 != 0)
        rest = a->digits[--i] % d;
    while (i >= 2) {
        i -= 2;
        uint64_t pair = ((uint64_t)a->digits[i + 1] << BN_DIGIT_BITS) | a->digits[i];
        rest = ((rest << 2 * BN_DIGIT_BITS) | pair) % d;
    }
    return (uint32_t)rest;
}

bignum *bn_div_small(const bignum *a, uint32_t d)
{
    bignum *q = bn_alloc(a->length);
    uint32_t rest = 0;
    for (unsigned i = a->length; i-- > 0;) {
        uint32_t t = (rest << BN_DIGIT_BITS) | a->digits[i];
        q->digits[i] = (bn_digit)(t / d);
        rest = t % d;
    }
    q->length = a->length;
    q->negative = a->negative;
    return bn_trim(q);
}

static unsigned leading_zero_bits(bn_digit d)
{
    unsigned n = 0;
    while ((d & (1u << (BN_DIGIT_BITS - 1))) == 0) {
        d = (bn_digit)(d << 1);
        n++;
    }
    return n;
}

/* Knuth's algorithm D (TAOCP 4.3.1) on magnitudes, for |v| of two or more digits
 * and |u| >= |v|: q gets m+1 digits, r gets n digits (either may be NULL). */
static void mag_divmod_long(const bn_digit *u, unsigned m_plus_n, const bn_digit *v,
                            unsigned n, bn_digit *q, bn_digit *r)
{
    bn_digit un[BN_MAX_DIGITS + 1], vn[BN_MAX_DIGITS];
    unsigned m = m_plus_n - n;
    /* Normalise so the divisor's top bit is set: the quotient estimate is then
     * at most two too large. */
    unsigned s = leading_zero_bits(v[n - 1]);
    for (unsigned i = n - 1; i > 0; i--)
        vn[i] = (bn_digit)((v[i] << s) | ((uint32_t)v[i - 1] >> (BN_DIGIT_BITS - s)));
    vn[0] = (bn_digit)(v[0] << s);
    un[m_plus_n] = (bn_digit)((uint32_t)u[m_plus_n - 1] >> (BN_DIGIT_BITS - s));
    for (unsigned i = m_plus_n - 1; i > 0; i--)
        un[i] = (bn_digit)((u[i] << s) | ((uint32_t)u[i - 1] >> (BN_DIGIT_BITS - s)));
    un[0] = (bn_digit)(u[0] << s);

    for (unsigned j = m + 1; j-- > 0;) {
        uint64_t top = ((uint64_t)un[j + n] << BN_DIGIT_BITS) | un[j + n - 1];
        uint64_t qhat = top / vn[n - 1];
        uint64_t rhat = top % vn[n - 1];
        while (qhat >= BN_BASE ||
               qhat * vn[n - 2] > ((rhat << BN_DIGIT_BITS) | un[j + n - 2])) {
            qhat--;
            rhat += vn[n - 1];
            if (rhat >= BN_BASE)
                break;
        }
        /* Subtract qhat * v from the current window of u. */
        int64_t borrow = 0;
        for (unsigned i = 0; i < n; i++) {
            uint64_t p = qhat * vn[i];
            int64_t t = (int64_t)un[i + j] - borrow - (int64_t)(p & (BN_BASE - 1));
            un[i + j] = (bn_digit)t;
            borrow = (int64_t)(p >> BN_DIGIT_BITS) - (t >> BN_DIGIT_BITS);
        }
        int64_t t = (int64_t)un[j + n] - borrow;
        un[j + n] = (bn_digit)t;
        if (t < 0) {
            /* The estimate was one too large (rare): add v back. */
            qhat--;
            uint32_t carry = 0;
            for (unsigned i = 0; i < n; i++) {
                uint32_t sum = (uint32_t)un[i + j] + vn[i] + carry;
                un[i + j] = (bn_digit)sum;
                carry = sum >> BN_DIGIT_BITS;
            }
            un[j + n] = (bn_digit)(un[j + n] + carry);
        }
        if (q)
            q[j] = (bn_digit)qhat;
    }
    if (r) {
        for (unsigned i = 0; i < n - 1; i++)
            r[i] = (bn_digit)((un[i] >> s) | ((uint32_t)un[i + 1] << (BN_DIGIT_BITS - s)));
        r[n - 1] = (bn_digit)(un[n - 1] >> s);
    }
}

void bn_divmod(const bignum *a, const bignum *b, bignum **quotient, bignum **remainder)
{
    if (bn_is_zero(b))
        cli_fail(EXIT_CHECK_FAILED, "internal error: division by zero");
    bignum *q = NULL, *r = NULL;
    if (mag_compare(a, b) < 0) {
        if (quotient)
            q = bn_alloc(1);
        if (remainder)
            r = bn_copy(a);
    } else if (b->length == 1) {
        if (quotient)
            q = bn_div_small(a, b->digits[0]);
        if (remainder) {
            r = bn_alloc(1);
            r->digits[0] = (bn_digit)bn_mod_small(a, b->digits[0]);
        }
    } else {
        if (quotient) {
            q = bn_alloc(a->length - b->length + 1u);
            q->length = (uint16_t)(a->length - b->length + 1u);
        }
        if (remainder) {
            r = bn_alloc(b->length);
            r->length = b->length;
        }
        mag_divmod_long(a->digits, a->length, b->digits, b->length, q ? q->digits : NULL,
                        r ? r->digits : NULL);
    }
    if (q) {
        q->negative = a->negative ^ b->negative;
        *quotient = bn_trim(q);
    }
    if (r) {
        r->negative = a->negative;
        *remainder = bn_trim(r);
    }
}

bignum *bn_div(const bignum *a, const bignum *b)
{
    bignum *q;
    bn_divmod(a, b, &q, NULL);
    return q;
}

bignum *bn_mod(const bignum *a, const bignum *m)
{
    bignum *r;
    bn_divmod(a, m, NULL, &r);
    if (r->negative) {
        bignum *up = m->negative ? bn_sub(r, m) : bn_add(r, m);
        bn_release(r);
        r = up;
    }
    return r;
}
