/* yamljson.c: YAML/JSON text into jansson values and back; see yamljson.h. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "macro.h"
#include "yamljson.h"

typedef struct Anchor {
        char *name;
        json_t *value;
        size_t nodes;
} Anchor;

typedef struct Parser {
        yaml_parser_t yp;
        Anchor *anchors;
        size_t n_anchors;
        size_t nodes;
        char *err;
        size_t errsz;
} Parser;

static int perr(Parser *p, const yaml_mark_t *mark, const char *fmt, ...) _printf_(3, 4);
static int perr(Parser *p, const yaml_mark_t *mark, const char *fmt, ...) {
        va_list ap;
        int n = 0;
        if (mark)
                n = snprintf(p->err, p->errsz, "line %zu, column %zu: ", mark->line + 1, mark->column + 1);
        if (n < 0 || (size_t) n >= p->errsz)
                n = 0;
        va_start(ap, fmt);
        vsnprintf(p->err + n, p->errsz - (size_t) n, fmt, ap);
        va_end(ap);
        return -EBADMSG;
}

static int next_event(Parser *p, yaml_event_t *e) {
        if (!yaml_parser_parse(&p->yp, e)) {
                yaml_mark_t m = p->yp.problem_mark;
                return perr(p, &m, "%s%s%s", p->yp.problem ?: "invalid YAML",
                            p->yp.context ? " " : "", p->yp.context ?: "");
        }
        return 0;
}

static bool match_int(const char *s, int64_t *ret) {
        const char *d = s;
        int base = 10;
        bool neg = false;
        char *end;

        if (*d == '-' || *d == '+') {
                neg = *d == '-';
                d++;
        }
        if (d[0] == '0' && (d[1] == 'x' || d[1] == 'o') && !neg && d == s) {
                base = d[1] == 'x' ? 16 : 8;
                d += 2;
        }
        if (*d == '\0')
                return false;
        for (const char *q = d; *q; q++)
                if (base == 16 ? !isxdigit((unsigned char) *q) : (*q < '0' || *q > (base == 8 ? '7' : '9')))
                        return false;
        errno = 0;
        unsigned long long v = strtoull(d, &end, base);
        if (errno || *end || v > (unsigned long long) INT64_MAX + (neg ? 1 : 0)) {
                *ret = 0;
                errno = ERANGE;
                return true; /* it is an integer, but too large: the caller reports */
        }
        *ret = neg ? (int64_t) (0 - v) : (int64_t) v;
        return true;
}

static bool match_float(const char *s, double *ret, bool *special) {
        const char *d = s;
        bool digits = false;
        *special = false;
        if (*d == '-' || *d == '+')
                d++;
        if (strcmp(d, ".inf") == 0 || strcmp(d, ".Inf") == 0 || strcmp(d, ".INF") == 0 ||
            strcmp(s, ".nan") == 0 || strcmp(s, ".NaN") == 0 || strcmp(s, ".NAN") == 0) {
                *special = true;
                return true;
        }
        while (isdigit((unsigned char) *d)) {
                d++;
                digits = true;
        }
        if (*d == '.') {
                d++;
                while (isdigit((unsigned char) *d)) {
                        d++;
                        digits = true;
                }
        }
        if (!digits)
                return false;
        if (*d == 'e' || *d == 'E') {
                d++;
                if (*d == '-' || *d == '+')
                        d++;
                if (!isdigit((unsigned char) *d))
                        return false;
                while (isdigit((unsigned char) *d))
                        d++;
        }
        if (*d)
                return false;
        *ret = strtod(s, NULL);
        return true;
}

/* The JSON type a plain scalar resolves to, per the YAML 1.2 core schema. */
typedef enum Resolved { R_STRING, R_NULL, R_BOOL, R_INT, R_FLOAT } Resolved;

static Resolved resolve_plain(const char *s) {
        int64_t i;
        double f;
        bool special;
        if (*s == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
            strcmp(s, "NULL") == 0)
                return R_NULL;
        if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0 ||
            strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0)
                return R_BOOL;
        if (match_int(s, &i))
                return R_INT;
        if (match_float(s, &f, &special))
                return R_FLOAT;
        return R_STRING;
}

