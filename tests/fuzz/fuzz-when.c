/* fuzz-when.c: `when` conditions on arbitrary bytes (deep nesting too). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "when.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char s[2048], err[200];
        if (size >= sizeof s)
                return 0;
        memcpy(s, data, size);
        s[size] = '\0';
        int r = when_eval(s, err, sizeof err);
        if (r != 0 && r != 1 && r != -22)
                abort();
        return 0;
}
