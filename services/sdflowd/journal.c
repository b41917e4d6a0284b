/* journal.c: see journal.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-journal.h>
#include <time.h>

#include "journal.h"
#include "macro.h"

static size_t field(sd_journal *j, const char *name, const char **v) {
        const void *d;
        size_t l;
        size_t nl = strlen(name);
        if (sd_journal_get_data(j, name, &d, &l) < 0 || l <= nl + 1) {
                *v = "";
                return 0;
        }
        *v = (const char *) d + nl + 1;
        return l - nl - 1;
}

/* The text an open_memstream() FILE wrote: the FILE closed first (that
 * writes the last of it), then *out is the caller's. */
static int memstream_finish(FILE **f, char **out) {
        int r = fclose(*f);
        *f = NULL;
        if (r != 0) {
                free(*out);
                *out = NULL;
                return -ENOMEM;
        }
        return 0;
}

int journal_tail(char units[][300], size_t n_units, unsigned tail, char **ret, size_t *len) {
        _cleanup_(sd_journal_closep) sd_journal *j = NULL;
        _cleanup_free_ char *out = NULL;
        size_t size = 0;
        int r;

        /* (Declared after out: closed first, before out is freed.) */
        _cleanup_fclose_ FILE *f = open_memstream(&out, &size);
        if (!f)
                return -ENOMEM;
        if (n_units > 0) {
                r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < n_units; i++) {
                char m[340];
                snprintf(m, sizeof m, "_SYSTEMD_UNIT=%s", units[i]);
                r = sd_journal_add_match(j, m, 0);
                if (r < 0)
                        return r;
        }
        /* The last `tail` entries: back from the end, then forward. */
        unsigned back = 0;
        if (n_units > 0) {
                r = sd_journal_seek_tail(j);
                if (r < 0)
                        return r;
                while (back < tail && (r = sd_journal_previous(j)) > 0)
                        back++;
                if (r < 0)
                        return r;
        }
        for (unsigned k = 0; k < back; k++) {
                const char *msg, *unit;
                size_t ml, ul;
                uint64_t usec = 0;
                char ts[32] = "";
                if (k > 0 && sd_journal_next(j) <= 0)
                        break;
                ml = field(j, "MESSAGE", &msg);
                ul = field(j, "_SYSTEMD_UNIT", &unit);
                if (sd_journal_get_realtime_usec(j, &usec) >= 0) {
                        time_t t = (time_t) (usec / USEC_PER_SEC);
                        struct tm tm;
                        gmtime_r(&t, &tm);
                        strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
                }
                fprintf(f, "%s %.*s: %.*s\n", ts, (int) ul, unit, (int) ml, msg);
        }
        r = memstream_finish(&f, &out);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(out);
        *len = size;
        return 0;
}

int journal_count(const char *unit, const char *transport, uint64_t max, uint64_t *ret) {
        _cleanup_(sd_journal_closep) sd_journal *j = NULL;
        char m[340];
        uint64_t n = 0;
        int r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
        if (r < 0)
                return r;
        snprintf(m, sizeof m, "_SYSTEMD_UNIT=%s", unit);
        r = sd_journal_add_match(j, m, 0);
        if (r >= 0 && transport) {
                snprintf(m, sizeof m, "_TRANSPORT=%s", transport);
                r = sd_journal_add_match(j, m, 0);
        }
        if (r >= 0)
                r = sd_journal_seek_head(j);
        while (r >= 0 && n < max && (r = sd_journal_next(j)) > 0)
                n++;
        if (r < 0)
                return r;
        *ret = n;
        return 0;
}

int journal_last_message(const char *match1, const char *match2, char *buf, size_t size) {
        _cleanup_(sd_journal_closep) sd_journal *j = NULL;
        buf[0] = '\0';
        int r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
        if (r < 0)
                return r;
        r = sd_journal_add_match(j, match1, 0);
        if (r >= 0 && match2)
                r = sd_journal_add_match(j, match2, 0);
        if (r >= 0)
                r = sd_journal_seek_tail(j);
        for (int k = 0; r >= 0 && k < 10; k++) {
                r = sd_journal_previous(j);
                if (r <= 0)
                        break;
                const char *msg, *errno_field;
                /* (Each field read makes the one before invalid.) */
                bool has_errno = field(j, "ERRNO", &errno_field) > 0;
                if (k == 0 || has_errno) {
                        size_t ml = field(j, "MESSAGE", &msg);
                        snprintf(buf, size, "%.*s", (int) ml, msg);
                }
                if (has_errno)
                        break;
        }
        /* systemd begins a unit's messages with "UNIT: ": the caller names it. */
        size_t ul = strncmp(match1, "UNIT=", 5) == 0 ? strlen(match1 + 5) : 0;
        if (ul > 0 && strncmp(buf, match1 + 5, ul) == 0 && buf[ul] == ':' && buf[ul + 1] == ' ')
                memmove(buf, buf + ul + 2, strlen(buf + ul + 2) + 1);
        return r < 0 ? r : buf[0] ? 0 : -ENOENT;
}