static int scalar_value(Parser *p, yaml_event_t *e, json_t **ret) {
        const char *s = (const char *) e->data.scalar.value;
        const char *tag = (const char *) e->data.scalar.tag;
        size_t len = e->data.scalar.length;
        bool plain = e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;

        if (memchr(s, '\0', len))
                return perr(p, &e->start_mark, "NUL character in a string");
        if (tag && strcmp(tag, "tag:yaml.org,2002:str") == 0)
                plain = false;
        else if (tag && strcmp(tag, "!") != 0 && strncmp(tag, "tag:yaml.org,2002:", 18) != 0)
                return perr(p, &e->start_mark, "unsupported tag %s", tag);
        else if (tag && strncmp(tag, "tag:yaml.org,2002:", 18) == 0) {
                const char *t = tag + 18;
                Resolved want = strcmp(t, "null") == 0 ? R_NULL
                                : strcmp(t, "bool") == 0 ? R_BOOL
                                : strcmp(t, "int") == 0 ? R_INT
                                : strcmp(t, "float") == 0 ? R_FLOAT
                                : R_STRING;
                if (want == R_STRING)
                        return perr(p, &e->start_mark, "unsupported tag !!%s", t);
                Resolved got = resolve_plain(s);
                if (got != want && !(want == R_FLOAT && got == R_INT))
                        return perr(p, &e->start_mark, "'%s' is not a valid !!%s", s, t);
                plain = true;
        }

        if (!plain) {
                *ret = json_stringn(s, len);
                return *ret ? 0 : -ENOMEM;
        }
        switch (resolve_plain(s)) {
        case R_NULL:
                *ret = json_null();
                break;
        case R_BOOL:
                *ret = json_boolean(s[0] == 't' || s[0] == 'T');
                break;
        case R_INT: {
                int64_t v;
                errno = 0;
                match_int(s, &v);
                if (errno == ERANGE)
                        return perr(p, &e->start_mark, "integer %s is out of range", s);
                if (tag && strcmp(tag, "tag:yaml.org,2002:float") == 0)
                        *ret = json_real((double) v);
                else
                        *ret = json_integer(v);
                break;
        }
        case R_FLOAT: {
                double f;
                bool special;
                match_float(s, &f, &special);
                if (special || !isfinite(f))
                        return perr(p, &e->start_mark, "%s cannot be represented in JSON", s);
                *ret = json_real(f);
                break;
        }
        default:
                *ret = json_stringn(s, len);
        }
        return *ret ? 0 : -ENOMEM;
}

static int parse_node(Parser *p, yaml_event_t *e, unsigned depth, json_t **ret);

static int remember_anchor(Parser *p, const yaml_char_t *anchor, json_t *v, size_t nodes) {
        if (!anchor)
                return 0;
        Anchor *a = realloc(p->anchors, (p->n_anchors + 1) * sizeof *a);
        if (!a)
                return -ENOMEM;
        p->anchors = a;
        a[p->n_anchors] = (Anchor) { strdup((const char *) anchor), json_incref(v), nodes };
        if (!a[p->n_anchors].name) {
                json_decref(v);
                return -ENOMEM;
        }
        p->n_anchors++;
        return 0;
}

static int parse_mapping(Parser *p, yaml_event_t *start, unsigned depth, json_t **ret) {
        json_auto_t *obj = json_object();
        size_t first = p->nodes;
        int r;
        if (!obj)
                return -ENOMEM;
        for (;;) {
                yaml_event_t k;
                r = next_event(p, &k);
                if (r < 0)
                        return r;
                if (k.type == YAML_MAPPING_END_EVENT) {
                        yaml_event_delete(&k);
                        break;
                }
                if (k.type != YAML_SCALAR_EVENT) {
                        r = perr(p, &k.start_mark, "mapping keys must be scalars");
                        yaml_event_delete(&k);
                        return r;
                }
                _cleanup_free_ char *key = strndup((const char *) k.data.scalar.value, k.data.scalar.length);
                yaml_mark_t km = k.start_mark;
                bool merge = k.data.scalar.style == YAML_PLAIN_SCALAR_STYLE && strcmp(key ?: "", "<<") == 0;
                yaml_event_delete(&k);
                if (!key)
                        return -ENOMEM;
                if (merge)
                        return perr(p, &km, "merge keys (<<) are not supported");
                if (json_object_get(obj, key))
                        return perr(p, &km, "duplicate key '%s'", key);
                yaml_event_t v;
                json_t *val;
                r = next_event(p, &v);
                if (r >= 0) {
                        r = parse_node(p, &v, depth + 1, &val);
                        yaml_event_delete(&v);
                }
                if (r < 0)
                        return r;
                if (json_object_set_new(obj, key, val) < 0) /* steals val, also on failure */
                        return -ENOMEM;
        }
        r = remember_anchor(p, start->data.mapping_start.anchor, obj, p->nodes - first + 1);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(obj);
        return 0;
}

