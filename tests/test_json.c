/* Strict JSON parser tests: scalars, every escape, UTF-8, containers and
 * lookups, limits (depth, bytes, values), accessors on the wrong kind, and
 * malformed inputs that must each be refused with a message naming what is
 * wrong and where; then random mutations of valid documents parsed from
 * exact-size buffers so ASan sees any read past the end. */
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "formats/json_value.h"
#include "tests/check.h"

static syn_json_doc *parse_ok(const char *text, size_t len)
{
    syn_json_doc *d = NULL;
    syn_error err = {0};
    int rc = syn_json_parse(text, len, NULL, &d, &err);
    CHECK_MSG(rc == 0 && d != NULL, "'%.*s': rc %d: %s", (int)len, text, rc, err.msg);
    return d;
}

#define OK(lit) parse_ok(lit, sizeof lit - 1)

static void bad_n(const char *text, size_t len, const syn_json_limits *lim, int code, const char *want)
{
    syn_json_doc *d = (syn_json_doc *)&d;
    syn_error err = {0};
    int rc = syn_json_parse(text, len, lim, &d, &err);
    CHECK_MSG(rc == code && d == NULL && strstr(err.msg, want), "'%.*s': rc %d, '%s' (wanted %d, '%s')",
              (int)(len > 60 ? 60 : len), text, rc, err.msg, code, want);
    if (rc == 0)
        syn_json_free(d);
}

#define BAD(lit, want) bad_n(lit, sizeof lit - 1, NULL, SYN_ERR_FORMAT, want)

/* ------------------------------------------------------------ scalars */

static void check_int(const char *text, int64_t want)
{
    syn_json_doc *d = parse_ok(text, strlen(text));
    int64_t i = 12345;
    double x;
    CHECK_MSG(syn_json_int64(syn_json_root(d), &i) == 0 && i == want, "%s -> %lld", text, (long long)i);
    CHECK(syn_json_number(syn_json_root(d), &x) == 0 && x == (double)want);
    syn_json_free(d);
}

static void check_num(const char *text, double want, int int_rc)
{
    syn_json_doc *d = parse_ok(text, strlen(text));
    double x = -1;
    int64_t i;
    CHECK_MSG(syn_json_number(syn_json_root(d), &x) == 0 && x == want, "%s -> %.17g", text, x);
    CHECK_MSG(syn_json_int64(syn_json_root(d), &i) == int_rc, "%s: int64 rc", text);
    syn_json_free(d);
}

