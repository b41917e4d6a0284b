/* fuzz-tmpl.c: template variables on arbitrary bytes. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tmpl.h"

static int lookup(const char *name, const char **value, void *userdata) {
        (void) userdata;
        if (strncmp(name, "inputs.", 7) != 0)
                return -ENOENT;
        *value = "{{x}}";
        return 0;
}

static int each(const char *name, void *userdata) {
        (void) name;
        (void) userdata;
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char s[4096], *out = NULL, err[200];
        if (size >= sizeof s)
                return 0;
        memcpy(s, data, size);
        s[size] = '\0';
        if (tmpl_expand(s, lookup, NULL, &out, err, sizeof err) == 0)
                free(out);
        (void) tmpl_each(s, each, NULL, err, sizeof err);
        return 0;
}
