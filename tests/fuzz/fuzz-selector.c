/* fuzz-selector.c: label selectors and query strings on arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "selector.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char s[2048], err[256], v[512];
        Selector *sel = NULL;
        if (size >= sizeof s)
                return 0;
        memcpy(s, data, size);
        s[size] = '\0';
        if (selector_parse(s, &sel, err, sizeof err) == 0) {
                json_t *labels = json_pack("{s:s, s:s}", "app", "web", "tier", "");
                (void) selector_matches(sel, labels);
                json_decref(labels);
        }
        selector_free(sel);
        (void) http_query_get(s, size, "labelSelector", v, sizeof v);
        (void) http_unescape(s, size, v, sizeof v);
        return 0;
}