static void test_scalars(void)
{
    syn_json_doc *d = OK("null");
    const syn_json *v = syn_json_root(d);
    bool b;
    CHECK(syn_json_kind_of(v) == SYN_JSON_NULL && syn_json_len(v) == 0 && syn_json_at(v, 0) == NULL);
    CHECK(syn_json_bool(v, &b) == SYN_ERR_FORMAT);
    syn_json_free(d);

    d = OK(" \t\r\ntrue\n");
    v = syn_json_root(d);
    CHECK(syn_json_kind_of(v) == SYN_JSON_BOOL && syn_json_bool(v, &b) == 0 && b);
    CHECK(syn_json_offset(v) == 4);
    syn_json_free(d);
    d = OK("false");
    CHECK(syn_json_bool(syn_json_root(d), &b) == 0 && !b);
    syn_json_free(d);

    check_int("0", 0);
    check_int("-0", 0);
    check_int("7", 7);
    check_int("-42", -42);
    check_int("123456789012345678", 123456789012345678LL); /* past 2^53: exact */
    check_int("9223372036854775807", INT64_MAX);
    check_int("-9223372036854775808", INT64_MIN);

    /* -0 keeps its sign as a double */
    d = OK("-0");
    double x = 1;
    CHECK(syn_json_number(syn_json_root(d), &x) == 0 && x == 0 && signbit(x));
    syn_json_free(d);
    d = OK("-0.0");
    CHECK(syn_json_number(syn_json_root(d), &x) == 0 && x == 0 && signbit(x));
    syn_json_free(d);

    check_num("9223372036854775808", 9223372036854775808.0, SYN_ERR_RANGE);
    check_num("-9223372036854775809", -9223372036854775808.0, SYN_ERR_RANGE);
    check_num("100000000000000000000000000000", 1e29, SYN_ERR_RANGE);
    check_num("1.5", 1.5, SYN_ERR_FORMAT);
    check_num("-2.5e-3", -2.5e-3, SYN_ERR_FORMAT);
    check_num("1E2", 100, SYN_ERR_FORMAT);
    check_num("1e+2", 100, SYN_ERR_FORMAT);
    check_num("1.0", 1, SYN_ERR_FORMAT);
    check_num("0.1", 0.1, SYN_ERR_FORMAT);
    check_num("1e308", 1e308, SYN_ERR_FORMAT);
    check_num("-1.7976931348623157e308", -1.7976931348623157e308, SYN_ERR_FORMAT);
    check_num("4.9406564584124654e-324", 4.9406564584124654e-324, SYN_ERR_FORMAT);
    check_num("1e-400", 0, SYN_ERR_FORMAT); /* underflow is finite: 0 */

    /* non-finite is refused */
    BAD("1e309", "out of range");
    BAD("-1e309", "out of range");
    BAD("[1, 2e400]", "number 2e400 at byte 4 is out of range");
    char big[420];
    memset(big, '9', 400);
    big[400] = 0;
    bad_n(big, 400, NULL, SYN_ERR_FORMAT, "out of range");

    /* the buffer need not end after the value */
    d = parse_ok("1234", 3);
    int64_t i;
    CHECK(syn_json_int64(syn_json_root(d), &i) == 0 && i == 123);
    syn_json_free(d);
    bad_n("[1]", 2, NULL, SYN_ERR_FORMAT, "end of input at byte 2");
    bad_n("\"ab\"", 3, NULL, SYN_ERR_FORMAT, "unterminated string starting at byte 0");
    bad_n("tru", 3, NULL, SYN_ERR_FORMAT, "invalid literal at byte 0");
    bad_n("-", 1, NULL, SYN_ERR_FORMAT, "no digit after '-'");
    bad_n("1.", 2, NULL, SYN_ERR_FORMAT, "no digit after '.'");
    bad_n("1e", 2, NULL, SYN_ERR_FORMAT, "no digit in the exponent");

    /* decimal point independent of the locale */
    if (setlocale(LC_NUMERIC, "de_DE.UTF-8") || setlocale(LC_NUMERIC, "fr_FR.UTF-8")) {
        check_num("2.75", 2.75, SYN_ERR_FORMAT);
        setlocale(LC_NUMERIC, "C");
    }
}

static void test_bad_scalars(void)
{
    BAD("", "unexpected end of input at byte 0, expected a value");
    BAD("   ", "end of input at byte 3");
    BAD("01", "leading zero");
    BAD("-01", "leading zero");
    BAD("00", "leading zero");
    BAD("-", "no digit after '-'");
    BAD("-a", "no digit after '-'");
    BAD("1.", "no digit after '.'");
    BAD("1.e5", "no digit after '.'");
    BAD(".5", "unexpected '.' at byte 0");
    BAD("+1", "unexpected '+' at byte 0");
    BAD("1e", "no digit in the exponent");
    BAD("1e+", "no digit in the exponent");
    BAD("0x10", "trailing 'x' at byte 1");
    BAD("NaN", "unexpected 'N'");
    BAD("Infinity", "unexpected 'I'");
    BAD("-Infinity", "no digit after '-'");
    BAD("tru", "invalid literal");
    BAD("nul", "invalid literal");
    BAD("True", "unexpected 'T'");
    BAD("nulll", "trailing 'l' at byte 4");
    BAD("1 2", "trailing '2' at byte 2");
    BAD("{} x", "trailing 'x' at byte 3");
    BAD("[]]", "trailing ']' at byte 2");
    BAD("\xef\xbb\xbf{}", "unexpected byte 0xef at byte 0"); /* no BOM */
    BAD("'a'", "unexpected ''' at byte 0");
    BAD("/* c */ 1", "unexpected '/'");
    BAD("1 // c", "trailing '/'");
    BAD("\x00", "unexpected byte 0x00 at byte 0");
    BAD("1\x00", "trailing byte 0x00 at byte 1");
    BAD("\f1", "unexpected byte 0x0c"); /* form feed is not JSON whitespace */
}

