/* metrics.h: what Katib's metrics collectors read from a trial's output.
 *
 * StdOut (and File in TEXT format): each line is searched with the
 * filter's regular expressions (PCRE2 syntax, as Katib's Go regexp
 * mostly is); each match's first group is a metric name and its second a
 * value.  Without a filter Katib's default applies:
 *     ([\w|-]+)\s*=\s*([+-]?\d*(\.\d+)?([Ee][+-]?\d+)?)
 * File in JSON format: each line is a JSON object; each member whose
 * value is a number (or a string holding one) is a metric, and a member
 * "timestamp" is the time.  No I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#define METRICS_DEFAULT_FORMAT "([\\w|-]+)\\s*=\\s*([+-]?\\d*(\\.\\d+)?([Ee][+-]?\\d+)?)"

typedef void (*metrics_cb)(const char *name, double value, void *userdata);

typedef struct MetricsParser MetricsParser;

/* A parser for the TEXT format with these expressions (NULL/0: Katib's
 * default).  Returns 0, or -EINVAL with the first bad expression in err. */
int metrics_parser_new(const char *const *formats, size_t n, MetricsParser **ret, char *err, size_t errsz);
MetricsParser *metrics_parser_free(MetricsParser *p);

/* Every metric on one line of text (TEXT format). */
void metrics_parse_line(MetricsParser *p, const char *line, size_t len, metrics_cb cb, void *userdata);

/* Every metric of one line in the JSON format. */
void metrics_parse_json_line(const char *line, size_t len, metrics_cb cb, void *userdata);

/* True when re compiles and has at least two capturing groups. */
bool metrics_format_ok(const char *re);

/* Whether an Experiment's spec.objective maximizes (type: maximize). */
bool metrics_objective_maximizes(json_t *objective);

/* The objective metric's value in a trial's observation
 * ({metrics: [{name, min, max, latest}]}), as Katib reads it: by the
 * metric's metricStrategies entry (min, max or latest), else the
 * objective's direction.  NULL when the metric never appeared. */
const char *metrics_objective_value(json_t *objective, json_t *observation);
