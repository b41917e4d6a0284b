/* fuzz-cron.c: cron schedules (and time zones) on arbitrary bytes.  Any
 * translation must be short enough for its buffer and name no more than
 * two events. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cron.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char s[600], out[CRON_MAX_EVENTS][CRON_EVENT_MAX], err[256];
        if (size >= sizeof s)
                return 0;
        memcpy(s, data, size);
        s[size] = '\0';
        /* A NUL splits schedule and time zone. */
        const char *tz = memchr(s, '\0', size) ? s + strlen(s) + 1 : NULL;
        int n = cron_to_oncalendar(s, tz, out, err, sizeof err);
        if (n > CRON_MAX_EVENTS || (n > 0 && strlen(out[0]) >= CRON_EVENT_MAX))
                abort();
        return 0;
}