/* ------------------------------------------------------------ strings */

static void check_str(const char *text, size_t len, const char *want, size_t want_len)
{
    syn_json_doc *d = parse_ok(text, len);
    const char *s = NULL;
    size_t n = 0;
    CHECK_MSG(syn_json_string(syn_json_root(d), &s, &n) == 0 && n == want_len && memcmp(s, want, n) == 0 &&
                  s[n] == '\0',
              "'%.*s': got %zu bytes", (int)len, text, n);
    syn_json_free(d);
}

#define STR(lit, want) check_str(lit, sizeof lit - 1, want, sizeof want - 1)

static void test_strings(void)
{
    STR("\"\"", "");
    STR("\"abc\"", "abc");
    STR("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t");
    STR("\"a\\u0041b\"", "aAb");
    STR("\"\\u00e9\\u00E9\"", "\xc3\xa9\xc3\xa9");
    STR("\"\\u0001\\u001f\\u007f\"", "\x01\x1f\x7f");
    STR("\"\\u0800\\u20AC\\uffff\"", "\xe0\xa0\x80\xe2\x82\xac\xef\xbf\xbf");
    STR("\"\\uD83D\\uDE00\"", "\xf0\x9f\x98\x80");             /* U+1F600 */
    STR("\"\\ud800\\udc00\\uDBFF\\uDFFF\"", "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf"); /* U+10000, U+10FFFF */
    STR("\"x\\u00e9\\uD83D\\uDE00y\"", "x\xc3\xa9\xf0\x9f\x98\x80y");
    /* raw UTF-8 of every length, and DEL, pass through */
    STR("\"\x7f \xc2\x80 \xdf\xbf \xe0\xa0\x80 \xed\x9f\xbf \xee\x80\x80 \xf0\x90\x80\x80 \xf4\x8f\xbf\xbf\"",
        "\x7f \xc2\x80 \xdf\xbf \xe0\xa0\x80 \xed\x9f\xbf \xee\x80\x80 \xf0\x90\x80\x80 \xf4\x8f\xbf\xbf");
    STR("\"\xe7\xbb\x99\xe4\xbd\xa0\"", "\xe7\xbb\x99\xe4\xbd\xa0");

    BAD("\"abc", "unterminated string starting at byte 0");
    BAD("[\"a\\\"]", "unterminated string starting at byte 1");
    BAD("\"\\", "unterminated string");
    BAD("\"a\x01\"", "control character 0x01 in a string at byte 2");
    BAD("\"a\nb\"", "control character 0x0a");
    BAD("\"\t\"", "control character 0x09 in a string at byte 1");
    BAD("\"a\x00z\"", "control character 0x00 in a string at byte 2");
    BAD("\"\\u0000\"", "\\u0000 at byte 1: NUL is not allowed");
    BAD("\"ab\\uD800\"", "lone high surrogate \\uD800 at byte 3");
    BAD("\"\\uD800x\"", "lone high surrogate");
    BAD("\"\\uD800\\u0041\"", "lone high surrogate");
    BAD("\"\\uDBFF\\uD800\"", "lone high surrogate \\uDBFF");
    BAD("\"\\uDC00\"", "lone low surrogate \\uDC00 at byte 1");
    BAD("\"\\uDFFF\\uD800\"", "lone low surrogate");
    BAD("\"\\x41\"", "invalid escape: backslash then 'x' at byte 1");
    BAD("\"\\a\"", "invalid escape");
    BAD("\"\\U0041\"", "invalid escape");
    BAD("\"\\u12G4\"", "invalid \\u escape at byte 1");
    BAD("\"\\u12\"", "invalid \\u escape");
    BAD("\"\\u\"", "invalid \\u escape");
    BAD("\"\xc0\x80\"", "invalid UTF-8 in a string at byte 1");       /* overlong NUL */
    BAD("\"\xc1\xbf\"", "invalid UTF-8");                              /* overlong */
    BAD("\"\xe0\x80\x80\"", "invalid UTF-8");                          /* overlong 3-byte */
    BAD("\"\xe0\x9f\xbf\"", "invalid UTF-8");
    BAD("\"\xf0\x80\x80\x80\"", "invalid UTF-8");                      /* overlong 4-byte */
    BAD("\"\xed\xa0\x80\"", "invalid UTF-8");                          /* encoded surrogate */
    BAD("\"\xed\xbf\xbf\"", "invalid UTF-8");
    BAD("\"\xf4\x90\x80\x80\"", "invalid UTF-8");                      /* past U+10FFFF */
    BAD("\"\xf5\x80\x80\x80\"", "invalid UTF-8");
    BAD("\"\xff\"", "invalid UTF-8");
    BAD("\"a\x80\"", "invalid UTF-8 in a string at byte 2");           /* lone continuation */
    BAD("\"\xe2\x82\"", "invalid UTF-8");                              /* truncated */
    BAD("\"\xe2\x82x\"", "invalid UTF-8");
    BAD("\"\xf0\x9f\x98\"", "invalid UTF-8");
    BAD("\"\xc3\"", "invalid UTF-8");
    BAD("{\"k\xff\":1}", "invalid UTF-8 in a string at byte 3");       /* keys too */
}

