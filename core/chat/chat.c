/* Chat templates (see chat.h): detection from a GGUF's Jinja text and the
 * built-in ChatML and Llama 3 renderers. Stateless; any thread. */
#include <synapse/chat.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CHATML_SYSTEM_OPEN "<|im_start|>system\n"
#define CHATML_END "<|im_end|>"

/* ------------------------------------------- default system prompt scan */

/* Called with each piece of text the template would output verbatim: string
 * literals inside tags (unescaped) and raw text between tags. Returns true
 * once it found "<|im_start|>system\n...<|im_end|>" within one piece. */
static bool take_default_system(const char *piece, size_t n, syn_chat_template *t)
{
    const size_t open_len = strlen(CHATML_SYSTEM_OPEN), end_len = strlen(CHATML_END);
    for (size_t i = 0; i + open_len <= n; i++) {
        if (memcmp(piece + i, CHATML_SYSTEM_OPEN, open_len) != 0)
            continue;
        size_t start = i + open_len;
        for (size_t j = start; j + end_len <= n; j++) {
            if (memcmp(piece + j, CHATML_END, end_len) != 0)
                continue;
            size_t len = j - start;
            if (len >= sizeof t->default_system) {
                syn_log(SYN_LOG_WARN, "chat template: default system prompt of %zu bytes is too long, ignored", len);
                return false;
            }
            memcpy(t->default_system, piece + start, len);
            t->default_system[len] = '\0';
            return true;
        }
    }
    return false;
}

static char unescape(char c)
{
    switch (c) {
    case 'n': return '\n';
    case 't': return '\t';
    case 'r': return '\r';
    default: return c; /* \\, \', \" and anything else: the character itself */
    }
}

/* A small Jinja lexer: only enough to tell literal output from code. The
 * first ChatML system turn written out as one literal, i.e. not built from
 * messages[0], is the template's default system prompt. */
static void find_default_system(const char *jinja, syn_chat_template *t)
{
    size_t n = strlen(jinja);
    char *piece = malloc(n + 1);
    if (!piece) {
        syn_log(SYN_LOG_WARN, "chat template: out of memory while reading the default system prompt");
        return;
    }
    size_t i = 0;
    while (i < n) {
        if (jinja[i] == '{' && i + 1 < n && jinja[i + 1] == '#') { /* comment */
            const char *end = strstr(jinja + i + 2, "#}");
            i = end ? (size_t)(end - jinja) + 2 : n;
        } else if (jinja[i] == '{' && i + 1 < n && (jinja[i + 1] == '{' || jinja[i + 1] == '%')) {
            char close = jinja[i + 1] == '{' ? '}' : '%';
            i += 2;
            while (i < n && !(jinja[i] == close && i + 1 < n && jinja[i + 1] == '}')) {
                if (jinja[i] != '\'' && jinja[i] != '"') {
                    i++;
                    continue;
                }
                char quote = jinja[i++];
                size_t len = 0;
                while (i < n && jinja[i] != quote) {
                    if (jinja[i] == '\\' && i + 1 < n) {
                        piece[len++] = unescape(jinja[i + 1]);
                        i += 2;
                    } else {
                        piece[len++] = jinja[i++];
                    }
                }
                i++; /* closing quote */
                if (take_default_system(piece, len, t))
                    goto done;
            }
            i += 2;
        } else { /* raw text up to the next tag */
            size_t start = i;
            while (i < n && !(jinja[i] == '{' && i + 1 < n && strchr("{%#", jinja[i + 1])))
                i++;
            if (take_default_system(jinja + start, i - start, t))
                goto done;
        }
    }
done:
    free(piece);
}

/* ------------------------------------------------------------ detection */

int syn_chat_template_detect(const char *jinja, const char *user_choice, syn_chat_template *out, syn_error *err)
{
    memset(out, 0, sizeof *out);
    syn_chat_kind kind = SYN_CHAT_NONE;
    if (user_choice) {
        if (strcasecmp(user_choice, "chatml") == 0)
            kind = SYN_CHAT_CHATML;
        else if (strcasecmp(user_choice, "llama3") == 0)
            kind = SYN_CHAT_LLAMA3;
        else
            return syn_fail(err, SYN_ERR_INVALID, "unknown chat template '%s'; use --chat-template chatml|llama3",
                            user_choice);
    } else if (!jinja) {
        return syn_fail(err, SYN_ERR_UNSUPPORTED,
                        "unknown chat template (the model has none); name one with --chat-template chatml|llama3");
    } else if (strstr(jinja, "<|im_start|>")) {
        kind = SYN_CHAT_CHATML;
    } else if (strstr(jinja, "<|start_header_id|>")) {
        kind = SYN_CHAT_LLAMA3;
    } else {
        return syn_fail(err, SYN_ERR_UNSUPPORTED, "unknown chat template; name one with --chat-template chatml|llama3");
    }
    out->kind = kind;
    if (kind == SYN_CHAT_CHATML && jinja)
        find_default_system(jinja, out);
    out->thinks = jinja && strstr(jinja, "<think>") != NULL;
    return 0;
}

const char *syn_chat_template_name(syn_chat_template t)
{
    switch (t.kind) {
    case SYN_CHAT_CHATML: return "chatml";
    case SYN_CHAT_LLAMA3: return "llama3";
    default: return "none";
    }
}

const char *syn_chat_template_eot(syn_chat_template t)
{
    switch (t.kind) {
    case SYN_CHAT_CHATML: return CHATML_END;
    case SYN_CHAT_LLAMA3: return "<|eot_id|>";
    default: return NULL;
    }
}

/* ------------------------------------------------------------ rendering */

/* The rendered text and, when asked for, a mask of it: 1 for each byte that
 * came from a message's content, 0 for the template's own text. */
