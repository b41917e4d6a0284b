/* test-revisions.c: serving's decisions on revisions, without systemd: when
 * an apply makes a revision, how traffic is split (canaries, roll-outs,
 * roll-backs, a failed latest), and which revisions are retired. */
#include "revisions.h"
#include "test.h"

static json_t *rev(int number, const char *digest, bool ready) {
        char name[64];
        snprintf(name, sizeof name, "m-predictor-%05d", number);
        return json_pack("{s:s, s:i, s:s, s:b}", "name", name, "number", number, "digest", digest, "ready", ready);
}

static const char *name_of(json_t *r) {
        return json_string_value(json_object_get(r, "name"));
}

/* "NAME:PERCENT,..." of a traffic array. */
static const char *split(json_t *traffic) {
        static char buf[256];
        size_t i, o = 0;
        json_t *t;
        buf[0] = '\0';
        json_array_foreach(traffic, i, t)
                o += (size_t) snprintf(buf + o, sizeof buf - o, "%s%s:%lld", i ? "," : "",
                                       json_string_value(json_object_get(t, "revisionName")) + 12,
                                       (long long) json_integer_value(json_object_get(t, "percent")));
        return buf;
}

static const char *names(json_t *revs) {
        static char buf[256];
        size_t i, o = 0;
        json_t *r;
        buf[0] = '\0';
        json_array_foreach(revs, i, r)
                o += (size_t) snprintf(buf + o, sizeof buf - o, "%s%s", i ? "," : "", name_of(r) + 12);
        return buf;
}

static void test_need(void) {
        json_int_t number = 0;
        bool append = false;
        /* The first apply makes revision 1. */
        CHECK(revisions_need(NULL, "d1", &number, &append));
        CHECK_EQ_INT(number, 1);
        CHECK(append);
        /* The same template again: nothing. */
        json_t *r1 = rev(1, "d1", true);
        CHECK(!revisions_need(r1, "d1", &number, &append));
        /* A changed template: revision 2. */
        number = 0;
        CHECK(revisions_need(r1, "d2", &number, &append));
        CHECK_EQ_INT(number, 2);
        CHECK(append);
        /* A latest that failed is tried again under its number... */
        json_object_set_new(r1, "ready", json_false());
        CHECK(revisions_need(r1, "d1", &number, &append));
        CHECK_EQ_INT(number, 1);
        CHECK(!append);
        /* ... unless its copy or its readiness check is under way. */
        json_object_set_new(r1, "copying", json_object());
        CHECK(!revisions_need(r1, "d1", &number, &append));
        json_object_del(r1, "copying");
        json_object_set_new(r1, "probing", json_true());
        CHECK(!revisions_need(r1, "d1", &number, &append));
        /* A change of template goes on even then. */
        CHECK(revisions_need(r1, "d2", &number, &append));
        CHECK_EQ_INT(number, 2);
        json_decref(r1);
}

static void test_plan(void) {
        RevisionPlan p;
        /* One ready revision: all the traffic, rolled out. */
        json_t *revs = json_pack("[o]", rev(1, "a", true));
        revisions_plan(revs, json_array_get(revs, 0), NULL, NULL, 100, &p);
        CHECK_STREQ(split(p.traffic), "00001:100");
        CHECK_STREQ(p.rolled_name, "m-predictor-00001");
        CHECK_STREQ(p.previous_name, "");
        CHECK_STREQ(names(p.kept), "00001");
        CHECK_STREQ(names(p.retired), "");
        CHECK(json_is_true(json_object_get(json_array_get(p.traffic, 0), "latestRevision")));
        revisions_plan_clear(&p);

        /* A canary of 20 %: the new ready one gets 20, the rolled-out one
         * the rest, and is reported as the previous one. */
        json_array_append_new(revs, rev(2, "b", true));
        revisions_plan(revs, json_array_get(revs, 1), "m-predictor-00001", NULL, 20, &p);
        CHECK_STREQ(split(p.traffic), "00002:20,00001:80");
        CHECK_STREQ(p.rolled_name, "m-predictor-00001");
        CHECK_STREQ(p.previous_name, "m-predictor-00001");
        CHECK_STREQ(names(p.retired), "");
        CHECK_STREQ(json_string_value(json_object_get(json_array_get(p.traffic, 0), "tag")), "latest");
        revisions_plan_clear(&p);

        /* canaryTrafficPercent 0: everything back on the rolled-out one. */
        revisions_plan(revs, json_array_get(revs, 1), "m-predictor-00001", NULL, 0, &p);
        CHECK_STREQ(split(p.traffic), "00002:0,00001:100");
        revisions_plan_clear(&p);

        /* Promoted (no canary): the new one takes all and is rolled out;
         * the one before is the previous revision and is retired. */
        revisions_plan(revs, json_array_get(revs, 1), "m-predictor-00001", NULL, 100, &p);
        CHECK_STREQ(split(p.traffic), "00002:100");
        CHECK_STREQ(p.rolled_name, "m-predictor-00002");
        CHECK_STREQ(p.previous_name, "m-predictor-00001");
        CHECK_STREQ(names(p.kept), "00002");
        CHECK_STREQ(names(p.retired), "00001");
        revisions_plan_clear(&p);

        /* A new latest that failed: the rolled-out one keeps everything,
         * and the failed one keeps its record (for the status). */
        json_array_append_new(revs, rev(3, "c", false));
        revisions_plan(revs, json_array_get(revs, 2), "m-predictor-00002", "m-predictor-00001", 100, &p);
        CHECK_STREQ(split(p.traffic), "00002:100");
        CHECK(!json_is_true(json_object_get(json_array_get(p.traffic, 0), "latestRevision")));
        CHECK_STREQ(p.rolled_name, "m-predictor-00002");
        CHECK_STREQ(p.previous_name, "m-predictor-00001");
        CHECK_STREQ(names(p.kept), "00002,00003");
        CHECK_STREQ(names(p.retired), "00001");
        CHECK(p.ready == json_array_get(revs, 1));
        revisions_plan_clear(&p);

        /* ... and with a canary asked for, still nothing to the failed one. */
        revisions_plan(revs, json_array_get(revs, 2), "m-predictor-00002", NULL, 10, &p);
        CHECK_STREQ(split(p.traffic), "00002:100");
        revisions_plan_clear(&p);

        /* A rolled-out revision that is gone (deleted by hand from the
         * status): the latest ready one is rolled out. */
        revisions_plan(revs, json_array_get(revs, 2), "m-predictor-00009", NULL, 30, &p);
        CHECK_STREQ(split(p.traffic), "00002:100");
        CHECK_STREQ(p.rolled_name, "m-predictor-00002");
        CHECK_STREQ(p.previous_name, "m-predictor-00009");
        revisions_plan_clear(&p);
        json_decref(revs);

        /* Nothing ready at all: no traffic, nothing rolled out, the latest kept. */
        revs = json_pack("[o]", rev(1, "a", false));
        revisions_plan(revs, json_array_get(revs, 0), NULL, NULL, 100, &p);
        CHECK_STREQ(split(p.traffic), "");
        CHECK(!p.ready && !p.rolled);
        CHECK_STREQ(p.rolled_name, "");
        CHECK_STREQ(names(p.kept), "00001");
        revisions_plan_clear(&p);
        json_decref(revs);
}

int main(void) {
        test_need();
        test_plan();
        return test_summary("test-revisions");
}
