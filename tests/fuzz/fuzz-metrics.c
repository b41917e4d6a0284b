/* fuzz-metrics.c: Katib's metrics formats on arbitrary bytes: the first
 * line is a metricsFormat expression (tried as a filter when it compiles),
 * the rest is a trial's output, read as TEXT (with that filter and with
 * Katib's default) and as JSON lines.  Values handed over must be finite. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

static void check(const char *name, double value, void *userdata) {
        (void) userdata;
        if (!name || !*name || !isfinite(value))
                abort();
}

static void each_line(MetricsParser *p, const char *text, size_t len, bool json) {
        for (size_t start = 0; start < len;) {
                const char *nl = memchr(text + start, '\n', len - start);
                size_t n = nl ? (size_t) (nl - (text + start)) : len - start;
                if (json)
                        metrics_parse_json_line(text + start, n, check, NULL);
                else
                        metrics_parse_line(p, text + start, n, check, NULL);
                start += n + 1;
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size > 16384)
                return 0;
        const char *d = (const char *) data, *nl = memchr(d, '\n', size);
        size_t flen = nl ? (size_t) (nl - d) : size;
        char *format = strndup(d, flen);
        const char *text = nl ? nl + 1 : d + size;
        size_t tlen = size - (size_t) (text - d);
        char err[256];
        MetricsParser *p = NULL;
        const char *formats[] = { format };
        if (format && memchr(format, '\0', flen) == NULL && metrics_parser_new(formats, 1, &p, err, sizeof err) == 0) {
                each_line(p, text, tlen, false);
                p = metrics_parser_free(p);
        }
        if (metrics_parser_new(NULL, 0, &p, err, sizeof err) == 0) {
                each_line(p, text, tlen, false);
                metrics_parser_free(p);
        }
        each_line(NULL, text, tlen, true);
        free(format);
        return 0;
}
