/* conf.h: table-driven configuration files ("Key = value" lines) and value parsers.
 *
 * Each program describes its settings as a table of ConfItem (key, type,
 * bounds, where to store it); the same table parses the file, the command
 * line overrides and prints the effective configuration for --check.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum ConfType {
        CONF_USEC,   /* a time span: "30", "30s", "500ms", "2min", "1h", "7d"; "infinity" is UINT64_MAX */
        CONF_SIZE,   /* bytes: "4096", "16K", "1M", "1G" (powers of 1024) */
        CONF_UINT,   /* an unsigned integer */
        CONF_STRING, /* any text, stored as a malloc'd char * */
} ConfType;

typedef struct ConfItem {
        const char *key;
        ConfType type;
        uint64_t min, max; /* bounds for numbers (inclusive) */
        size_t offset;     /* where in the target struct; a uint64_t, size_t, unsigned or char * */
        size_t size;       /* sizeof the member */
} ConfItem;

#define CONF_ITEM(k, t, lo, hi, type_, member) \
        { k, t, lo, hi, offsetof(type_, member), sizeof(((type_ *) 0)->member) }

/* Parses a time span into microseconds.  Returns 0 or -EINVAL/-ERANGE. */
int conf_parse_usec(const char *s, uint64_t *ret);
/* Parses a byte size.  Returns 0 or -EINVAL/-ERANGE. */
int conf_parse_size(const char *s, uint64_t *ret);

/* Sets one item from text.  On failure returns a negative errno and writes
 * a message naming the problem (without the key) to err. */
int conf_set(const ConfItem *item, void *target, const char *value, char *err, size_t errsz);

/* Finds an item by key (case-sensitive). */
const ConfItem *conf_find(const ConfItem *table, size_t n, const char *key);

/* Parses path into target.  Errors are logged as "path:line: …".  A missing
 * file is not an error when missing_ok.  Returns 0 or a negative errno. */
int conf_parse_file(const char *path, const ConfItem *table, size_t n, void *target, bool missing_ok);

/* Like conf_parse_file (a missing file is not an error), for a program that
 * reads a few settings of another's file: keys not in table are skipped. */
int conf_parse_file_some(const char *path, const ConfItem *table, size_t n, void *target);

/* Writes "Key=value" lines for every item. */
void conf_dump(FILE *f, const ConfItem *table, size_t n, const void *target);