/* ------------------------------------------------------------ containers */

static void test_containers(void)
{
    const char text[] = " { \"b\" : [1, \"two\", [], {}, null, true, {\"x\": -3.5}] , \"a\": {\"z\": 1, \"y\": 2},"
                        " \"\\u00e9\": \"\", \"\": 0 } ";
    syn_json_doc *d = OK(text);
    const syn_json *r = syn_json_root(d);
    CHECK(syn_json_kind_of(r) == SYN_JSON_OBJECT && syn_json_len(r) == 4 && syn_json_offset(r) == 1);
    size_t klen = 99;
    CHECK(strcmp(syn_json_key_at(r, 0, &klen), "b") == 0 && klen == 1);
    CHECK(strcmp(syn_json_key_at(r, 1, NULL), "a") == 0);
    CHECK(strcmp(syn_json_key_at(r, 2, &klen), "\xc3\xa9") == 0 && klen == 2);
    CHECK(strcmp(syn_json_key_at(r, 3, &klen), "") == 0 && klen == 0);
    CHECK(syn_json_key_at(r, 4, NULL) == NULL);
    const syn_json *b = syn_json_get(r, "b");
    CHECK(b == syn_json_at(r, 0) && syn_json_kind_of(b) == SYN_JSON_ARRAY && syn_json_len(b) == 7);
    CHECK(syn_json_offset(b) == 9);
    CHECK(syn_json_key_at(b, 0, NULL) == NULL); /* arrays have no keys */
    int64_t i;
    double x;
    const char *s;
    size_t n;
    bool t;
    CHECK(syn_json_int64(syn_json_at(b, 0), &i) == 0 && i == 1);
    CHECK(syn_json_string(syn_json_at(b, 1), &s, &n) == 0 && strcmp(s, "two") == 0 && n == 3);
    CHECK(syn_json_kind_of(syn_json_at(b, 2)) == SYN_JSON_ARRAY && syn_json_len(syn_json_at(b, 2)) == 0);
    CHECK(syn_json_at(syn_json_at(b, 2), 0) == NULL);
    CHECK(syn_json_kind_of(syn_json_at(b, 3)) == SYN_JSON_OBJECT && syn_json_len(syn_json_at(b, 3)) == 0);
    CHECK(syn_json_get(syn_json_at(b, 3), "x") == NULL);
    CHECK(syn_json_kind_of(syn_json_at(b, 4)) == SYN_JSON_NULL);
    CHECK(syn_json_bool(syn_json_at(b, 5), &t) == 0 && t);
    CHECK(syn_json_number(syn_json_get(syn_json_at(b, 6), "x"), &x) == 0 && x == -3.5);
    CHECK(syn_json_at(b, 7) == NULL);
    const syn_json *a = syn_json_get(r, "a");
    CHECK(syn_json_int64(syn_json_get(a, "z"), &i) == 0 && i == 1);
    CHECK(syn_json_int64(syn_json_get(a, "y"), &i) == 0 && i == 2);
    CHECK(strcmp(syn_json_key_at(a, 0, NULL), "z") == 0); /* document order kept */
    CHECK(syn_json_string(syn_json_get(r, "\xc3\xa9"), &s, &n) == 0 && n == 0 && *s == 0);
    CHECK(syn_json_int64(syn_json_get(r, ""), &i) == 0 && i == 0);
    CHECK(syn_json_get_n(r, "abc", 1) == a); /* key need not be NUL-terminated */
    CHECK(syn_json_get(r, "c") == NULL && syn_json_get(r, "bb") == NULL && syn_json_get(r, NULL) == NULL);
    CHECK(syn_json_get(b, "b") == NULL); /* not an object */

    /* wrong kinds fail cleanly, absent values chain */
    CHECK(syn_json_string(b, &s, &n) == SYN_ERR_FORMAT);
    CHECK(syn_json_int64(syn_json_at(b, 1), &i) == SYN_ERR_FORMAT);
    CHECK(syn_json_number(syn_json_at(b, 5), &x) == SYN_ERR_FORMAT);
    CHECK(syn_json_bool(syn_json_at(b, 0), &t) == SYN_ERR_FORMAT);
    CHECK(syn_json_string(syn_json_get(r, "missing"), &s, NULL) == SYN_ERR_NOT_FOUND);
    CHECK(syn_json_int64(NULL, &i) == SYN_ERR_NOT_FOUND && syn_json_number(NULL, &x) == SYN_ERR_NOT_FOUND);
    CHECK(syn_json_bool(NULL, &t) == SYN_ERR_NOT_FOUND);
    CHECK(syn_json_kind_of(NULL) == -1 && strcmp(syn_json_kind_name(-1), "absent") == 0);
    CHECK(strcmp(syn_json_kind_name(syn_json_kind_of(b)), "array") == 0);
    CHECK(strcmp(syn_json_kind_name(SYN_JSON_OBJECT), "object") == 0);
    CHECK(syn_json_len(NULL) == 0 && syn_json_at(NULL, 0) == NULL && syn_json_offset(NULL) == 0);
    CHECK(syn_json_root(NULL) == NULL);
    syn_json_free(d);
    syn_json_free(NULL);

    /* many keys: every one found, in any order of insertion */
    size_t cap = 64 * 1024;
    char *big = malloc(cap);
    size_t k = 0;
    big[k++] = '{';
    for (int j = 0; j < 3000; j++)
        k += (size_t)snprintf(big + k, cap - k, "%s\"k%d\":%d", j ? "," : "", (j * 7919) % 3000, j);
    big[k++] = '}';
    d = parse_ok(big, k);
    r = syn_json_root(d);
    CHECK(syn_json_len(r) == 3000);
    for (int j = 0; j < 3000; j++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", (j * 7919) % 3000);
        CHECK(syn_json_int64(syn_json_get(r, key), &i) == 0 && i == j);
    }
    CHECK(syn_json_get(r, "k3000") == NULL && syn_json_get(r, "k") == NULL);
    syn_json_free(d);
    /* ... and a duplicate among them is found */
    memcpy(big + k - 1, ",\"k1234\":0}", 11);
    bad_n(big, k + 10, NULL, SYN_ERR_FORMAT, "duplicate key \"k1234\"");
    free(big);

    BAD("[1,]", "unexpected ']' at byte 3, expected a value");
    BAD("[1 2]", "unexpected '2' at byte 3, expected ',' or ']' after an array element");
    BAD("[", "end of input at byte 1");
    BAD("[1", "end of input at byte 2, expected ',' or ']'");
    BAD("[,1]", "unexpected ','");
    BAD("{", "end of input at byte 1, expected a string key or '}'");
    BAD("{\"a\" 1}", "unexpected '1' at byte 5, expected ':' after the object key");
    BAD("{\"a\":1,}", "unexpected '}' at byte 7, expected a string key");
    BAD("{a:1}", "unexpected 'a' at byte 1, expected a string key or '}'");
    BAD("{\"a\":1 \"b\":2}", "expected ',' or '}' after an object member");
    BAD("{\"a\":}", "unexpected '}' at byte 5, expected a value");
    BAD("{\"a\"", "expected ':'");
    BAD("{1:2}", "expected a string key");
    BAD("{\"a\":1,\"b\":2,\"a\":3}", "duplicate key \"a\" at byte 13 (first at byte 1)");
    BAD("{\"a\":1,\"\\u0061\":2}", "duplicate key \"a\" at byte 7 (first at byte 1)"); /* equal once unescaped */
    BAD("[{\"x\":{\"k\":1,\"k\":1}}]", "duplicate key \"k\" at byte 13 (first at byte 7)");
    /* the same key in different objects is fine */
    syn_json_doc *d2 = OK("{\"a\":{\"a\":1},\"b\":{\"a\":2}}");
    CHECK(syn_json_int64(syn_json_get(syn_json_get(syn_json_root(d2), "b"), "a"), &i) == 0 && i == 2);
    syn_json_free(d2);
}

