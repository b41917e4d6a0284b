/* test-crashguard.c: the record of what sdflowd works on survives the
 * process (a child that dies mid-work), names the innermost object, counts
 * unclean starts, backs off, and marks statuses as each kind shows failure. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crashguard.h"
#include "kinds.h"
#include "test.h"
#include "test-yaml.h"

/* Opens the guard in a child, which then runs work() and exits (0) or dies. */
static int in_child(const char *path, bool faults, void (*work)(void)) {
        pid_t pid = fork();
        if (pid == 0) {
                GuardRecord left;
                bool had;
                unsigned unclean;
                if (crashguard_open(path, faults, &left, &had, &unclean) < 0)
                        _exit(3);
                work();
                _exit(0);
        }
        int st;
        waitpid(pid, &st, 0);
        return st;
}

static json_t *wf;

static void die_nested(void) {
        (void) crashguard_enter(&kind_profile, test_yaml("apiVersion: kubeflow.org/v1\nkind: Profile\n"
                                                   "metadata: {name: team-a, uid: p-1}\n"),
                                GUARD_RECONCILE);
        (void) crashguard_enter(&kind_workflow, wf, GUARD_ADVANCE);
        abort();
}

static void clean_work(void) {
        unsigned t = crashguard_enter(&kind_workflow, wf, GUARD_ADVANCE);
        crashguard_leave(t);
        crashguard_close();
}

static void die_after_leave(void) {
        {
                _cleanup_guard_ unsigned t = crashguard_enter(&kind_workflow, wf, GUARD_ADVANCE);
        }
        raise(SIGKILL);
}

static void fault(void) {
        json_t *o = test_yaml("apiVersion: argoproj.io/v1alpha1\nkind: Workflow\n"
                        "metadata: {name: p, namespace: ns, uid: u-9, annotations: {sdflow.io/debug-fault: 'reconcile, apply'}}\n");
        (void) crashguard_enter(&kind_workflow, o, GUARD_ADVANCE); /* not a stage it names */
        crashguard_leave(0);
        (void) crashguard_enter(&kind_workflow, o, GUARD_APPLY);
        _exit(0); /* not reached with faults on */
}

int main(void) {
        char dir[] = "/tmp/test-crashguard-XXXXXX", path[256];
        GuardRecord left;
        bool had;
        unsigned unclean;
        CHECK(mkdtemp(dir) != NULL);
        snprintf(path, sizeof path, "%s/guard", dir);
        wf = test_yaml("apiVersion: argoproj.io/v1alpha1\nkind: Workflow\n"
                 "metadata: {name: wf-1, namespace: team-a, uid: u-1}\n");

        /* A clean run leaves nothing to blame. */
        CHECK(WIFEXITED(in_child(path, false, clean_work)));
        CHECK(crashguard_open(path, false, &left, &had, &unclean) == 0);
        CHECK(!had);
        CHECK_EQ_INT(unclean, 0);
        crashguard_close();

        /* Death inside nested work: the innermost object is blamed. */
        CHECK(WIFSIGNALED(in_child(path, false, die_nested)));
        CHECK(crashguard_open(path, false, &left, &had, &unclean) == 0);
        CHECK(had);
        CHECK_EQ_INT(unclean, 1);
        CHECK_STREQ(left.kind, "argoproj.io/Workflow");
        CHECK_STREQ(left.ns, "team-a");
        CHECK_STREQ(left.name, "wf-1");
        CHECK_STREQ(left.uid, "u-1");
        CHECK_EQ_INT(left.stage, GUARD_ADVANCE);
        crashguard_close();
        CHECK(crashguard_kind(left.kind) == &kind_workflow);
        CHECK(crashguard_kind("x/Nothing") == NULL);

        /* Death outside any work: an unclean start, nobody to blame; they
         * count up (the clean close above reset the count). */
        CHECK(WIFSIGNALED(in_child(path, false, die_after_leave)));
        CHECK(WIFSIGNALED(in_child(path, false, die_after_leave)));
        CHECK(crashguard_open(path, false, &left, &had, &unclean) == 0);
        CHECK(!had);
        CHECK_EQ_INT(unclean, 2);
        crashguard_healthy();
        crashguard_close();

        /* The fault switch crashes only at the stages named, only when on. */
        CHECK(WIFEXITED(in_child(path, false, fault)));
        int st = in_child(path, true, fault);
        CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);
        CHECK(crashguard_open(path, false, &left, &had, &unclean) == 0);
        CHECK(had && strcmp(left.uid, "u-9") == 0 && left.stage == GUARD_APPLY);
        crashguard_close();

        /* The back-off: none for the first unclean start, then doubling to 8 s. */
        CHECK_EQ_INT(crashguard_backoff_usec(0), 0);
        CHECK_EQ_INT(crashguard_backoff_usec(1), 0);
        CHECK_EQ_INT(crashguard_backoff_usec(2), 250000);
        CHECK_EQ_INT(crashguard_backoff_usec(3), 500000);
        CHECK_EQ_INT(crashguard_backoff_usec(20), 8000000);

        /* Quarantine by uid. */
        CHECK(!crashguard_is_quarantined(wf));
        crashguard_quarantine("u-1");
        CHECK(crashguard_is_quarantined(wf));
        CHECK(crashguard_release("u-1"));
        CHECK(!crashguard_release("u-1"));
        CHECK(!crashguard_is_quarantined(wf));

        /* Marks: a workflow's phase, an experiment's Failed condition (the
         * others False), the others' Ready; unmark gives the experiment back. */
        json_t *m = crashguard_mark(&kind_workflow, json_object_get(wf, "status"), "2026-12-02T00:00:00Z");
        CHECK_STREQ(json_string_value(json_object_get(m, "phase")), "Error");
        CHECK(strstr(json_string_value(json_object_get(m, "message")), "stopped twice") != NULL);
        json_decref(m);
        json_t *est = json_pack("{s:[{s:s, s:s}]}", "conditions", "type", "Running", "status", "True");
        m = crashguard_mark(&kind_experiment, est, "2026-12-02T00:00:00Z");
        json_t *conds = json_object_get(m, "conditions");
        CHECK_EQ_INT(json_array_size(conds), 2);
        CHECK_STREQ(json_string_value(json_object_get(json_array_get(conds, 0), "status")), "False");
        CHECK_STREQ(json_string_value(json_object_get(json_array_get(conds, 1), "type")), "Failed");
        CHECK_STREQ(json_string_value(json_object_get(json_array_get(conds, 1), "reason")), CRASHGUARD_REASON);
        json_t *u = crashguard_unmark(&kind_experiment, m);
        CHECK(json_equal(json_object_get(u, "conditions"), json_object_get(est, "conditions")));
        json_decref(u);
        json_decref(m);
        json_decref(est);
        m = crashguard_mark(&kind_isvc, NULL, "2026-12-02T00:00:00Z");
        CHECK_STREQ(json_string_value(json_object_get(json_array_get(json_object_get(m, "conditions"), 0), "type")), "Ready");
        CHECK_STREQ(json_string_value(json_object_get(json_array_get(json_object_get(m, "conditions"), 0), "status")), "False");
        json_decref(m);

        json_decref(wf);
        snprintf(path, sizeof path, "rm -rf %s", dir);
        CHECK(system(path) == 0);
        return test_summary("test-crashguard");
}
