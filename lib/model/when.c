/* when.c: see when.h.  A recursive-descent parser over the text:
 *
 *   or   := and ("||" and)*
 *   and  := not ("&&" not)*
 *   not  := "!" not | cmp
 *   cmp  := atom (("=="|"!="|"<"|">"|"<="|">="|"=~"|"!~") atom)?
 *   atom := "(" or ")" | number | 'string' | "string" | word */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "when.h"

#define MAX_DEPTH 64

typedef struct Parser {
        const char *p;
        char *err;
        size_t errsz;
        bool failed;
        unsigned depth;
} Parser;

typedef struct Value {
        char s[256];
        bool is_bool, b; /* the result of a comparison or of true/false */
} Value;

static void fail(Parser *ps, const char *what) {
        if (!ps->failed)
                snprintf(ps->err, ps->errsz, "%s at '%.30s'", what, ps->p);
        ps->failed = true;
}

static void skip(Parser *ps) {
        while (isspace((unsigned char) *ps->p))
                ps->p++;
}

static bool eat(Parser *ps, const char *tok) {
        skip(ps);
        size_t n = strlen(tok);
        if (strncmp(ps->p, tok, n) != 0)
                return false;
        /* "<" must not take the "<" of "<=", "!" not the one of "!=". */
        if (n == 1 && (tok[0] == '<' || tok[0] == '>' || tok[0] == '!') && ps->p[1] == '=')
                return false;
        ps->p += n;
        return true;
}

static bool truth(Parser *ps, const Value *v) {
        if (v->is_bool)
                return v->b;
        if (strcmp(v->s, "true") == 0)
                return true;
        if (strcmp(v->s, "false") == 0)
                return false;
        fail(ps, "a condition must be true or false, not a value");
        return false;
}

static bool number(const char *s, double *ret) {
        char *end;
        if (!*s)
                return false;
        *ret = strtod(s, &end);
        return *end == '\0';
}

static Value parse_or(Parser *ps);

static Value parse_atom(Parser *ps) {
        Value v = {};
        skip(ps);
        if (eat(ps, "(")) {
                if (++ps->depth > MAX_DEPTH) {
                        fail(ps, "parentheses nest too deeply");
                        return v;
                }
                v = parse_or(ps);
                ps->depth--;
                if (!eat(ps, ")"))
                        fail(ps, "expected ')'");
                return v;
        }
        if (*ps->p == '\'' || *ps->p == '"') {
                char q = *ps->p++;
                const char *end = strchr(ps->p, q);
                if (!end) {
                        fail(ps, "a quoted string is not closed");
                        return v;
                }
                snprintf(v.s, sizeof v.s, "%.*s", (int) (end - ps->p), ps->p);
                ps->p = end + 1;
                return v;
        }
        const char *start = ps->p;
        while (*ps->p && (isalnum((unsigned char) *ps->p) || strchr("._-:/+", *ps->p)))
                ps->p++;
        if (ps->p == start) {
                fail(ps, *ps->p ? "expected a value" : "the condition ends where a value should be");
                return v;
        }
        snprintf(v.s, sizeof v.s, "%.*s", (int) (ps->p - start), start);
        return v;
}

/* 1 when pattern matches text, 0 when not; -1 (and the parser fails) when
 * the pattern is malformed or the match costs too much. */
