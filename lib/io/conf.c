/* conf.c: see conf.h. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "log.h"
#include "macro.h"

typedef struct Unit {
        const char *suffix;
        uint64_t mul;
} Unit;

static int parse_scaled(const char *s, const Unit *units, size_t n_units, uint64_t default_mul, uint64_t *ret) {
        char *end;
        uint64_t v, mul = default_mul;

        while (isspace((unsigned char) *s))
                s++;
        if (!isdigit((unsigned char) *s))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        while (isspace((unsigned char) *end))
                end++;
        if (*end) {
                size_t i;
                size_t len = strlen(end);
                while (len > 0 && isspace((unsigned char) end[len - 1]))
                        len--;
                for (i = 0; i < n_units; i++)
                        if (strlen(units[i].suffix) == len && strncmp(end, units[i].suffix, len) == 0)
                                break;
                if (i == n_units)
                        return -EINVAL;
                mul = units[i].mul;
        }
        if (mul != 0 && v > UINT64_MAX / mul)
                return -ERANGE;
        *ret = v * mul;
        return 0;
}

int conf_parse_usec(const char *s, uint64_t *ret) {
        static const Unit units[] = {
                { "us", 1 },
                { "ms", USEC_PER_MSEC },
                { "s", USEC_PER_SEC },
                { "sec", USEC_PER_SEC },
                { "min", 60 * USEC_PER_SEC },
                { "m", 60 * USEC_PER_SEC },
                { "h", 3600 * USEC_PER_SEC },
                { "d", 86400 * USEC_PER_SEC },
        };
        if (strcmp(s, "infinity") == 0) {
                *ret = UINT64_MAX;
                return 0;
        }
        return parse_scaled(s, units, ELEMENTSOF(units), USEC_PER_SEC, ret);
}

int conf_parse_size(const char *s, uint64_t *ret) {
        static const Unit units[] = {
                { "B", 1 }, { "K", 1ULL << 10 }, { "M", 1ULL << 20 }, { "G", 1ULL << 30 },
                { "Ki", 1ULL << 10 }, { "Mi", 1ULL << 20 }, { "Gi", 1ULL << 30 },
        };
        return parse_scaled(s, units, ELEMENTSOF(units), 1, ret);
}

const ConfItem *conf_find(const ConfItem *table, size_t n, const char *key) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(table[i].key, key) == 0)
                        return &table[i];
        return NULL;
}

static void store_uint(const ConfItem *item, void *target, uint64_t v) {
        char *p = (char *) target + item->offset;
        if (item->size == sizeof(uint64_t))
                *(uint64_t *) p = v;
        else if (item->size == sizeof(unsigned))
                *(unsigned *) p = (unsigned) v;
}

int conf_set(const ConfItem *item, void *target, const char *value, char *err, size_t errsz) {
        uint64_t v;
        int r;

        switch (item->type) {
        case CONF_STRING: {
                char **p = (char **) ((char *) target + item->offset);
                char *d = strdup(value);
                if (!d)
                        return -ENOMEM;
                free(*p);
                *p = d;
                return 0;
        }
        case CONF_USEC:
                r = conf_parse_usec(value, &v);
                if (r < 0) {
                        snprintf(err, errsz, "'%s' is not a time span (e.g. 30s, 500ms, 5min, infinity)", value);
                        return r;
                }
                break;
        case CONF_SIZE:
                r = conf_parse_size(value, &v);
                if (r < 0) {
                        snprintf(err, errsz, "'%s' is not a size (e.g. 4096, 16K, 1M)", value);
                        return r;
                }
                break;
        case CONF_UINT: {
                char *end;
                errno = 0;
                v = strtoull(value, &end, 10);
                if (!isdigit((unsigned char) *value) || *end || errno) {
                        snprintf(err, errsz, "'%s' is not an unsigned integer", value);
                        return -EINVAL;
                }
                break;
        }
        default:
                return -EINVAL;
        }
        if (v < item->min || v > item->max) {
                snprintf(err, errsz, "'%s' is out of range [%" PRIu64 ", %" PRIu64 "]%s", value,
                         item->min, item->max,
                         item->type == CONF_USEC ? " microseconds" : item->type == CONF_SIZE ? " bytes" : "");
                return -ERANGE;
        }
        store_uint(item, target, v);
        return 0;
}

static char *strip(char *s) {
        while (isspace((unsigned char) *s))
                s++;
        size_t n = strlen(s);
        while (n > 0 && isspace((unsigned char) s[n - 1]))
                s[--n] = '\0';
        return s;
}

static int parse_file(const char *path, const ConfItem *table, size_t n, void *target, bool missing_ok,
                      bool others_ok) {
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;
        unsigned lineno = 0;
        int r = 0;
        FILE *f = fopen(path, "re");

        if (!f) {
                if (errno == ENOENT && missing_ok)
                        return 0;
                return log_error_errno(errno, "Failed to open %s: %m", path);
        }
        while (getline(&line, &cap, f) >= 0) {
                char err[256];
                lineno++;
                char *s = strip(line);
                if (*s == '\0' || *s == '#' || *s == ';')
                        continue;
                if (*s == '[') /* section headers are allowed and carry no meaning yet */
                        continue;
                char *eq = strchr(s, '=');
                if (!eq) {
                        log_error("%s:%u: expected 'Key = value', got '%s'", path, lineno, s);
                        r = -EINVAL;
                        continue;
                }
                *eq = '\0';
                char *key = strip(s), *value = strip(eq + 1);
                const ConfItem *item = conf_find(table, n, key);
                if (!item && others_ok)
                        continue;
                if (!item) {
                        log_error("%s:%u: unknown setting '%s'", path, lineno, key);
                        r = -EINVAL;
                        continue;
                }
                int k = conf_set(item, target, value, err, sizeof err);
                if (k == -ENOMEM) {
                        fclose(f);
                        return log_oom();
                }
                if (k < 0) {
                        log_error("%s:%u: %s: %s", path, lineno, key, err);
                        r = -EINVAL;
                }
        }
        fclose(f);
        return r;
}

int conf_parse_file(const char *path, const ConfItem *table, size_t n, void *target, bool missing_ok) {
        return parse_file(path, table, n, target, missing_ok, false);
}

int conf_parse_file_some(const char *path, const ConfItem *table, size_t n, void *target) {
        return parse_file(path, table, n, target, true, true);
}

void conf_dump(FILE *f, const ConfItem *table, size_t n, const void *target) {
        for (size_t i = 0; i < n; i++) {
                const ConfItem *it = &table[i];
                const char *p = (const char *) target + it->offset;
                uint64_t v = it->size == sizeof(uint64_t) ? *(const uint64_t *) p : *(const unsigned *) p;
                switch (it->type) {
                case CONF_STRING:
                        fprintf(f, "%s=%s\n", it->key, *(char *const *) p ?: "");
                        break;
                case CONF_USEC:
                        if (v == UINT64_MAX)
                                fprintf(f, "%s=infinity\n", it->key);
                        else if (v % USEC_PER_SEC == 0)
                                fprintf(f, "%s=%" PRIu64 "s\n", it->key, v / USEC_PER_SEC);
                        else
                                fprintf(f, "%s=%" PRIu64 "ms\n", it->key, v / USEC_PER_MSEC);
                        break;
                default:
                        fprintf(f, "%s=%" PRIu64 "\n", it->key, v);
                }
        }
}