/* ------------------------------------------------------------ limits */

static void test_limits(void)
{
    char deep[200];
    for (int j = 0; j < 64; j++)
        deep[j] = '[', deep[64 + j] = ']';
    syn_json_doc *d = parse_ok(deep, 128); /* 64 levels: the default limit */
    const syn_json *v = syn_json_root(d);
    int levels = 0;
    while (syn_json_kind_of(v) == SYN_JSON_ARRAY)
        v = syn_json_at(v, 0), levels++;
    CHECK(levels == 64 && v == NULL);
    syn_json_free(d);
    for (int j = 0; j < 65; j++)
        deep[j] = '[', deep[65 + j] = ']';
    bad_n(deep, 130, NULL, SYN_ERR_RANGE, "nesting deeper than 64 levels at byte 64");
    /* an unclosed deep nest fails on depth, never overflows the stack */
    char *abyss = malloc(1 << 20);
    memset(abyss, '[', 1 << 20);
    bad_n(abyss, 1 << 20, NULL, SYN_ERR_RANGE, "nesting deeper than 64 levels");
    memset(abyss, '{', 1 << 20);
    bad_n(abyss, 1 << 20, NULL, SYN_ERR_FORMAT, "expected a string key"); /* objects need keys first */
    for (size_t j = 0; j + 5 <= 1 << 20; j += 5)
        memcpy(abyss + j, "{\"a\":", 5);
    bad_n(abyss, (1 << 20) - (1 << 20) % 5, NULL, SYN_ERR_RANGE, "nesting deeper than 64 levels");
    free(abyss);

    syn_json_limits lim = {.max_depth = 2};
    d = NULL;
    syn_error err;
    CHECK(syn_json_parse("[[1],{\"a\":2}]", 13, &lim, &d, &err) == 0);
    syn_json_free(d);
    bad_n("[[[1]]]", 7, &lim, SYN_ERR_RANGE, "nesting deeper than 2 levels at byte 2");
    bad_n("{\"a\":{\"b\":{}}}", 14, &lim, SYN_ERR_RANGE, "nesting deeper than 2 levels at byte 10");

    lim = (syn_json_limits){.max_bytes = 8};
    CHECK(syn_json_parse("[1,2,3] ", 8, &lim, &d, &err) == 0);
    syn_json_free(d);
    bad_n("[1,2,3]  ", 9, &lim, SYN_ERR_RANGE, "9 bytes, over the limit of 8");

    lim = (syn_json_limits){.max_nodes = 4};
    CHECK(syn_json_parse("[1,2,3]", 7, &lim, &d, &err) == 0);
    syn_json_free(d);
    bad_n("[1,2,3,4]", 9, &lim, SYN_ERR_RANGE, "more than 4 values (the limit) at byte 7");
    bad_n("{\"a\":1,\"b\":[2,3]}", 17, &lim, SYN_ERR_RANGE, "more than 4 values");
}