static int parse_sequence(Parser *p, yaml_event_t *start, unsigned depth, json_t **ret) {
        json_auto_t *arr = json_array();
        size_t first = p->nodes;
        int r;
        if (!arr)
                return -ENOMEM;
        for (;;) {
                yaml_event_t v;
                json_t *val;
                r = next_event(p, &v);
                if (r < 0)
                        return r;
                if (v.type == YAML_SEQUENCE_END_EVENT) {
                        yaml_event_delete(&v);
                        break;
                }
                r = parse_node(p, &v, depth + 1, &val);
                yaml_event_delete(&v);
                if (r < 0)
                        return r;
                if (json_array_append_new(arr, val) < 0) /* steals val, also on failure */
                        return -ENOMEM;
        }
        r = remember_anchor(p, start->data.sequence_start.anchor, arr, p->nodes - first + 1);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(arr);
        return 0;
}

static int parse_node(Parser *p, yaml_event_t *e, unsigned depth, json_t **ret) {
        if (depth > YAMLJSON_MAX_DEPTH)
                return perr(p, &e->start_mark, "nesting deeper than %d levels", YAMLJSON_MAX_DEPTH);
        if (++p->nodes > YAMLJSON_MAX_NODES)
                return perr(p, &e->start_mark, "document larger than %d nodes", YAMLJSON_MAX_NODES);

        switch (e->type) {
        case YAML_SCALAR_EVENT: {
                int r = scalar_value(p, e, ret);
                if (r >= 0 && e->data.scalar.anchor) {
                        r = remember_anchor(p, e->data.scalar.anchor, *ret, 1);
                        if (r < 0)
                                json_decref(*ret);
                }
                return r;
        }
        case YAML_MAPPING_START_EVENT:
                return parse_mapping(p, e, depth, ret);
        case YAML_SEQUENCE_START_EVENT:
                return parse_sequence(p, e, depth, ret);
        case YAML_ALIAS_EVENT:
                for (size_t i = p->n_anchors; i > 0; i--)
                        if (strcmp(p->anchors[i - 1].name, (const char *) e->data.alias.anchor) == 0) {
                                p->nodes += p->anchors[i - 1].nodes;
                                if (p->nodes > YAMLJSON_MAX_NODES)
                                        return perr(p, &e->start_mark,
                                                    "aliases expand to more than %d nodes", YAMLJSON_MAX_NODES);
                                *ret = json_deep_copy(p->anchors[i - 1].value);
                                return *ret ? 0 : -ENOMEM;
                        }
                return perr(p, &e->start_mark, "unknown alias *%s", (const char *) e->data.alias.anchor);
        default:
                return perr(p, &e->start_mark, "unexpected YAML event");
        }
}

