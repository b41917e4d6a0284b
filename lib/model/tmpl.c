/* tmpl.c: see tmpl.h. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "tmpl.h"

/* Finds the next variable from *p: its name in name, the text before it in
 * [*p, *start), and moves *p past it.  Returns 1 (a variable), 0 (none
 * left; *start is the end) or -EINVAL. */
static int next_var(const char **p, const char **start, char *name, size_t size, char *err, size_t errsz) {
        const char *open = strstr(*p, "{{");
        if (!open) {
                *start = *p + strlen(*p);
                return 0;
        }
        const char *close = strstr(open + 2, "}}");
        if (!close) {
                snprintf(err, errsz, "'{{' at '%.30s' is not closed with '}}'", open);
                return -EINVAL;
        }
        const char *a = open + 2, *b = close;
        while (a < b && isspace((unsigned char) *a))
                a++;
        while (b > a && isspace((unsigned char) b[-1]))
                b--;
        if (a < b && *a == '=') {
                snprintf(err, errsz, "'%.*s' is an expression: sdflow does not evaluate {{=...}}",
                         (int) (close + 2 - open > 60 ? 60 : close + 2 - open), open);
                return -EINVAL;
        }
        if (a == b || (size_t) (b - a) >= size) {
                snprintf(err, errsz, "'%.*s' does not name a variable", (int) (close + 2 - open > 60 ? 60 : close + 2 - open),
                         open);
                return -EINVAL;
        }
        for (const char *c = a; c < b; c++)
                if (!isalnum((unsigned char) *c) && !strchr("._-[]'\"", *c)) {
                        snprintf(err, errsz, "'%.*s' does not name a variable", (int) (b - a > 60 ? 60 : b - a), a);
                        return -EINVAL;
                }
        snprintf(name, size, "%.*s", (int) (b - a), a);
        *start = open;
        *p = close + 2;
        return 1;
}

int tmpl_each(const char *in, int (*each)(const char *name, void *userdata), void *userdata, char *err,
              size_t errsz) {
        const char *p = in, *start;
        char name[256];
        int r;
        while ((r = next_var(&p, &start, name, sizeof name, err, errsz)) > 0) {
                int k = each(name, userdata);
                if (k < 0)
                        return k;
        }
        return r;
}

int tmpl_expand(const char *in, tmpl_lookup_t lookup, void *userdata, char **ret, char *err, size_t errsz) {
        const char *p = in, *start;
        char name[256];
        _cleanup_free_ char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        int r;
        if (!f)
                return -ENOMEM;
        for (;;) {
                const char *before = p;
                r = next_var(&p, &start, name, sizeof name, err, errsz);
                if (r < 0)
                        break;
                fwrite(before, 1, (size_t) (start - before), f);
                if (r == 0)
                        break;
                const char *value = NULL;
                if (lookup(name, &value, userdata) < 0 || !value) {
                        snprintf(err, errsz, "'{{%s}}' names no known variable", name);
                        r = -ENOENT;
                        break;
                }
                fputs(value, f);
        }
        /* A write that failed (out of memory) would leave a part of the text out. */
        int failed = ferror(f);
        if (fclose(f) != 0 || failed || !out)
                return -ENOMEM;
        if (r < 0)
                return r;
        *ret = TAKE_PTR(out);
        return 0;
}
