/* ndjson: the byte-level pieces of writing JSON lines: string escaping,
 * numbers that survive a round trip, UTF-8 validation, hexadecimal digits
 * and base64.
 *
 * Reading records is event_reader's job (jansson's for the rest); this
 * module only writes. */
#ifndef SP_NDJSON_H
#define SP_NDJSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

/* True when s[0..n) is well-formed UTF-8 (no overlongs, no surrogates,
 * nothing above U+10FFFF). */
bool utf8_valid(const char *s, size_t n);

/* Append s[0..n) as a quoted JSON string. Control characters, '"' and '\\'
 * are escaped; s must be valid UTF-8 (check with utf8_valid first: bytes
 * that are not become U+FFFD so the output is always valid JSON). */
void ndjson_append_string(strbuf *sb, const char *s, size_t n);

/* Append a finite double with the fewest digits that read back as the same
 * value (73.79, not 73.790000000000006); integral values print without a
 * fraction. NaN and infinities, which JSON cannot hold, print as null. */
void ndjson_append_double(strbuf *sb, double v);

/* True when s[0..n) is exactly one JSON number (RFC 8259 grammar). */
bool ndjson_is_number(const char *s, size_t n);

/* The value 0 to 15 of the hexadecimal digit c, or -1 when it is none. */
int hex_digit_value(int c);

/* Append the member ,"name":"<s[0..n) as a JSON string>" when s is valid
 * UTF-8, else ,"name_base64":"<s in base64>": bytes of any kind, none lost
 * (the "original" of a DLQ record, the "_raw" of a Kafka message). */
void ndjson_append_bytes_member(strbuf *sb, const char *name, const char *s, size_t n);

/* Append the standard base64 encoding (RFC 4648, with padding) of p[0..n). */
void base64_append(strbuf *sb, const void *p, size_t n);

#endif
