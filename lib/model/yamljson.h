/* yamljson.h: YAML (libyaml) and JSON (jansson) documents into jansson values.
 *
 * Scalars follow the YAML 1.2 core schema, as kubectl's newer decoders do:
 * null/~/empty, true/false, integers (decimal, 0x, 0o), floats (with .inf and
 * .nan refused: JSON cannot hold them); quoted scalars and !!str are strings.
 * So "on" and "yes" stay strings (YAML 1.1 would make them booleans).
 * Aliases are expanded (with a cap on the total size, against "billion
 * laughs"); merge keys ("<<"), complex keys and duplicate keys are errors.
 */
#pragma once

#include <jansson.h>
#include <stddef.h>

#define YAMLJSON_MAX_DEPTH 64
#define YAMLJSON_MAX_NODES 1000000

/* Parses every document of a YAML stream into a JSON array (empty documents
 * are skipped).  Input that starts with '{' or '[' is read as JSON.  Returns
 * 0 and *ret, or -EBADMSG with a message naming the line and column in err. */
int yamljson_parse(const char *buf, size_t len, json_t **ret, char *err, size_t errsz);

/* Writes v as block-style YAML to a malloc'd string (NULL on ENOMEM). */
char *yamljson_dump(json_t *v);
