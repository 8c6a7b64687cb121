/* UTF-8 decoding/encoding and the codepoint classes (letter, number, white
 * space, ...) that the tokenizer's pre-tokenizers need. Pure functions over
 * read-only tables; any thread. */
#ifndef SYN_CORE_UNICODE_H
#define SYN_CORE_UNICODE_H

#include <stddef.h>
#include <stdint.h>

/* General category, by its first letter. 0 is "unassigned" (Cn). */
enum {
    SYN_UCLASS_UNASSIGNED = 0,
    SYN_UCLASS_LETTER = 1,      /* L* */
    SYN_UCLASS_NUMBER = 2,      /* N* */
    SYN_UCLASS_MARK = 3,        /* M* */
    SYN_UCLASS_PUNCT = 4,       /* P* */
    SYN_UCLASS_SYMBOL = 5,      /* S* */
    SYN_UCLASS_SEPARATOR = 6,   /* Z* */
    SYN_UCLASS_OTHER = 7,       /* Cc, Cf, Cs, Co */
};
#define SYN_UCLASS_MASK 0x07u
#define SYN_UFLAG_SPACE 0x08u /* the White_Space property, i.e. regex \s */

#define SYN_UNICODE_MAX 0x10FFFFu
#define SYN_UNICODE_REPLACEMENT 0xFFFDu

/* Generated tables (core/tokenizer/unicode_tables.c): 128 codepoints per block. */
extern const char syn_unicode_version[];
extern const uint16_t syn_unicode_stage1[];
extern const uint8_t syn_unicode_stage2[];

/* Class in the low 3 bits plus SYN_UFLAG_SPACE. Out-of-range codepoints are
 * unassigned. */
static inline unsigned syn_unicode_flags(uint32_t cp)
{
    if (cp > SYN_UNICODE_MAX)
        return SYN_UCLASS_UNASSIGNED;
    return syn_unicode_stage2[((uint32_t)syn_unicode_stage1[cp >> 7] << 7) | (cp & 127u)];
}

static inline unsigned syn_unicode_class(uint32_t cp) { return syn_unicode_flags(cp) & SYN_UCLASS_MASK; }
static inline int syn_unicode_is_space(uint32_t cp) { return (syn_unicode_flags(cp) & SYN_UFLAG_SPACE) != 0; }

/* Sequence length announced by a lead byte (1 for ASCII and for stray
 * continuation bytes), as SentencePiece-style splitting uses it. */
static inline size_t syn_utf8_len(unsigned char lead)
{
    static const unsigned char len[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return len[lead >> 4];
}

/* Decodes one codepoint at s[0..n) (n > 0) into *cp and returns the bytes used.
 * Lenient like llama.cpp: only the lead/continuation bit patterns are checked,
 * so overlong forms and surrogates decode; a malformed sequence consumes one
 * byte and yields U+FFFD. */
size_t syn_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

/* Canonical UTF-8 of cp (at most 4 bytes); cp above U+10FFFF encodes U+FFFD. */
size_t syn_utf8_encode(uint32_t cp, char out[4]);

/* 1 if s[0..n) decodes with syn_utf8_decode to codepoints whose canonical
 * re-encoding is the same bytes (so no rewriting is needed before tokenizing). */
int syn_utf8_is_canonical(const unsigned char *s, size_t n);

/* Number of bytes at the end of s[0..n) that start a UTF-8 sequence which is
 * well formed so far but incomplete (0..3): what a streaming decoder holds back. */
size_t syn_utf8_incomplete_tail(const unsigned char *s, size_t n);

/* Length of the longest prefix of s[0..n) that is strictly valid UTF-8 up to
 * the first invalid byte, and *bad = bytes of the invalid sequence there (0 at
 * the end). Strict = RFC 3629: no overlongs, surrogates or values past U+10FFFF. */
size_t syn_utf8_valid_prefix(const unsigned char *s, size_t n, size_t *bad);

#endif
