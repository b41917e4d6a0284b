/* fuzz-quantity.c: the quantity parser; formatting a parsed value parses back to it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "quantity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char s[128], out[128];
        Quantity q, back;
        const char *why;
        if (size >= sizeof s)
                return 0;
        memcpy(s, data, size);
        s[size] = '\0';
        if (quantity_parse(s, &q, &why) < 0) {
                if (!why)
                        abort();
                return 0;
        }
        for (int bin = 0; bin < 2; bin++) {
                quantity_format(q, bin, out, sizeof out);
                if (quantity_parse(out, &back, &why) < 0 || back != q)
                        abort();
        }
        return 0;
}