static int parse_json(const char *buf, size_t len, json_t **ret, char *err, size_t errsz) {
        json_error_t je;
        json_auto_t *v = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
        if (!v) {
                snprintf(err, errsz, "line %d, column %d: %s", je.line, je.column, je.text);
                return -EBADMSG;
        }
        json_auto_t *docs = json_array();
        if (!docs || json_array_append_new(docs, TAKE_PTR(v)) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(docs);
        return 0;
}

int yamljson_parse(const char *buf, size_t len, json_t **ret, char *err, size_t errsz) {
        Parser p = { .err = err, .errsz = errsz };
        json_auto_t *docs = NULL;
        int r = 0;

        err[0] = '\0';
        size_t i = 0;
        while (i < len && isspace((unsigned char) buf[i]))
                i++;
        if (i < len && (buf[i] == '{' || buf[i] == '['))
                return parse_json(buf, len, ret, err, errsz);

        docs = json_array();
        if (!docs)
                return -ENOMEM;
        if (!yaml_parser_initialize(&p.yp))
                return -ENOMEM;
        yaml_parser_set_input_string(&p.yp, (const unsigned char *) buf, len);
        for (bool done = false; !done && r >= 0;) {
                yaml_event_t e;
                r = next_event(&p, &e);
                if (r < 0)
                        break;
                switch (e.type) {
                case YAML_STREAM_END_EVENT:
                        done = true;
                        break;
                case YAML_DOCUMENT_START_EVENT: {
                        yaml_event_t root;
                        json_t *v;
                        r = next_event(&p, &root);
                        if (r < 0)
                                break;
                        r = parse_node(&p, &root, 0, &v);
                        yaml_event_delete(&root);
                        if (r >= 0 && !json_is_null(v) && json_array_append_new(docs, v) < 0)
                                r = -ENOMEM;
                        else if (r >= 0 && json_is_null(v))
                                json_decref(v);
                        /* Anchors do not cross documents. */
                        for (size_t a = 0; a < p.n_anchors; a++) {
                                free(p.anchors[a].name);
                                json_decref(p.anchors[a].value);
                        }
                        p.n_anchors = 0;
                        p.nodes = 0;
                        break;
                }
                default:
                        break;
                }
                yaml_event_delete(&e);
        }
        for (size_t a = 0; a < p.n_anchors; a++) {
                free(p.anchors[a].name);
                json_decref(p.anchors[a].value);
        }
        free(p.anchors);
        yaml_parser_delete(&p.yp);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(docs);
        return 0;
}

/* ---- emitting ---------------------------------------------------------- */

typedef struct Buf {
        char *p;
        size_t len, size;
        bool oom;
} Buf;

static void buf_done(Buf *b) {
        free(b->p);
}

static int buf_write(void *data, unsigned char *s, size_t n) {
        Buf *b = data;
        if (b->len + n + 1 > b->size) {
                size_t ns = MAX(b->size * 2, b->len + n + 1024);
                char *q = realloc(b->p, ns);
                if (!q) {
                        b->oom = true;
                        return 0;
                }
                b->p = q;
                b->size = ns;
        }
        memcpy(b->p + b->len, s, n);
        b->len += n;
        b->p[b->len] = '\0';
        return 1;
}

static int emit_scalar(yaml_emitter_t *em, const char *s, yaml_scalar_style_t style) {
        yaml_event_t e;
        yaml_scalar_event_initialize(&e, NULL, NULL, (yaml_char_t *) s, (int) strlen(s), 1, 1, style);
        return yaml_emitter_emit(em, &e) ? 0 : -EIO;
}

static int emit_value(yaml_emitter_t *em, json_t *v) {
        yaml_event_t e;
        char num[64];
        int r;

        switch (json_typeof(v)) {
        case JSON_OBJECT: {
                const char *k;
                json_t *c;
                yaml_mapping_start_event_initialize(&e, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
                if (!yaml_emitter_emit(em, &e))
                        return -EIO;
                json_object_foreach(v, k, c) {
                        r = emit_scalar(em, k, resolve_plain(k) == R_STRING ? YAML_ANY_SCALAR_STYLE
                                                                            : YAML_DOUBLE_QUOTED_SCALAR_STYLE);
                        if (r >= 0)
                                r = emit_value(em, c);
                        if (r < 0)
                                return r;
                }
                yaml_mapping_end_event_initialize(&e);
                return yaml_emitter_emit(em, &e) ? 0 : -EIO;
        }
        case JSON_ARRAY: {
                size_t i;
                json_t *c;
                yaml_sequence_start_event_initialize(&e, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
                if (!yaml_emitter_emit(em, &e))
                        return -EIO;
                json_array_foreach(v, i, c) {
                        r = emit_value(em, c);
                        if (r < 0)
                                return r;
                }
                yaml_sequence_end_event_initialize(&e);
                return yaml_emitter_emit(em, &e) ? 0 : -EIO;
        }
        case JSON_STRING: {
                const char *s = json_string_value(v);
                /* Strings that would read back as another type are quoted. */
                return emit_scalar(em, s, resolve_plain(s) == R_STRING ? YAML_ANY_SCALAR_STYLE
                                                                       : YAML_DOUBLE_QUOTED_SCALAR_STYLE);
        }
        case JSON_INTEGER:
                snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
                return emit_scalar(em, num, YAML_PLAIN_SCALAR_STYLE);
        case JSON_REAL:
                snprintf(num, sizeof num, "%.17g", json_real_value(v));
                if (!strpbrk(num, ".eE"))
                        strcat(num, ".0");
                return emit_scalar(em, num, YAML_PLAIN_SCALAR_STYLE);
        case JSON_TRUE:
                return emit_scalar(em, "true", YAML_PLAIN_SCALAR_STYLE);
        case JSON_FALSE:
                return emit_scalar(em, "false", YAML_PLAIN_SCALAR_STYLE);
        default:
                return emit_scalar(em, "null", YAML_PLAIN_SCALAR_STYLE);
        }
}

char *yamljson_dump(json_t *v) {
        yaml_emitter_t em;
        yaml_event_t e;
        _cleanup_(buf_done) Buf b = {};
        int r = -EIO;

        if (!yaml_emitter_initialize(&em))
                return NULL;
        yaml_emitter_set_output(&em, buf_write, &b);
        yaml_emitter_set_unicode(&em, 1);
        yaml_emitter_set_width(&em, -1);
        yaml_stream_start_event_initialize(&e, YAML_UTF8_ENCODING);
        if (yaml_emitter_emit(&em, &e)) {
                yaml_document_start_event_initialize(&e, NULL, NULL, NULL, 1);
                if (yaml_emitter_emit(&em, &e) && emit_value(&em, v) >= 0) {
                        yaml_document_end_event_initialize(&e, 1);
                        if (yaml_emitter_emit(&em, &e)) {
                                yaml_stream_end_event_initialize(&e);
                                r = yaml_emitter_emit(&em, &e) ? 0 : -EIO;
                        }
                }
        }
        yaml_emitter_delete(&em);
        if (r < 0 || b.oom)
                return NULL;
        return TAKE_PTR(b.p);
}