/* ------------------------------------------------------------ mutation */

static uint64_t rng_state = 0x243f6a8885a308d3ull;

static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

static uint64_t walk(const syn_json *v, int depth)
{
    CHECK(depth <= SYN_JSON_DEFAULT_DEPTH);
    uint64_t h = (uint64_t)syn_json_kind_of(v) + syn_json_offset(v);
    const char *s;
    size_t n;
    double x;
    int64_t i;
    if (syn_json_string(v, &s, &n) == 0) {
        CHECK(strlen(s) == n);
        for (size_t k = 0; k < n; k++)
            h = h * 31 + (unsigned char)s[k];
    }
    if (syn_json_number(v, &x) == 0)
        CHECK(isfinite(x));
    if (syn_json_int64(v, &i) == 0)
        h += (uint64_t)i;
    for (size_t k = 0; k < syn_json_len(v); k++) {
        const char *key = syn_json_key_at(v, k, &n);
        if (key) {
            CHECK(strlen(key) == n && syn_json_get_n(v, key, n) == syn_json_at(v, k));
            h += n;
        }
        h += walk(syn_json_at(v, k), depth + 1);
    }
    return h;
}

static volatile uint64_t sink;

static void test_mutations(void)
{
    static const char *const seeds[] = {
        "{\"__metadata__\":{\"format\":\"pt\"},\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}}",
        "[1, -0, 2.5e-3, 1e308, \"a\\u00e9\\uD83D\\uDE00\\n\", true, false, null, {\"\": []}, [[[]]]]",
        "{\"k\": \"\xe7\xbb\x99\", \"n\": -9223372036854775808, \"m\": 18446744073709551616}",
    };
    static const char alphabet[] = "{}[]\",:\\u0123456789abcdefABCDEFeE+-. \t\nDdtrnl\x80\xbf\xc3\xed\xf4\x00";
    long opened = 0, refused = 0;
    for (size_t si = 0; si < sizeof seeds / sizeof *seeds; si++) {
        size_t n0 = strlen(seeds[si]);
        for (int r = 0; r < 20000; r++) {
            char buf[256];
            size_t n = n0;
            memcpy(buf, seeds[si], n);
            for (int m = 1 + (int)(rng() % 3); m > 0 && n > 0; m--) {
                size_t pos = rng() % n;
                switch (rng() % 4) {
                case 0: buf[pos] = alphabet[rng() % (sizeof alphabet - 1)]; break;
                case 1: n = pos; break;
                case 2: memmove(buf + pos, buf + pos + 1, n - pos - 1), n--; break;
                default:
                    if (n < sizeof buf) {
                        memmove(buf + pos + 1, buf + pos, n - pos);
                        buf[pos] = alphabet[rng() % (sizeof alphabet - 1)];
                        n++;
                    }
                }
            }
            char *exact = malloc(n ? n : 1);
            memcpy(exact, buf, n);
            syn_json_doc *d = NULL;
            syn_error err = {0};
            int rc = syn_json_parse(exact, n, NULL, &d, &err);
            if (rc == 0) {
                sink += walk(syn_json_root(d), 0);
                syn_json_free(d);
                opened++;
            } else {
                CHECK_MSG(rc == SYN_ERR_FORMAT && d == NULL && strstr(err.msg, "byte "), "rc %d: %s", rc, err.msg);
                refused++;
            }
            free(exact);
        }
    }
    CHECK(opened > 1000 && refused > 10000);
}

int main(void)
{
    test_scalars();
    test_bad_scalars();
    test_strings();
    test_containers();
    test_limits();
    test_mutations();
    return CHECK_DONE();
}
