/* schema: the rules an event must keep, loaded from a small JSON Schema
 * document, and the check of one event against them that names the field
 * and the reason.
 *
 * The document (see man/sp-validate.1 for the user's view):
 *
 *   {"type":"object", "required":["trip_id",…],
 *    "properties":{"region_id":{"type":"integer","minimum":1,"maximum":100},…}}
 *
 * Top level: "type" (only "object"), "required" (member names),
 * "properties" (name -> rule), "additionalProperties" (only true: other
 * members pass unchecked). A rule: "type" ("string", "integer", "number",
 * "boolean", "null", "object", "array"); "minimum", "maximum",
 * "exclusiveMinimum", "exclusiveMaximum" (numbers); "minLength", "maxLength"
 * (characters, that is Unicode code points); "notBlank": true (a string
 * holding something besides Unicode white space); "format": "event-time"
 * (RFC 3339 or "YYYY-MM-DD HH:MM:SS", as event_time_parse reads them).
 * "$schema", "$id", "$comment", "title", "description", "default" and
 * "examples" are accepted and ignored anywhere. Any other keyword is an
 * error at load time, so a misspelt rule never goes silently unchecked.
 *
 * An integer is a number written without fraction or exponent: 2.0 and 2e0
 * are not integers. This is stricter than JSON Schema (which counts 2.0 as
 * one) on purpose: a valid line goes downstream byte for byte, and the later
 * programs key windows by the value as written.
 *
 * A rule's member given more than once in one event is a violation: which of
 * the copies a reader believes differs from one JSON library to the next. */
#ifndef SP_SCHEMA_H
#define SP_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include "event_reader.h"
#include "strbuf.h"

/* Most member names one schema may check; the rest of an ev_fields set (8
 * names) is left for the caller's own, such as "_kafka". */
#define SCHEMA_MAX_FIELDS (EVENT_READER_MAX_FIELDS - 8)

typedef struct schema schema;

/* The StreamPulse v1 TripEvent schema, the document schemas/streampulse_v1.json
 * holds (tests/unit/test_schema.c keeps the two identical). */
const char *schema_default_text(void);

/* Load a schema from the JSON document text[0..len). Returns NULL and a
 * message in err (errlen bytes, "properties.fare.maximum: not a number")
 * when the document is not a schema this module understands. */
schema *schema_parse(const char *text, size_t len, char *err, size_t errlen);

/* Load the schema file at path, as schema_parse. A file that cannot be read
 * gives NULL with errno set and the reason in err. */
schema *schema_load_file(const char *path, char *err, size_t errlen);

void schema_free(schema *s);

/* Register every member name the schema checks in fields, so ev_scan picks
 * them out. Call once, before schema_check; the caller may add names of its
 * own afterwards. Returns 0, or -1 when fields has no room left. */
int schema_bind(schema *s, struct ev_fields *fields);

/* The violation schema_check found. */
struct schema_violation {
    const char *field; /* the rule's member name (owned by the schema) */
    const char *rule;  /* the keyword broken: "maximum", "type", "required" (a
                          member missing), "unique" (given twice), … */
    strbuf reason;     /* "region_id: 999 is above the maximum 100" */
};

/* Check the members that ev_scan picked out of a valid JSON object against
 * the rules, in the order the document lists them (properties, then required
 * names that have no rule). Returns true when every rule holds; otherwise
 * false, with the first violation in *v (its reason buffer reset first and
 * reused from call to call: free it with sb_free when done). */
bool schema_check(schema *s, const struct ev_scan *scan, struct schema_violation *v);

#endif
