/* fuzz-manifest.c: YAML/JSON parsing, manifest checking and YAML emitting on arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"
#include "yamljson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        Diags d = {};
        json_t *objs = NULL;
        if (size > 65536)
                return 0;
        if (manifest_parse((const char *) data, size, &objs, &d) == 0) {
                /* What passes can be printed as YAML and read back to the same value. */
                char *y = yamljson_dump(objs);
                if (y) {
                        char err[256];
                        json_t *back = NULL;
                        if (yamljson_parse(y, strlen(y), &back, err, sizeof err) < 0)
                                abort();
                        if (!json_equal(json_array_get(back, 0), objs))
                                abort();
                        json_decref(back);
                        free(y);
                }
        }
        free(diags_format(&d, true, true));
        diags_clear(&d);
        json_decref(objs);
        return 0;
}
