/* test-metrics.c: Katib's metrics formats. */
#include <errno.h>
#include <math.h>

#include "metrics.h"
#include "test.h"
#include "test-yaml.h"

typedef struct Got {
        char text[512];
} Got;

static void collect(const char *name, double value, void *ud) {
        Got *g = ud;
        snprintf(g->text + strlen(g->text), sizeof g->text - strlen(g->text), "%s%s=%g", g->text[0] ? " " : "", name, value);
}

static void line(MetricsParser *p, const char *text, const char *want) {
        Got g = { "" };
        metrics_parse_line(p, text, strlen(text), collect, &g);
        if (strcmp(g.text, want) != 0)
                fprintf(stderr, "'%s': got '%s', expected '%s'\n", text, g.text, want);
        CHECK_STREQ(g.text, want);
}

int main(void) {
        MetricsParser *p;
        char err[256];
        /* Katib's default format, as its examples print. */
        CHECK(metrics_parser_new(NULL, 0, &p, err, sizeof err) == 0);
        line(p, "epoch 1: loss=0.25 accuracy=0.9", "loss=0.25 accuracy=0.9");
        line(p, "Validation-accuracy=0.9753", "Validation-accuracy=0.9753");
        line(p, "loss = 1.5e-3", "loss=0.0015");
        line(p, "loss=-.5", "loss=-0.5");
        line(p, "no metrics here", "");
        line(p, "lr=0.01, momentum=0.5", "lr=0.01 momentum=0.5");
        line(p, "loss=", ""); /* an empty value is no value */
        p = metrics_parser_free(p);
        /* A filter of its own: "{metricName: loss, metricValue: 0.3}". */
        const char *f[] = { "\\{metricName: ([\\w|-]+), metricValue: ((-?\\d+)(\\.\\d+)?)\\}" };
        CHECK(metrics_parser_new(f, 1, &p, err, sizeof err) == 0);
        line(p, "{metricName: loss, metricValue: 0.3}", "loss=0.3");
        line(p, "loss=0.3", "");
        p = metrics_parser_free(p);
        /* Refused: a bad expression, one group only. */
        const char *bad[] = { "(\\w+" };
        CHECK(metrics_parser_new(bad, 1, &p, err, sizeof err) == -EINVAL);
        CHECK(strstr(err, "missing closing parenthesis") != NULL);
        CHECK(!metrics_format_ok("(\\w+)="));
        CHECK(metrics_format_ok(METRICS_DEFAULT_FORMAT));
        /* JSON lines. */
        Got g = { "" };
        const char *j = "{\"loss\": 0.5, \"accuracy\": \"0.8\", \"timestamp\": 1700000000, \"note\": \"x\"}";
        metrics_parse_json_line(j, strlen(j), collect, &g);
        CHECK_STREQ(g.text, "loss=0.5 accuracy=0.8");
        Got h = { "" };
        metrics_parse_json_line("not json", 8, collect, &h);
        CHECK_STREQ(h.text, "");

        /* The objective, as Katib reads it: the direction, unless the
         * metric's strategy says otherwise; none when it never appeared. */
        json_t *obs = test_yaml("metrics: [{name: loss, min: '0.1', max: '0.9', latest: '0.5'}, "
                                "{name: acc, min: '0.2', max: '0.8', latest: '0.7'}]\n");
        json_t *objective = test_yaml("type: maximize\nobjectiveMetricName: acc\n");
        CHECK(metrics_objective_maximizes(objective));
        CHECK_STREQ(metrics_objective_value(objective, obs), "0.8");
        json_decref(objective);
        objective = test_yaml("objectiveMetricName: loss\n");
        CHECK(!metrics_objective_maximizes(objective));
        CHECK_STREQ(metrics_objective_value(objective, obs), "0.1");
        json_decref(objective);
        objective = test_yaml("type: minimize\nobjectiveMetricName: loss\n"
                              "metricStrategies: [{name: acc, value: max}, {name: loss, value: latest}]\n");
        CHECK_STREQ(metrics_objective_value(objective, obs), "0.5");
        json_decref(objective);
        objective = test_yaml("type: minimize\nobjectiveMetricName: f1\n");
        CHECK(metrics_objective_value(objective, obs) == NULL);
        json_decref(objective);
        json_decref(obs);
        return test_summary("test-metrics");
}