typedef struct strbuf {
    char *s;
    unsigned char *mask; /* NULL when not tracked */
    size_t len, cap;
    bool failed, track;
} strbuf;

static void sb_write(strbuf *b, const char *s, size_t n, unsigned char from_content)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->s, cap);
        if (p)
            b->s = p;
        unsigned char *m = b->track && p ? realloc(b->mask, cap) : NULL;
        if (m)
            b->mask = m;
        if (!p || (b->track && !m)) {
            b->failed = true;
            return;
        }
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    if (b->track)
        memset(b->mask + b->len, from_content, n + 1);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sb_add(strbuf *b, const char *s, size_t n) { sb_write(b, s, n, 0); }
static void sb_puts(strbuf *b, const char *s) { sb_add(b, s, strlen(s)); }
static void sb_content(strbuf *b, const char *s, size_t n) { sb_write(b, s, n, 1); }

/* Python's str.isspace() for one code point, which is what Jinja's trim uses. */
static bool is_py_space(unsigned cp)
{
    return (cp >= 0x09 && cp <= 0x0d) || (cp >= 0x1c && cp <= 0x20) || cp == 0x85 || cp == 0xa0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f ||
           cp == 0x3000;
}

/* Decodes the character at s[i] (length *len); malformed bytes decode as
 * themselves with length 1, which is never whitespace past ASCII. */
static unsigned utf8_at(const unsigned char *s, size_t n, size_t i, size_t *len)
{
    unsigned c = s[i];
    size_t l = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 1;
    if (l == 1 || i + l > n) {
        *len = 1;
        return c < 0x80 ? c : 0xfffd;
    }
    unsigned cp = c & (0x7f >> l);
    for (size_t k = 1; k < l; k++) {
        if ((s[i + k] & 0xc0) != 0x80) {
            *len = 1;
            return 0xfffd;
        }
        cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    *len = l;
    return cp;
}

static void trim(const char *s, size_t *start, size_t *end)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s), b = 0, e = n, len;
    while (b < e && is_py_space(utf8_at(u, n, b, &len)))
        b += len;
    while (e > b) {
        size_t k = e - 1;
        while (k > b && (u[k] & 0xc0) == 0x80 && e - k < 4)
            k--;
        if (!is_py_space(utf8_at(u, n, k, &len)) || k + len != e)
            break;
        e = k;
    }
    *start = b;
    *end = e;
}

/* ipython: Llama 3's turn for a tool's result */
static bool role_ok(const char *role)
{
    return role && (!strcmp(role, "system") || !strcmp(role, "user") || !strcmp(role, "assistant") ||
                    !strcmp(role, "ipython"));
}

int syn_chat_render(syn_chat_template t, const syn_chat_msg *msgs, size_t n, int add_generation_prompt, char **out,
                    syn_error *err)
{
    return syn_chat_render_masked(t, msgs, n, add_generation_prompt, out, NULL, err);
}

int syn_chat_render_masked(syn_chat_template t, const syn_chat_msg *msgs, size_t n, int add_generation_prompt,
                           char **out, unsigned char **content_mask, syn_error *err)
{
    *out = NULL;
    if (content_mask)
        *content_mask = NULL;
    if (t.kind != SYN_CHAT_CHATML && t.kind != SYN_CHAT_LLAMA3)
        return syn_fail(err, SYN_ERR_INVALID, "no chat template chosen; name one with --chat-template chatml|llama3");
    if (n && !msgs)
        return syn_fail(err, SYN_ERR_INVALID, "chat: NULL message list");
    for (size_t i = 0; i < n; i++) {
        if (!role_ok(msgs[i].role))
            return syn_fail(err, SYN_ERR_INVALID, "chat message %zu: role '%s' is not system, user or assistant", i,
                            msgs[i].role ? msgs[i].role : "(null)");
        if (!msgs[i].content)
            return syn_fail(err, SYN_ERR_INVALID, "chat message %zu has no content", i);
    }

    strbuf b = {.track = content_mask != NULL};
    if (t.kind == SYN_CHAT_CHATML) {
        bool has_system = n > 0 && !strcmp(msgs[0].role, "system");
        if (!has_system && t.default_system[0]) {
            sb_puts(&b, CHATML_SYSTEM_OPEN);
            sb_puts(&b, t.default_system);
            sb_puts(&b, CHATML_END "\n");
        }
        for (size_t i = 0; i < n; i++) {
            sb_puts(&b, "<|im_start|>");
            sb_puts(&b, msgs[i].role);
            sb_puts(&b, "\n");
            sb_content(&b, msgs[i].content, strlen(msgs[i].content));
            sb_puts(&b, CHATML_END "\n");
        }
        if (add_generation_prompt)
            sb_puts(&b, "<|im_start|>assistant\n");
    } else {
        for (size_t i = 0; i < n; i++) {
            size_t s, e;
            trim(msgs[i].content, &s, &e);
            sb_puts(&b, "<|start_header_id|>");
            sb_puts(&b, msgs[i].role);
            sb_puts(&b, "<|end_header_id|>\n\n");
            sb_content(&b, msgs[i].content + s, e - s);
            sb_puts(&b, "<|eot_id|>");
        }
        if (add_generation_prompt)
            sb_puts(&b, "<|start_header_id|>assistant<|end_header_id|>\n\n");
    }
    sb_add(&b, "", 0); /* a zero-message, no-prompt render is still a string */
    if (b.failed) {
        free(b.s);
        free(b.mask);
        return syn_fail(err, SYN_ERR_NOMEM, "chat: out of memory rendering %zu messages", n);
    }
    *out = b.s;
    if (content_mask)
        *content_mask = b.mask;
    return 0;
}
