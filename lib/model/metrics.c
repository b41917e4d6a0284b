/* metrics.c: see metrics.h. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "macro.h"
#include "metrics.h"

struct MetricsParser {
        size_t n;
        pcre2_code **re;
        pcre2_match_data *md;
};

/* pcre2_code_free() returns void; DEFINE_TRIVIAL_CLEANUP_FUNC needs the pointer back. */
static inline pcre2_code *code_free(pcre2_code *c) {
        pcre2_code_free(c);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(pcre2_code *, code_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(MetricsParser *, metrics_parser_free);

static pcre2_code *compile(const char *re, char *err, size_t errsz) {
        int code;
        PCRE2_SIZE off;
        _cleanup_(code_freep) pcre2_code *c = pcre2_compile((PCRE2_SPTR) re, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &code,
                                                             &off, NULL);
        if (!c) {
                PCRE2_UCHAR msg[256];
                pcre2_get_error_message(code, msg, sizeof msg);
                snprintf(err, errsz, "'%.80s': %s at offset %zu", re, (const char *) msg, (size_t) off);
                return NULL;
        }
        uint32_t groups = 0;
        pcre2_pattern_info(c, PCRE2_INFO_CAPTURECOUNT, &groups);
        if (groups < 2) {
                snprintf(err, errsz, "'%.80s' has %u capturing groups; it needs two (name, value)", re, groups);
                return NULL;
        }
        return TAKE_PTR(c);
}

bool metrics_format_ok(const char *re) {
        char err[200];
        _cleanup_(code_freep) pcre2_code *c = re ? compile(re, err, sizeof err) : NULL;
        return c != NULL;
}

int metrics_parser_new(const char *const *formats, size_t n, MetricsParser **ret, char *err, size_t errsz) {
        static const char *const defaults[] = { METRICS_DEFAULT_FORMAT };
        if (n == 0) {
                formats = defaults;
                n = 1;
        }
        _cleanup_(metrics_parser_freep) MetricsParser *p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        p->re = calloc(n, sizeof *p->re);
        if (!p->re)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                p->re[i] = compile(formats[i], err, errsz);
                if (!p->re[i]) {
                        p->n = i;
                        return -EINVAL;
                }
        }
        p->n = n;
        p->md = pcre2_match_data_create(16, NULL);
        if (!p->md)
                return -ENOMEM; /* without it every match fails: no metric would ever be read */
        *ret = TAKE_PTR(p);
        return 0;
}

MetricsParser *metrics_parser_free(MetricsParser *p) {
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n; i++)
                pcre2_code_free(p->re[i]);
        free(p->re);
        pcre2_match_data_free(p->md);
        free(p);
        return NULL;
}

static bool parse_value(const char *s, size_t len, double *ret) {
        char buf[64], *end;
        if (len == 0 || len >= sizeof buf || memchr(s, '\0', len))
                return false;
        memcpy(buf, s, len);
        buf[len] = '\0';
        *ret = strtod(buf, &end);
        return *end == '\0' && isfinite(*ret);
}

void metrics_parse_line(MetricsParser *p, const char *line, size_t len, metrics_cb cb, void *userdata) {
        for (size_t i = 0; i < p->n; i++) {
                PCRE2_SIZE start = 0;
                while (start <= len) {
                        int rc = pcre2_match(p->re[i], (PCRE2_SPTR) line, len, start, 0, p->md, NULL);
                        if (rc < 3)
                                break;
                        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(p->md);
                        if (ov[2] != PCRE2_UNSET && ov[4] != PCRE2_UNSET) {
                                char name[128];
                                size_t nl = ov[3] - ov[2];
                                double v;
                                if (nl > 0 && nl < sizeof name && !memchr(line + ov[2], '\0', nl) &&
                                    parse_value(line + ov[4], ov[5] - ov[4], &v)) {
                                        memcpy(name, line + ov[2], nl);
                                        name[nl] = '\0';
                                        cb(name, v, userdata);
                                }
                        }
                        if (ov[1] <= start) /* an empty match: step on */
                                start++;
                        else
                                start = ov[1];
                }
        }
}

void metrics_parse_json_line(const char *line, size_t len, metrics_cb cb, void *userdata) {
        json_auto_t *o = json_loadb(line, len, JSON_DECODE_ANY, NULL);
        const char *k;
        json_t *v;
        json_object_foreach(o, k, v) {
                double x;
                if (strcmp(k, "timestamp") == 0 || !*k || strlen(k) >= 128)
                        continue; /* not a metric's name */
                if (json_is_number(v) && isfinite(json_number_value(v)))
                        cb(k, json_number_value(v), userdata);
                else if (json_is_string(v) && parse_value(json_string_value(v), json_string_length(v), &x))
                        cb(k, x, userdata);
        }
}

bool metrics_objective_maximizes(json_t *objective) {
        return strcmp(json_str(objective, "type") ?: "minimize", "maximize") == 0;
}

const char *metrics_objective_value(json_t *objective, json_t *observation) {
        const char *name = json_str(objective, "objectiveMetricName") ?: "";
        const char *strategy = metrics_objective_maximizes(objective) ? "max" : "min";
        size_t i;
        json_t *m, *s;
        json_array_foreach(json_object_get(objective, "metricStrategies"), i, s)
                if (strcmp(json_str(s, "name") ?: "", name) == 0 && json_str(s, "value"))
                        strategy = json_str(s, "value");
        json_array_foreach(json_object_get(observation, "metrics"), i, m)
                if (strcmp(json_str(m, "name") ?: "", name) == 0)
                        return json_str(m, strategy);
        return NULL;
}
