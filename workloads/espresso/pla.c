/* pla.c: reading and writing PLA files (Berkeley's format, the subset
 * espresso's examples use).
 *
 *   .i N / .o M         inputs and outputs (required, before the first row)
 *   .p P                the number of rows (checked when given)
 *   .type f | fd        f (default): output 1 = ON-set; fd: also - (or 2) = don't-care
 *   .ilb / .ob          input and output names
 *   .e / .end           the end (optional)
 *   # ...               comments
 *   rows                N input characters from 0 1 - (2 and ~ also mean -), then M
 *                       output characters from 1 0 - ~ (4 means 1, 3 means 0);
 *                       blanks and | between characters are ignored
 * Anything else is an error: "file:line: what" and exit 2.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdnoreturn.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cli.h"
#include "espresso.h"

#define LINE_BYTES 65536
#define MAX_TERMS 100000000

typedef struct reader {
    const char *path;
    int line;
} reader;

static noreturn void __attribute__((format(printf, 2, 3))) bad(const reader *r, const char *fmt, ...)
{
    char message[512];
    va_list args;
    va_start(args, fmt);
    vsnprintf(message, sizeof message, fmt, args);
    va_end(args);
    cli_fail(EXIT_BAD_ARGUMENT, "%s:%d: %s", r->path, r->line, message);
}

static int parse_count(const reader *r, const char *text, const char *what, int min, int max)
{
    char *end = NULL;
    errno = 0;
    long value = strtol(text, &end, 10);
    while (end && isspace((unsigned char)*end))
        end++;
    if (end == text || *end != '\0' || errno == ERANGE || value < min || value > max)
        bad(r, "%s must be a whole number from %d to %d, got '%s'", what, min, max, text);
    return (int)value;
}

static char (*parse_names(const reader *r, char *text, int count, const char *what))[MAX_NAME_BYTES]
{
    char (*names)[MAX_NAME_BYTES] = cli_checked_calloc((unsigned long)count, MAX_NAME_BYTES, what);
    int n = 0;
    for (char *word = strtok(text, " \t"); word; word = strtok(NULL, " \t")) {
        if (n == count)
            bad(r, "%s has more than %d names", what, count);
        if (strlen(word) >= MAX_NAME_BYTES)
            bad(r, "the name '%s' in %s is longer than %d characters", word, what,
                MAX_NAME_BYTES - 1);
        strcpy(names[n++], word);
    }
    if (n != count)
        bad(r, "%s has %d names, expected %d", what, n, count);
    return names;
}

/* One row: adds its ON part to p->on and its don't-care part to p->dc. */
static void parse_row(const reader *r, const char *text, pla *p)
{
    cube on = cube_new(), dc = cube_new();
    int position = 0, total = shape.inputs + shape.outputs;
    bool any_on = false, any_dc = false;
    for (const char *s = text; *s; s++) {
        char ch = *s;
        if (ch == ' ' || ch == '\t' || ch == '|')
            continue;
        if (position == total)
            bad(r, "the row has more than %d inputs + %d outputs", shape.inputs, shape.outputs);
        if (position < shape.inputs) {
            int v = position;
            if (ch == '0' || ch == '-' || ch == '2' || ch == '~')
                cube_set(on, 2 * v);
            if (ch == '1' || ch == '-' || ch == '2' || ch == '~')
                cube_set(on, 2 * v + 1);
            if (!strchr("01-2~", ch))
                bad(r, "input %d is '%c', expected 0, 1 or -", v + 1, ch);
        } else {
            int j = position - shape.inputs;
            if (ch == '1' || ch == '4') {
                cube_set(on, output_bit(j));
                any_on = true;
            } else if ((ch == '-' || ch == '2') && p->fd_type) {
                cube_set(dc, output_bit(j));
                any_dc = true;
            } else if (!strchr("0~3-2", ch)) {
                bad(r, "output %d is '%c', expected 1, 0, - or ~", j + 1, ch);
            }
        }
        position++;
    }
    if (position != total)
        bad(r, "the row has %d characters, expected %d inputs + %d outputs", position,
            shape.inputs, shape.outputs);
    for (int w = 0; w < shape.words; w++)
        dc[1 + w] |= on[1 + w] & ~shape.output_mask[w];  /* the same inputs */
    if (any_on)
        cover_add(p->on, on);
    else
        cube_free(on);
    if (any_dc)
        cover_add(p->dc, dc);
    else
        cube_free(dc);
}

