/* fuzz-http.c: the request and response head parsers on arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        HttpMessage m;
        /* Parse every prefix length class: complete, truncated, and the limit. */
        size_t cut[] = { size, size / 2, size > 0 ? size - 1 : 0 };
        for (size_t i = 0; i < sizeof cut / sizeof cut[0]; i++) {
                int r = http_parse_request((const char *) data, cut[i], 4096, &m);
                if (r > 0) {
                        /* Everything the parser returns must lie inside the input. */
                        if ((size_t) r > cut[i] || m.n_headers > HTTP_MAX_HEADERS)
                                abort();
                        const char *v;
                        size_t n;
                        (void) http_header_find(&m, "host", &v, &n);
                        for (size_t h = 0; h < m.n_headers; h++)
                                if (m.headers[h].value + m.headers[h].value_len > (const char *) data + r)
                                        abort();
                } else if (r < 0 && !m.error)
                        abort();
                (void) http_parse_response((const char *) data, cut[i], 4096, &m);
        }
        return 0;
}
