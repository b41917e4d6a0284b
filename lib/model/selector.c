/* selector.c: see selector.h.  Grammar (k8s.io/apimachinery labels.Parse):
 *   selector ::= term ("," term)*
 *   term     ::= key | "!" key | key ("=" | "==" | "!=") value
 *              | key ("in" | "notin") "(" value ("," value)* ")" */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "manifest.h"
#include "selector.h"

typedef enum Op { OP_EXISTS, OP_NOT_EXISTS, OP_EQ, OP_NE, OP_IN, OP_NOTIN } Op;

typedef struct Term {
        Op op;
        char *key;
        char **values;
        size_t n_values;
} Term;

struct Selector {
        Term *terms;
        size_t n;
};

Selector *selector_free(Selector *sel) {
        if (!sel)
                return NULL;
        for (size_t i = 0; i < sel->n; i++) {
                free(sel->terms[i].key);
                for (size_t j = 0; j < sel->terms[i].n_values; j++)
                        free(sel->terms[i].values[j]);
                free(sel->terms[i].values);
        }
        free(sel->terms);
        free(sel);
        return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(Selector *, selector_free);

static void term_done(Term *t) {
        free(t->key);
        for (size_t j = 0; j < t->n_values; j++)
                free(t->values[j]);
        free(t->values);
}

static const char *skip_ws(const char *p) {
        while (*p == ' ')
                p++;
        return p;
}

/* Reads a key or value: characters up to one of the stop characters. */
static char *token(const char **pp, const char *stop) {
        const char *p = skip_ws(*pp), *s = p;
        while (*p && !strchr(stop, *p) && *p != ' ')
                p++;
        *pp = p;
        return strndup(s, (size_t) (p - s));
}

static int add_value(Term *t, char *v) {
        char **vs = realloc(t->values, (t->n_values + 1) * sizeof *vs);
        if (!vs) {
                free(v);
                return -ENOMEM;
        }
        t->values = vs;
        t->values[t->n_values++] = v;
        return 0;
}

int selector_parse(const char *s, Selector **ret, char *err, size_t errsz) {
        _cleanup_(selector_freep) Selector *sel = calloc(1, sizeof *sel);
        const char *p = s ?: "";
        if (!sel)
                return -ENOMEM;
        p = skip_ws(p);
        while (*p) {
                _cleanup_(term_done) Term t = {};
                bool neg = false;
                if (*p == '!') {
                        neg = true;
                        p++;
                }
                t.key = token(&p, "=!,()");
                if (!t.key || !t.key[0] || !label_key_is_valid(t.key)) {
                        snprintf(err, errsz, "invalid label key '%s'", t.key ?: "");
                        return -EINVAL;
                }
                p = skip_ws(p);
                if (neg)
                        t.op = OP_NOT_EXISTS;
                else if (*p == ',' || *p == '\0')
                        t.op = OP_EXISTS;
                else if (p[0] == '!' && p[1] == '=') {
                        t.op = OP_NE;
                        p += 2;
                } else if (p[0] == '=') {
                        t.op = OP_EQ;
                        p += p[1] == '=' ? 2 : 1;
                } else if (strncmp(p, "in", 2) == 0 || strncmp(p, "notin", 5) == 0) {
                        t.op = p[0] == 'i' ? OP_IN : OP_NOTIN;
                        p = skip_ws(p + (t.op == OP_IN ? 2 : 5));
                        if (*p != '(') {
                                snprintf(err, errsz, "expected '(' after %s", t.op == OP_IN ? "in" : "notin");
                                return -EINVAL;
                        }
                        p++;
                        for (;;) {
                                _cleanup_free_ char *v = token(&p, ",)");
                                if (!v || !label_value_is_valid(v)) {
                                        snprintf(err, errsz, "invalid label value '%s'", v ?: "");
                                        return -EINVAL;
                                }
                                if (add_value(&t, TAKE_PTR(v)) < 0)
                                        return -EINVAL;
                                p = skip_ws(p);
                                if (*p == ',') {
                                        p++;
                                        continue;
                                }
                                if (*p == ')') {
                                        p++;
                                        break;
                                }
                                snprintf(err, errsz, "expected ',' or ')' in the value list of '%s'", t.key);
                                return -EINVAL;
                        }
                } else {
                        snprintf(err, errsz, "unexpected '%c' after '%s'", *p, t.key);
                        return -EINVAL;
                }
                if (t.op == OP_EQ || t.op == OP_NE) {
                        _cleanup_free_ char *v = token(&p, ",");
                        if (!v || !label_value_is_valid(v)) {
                                snprintf(err, errsz, "invalid label value '%s'", v ?: "");
                                return -EINVAL;
                        }
                        if (add_value(&t, TAKE_PTR(v)) < 0)
                                return -EINVAL;
                }
                p = skip_ws(p);
                if (*p && *p != ',') {
                        snprintf(err, errsz, "unexpected '%c' after the term on '%s'", *p, t.key);
                        return -EINVAL;
                }
                if (*p == ',')
                        p = skip_ws(p + 1);
                Term *ts = realloc(sel->terms, (sel->n + 1) * sizeof *ts);
                if (!ts)
                        return -EINVAL;
                sel->terms = ts;
                sel->terms[sel->n++] = t;
                t = (Term) {}; /* handed over to sel */
        }
        *ret = TAKE_PTR(sel);
        return 0;
}

bool selector_matches(const Selector *sel, json_t *labels) {
        for (size_t i = 0; sel && i < sel->n; i++) {
                const Term *t = &sel->terms[i];
                const char *v = json_string_value(json_object_get(labels, t->key));
                bool in = false;
                for (size_t j = 0; v && j < t->n_values; j++)
                        if (strcmp(v, t->values[j]) == 0)
                                in = true;
                switch (t->op) {
                case OP_EXISTS:
                        if (!v)
                                return false;
                        break;
                case OP_NOT_EXISTS:
                        if (v)
                                return false;
                        break;
                case OP_EQ:
                case OP_IN:
                        if (!in)
                                return false;
                        break;
                case OP_NE:
                case OP_NOTIN:
                        if (in)
                                return false;
                        break;
                }
        }
        return true;
}
