/* Byte-level pushdown matcher over a compiled schema, and the token mask
 * built from it. Each frame is one open value (object, array, string, number
 * or literal); a number or literal that may end is closed by the first byte
 * that cannot continue it, and that byte is then fed to the parent. Trials
 * run on a copy of the stack, so a rejected token leaves no trace.
 * A matcher belongs to one thread (the scheduler's). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/sample/json_schema_internal.h"

enum { K_VAL, K_OBJ, K_ARR, K_STR, K_NUM, K_LIT };
enum { OS_KEY_OR_END, OS_KEY, OS_COLON, OS_AFTER_VAL };
enum { AS_FIRST, AS_AFTER };

typedef struct frame {
    const syn_jnode *n;
    const char *const *cand; /* K_LIT candidates */
    uint64_t alive;          /* K_LIT: candidates still matching */
    uint32_t pos;            /* K_LIT / K_NUM: bytes consumed */
    int16_t idx;             /* K_OBJ: next property; K_LIT: base of the candidates */
    uint8_t kind, st, ncand, is_key;
} frame;

typedef struct jstack {
    int depth;
    int done; /* the root value closed */
    frame f[SYN_JMAX_DEPTH];
} jstack;

struct syn_jmatch {
    const syn_jschema *s;
    jstack st, trial;
    const syn_tokenizer *tok; /* first-byte index, built on first mask */
    int32_t *order;           /* token ids grouped by first byte */
    int32_t start[257];
    int32_t n_vocab;
};

static const char *const lit_true[] = {"true"}, *const lit_false[] = {"false"}, *const lit_null[] = {"null"};

syn_jmatch *syn_jmatch_new(const syn_jschema *s)
{
    syn_jmatch *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->s = s;
    m->st.depth = 1;
    m->st.f[0] = (frame){.n = s->root, .kind = K_VAL};
    return m;
}

void syn_jmatch_free(syn_jmatch *m)
{
    if (m) {
        free(m->order);
        free(m);
    }
}

enum { R_REJECT, R_OK, R_POP, R_POP_REFEED };

static int is_digit(int c) { return c >= '0' && c <= '9'; }

static int num_terminal(const frame *f) { return f->st == 2 || f->st == 3 || f->st == 5 || f->st == 8; }

/* Matched candidate of a literal frame, or -1. */
static int lit_full(const frame *f)
{
    for (int i = 0; i < f->ncand; i++)
        if ((f->alive >> i & 1) && strlen(f->cand[i]) == f->pos)
            return i;
    return -1;
}

/* The schema-less value: any JSON. */
static const syn_jnode any_node = {.types = SYN_JT_ANY, .generic_obj = 1};

static int push(jstack *s, frame f)
{
    if (s->depth == SYN_JMAX_DEPTH)
        return R_REJECT;
    if (f.kind == K_VAL && !f.n)
        f.n = &any_node;
    s->f[s->depth++] = f;
    return R_OK;
}

static frame lit_frame(const char *const *cand, int ncand, int idx)
{
    frame f = {.cand = cand, .ncand = (uint8_t)ncand, .kind = K_LIT, .idx = (int16_t)idx};
    f.alive = ncand >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << ncand) - 1);
    return f;
}

static int step(jstack *s, int c);

/* A value starts: the first byte picks its kind, among the node's types. */
static int step_value(jstack *s, frame *f, const syn_jnode *n, int c)
{
    if (n->n_lits) {
        *f = lit_frame((const char *const *)n->lits, n->n_lits, 0);
        f->n = n;
        return step(s, c);
    }
    if (c == '{' && (n->types & SYN_JT_OBJ)) {
        *f = (frame){.n = n, .kind = K_OBJ, .st = OS_KEY_OR_END};
        return R_OK;
    }
    if (c == '[' && (n->types & SYN_JT_ARR)) {
        *f = (frame){.n = n, .kind = K_ARR, .st = AS_FIRST};
        return R_OK;
    }
    if (c == '"' && (n->types & SYN_JT_STR)) {
        *f = (frame){.n = n, .kind = K_STR};
        return R_OK;
    }
    if ((c == '-' || is_digit(c)) && (n->types & (SYN_JT_NUM | SYN_JT_INT))) {
        *f = (frame){.n = n, .kind = K_NUM};
        return step(s, c);
    }
    if ((c == 't' || c == 'f') && (n->types & SYN_JT_BOOL)) {
        *f = lit_frame(c == 't' ? lit_true : lit_false, 1, 0);
        return step(s, c);
    }
    if (c == 'n' && (n->types & SYN_JT_NULL)) {
        *f = lit_frame(lit_null, 1, 0);
        return step(s, c);
    }
    return R_REJECT;
}

/* A literal (true, false, null, an enum or const, an object key): the
 * candidates still matching narrow with each byte. */
