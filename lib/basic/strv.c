/* strv.c: vectors of owned strings; see strv.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "strv.h"

char **strv_free(char **v) {
        for (size_t i = 0; v && v[i]; i++)
                free(v[i]);
        free(v);
        return NULL;
}

size_t strv_length(char *const *v) {
        size_t n = 0;
        while (v && v[n])
                n++;
        return n;
}

int strv_extend(char ***list, char **v) {
        size_t n = strv_length(*list), k = strv_length(v);
        char **x = realloc(*list, (n + k + 1) * sizeof *x);
        if (!x) {
                strv_free(v);
                return -ENOMEM;
        }
        if (k > 0) /* v may be NULL: memcpy() takes no NULL, even for 0 bytes */
                memcpy(x + n, v, k * sizeof *x);
        x[n + k] = NULL;
        free(v);
        *list = x;
        return 0;
}

char **strv_complete(char **v, size_t n) {
        bool whole = true;
        for (size_t i = 0; i < n; i++)
                whole &= v[i] != NULL;
        if (whole)
                return v;
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
        return NULL;
}
