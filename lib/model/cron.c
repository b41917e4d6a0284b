/* cron.c: see cron.h. */
#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cron.h"
#include "macro.h"

typedef struct FieldDef {
        const char *name;
        int lo, hi;
        const char *const *names; /* names[i] is value lo + i */
} FieldDef;

static const char *const months[] = { "jan", "feb", "mar", "apr", "may", "jun",
                                      "jul", "aug", "sep", "oct", "nov", "dec", NULL };
static const char *const days[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL };

static const FieldDef fields[5] = {
        { "minute", 0, 59, NULL },
        { "hour", 0, 23, NULL },
        { "day of month", 1, 31, NULL },
        { "month", 1, 12, months },
        { "day of week", 0, 7, days }, /* 7 is Sunday too */
};

_printf_(3, 4) static int fail(char *err, size_t errsz, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errsz, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

/* A number or (for months and days) a name; -1 if neither. */
static int value(const FieldDef *f, const char *s, size_t n) {
        if (n == 0)
                return -1;
        if (isdigit((unsigned char) s[0])) {
                int v = 0;
                for (size_t i = 0; i < n; i++) {
                        if (!isdigit((unsigned char) s[i]) || v > 1000)
                                return -1;
                        v = v * 10 + (s[i] - '0');
                }
                return v;
        }
        for (size_t i = 0; f->names && f->names[i]; i++)
                if (n == 3 && strncasecmp(s, f->names[i], 3) == 0)
                        return f->lo + (int) i;
        return -1;
}

/* Parses one field into the set bits[lo..hi]. */
static int parse_field(const FieldDef *f, const char *text, bool bits[64], char *err, size_t errsz) {
        char buf[256];
        if (strlen(text) >= sizeof buf)
                return fail(err, errsz, "%s: '%.40s...' is too long", f->name, text);
        snprintf(buf, sizeof buf, "%s", text);
        memset(bits, 0, 64 * sizeof bits[0]);
        char *save = NULL;
        for (char *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
                int lo, hi, step = 1;
                char *slash = strchr(item, '/');
                if (slash) {
                        *slash = '\0';
                        int s = value(&(FieldDef) { .lo = 0 }, slash + 1, strlen(slash + 1));
                        if (s <= 0)
                                return fail(err, errsz, "%s: step '%s' is not a positive number", f->name, slash + 1);
                        step = s;
                }
                char *dash = strchr(item, '-');
                if (strcmp(item, "*") == 0) {
                        lo = f->lo;
                        hi = f->hi == 7 ? 6 : f->hi;
                } else if (dash) {
                        lo = value(f, item, (size_t) (dash - item));
                        hi = value(f, dash + 1, strlen(dash + 1));
                        if (lo < 0 || hi < 0)
                                return fail(err, errsz, "%s: '%s' is not a range of values", f->name, item);
                } else {
                        lo = value(f, item, strlen(item));
                        if (lo < 0)
                                return fail(err, errsz, "%s: '%s' is not a value", f->name, item);
                        /* a/n: from a to the end, every n (Vixie cron) */
                        hi = slash ? (f->hi == 7 ? 6 : f->hi) : lo;
                }
                if (lo < f->lo || hi > f->hi) {
                        snprintf(err, errsz, "%s: '%s' is outside %d..%d", f->name, text, f->lo, f->hi);
                        return -EINVAL;
                }
                if (lo > hi)
                        return fail(err, errsz, "%s: the range '%s' runs backwards", f->name, text);
                for (int v = lo; v <= hi; v += step)
                        bits[v == 7 && f->hi == 7 ? 0 : v] = true;
        }
        return 0;
}

/* Writes the set as a list, runs of three or more as a..b; "*" when whole. */
static void format_set(const FieldDef *f, const bool bits[64], bool dow, char *out, size_t size) {
        static const char *const dnames[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
        int hi = dow ? 6 : f->hi, n = 0;
        bool all = true;
        for (int v = f->lo; v <= hi; v++)
                all = all && bits[v];
        if (all) {
                snprintf(out, size, "*");
                return;
        }
        out[0] = '\0';
        size_t len = 0;
        for (int v = f->lo; v <= hi; v++) {
                if (!bits[v])
                        continue;
                int end = v;
                while (end + 1 <= hi && bits[end + 1])
                        end++;
                char a[8], b[8];
                if (dow) {
                        snprintf(a, sizeof a, "%s", dnames[v]);
                        snprintf(b, sizeof b, "%s", dnames[end]);
                } else {
                        snprintf(a, sizeof a, "%02d", v);
                        snprintf(b, sizeof b, "%02d", end);
                }
                if (end - v >= 2)
                        len += (size_t) snprintf(out + len, len < size ? size - len : 0, "%s%s..%s", n ? "," : "", a, b);
                else {
                        len += (size_t) snprintf(out + len, len < size ? size - len : 0, "%s%s", n ? "," : "", a);
                        if (end > v)
                                len += (size_t) snprintf(out + len, len < size ? size - len : 0, ",%s", b);
                }
                n++;
                v = end;
        }
}

static bool valid_timezone(const char *tz) {
        if (strlen(tz) > 64 || tz[0] == '/' || strstr(tz, ".."))
                return false;
        for (const char *p = tz; *p; p++)
                if (!isalnum((unsigned char) *p) && !strchr("_+-/", *p))
                        return false;
        return true;
}

int cron_to_oncalendar(const char *schedule, const char *timezone, char out[CRON_MAX_EVENTS][CRON_EVENT_MAX],
                       char *err, size_t errsz) {
        static const struct {
                const char *macro, *expansion;
        } macros[] = {
                { "@yearly", "0 0 1 1 *" }, { "@annually", "0 0 1 1 *" }, { "@monthly", "0 0 1 * *" },
                { "@weekly", "0 0 * * 0" }, { "@daily", "0 0 * * *" },    { "@midnight", "0 0 * * *" },
                { "@hourly", "0 * * * *" },
        };
        char buf[512], *tok[6], *save = NULL;
        int n = 0;

        if (!schedule || strlen(schedule) >= sizeof buf)
                return fail(err, errsz, "schedule: '%.40s' is empty or too long", schedule ?: "");
        snprintf(buf, sizeof buf, "%s", schedule);
        if (buf[0] == '@') {
                size_t i;
                for (i = 0; i < sizeof macros / sizeof macros[0]; i++)
                        if (strcmp(buf, macros[i].macro) == 0)
                                break;
                if (i == sizeof macros / sizeof macros[0])
                        return fail(err, errsz, "schedule: '%s' is not one of @yearly, @annually, @monthly, @weekly, "
                                                "@daily, @midnight, @hourly", schedule);
                snprintf(buf, sizeof buf, "%s", macros[i].expansion);
        }
        for (char *t = strtok_r(buf, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
                if (n == 5)
                        return fail(err, errsz, "schedule: '%s' has more than five fields (minute hour day-of-month "
                                                "month day-of-week)", schedule);
                tok[n++] = t;
        }
        if (n != 5)
                return fail(err, errsz, "schedule: '%s' does not have five fields (minute hour day-of-month month "
                                        "day-of-week)", schedule);
        if (timezone && timezone[0] && !valid_timezone(timezone))
                return fail(err, errsz, "timezone: '%s' is not a time zone name (e.g. Europe/Berlin)", timezone);

        bool bits[5][64];
        char text[5][160];
        for (int i = 0; i < 5; i++) {
                int r = parse_field(&fields[i], tok[i], bits[i], err, errsz);
                if (r < 0)
                        return r;
                format_set(&fields[i], bits[i], i == 4, text[i], sizeof text[i]);
        }
        char tz[80] = "";
        if (timezone && timezone[0])
                snprintf(tz, sizeof tz, " %s", timezone);
        /* Both days restricted: either matches (two events); else both. */
        bool dom_any = tok[2][0] == '*', dow_any = tok[4][0] == '*';
        if (!dom_any && !dow_any) {
                snprintf(out[0], CRON_EVENT_MAX, "*-%s-%s %s:%s:00%s", text[3], text[2], text[1], text[0], tz);
                snprintf(out[1], CRON_EVENT_MAX, "%s *-%s-* %s:%s:00%s", text[4], text[3], text[1], text[0], tz);
                return 2;
        }
        if (strcmp(text[4], "*") != 0)
                snprintf(out[0], CRON_EVENT_MAX, "%s *-%s-%s %s:%s:00%s", text[4], text[3], text[2], text[1], text[0], tz);
        else
                snprintf(out[0], CRON_EVENT_MAX, "*-%s-%s %s:%s:00%s", text[3], text[2], text[1], text[0], tz);
        return 1;
}
