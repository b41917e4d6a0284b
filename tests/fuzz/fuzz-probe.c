/* fuzz-probe.c: the readiness check's reading of a model server's answer
 * (the server is a workload's; sdflowd reads it): arbitrary bytes, whole or
 * cut anywhere, at the end of the stream or not.  A status is 100..599 and
 * the body lies inside the buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"

#define MAX 4096

static void one(const uint8_t *data, size_t size, bool at_eof) {
        char *buf = malloc(MAX + 1);
        size_t n = size < MAX ? size : MAX;
        memcpy(buf, data, n);
        const char *body = NULL;
        int r = probe_parse(buf, n, MAX, at_eof, &body);
        if (r > 0 && (r < 100 || r > 599 || !body || body < buf || body > buf + n))
                abort();
        if (r < 0 && r != -74 /* EBADMSG */)
                abort();
        if (at_eof && r == 0)
                abort(); /* at the end, an answer or an error */
        free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        one(data, size, false);
        one(data, size, true);
        for (size_t cut = 1; cut < size && cut < 64; cut += 7)
                one(data, cut, false);
        return 0;
}