static int regex_match(Parser *ps, const char *pattern, const char *text) {
        int code;
        PCRE2_SIZE off;
        pcre2_code *re = pcre2_compile((PCRE2_SPTR) pattern, PCRE2_ZERO_TERMINATED, 0, &code, &off, NULL);
        if (!re) {
                char buf[120], msg[300];
                pcre2_get_error_message(code, (PCRE2_UCHAR *) buf, sizeof buf);
                snprintf(msg, sizeof msg, "the regular expression '%.60s' is malformed (%s)", pattern, buf);
                fail(ps, msg);
                return -1;
        }
        pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
        pcre2_match_context *mc = pcre2_match_context_create(NULL);
        if (mc)
                pcre2_set_match_limit(mc, 100000); /* no catastrophic backtracking */
        int r = md ? pcre2_match(re, (PCRE2_SPTR) text, strlen(text), 0, 0, md, mc) : PCRE2_ERROR_NOMEMORY;
        pcre2_match_context_free(mc);
        pcre2_match_data_free(md);
        pcre2_code_free(re);
        if (r >= 0)
                return 1;
        if (r == PCRE2_ERROR_NOMATCH)
                return 0;
        fail(ps, r == PCRE2_ERROR_MATCHLIMIT ? "the regular expression takes too long to match" : "regular expression failed");
        return -1;
}

static Value parse_cmp(Parser *ps) {
        static const char *const ops[] = { "==", "!=", "<=", ">=", "<", ">", NULL };
        Value a = parse_atom(ps);
        skip(ps);
        if (strncmp(ps->p, "=~", 2) == 0 || strncmp(ps->p, "!~", 2) == 0) {
                /* govaluate's regular expression match, as Argo has it: the
                 * pattern on the right found anywhere in the value on the left. */
                bool negate = ps->p[0] == '!';
                ps->p += 2;
                Value b = parse_atom(ps), r = { .is_bool = true };
                if (ps->failed)
                        return r;
                int m = regex_match(ps, b.s, a.is_bool ? (a.b ? "true" : "false") : a.s);
                r.b = negate ? m == 0 : m == 1;
                return r;
        }
        for (size_t i = 0; ops[i]; i++)
                if (eat(ps, ops[i])) {
                        Value b = parse_atom(ps), r = { .is_bool = true };
                        double x, y;
                        int c;
                        if (number(a.s, &x) && number(b.s, &y) && !a.is_bool && !b.is_bool)
                                c = x < y ? -1 : x > y ? 1 : 0;
                        else
                                c = strcmp(a.is_bool ? (a.b ? "true" : "false") : a.s,
                                           b.is_bool ? (b.b ? "true" : "false") : b.s);
                        switch (i) {
                        case 0: r.b = c == 0; break;
                        case 1: r.b = c != 0; break;
                        case 2: r.b = c <= 0; break;
                        case 3: r.b = c >= 0; break;
                        case 4: r.b = c < 0; break;
                        default: r.b = c > 0; break;
                        }
                        return r;
                }
        return a;
}

static Value parse_not(Parser *ps) {
        if (eat(ps, "!")) {
                if (++ps->depth > MAX_DEPTH) {
                        fail(ps, "negations nest too deeply");
                        return (Value) {};
                }
                Value v = parse_not(ps), r = { .is_bool = true };
                ps->depth--;
                r.b = !truth(ps, &v);
                return r;
        }
        return parse_cmp(ps);
}

static Value parse_and(Parser *ps) {
        Value v = parse_not(ps);
        while (!ps->failed && eat(ps, "&&")) {
                Value w = parse_not(ps), r = { .is_bool = true };
                bool a = truth(ps, &v), b = truth(ps, &w);
                r.b = a && b;
                v = r;
        }
        return v;
}

static Value parse_or(Parser *ps) {
        Value v = parse_and(ps);
        while (!ps->failed && eat(ps, "||")) {
                Value w = parse_and(ps), r = { .is_bool = true };
                bool a = truth(ps, &v), b = truth(ps, &w);
                r.b = a || b;
                v = r;
        }
        return v;
}

int when_eval(const char *text, char *err, size_t errsz) {
        Parser ps = { .p = text, .err = err, .errsz = errsz };
        Value v = parse_or(&ps);
        skip(&ps);
        if (!ps.failed && *ps.p) {
                if (strchr("+-*/%", *ps.p))
                        fail(&ps, "arithmetic is not supported");
                else
                        fail(&ps, "expected && or || or the end");
        }
        bool t = ps.failed ? false : truth(&ps, &v);
        return ps.failed ? -EINVAL : t;
}
