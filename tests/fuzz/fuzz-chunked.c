/* fuzz-chunked.c: the in-place chunked body decoder, whole and split in two. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *a = malloc(size + 1), *b = malloc(size + 1);
        size_t consumed, produced, c2 = 0, p2 = 0;
        if (!a || !b)
                abort();
        memcpy(a, data, size);
        memcpy(b, data, size);
        HttpChunked ca = HTTP_CHUNKED_INIT, cb = HTTP_CHUNKED_INIT;
        int ra = http_chunked_decode(&ca, a, size, &consumed, &produced);
        if (consumed > size || produced > consumed)
                abort();
        /* Decoding in two pieces must give the same bytes as in one. */
        size_t half = size / 2;
        int rb = http_chunked_decode(&cb, b, half, &c2, &p2);
        if (rb == 0) {
                size_t c3, p3;
                memmove(b + p2, b + c2, size - c2);
                rb = http_chunked_decode(&cb, b + p2, size - c2, &c3, &p3);
                if (rb >= 0) {
                        c2 += c3;
                        p2 += p3;
                }
        }
        if (ra == 1 && (rb != 1 || p2 != produced || memcmp(a, b, produced) != 0))
                abort();
        free(a);
        free(b);
        return 0;
}