void pla_read(const char *path, pla *p)
{
    memset(p, 0, sizeof *p);
    p->declared_terms = -1;
    reader r = {path, 0};
    FILE *in = fopen(path, "r");
    if (in == NULL)
        cli_fail(EXIT_BAD_ARGUMENT, "cannot open '%s': %s", path, strerror(errno));
    char *buffer = cli_checked_calloc(1, LINE_BYTES, "a line buffer");
    int inputs = 0, outputs = 0, rows = 0;
    bool ended = false;
    while (!ended && fgets(buffer, LINE_BYTES, in) != NULL) {
        r.line++;
        size_t n = strlen(buffer);
        if (n == LINE_BYTES - 1 && buffer[n - 1] != '\n')
            bad(&r, "the line is longer than %d characters", LINE_BYTES - 2);
        while (n > 0 && isspace((unsigned char)buffer[n - 1]))
            buffer[--n] = '\0';
        char *text = buffer;
        while (isspace((unsigned char)*text))
            text++;
        if (*text == '\0' || *text == '#')
            continue;
        if (*text == '.') {
            char *keyword = text, *rest = text;
            while (*rest && !isspace((unsigned char)*rest))
                rest++;
            if (*rest)
                *rest++ = '\0';
            while (isspace((unsigned char)*rest))
                rest++;
            bool have_shape = inputs > 0 && outputs > 0;
            if (strcmp(keyword, ".i") == 0 || strcmp(keyword, ".o") == 0) {
                if (p->on != NULL)
                    bad(&r, "%s after the first row", keyword);
                if (keyword[1] == 'i')
                    inputs = parse_count(&r, rest, ".i", 1, MAX_INPUTS);
                else
                    outputs = parse_count(&r, rest, ".o", 1, MAX_OUTPUTS);
            } else if (strcmp(keyword, ".p") == 0) {
                p->declared_terms = parse_count(&r, rest, ".p", 0, MAX_TERMS);
            } else if (strcmp(keyword, ".type") == 0) {
                if (strcmp(rest, "f") == 0 || strcmp(rest, "fd") == 0)
                    p->fd_type = strcmp(rest, "fd") == 0;
                else
                    bad(&r, ".type must be f or fd (OFF-set types are not supported), got '%s'",
                        rest);
            } else if (strcmp(keyword, ".ilb") == 0 || strcmp(keyword, ".ob") == 0) {
                if (!have_shape)
                    bad(&r, "%s before .i and .o", keyword);
                if (keyword[1] == 'i')
                    p->input_names = parse_names(&r, rest, inputs, ".ilb");
                else
                    p->output_names = parse_names(&r, rest, outputs, ".ob");
            } else if (strcmp(keyword, ".e") == 0 || strcmp(keyword, ".end") == 0) {
                ended = true;
            } else {
                bad(&r, "unsupported keyword '%s'", keyword);
            }
            continue;
        }
        if (p->on == NULL) {
            if (inputs == 0 || outputs == 0)
                bad(&r, "a row before .i and .o");
            if (shape.bits == 0)
                shape_setup(inputs, outputs);
            else if (shape.inputs != inputs || shape.outputs != outputs)
                bad(&r, ".i %d .o %d differs from the first file's .i %d .o %d", inputs,
                    outputs, shape.inputs, shape.outputs);
            p->on = cover_new(p->declared_terms > 0 ? p->declared_terms : 16);
            p->dc = cover_new(4);
        }
        parse_row(&r, text, p);
        rows++;
    }
    if (ferror(in))
        cli_fail(EXIT_BAD_ARGUMENT, "%s: read error", path);
    fclose(in);
    free(buffer);
    if (p->on == NULL) {
        if (inputs == 0 || outputs == 0)
            cli_fail(EXIT_BAD_ARGUMENT, "%s: no .i and .o: not a PLA file", path);
        if (shape.bits == 0)
            shape_setup(inputs, outputs);
        p->on = cover_new(1);
        p->dc = cover_new(1);
    }
    if (p->declared_terms >= 0 && p->declared_terms != rows)
        cli_fail(EXIT_BAD_ARGUMENT, "%s: .p says %d rows, the file has %d", path,
                 p->declared_terms, rows);
}

void pla_write(FILE *out, const pla *p, const cover *f)
{
    fprintf(out, ".i %d\n.o %d\n", shape.inputs, shape.outputs);
    if (p->input_names) {
        fputs(".ilb", out);
        for (int v = 0; v < shape.inputs; v++)
            fprintf(out, " %s", p->input_names[v]);
        fputc('\n', out);
    }
    if (p->output_names) {
        fputs(".ob", out);
        for (int j = 0; j < shape.outputs; j++)
            fprintf(out, " %s", p->output_names[j]);
        fputc('\n', out);
    }
    fprintf(out, ".p %d\n", f->count);
    char *row = cli_checked_calloc(1, (unsigned long)shape.inputs + shape.outputs + 2, "a row");
    for (int i = 0; i < f->count; i++) {
        const cube c = f->cubes[i];
        int k = 0;
        for (int v = 0; v < shape.inputs; v++) {
            bool can0 = cube_bit(c, 2 * v), can1 = cube_bit(c, 2 * v + 1);
            row[k++] = can0 && can1 ? '-' : can1 ? '1' : '0';
        }
        row[k++] = ' ';
        for (int j = 0; j < shape.outputs; j++)
            row[k++] = cube_bit(c, output_bit(j)) ? '1' : '0';
        row[k] = '\0';
        fprintf(out, "%s\n", row);
    }
    free(row);
    fputs(".e\n", out);
}

void pla_release(pla *p)
{
    cover_free(p->on);
    cover_free(p->dc);
    free(p->input_names);
    free(p->output_names);
    memset(p, 0, sizeof *p);
}