static int step_literal(jstack *s, frame *f, const syn_jnode *n, int c)
{
    uint64_t next = 0;
    for (int i = 0; i < f->ncand; i++)
        if ((f->alive >> i & 1) && (unsigned char)f->cand[i][f->pos] == c && c)
            next |= (uint64_t)1 << i;
    if (next) {
        f->alive = next;
        f->pos++;
        return R_OK;
    }
    return lit_full(f) >= 0 ? R_POP_REFEED : R_REJECT;
}

/* Inside a string: escapes, and the four hex digits after backslash-u. */
static int step_string(jstack *s, frame *f, const syn_jnode *n, int c)
{
    if (f->st == 0) {
        if (c == '"')
            return R_POP;
        if (c == '\\')
            f->st = 1;
        else if (c < 0x20)
            return R_REJECT;
        return R_OK;
    }
    if (f->st == 1) {
        if (c == 'u') {
            f->st = 2;
            return R_OK;
        }
        if (!strchr("\"\\/bfnrt", c) || !c)
            return R_REJECT;
        f->st = 0;
        return R_OK;
    }
    if (!(is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
        return R_REJECT;
    f->st = f->st == 5 ? 0 : f->st + 1;
    return R_OK;
}

/* A number, by JSON's grammar (integers only for 'integer'). */
static int step_number(jstack *s, frame *f, const syn_jnode *n, int c)
{
    int integer = !(n->types & SYN_JT_NUM);
    int st = f->st, ns = -1;
    if (f->pos >= 32) /* no endless digit runs */
        return num_terminal(f) ? R_POP_REFEED : R_REJECT;
    switch (st) {
    case 0: ns = c == '-' ? 1 : c == '0' ? 2 : is_digit(c) ? 3 : -1; break;
    case 1: ns = c == '0' ? 2 : is_digit(c) ? 3 : -1; break;
    case 2: ns = (c == '.' && !integer) ? 4 : ((c == 'e' || c == 'E') && !integer) ? 6 : -1; break;
    case 3: ns = is_digit(c) ? 3 : (c == '.' && !integer) ? 4 : ((c == 'e' || c == 'E') && !integer) ? 6 : -1; break;
    case 4: ns = is_digit(c) ? 5 : -1; break;
    case 5: ns = is_digit(c) ? 5 : (c == 'e' || c == 'E') ? 6 : -1; break;
    case 6: ns = (c == '+' || c == '-') ? 7 : is_digit(c) ? 8 : -1; break;
    case 7: ns = is_digit(c) ? 8 : -1; break;
    case 8: ns = is_digit(c) ? 8 : -1; break;
    }
    if (ns >= 0) {
        f->st = (uint8_t)ns;
        f->pos++;
        return R_OK;
    }
    return num_terminal(f) ? R_POP_REFEED : R_REJECT;
}

/* Between an array's items. */
static int step_array(jstack *s, frame *f, const syn_jnode *n, int c)
{
    if (f->st == AS_FIRST && c == ']')
        return R_POP;
    if (f->st == AS_AFTER && c == ']')
        return R_POP;
    if (f->st == AS_AFTER) {
        if (c != ',')
            return R_REJECT;
        return push(s, (frame){.n = n->items, .kind = K_VAL});
    }
    f->st = AS_AFTER;
    if (push(s, (frame){.n = n->items, .kind = K_VAL}) != R_OK)
        return R_REJECT;
    return step(s, c);
}

/* An object: keys in the schema's order (optional ones may be skipped),
 * colon, value, comma. */
static int step_object(jstack *s, frame *f, const syn_jnode *n, int c)
{
    switch (f->st) {
    case OS_KEY_OR_END:
    case OS_KEY: {
        int may_end = f->st == OS_KEY_OR_END;
        if (!n->generic_obj)
            for (int k = f->idx; k < n->n_props; k++)
                may_end &= !n->req[k];
        if (c == '}' && (may_end || (n->generic_obj && f->st == OS_KEY_OR_END)))
            return R_POP;
        if (c != '"')
            return R_REJECT;
        f->st = OS_COLON;
        if (n->generic_obj)
            return push(s, (frame){.kind = K_STR, .is_key = 1});
        int last = f->idx;
        while (last < n->n_props && !n->req[last])
            last++;
        if (last == n->n_props)
            last--;
        if (f->idx >= n->n_props)
            return R_REJECT;
        frame l = lit_frame((const char *const *)n->keylits + f->idx, last - f->idx + 1, f->idx);
        l.is_key = 1;
        l.pos = 1; /* the quote just read */
        return push(s, l);
    }
    case OS_COLON:
        if (c != ':')
            return R_REJECT;
        f->st = OS_AFTER_VAL;
        return push(s, (frame){.n = n->generic_obj ? NULL : n->props[f->idx - 1], .kind = K_VAL});
    case OS_AFTER_VAL: {
        int more = n->generic_obj || f->idx < n->n_props, may_end = 1;
        if (!n->generic_obj)
            for (int k = f->idx; k < n->n_props; k++)
                may_end &= !n->req[k];
        if (c == ',' && more) {
            f->st = OS_KEY;
            return R_OK;
        }
        if (c == '}' && may_end)
            return R_POP;
        return R_REJECT;
    }
    }
    return R_REJECT;
}

/* Feeds c to the top frame. */
static int step(jstack *s, int c)
{
    frame *f = &s->f[s->depth - 1];
    const syn_jnode *n = f->n;
    switch (f->kind) {
    case K_VAL: return step_value(s, f, n, c);
    case K_LIT: return step_literal(s, f, n, c);
    case K_STR: return step_string(s, f, n, c);
    case K_NUM: return step_number(s, f, n, c);
    case K_ARR: return step_array(s, f, n, c);
    case K_OBJ: return step_object(s, f, n, c);
    }
    return R_REJECT;
}

static int feed_byte(jstack *s, int c)
{
    for (;;) {
        if (s->done || s->depth == 0)
            return -1;
        int r = step(s, c);
        if (r == R_REJECT)
            return -1;
        if (r == R_OK)
            return 0;
        /* the top frame closed */
        frame closed = s->f[--s->depth];
        if (s->depth == 0)
            s->done = 1;
        else if (closed.kind == K_LIT && closed.is_key) {
            frame *parent = &s->f[s->depth - 1];
            parent->idx = (int16_t)(closed.idx + lit_full(&closed) + 1);
        }
        if (r == R_POP)
            return 0;
        /* R_POP_REFEED: c belongs to the parent */
    }
}

static int feed(jstack *s, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (feed_byte(s, (unsigned char)b[i]))
            return -1;
    return 0;
}

static void copy_stack(jstack *dst, const jstack *src)
{
    dst->depth = src->depth;
    dst->done = src->done;
    memcpy(dst->f, src->f, sizeof(frame) * (size_t)src->depth);
}

int syn_jmatch_feed(syn_jmatch *m, const char *bytes, size_t n)
{
    copy_stack(&m->trial, &m->st);
    if (feed(&m->trial, bytes, n))
        return -1;
    copy_stack(&m->st, &m->trial);
    return 0;
}

static int complete(const jstack *s)
{
    if (s->done)
        return 1;
    if (s->depth != 1)
        return 0;
    const frame *f = &s->f[0];
    return (f->kind == K_NUM && num_terminal(f)) || (f->kind == K_LIT && lit_full(f) >= 0);
}

int syn_jmatch_complete(const syn_jmatch *m) { return complete(&m->st); }

/* Groups token ids by the first byte of their piece (256: empty pieces). */
static int build_index(syn_jmatch *m, const syn_tokenizer *tok, int32_t n_vocab)
{
    if (m->tok == tok && m->n_vocab == n_vocab)
        return 0;
    free(m->order);
    if (!(m->order = malloc(sizeof *m->order * (size_t)n_vocab)))
        return -1;
    int32_t count[257] = {0};
    for (int32_t id = 0; id < n_vocab; id++) {
        size_t len;
        const char *p = syn_tokenizer_piece(tok, id, 0, &len);
        count[p && len ? (unsigned char)p[0] : 256]++;
    }
    int32_t at = 0;
    for (int b = 0; b < 257; b++) {
        m->start[b] = at;
        at += count[b];
    }
    int32_t fill[257];
    memcpy(fill, m->start, sizeof fill);
    for (int32_t id = 0; id < n_vocab; id++) {
        size_t len;
        const char *p = syn_tokenizer_piece(tok, id, 0, &len);
        m->order[fill[p && len ? (unsigned char)p[0] : 256]++] = id;
    }
    m->tok = tok;
    m->n_vocab = n_vocab;
    return 0;
}

int32_t syn_jmatch_mask(syn_jmatch *m, const syn_tokenizer *tok, float *logits, int32_t n_vocab)
{
    int is_complete = complete(&m->st);
    int32_t allowed = 0;
    if (build_index(m, tok, n_vocab)) {
        for (int32_t i = 0; i < n_vocab; i++)
            logits[i] = -INFINITY;
        return 0;
    }
    for (int b = 0; b < 257; b++) {
        int32_t end = b == 256 ? n_vocab : m->start[b + 1];
        int first_ok = 0;
        if (b < 256 && !m->st.done) {
            char c = (char)b;
            copy_stack(&m->trial, &m->st);
            first_ok = feed(&m->trial, &c, 1) == 0;
        }
        for (int32_t k = m->start[b]; k < end; k++) {
            int32_t id = m->order[k];
            int ok = 0;
            if (is_complete)
                ok = syn_tokenizer_is_eog(tok, id);
            else if (first_ok) {
                size_t len;
                const char *p = syn_tokenizer_piece(tok, id, 0, &len);
                copy_stack(&m->trial, &m->st);
                ok = feed(&m->trial, p, len) == 0;
            }
            if (ok)
                allowed++;
            else
                logits[id] = -INFINITY;
        }
    }
    return allowed;
}
