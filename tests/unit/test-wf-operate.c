/* test-wf-operate.c: the pipeline engine's logic without systemd.  A fake
 * executor plays the units: it "runs" each started pod node at once, from
 * its resolved command:
 *   echo WORDS...          result WORDS, exit 0
 *   exit N                 exit N
 *   fail-below R N         exit 1 while R (use {{retries}}) < N, else 0
 *   param NAME VALUE...    output parameter NAME = VALUE, exit 0
 *   artifact NAME          output artifact NAME (a file of the namespace's), exit 0
 *   cat-input PATH         result: where input artifact PATH came from, exit 0
 * and the clock moves only when the engine asks to be woken. */
#include <errno.h>
#include <jansson.h>

#include "test.h"
#include "phase.h"
#include "wf-operate.h"
#include "test-yaml.h"

typedef struct Sim {
        json_t *wf;
        uint64_t now;
        json_t *order;     /* display names of the pods, in the order they started */
        unsigned max_running;
        json_t *cache;     /* key -> outputs */
        int admit;         /* what env.admit answers */
        bool run_started;  /* settle pods as soon as they start */
        int tails;         /* what `coin` answers: tails this many times, then heads */
} Sim;

static json_t *sim_cache_lookup(void *ud, const char *ns, const char *key, char *from, size_t size) {
        Sim *s = ud;
        (void) ns;
        json_t *o = json_object_get(s->cache, key);
        if (!o)
                return NULL;
        snprintf(from, size, "earlier");
        return json_deep_copy(o);
}

static int sim_admit(void *ud, const char *ns, uint64_t cpu, uint64_t mem, char *msg, size_t size) {
        Sim *s = ud;
        (void) ns;
        (void) cpu;
        (void) mem;
        snprintf(msg, size, s->admit < 0 ? "never fits" : "waiting for quota");
        return s->admit;
}

static json_t *nodes(Sim *s) {
        return json_object_get(json_object_get(s->wf, "status"), "nodes");
}

/* The node with this display name (the first), or NULL. */
static json_t *node(Sim *s, const char *display) {
        const char *id;
        json_t *n;
        json_object_foreach(nodes(s), id, n)
                if (strcmp(json_string_value(json_object_get(n, "displayName")) ?: "", display) == 0)
                        return n;
        return NULL;
}

static const char *phase_of(Sim *s, const char *display) {
        json_t *n = node(s, display);
        return n ? json_string_value(json_object_get(n, "phase")) : "(none)";
}

static const char *wf_phase(Sim *s) {
        return json_string_value(json_object_get(json_object_get(s->wf, "status"), "phase")) ?: "";
}

static void settle(Sim *s, json_t *n) {
        json_t *step = json_object_get(n, "sdflowStep"), *argv = json_array(), *x;
        size_t i;
        json_array_extend(argv, json_object_get(step, "command"));
        json_array_extend(argv, json_object_get(step, "args"));
        const char *cmd = json_string_value(json_array_get(argv, 0)) ?: "";
        json_t *outs = json_pack("{s:[], s:[]}", "parameters", "artifacts");
        int code = 0;
        if (strcmp(cmd, "echo") == 0) {
                char buf[1024] = "";
                json_array_foreach(argv, i, x)
                        if (i > 0)
                                snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", i > 1 ? " " : "",
                                         json_string_value(x));
                json_object_set_new(outs, "result", json_string(buf));
        } else if (strcmp(cmd, "coin") == 0) {
                json_object_set_new(outs, "result", json_string(s->tails > 0 ? "tails" : "heads"));
                s->tails--;
        } else if (strcmp(cmd, "exit") == 0)
                code = atoi(json_string_value(json_array_get(argv, 1)));
        else if (strcmp(cmd, "fail-below") == 0)
                code = atoi(json_string_value(json_array_get(argv, 1))) < atoi(json_string_value(json_array_get(argv, 2)));
        else if (strcmp(cmd, "artifact") == 0)
                json_array_append_new(json_object_get(outs, "artifacts"),
                                      json_pack("{s:O, s:s+}", "name", json_array_get(argv, 1), "hostPath",
                                                "/var/lib/sdflow/ns/ns/artifacts/w/",
                                                json_string_value(json_object_get(n, "id"))));
        else if (strcmp(cmd, "cat-input") == 0) {
                json_t *a;
                json_array_foreach(json_object_get(json_object_get(n, "inputs"), "artifacts"), i, a)
                        if (strcmp(json_string_value(json_object_get(a, "path")) ?: "",
                                   json_string_value(json_array_get(argv, 1)) ?: "") == 0)
                                json_object_set(outs, "result", json_object_get(a, "hostPath"));
        } else if (strcmp(cmd, "param") == 0)
                json_array_append_new(json_object_get(outs, "parameters"),
                                      json_pack("{s:O, s:O}", "name", json_array_get(argv, 1), "value",
                                                json_array_get(argv, 2)));
        json_object_set_new(outs, "exitCode", json_sprintf("%d", code));
        json_object_set_new(n, "outputs", outs);
        char msg[64];
        snprintf(msg, sizeof msg, "Error (exit code %d)", code);
        wf_set_phase(n, code == 0 ? "Succeeded" : "Failed", code == 0 ? NULL : msg, s->now);
        json_decref(argv);
}

/* Passes until the workflow ends (or nothing more can happen). */
static void run(Sim *s) {
        WfEnv env = { .cache_lookup = sim_cache_lookup, .admit = sim_admit, .userdata = s, .service_account = "sa" };
        for (int round = 0; round < 1000 && !phase_node_done(wf_phase(s)); round++) {
                json_t *starts = json_array(), *id;
                uint64_t wake = 0;
                size_t i;
                wf_operate(s->wf, &env, s->now, starts, &wake);
                /* Running pods now (those just started included). */
                unsigned running = 0;
                const char *k;
                json_t *n;
                json_object_foreach(nodes(s), k, n)
                        running += json_object_get(n, "sdflowUnit") && !phase_node_done(json_string_value(json_object_get(n, "phase")));
                if (running > s->max_running)
                        s->max_running = running;
                json_array_foreach(starts, i, id) {
                        n = json_object_get(nodes(s), json_string_value(id));
                        json_array_append_new(s->order, json_string(json_string_value(json_object_get(n, "displayName"))));
                        if (s->run_started)
                                settle(s, n);
                }
                size_t started = json_array_size(starts);
                json_decref(starts);
                if (started == 0) {
                        if (wake == 0)
                                break;
                        s->now = wake > s->now ? wake : s->now + 1;
                } else
                        s->now++;
        }
}

static Sim sim(const char *yaml) {
        return (Sim) { .wf = test_yaml(yaml), .now = 1800000000, .order = json_array(), .cache = json_object(),
                       .admit = 1, .run_started = true };
}

static void sim_free(Sim *s) {
        json_decref(s->wf);
        json_decref(s->order);
        json_decref(s->cache);
}

static int position(Sim *s, const char *display) {
        json_t *x;
        size_t i;
        json_array_foreach(s->order, i, x)
                if (strcmp(json_string_value(x), display) == 0)
                        return (int) i;
        return -1;
}

/* Nodes with this display name (and phase, unless NULL). */
static int count_display(Sim *s, const char *display, const char *phase) {
        int n = 0;
        const char *k;
        json_t *x;
        json_object_foreach(nodes(s), k, x)
                n += strcmp(json_string_value(json_object_get(x, "displayName")), display) == 0 &&
                     (!phase || strcmp(json_string_value(json_object_get(x, "phase")), phase) == 0);
        return n;
}

static const char *message_of(Sim *s) {
        return json_string_value(json_object_get(json_object_get(s->wf, "status"), "message")) ?: "";
}

/* Some node is an Error whose message has this text. */
static bool deepest_error(Sim *s, const char *text) {
        const char *k;
        json_t *x;
        json_object_foreach(nodes(s), k, x)
                if (strcmp(json_string_value(json_object_get(x, "phase")), "Error") == 0 &&
                    strstr(json_string_value(json_object_get(x, "message")) ?: "", text))
                        return true;
        return false;
}

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define HEAD "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: w, namespace: ns}\n"

static void test_diamond(void) {
        Sim s = sim(HEAD "spec:\n  entrypoint: d\n  templates:\n"
                         "  - {name: e, inputs: {parameters: [{name: m}]}, container: {image: x, command: [echo, '{{inputs.parameters.m}}']}}\n"
                         "  - name: d\n    dag:\n      tasks:\n"
                         "      - {name: A, template: e, arguments: {parameters: [{name: m, value: a}]}}\n"
                         "      - {name: B, template: e, dependencies: [A], arguments: {parameters: [{name: m, value: '{{tasks.A.outputs.result}}b'}]}}\n"
                         "      - {name: C, template: e, dependencies: [A], arguments: {parameters: [{name: m, value: c}]}}\n"
                         "      - {name: D, template: e, depends: B && C.Succeeded, arguments: {parameters: [{name: m, value: d}]}}\n");
        run(&s);
        CHECK_STREQ(wf_phase(&s), "Succeeded");
        CHECK(position(&s, "A") == 0 && position(&s, "D") == 3);
        CHECK_STREQ(json_string_value(json_object_get(json_object_get(node(&s, "B"), "outputs"), "result")), "ab");
        CHECK_STREQ(json_string_value(json_object_get(json_object_get(s.wf, "status"), "progress")), "4/4");
        CHECK(json_object_get(node(&s, "w"), "children") && json_array_size(json_object_get(node(&s, "w"), "children")) == 4);
        sim_free(&s);
}

static void test_failure(void) {
        /* failFast false: B fails, cleanup (B.Failed) runs, D (needs B) is Omitted. */
        Sim s = sim(HEAD "spec:\n  entrypoint: d\n  templates:\n"
                         "  - {name: ok, container: {image: x, command: [echo, ok]}}\n"
                         "  - {name: bad, container: {image: x, command: [exit, '7']}}\n"
                         "  - name: d\n    dag:\n      failFast: false\n      tasks:\n"
                         "      - {name: A, template: ok}\n"
                         "      - {name: B, template: bad, dependencies: [A]}\n"
                         "      - {name: cleanup, template: ok, depends: B.Failed}\n"
                         "      - {name: D, template: ok, dependencies: [B]}\n");
        run(&s);
        CHECK_STREQ(wf_phase(&s), "Failed");
        CHECK_STREQ(phase_of(&s, "B"), "Failed");
        CHECK_STREQ(phase_of(&s, "cleanup"), "Succeeded");
        CHECK_STREQ(phase_of(&s, "D"), "Omitted");
        sim_free(&s);

        /* As Argo runs DAGs now (failFast the default): after B fails, what
         * depends on B.Failed still runs, what needs B is Omitted, and the
         * DAG fails: its target C stands for B's failure. */
        s = sim(HEAD "spec:\n  entrypoint: d\n  templates:\n"
                     "  - {name: ok, container: {image: x, command: [echo, ok]}}\n"
                     "  - {name: bad, container: {image: x, command: [exit, '1']}}\n"
                     "  - name: d\n    dag:\n      tasks:\n"
                     "      - {name: B, template: bad}\n"
                     "      - {name: C, template: ok, dependencies: [B]}\n"
                     "      - {name: E, template: ok, depends: B.Failed}\n");
        run(&s);
        CHECK_STREQ(wf_phase(&s), "Failed");
        CHECK_STREQ(phase_of(&s, "E"), "Succeeded");
        CHECK_STREQ(phase_of(&s, "C"), "Omitted");
        CHECK(strstr(json_string_value(json_object_get(node(&s, "w"), "message")) ?: "", "child 'C' failed") != NULL);
        sim_free(&s);

        /* Argo's dag-enhanced-depends: C fails, but every target task ran or
         * was omitted for a reason that is not C's failure: Succeeded. */
        s = sim(HEAD "spec:\n  entrypoint: d\n  templates:\n"
                     "  - {name: pass, container: {image: x, command: [exit, '0']}}\n"
                     "  - {name: fail, container: {image: x, command: [exit, '1']}}\n"
                     "  - name: d\n    dag:\n      tasks:\n"
                     "      - {name: A, template: pass}\n"
                     "      - {name: B, depends: A, template: pass}\n"
                     "      - {name: C, depends: A, template: fail}\n"
                     "      - {name: should-execute-1, depends: 'A && (C.Succeeded || C.Failed)', template: pass}\n"
                     "      - {name: should-execute-2, depends: B || C, template: pass}\n"
                     "      - {name: should-not-execute, depends: B && C, template: pass}\n"
                     "      - {name: should-execute-3, depends: should-execute-2.Succeeded || should-not-execute, template: pass}\n");
        run(&s);
        CHECK_STREQ(wf_phase(&s), "Succeeded");
        CHECK_STREQ(phase_of(&s, "C"), "Failed");
        CHECK_STREQ(phase_of(&s, "should-execute-1"), "Succeeded");
        CHECK_STREQ(phase_of(&s, "should-execute-2"), "Succeeded");
        CHECK_STREQ(phase_of(&s, "should-not-execute"), "Omitted");
        CHECK_STREQ(phase_of(&s, "should-execute-3"), "Succeeded");
        sim_free(&s);

        /* A failed leaf with continueOn.failed does not fail the DAG. */
        s = sim(HEAD "spec:\n  entrypoint: d\n  templates:\n"
                     "  - {name: ok, container: {image: x, command: [echo, ok]}}\n"
                     "  - {name: bad, container: {image: x, command: [exit, '1']}}\n"
                     "  - name: d\n    dag:\n      tasks:\n"
                     "      - {name: A, template: ok}\n"
                     "      - {name: B, template: bad, dependencies: [A], continueOn: {failed: true}}\n");
        run(&s);
        CHECK_STREQ(wf_phase(&s), "Succeeded");
        sim_free(&s);
}

static void test_loops(void) {
        Sim s = sim(HEAD "spec:\n  entrypoint: d\n  templates:\n"
                         "  - {name: gen, container: {image: x, command: [echo, '[1,2,3]']}}\n"
                         "  - {name: sq, inputs: {parameters: [{name: n}]}, container: {image: x, command: [echo, 'n{{inputs.parameters.n}}']}}\n"
                         "  - name: d\n    dag:\n      tasks:\n"
                         "      - {name: gen, template: gen}\n"
                         "      - {name: each, template: sq, dependencies: [gen], withParam: '{{tasks.gen.outputs.result}}', arguments: {parameters: [{name: n, value: '{{item}}'}]}}\n"
                         "      - {name: obj, template: sq, withItems: [{k: a}, {k: b}], arguments: {parameters: [{name: n, value: '{{item.k}}'}]}}\n"
                         "      - {name: seq, template: sq, withSequence: {start: '5', end: '3', format: 'x%02d'}, arguments: {parameters: [{name: n, value: '{{item}}'}]}}\n"
                         "      - {name: all, template: sq, dependencies: [each], arguments: {parameters: [{name: n, value: '{{tasks.each.outputs.result}}'}]}}\n");
        run(&s);
        CHECK_STREQ(wf_phase(&s), "Succeeded");
        CHECK_STREQ(phase_of(&s, "each(2:3)"), "Succeeded");
        CHECK_STREQ(json_string_value(json_object_get(json_object_get(node(&s, "obj(1:{\"k\":\"b\"})"), "outputs"), "result")), "nb");
        CHECK(node(&s, "seq(0:x05)") && node(&s, "seq(2:x03)"));
        CHECK_STREQ(json_string_value(json_object_get(json_object_get(node(&s, "all"), "outputs"), "result")),
                    "n[\"n1\",\"n2\",\"n3\"]");
        sim_free(&s);

        /* withParam that is not a JSON list: the task errs, naming it. */
        s = sim(HEAD "spec:\n  entrypoint: d\n  templates:\n"
                     "  - {name: gen, container: {image: x, command: [echo, 'not json']}}\n"
                     "  - {name: e, container: {image: x, command: [echo, x]}}\n"
                     "  - name: d\n    dag:\n      tasks:\n"
                     "      - {name: gen, template: gen}\n"
                     "      - {name: each, template: e, dependencies: [gen], withParam: '{{tasks.gen.outputs.result}}'}\n");
        run(&s);
        CHECK_STREQ(phase_of(&s, "each"), "Error");
        CHECK(strstr(json_string_value(json_object_get(node(&s, "each"), "message")), "is not a JSON list") != NULL);
        sim_free(&s);
}

static void test_steps_when(void) {
        Sim s = sim(HEAD "spec:\n  entrypoint: s\n  arguments: {parameters: [{name: side, value: heads}]}\n  templates:\n"
                         "  - {name: flip, container: {image: x, command: [echo, '{{workflow.parameters.side}}']}}\n"
                         "  - {name: say, container: {image: x, command: [echo, said]}}\n"
                         "  - name: s\n    steps:\n"
                         "    - - {name: flip, template: flip}\n"
                         "    - - {name: heads, template: say, when: '{{steps.flip.outputs.result}} == heads'}\n"
                         "      - {name: tails, template: say, when: '{{steps.flip.outputs.result}} == tails'}\n");
        run(&s);
        CHECK_STREQ(wf_phase(&s), "Succeeded");
        CHECK_STREQ(phase_of(&s, "heads"), "Succeeded");
        CHECK_STREQ(phase_of(&s, "tails"), "Skipped");
        CHECK(position(&s, "flip") == 0);
        CHECK_STREQ(json_string_value(json_object_get(node(&s, "w"), "type")), "Steps");
        sim_free(&s);
}

static void test_retries(void) {
        Sim s = sim(HEAD "spec:\n  entrypoint: r\n  templates:\n"
                         "  - name: r\n    retryStrategy: {limit: '3', backoff: {duration: 10s, factor: '2'}}\n"
                         "    container: {image: x, command: [fail-below, '{{retries}}', '2']}\n");
        uint64_t t0 = s.now;
        run(&s);
        CHECK_STREQ(wf_phase(&s), "Succeeded");
        CHECK_STREQ(phase_of(&s, "w(0)"), "Failed");
        CHECK_STREQ(phase_of(&s, "w(1)"), "Failed");
        CHECK_STREQ(phase_of(&s, "w(2)"), "Succeeded");
        CHECK_STREQ(json_string_value(json_object_get(node(&s, "w"), "type")), "Retry");
        /* Backoff 10 s, then 20 s: the clock moved at least 30 s. */
        CHECK(s.now - t0 >= 30);
        sim_free(&s);

        /* Out of attempts: the retry node fails with the last message. */
        s = sim(HEAD "spec:\n  entrypoint: r\n  templates:\n"
                     "  - name: r\n    retryStrategy: {limit: 1}\n    container: {image: x, command: [exit, '3']}\n");
        run(&s);
        CHECK_STREQ(wf_phase(&s), "Failed");
        CHECK(node(&s, "w(1)") && !node(&s, "w(2)"));
        CHECK(strstr(json_string_value(json_object_get(node(&s, "w"), "message")), "after 2 attempts") != NULL);
        sim_free(&s);
}

static void test_exit_handler(void) {
        Sim s = sim(HEAD "spec:\n  entrypoint: main\n  onExit: bye\n  templates:\n"
                         "  - {name: main, container: {image: x, command: [exit, '1']}}\n"
                         "  - {name: bye, container: {image: x, command: [echo, '{{workflow.status}}', '{{workflow.serviceAccountName}}']}}\n");
        run(&s);
        CHECK_STREQ(wf_phase(&s), "Failed");
        CHECK_STREQ(json_string_value(json_object_get(json_object_get(node(&s, "w.onExit"), "outputs"), "result")),
                    "Failed sa");
        sim_free(&s);
}

static void test_parallelism_and_quota(void) {
        Sim s = sim(HEAD "spec:\n  entrypoint: d\n  parallelism: 2\n  templates:\n"
                         "  - {name: e, inputs: {parameters: [{name: i}]}, container: {image: x, command: [echo, '{{inputs.parameters.i}}']}}\n"
                         "  - name: d\n    dag:\n      tasks:\n"
                         "      - {name: many, template: e, withSequence: {count: '6'}, arguments: {parameters: [{name: i, value: '{{item}}'}]}}\n");
        s.run_started = false; /* pods stay running: at most two at a time */
        WfEnv env = { .userdata = &s };
        json_t *starts = json_array();
        uint64_t wake;
        wf_operate(s.wf, &env, s.now, starts, &wake);
        CHECK_EQ_INT(json_array_size(starts), 2);
        CHECK(strstr(json_string_value(json_object_get(node(&s, "many(2:2)"), "message")) ?: "", "parallelism") != NULL);
        json_decref(starts);
        sim_free(&s);

        /* A template's parallelism counts pods below it, loops included. */
        s = sim(HEAD "spec:\n  entrypoint: d\n  templates:\n"
                     "  - {name: e, inputs: {parameters: [{name: i}]}, container: {image: x, command: [echo, '{{inputs.parameters.i}}']}}\n"
                     "  - name: d\n    parallelism: 2\n    dag:\n      tasks:\n"
                     "      - {name: many, template: e, withItems: [a, b, c, d, e], arguments: {parameters: [{name: i, value: '{{item}}'}]}}\n"
                     "      - {name: one, template: e, arguments: {parameters: [{name: i, value: x}]}}\n");
        starts = json_array();
        wf_operate(s.wf, &env, s.now, starts, &wake);
        CHECK_EQ_INT(json_array_size(starts), 2);
        CHECK(strstr(json_string_value(json_object_get(node(&s, "one"), "message")) ?: "", "template's parallelism") != NULL);
        json_decref(starts);
        sim_free(&s);
        s = sim(HEAD "spec:\n  entrypoint: d\n  templates:\n"
                     "  - {name: e, inputs: {parameters: [{name: i}]}, container: {image: x, command: [echo, '{{inputs.parameters.i}}']}}\n"
                     "  - name: d\n    parallelism: 2\n    dag:\n      tasks:\n"
                     "      - {name: many, template: e, withItems: [a, b, c, d, e], arguments: {parameters: [{name: i, value: '{{item}}'}]}}\n");
        run(&s);
        CHECK_STREQ(wf_phase(&s), "Succeeded");
        CHECK_EQ_INT(s.max_running, 2);
        sim_free(&s);

        /* A step the namespace has no room for waits; one that never fits fails. */
        const char *yaml = HEAD "spec:\n  entrypoint: e\n  templates:\n"
                                "  - {name: e, container: {image: x, command: [echo, x], resources: {limits: {memory: 1Gi}}}}\n";
        s = sim(yaml);
        s.admit = 0;
        run(&s);
        CHECK_STREQ(phase_of(&s, "w"), "Pending");
        CHECK_STREQ(json_string_value(json_object_get(node(&s, "w"), "message")), "waiting for quota");
        s.admit = 1;
        run(&s);
        CHECK_STREQ(wf_phase(&s), "Succeeded");
        sim_free(&s);
        s = sim(yaml);
        s.admit = -E2BIG;
        run(&s);
        CHECK_STREQ(wf_phase(&s), "Failed");
        CHECK_STREQ(json_string_value(json_object_get(node(&s, "w"), "message")), "never fits");
        sim_free(&s);
}

#define HEAD_CACHED                                                                                   \
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\n"                                            \
        "metadata: {name: w, namespace: ns, labels: {pipelines.kubeflow.org/cache_enabled: 'true'}}\n"

static void test_cache(void) {
        const char *yaml = HEAD_CACHED "spec:\n  entrypoint: e\n  templates:\n"
                                       "  - {name: e, container: {image: x, command: [echo, hi]}}\n";
        Sim s = sim(yaml);
        run(&s);
        char key[80];
        snprintf(key, sizeof key, "%s", json_string_value(json_object_get(node(&s, "w"), "sdflowCacheKey")) ?: "");
        CHECK_EQ_INT(strlen(key), 64);
        json_t *cache = json_object();
        json_object_set(cache, key, json_object_get(node(&s, "w"), "outputs"));
        sim_free(&s);
        /* The same step again: taken from the cache, never started. */
        s = sim(yaml);
        json_decref(s.cache);
        s.cache = cache;
        run(&s);
        CHECK_STREQ(wf_phase(&s), "Succeeded");
        CHECK_EQ_INT(json_array_size(s.order), 0);
        CHECK_STREQ(json_string_value(json_object_get(node(&s, "w"), "sdflowCachedFrom")), "earlier");
        sim_free(&s);
        /* Another argument is another key. */
        s = sim(HEAD_CACHED "spec:\n  entrypoint: e\n  templates:\n  - {name: e, container: {image: x, command: [echo, ho]}}\n");
        run(&s);
        CHECK(strcmp(json_string_value(json_object_get(node(&s, "w"), "sdflowCacheKey")), key) != 0);
        sim_free(&s);
        /* Without KFP's label, as in Argo, nothing is cached: the step runs. */
        s = sim(HEAD "spec:\n  entrypoint: e\n  templates:\n  - {name: e, container: {image: x, command: [echo, hi]}}\n");
        json_decref(s.cache);
        s.cache = json_pack("{s:{s:s}}", key, "result", "from the cache");
        run(&s);
        CHECK_EQ_INT(json_array_size(s.order), 1);
        CHECK(!json_object_get(node(&s, "w"), "sdflowCacheKey"));
        CHECK_STREQ(json_string_value(json_object_get(json_object_get(node(&s, "w"), "outputs"), "result")), "hi");
        sim_free(&s);
        /* A template says false against the workflow's true. */
        s = sim(HEAD_CACHED "spec:\n  entrypoint: e\n  templates:\n  - {name: e, metadata: {labels: "
                            "{pipelines.kubeflow.org/cache_enabled: 'false'}}, container: {image: x, command: [echo, hi]}}\n");
        json_decref(s.cache);
        s.cache = json_pack("{s:{s:s}}", key, "result", "from the cache");
        run(&s);
        CHECK_EQ_INT(json_array_size(s.order), 1);
        sim_free(&s);
}

static void test_inputs_and_outputs(void) {
        /* A missing input fails that node with the reason. */
        Sim s = sim(HEAD "spec:\n  entrypoint: d\n  templates:\n"
                         "  - {name: e, inputs: {parameters: [{name: x}]}, container: {image: x, command: [echo, '{{inputs.parameters.x}}']}}\n"
                         "  - {name: v, inputs: {parameters: [{name: c, enum: [red, blue]}]}, container: {image: x, command: [echo, x]}}\n"
                         "  - name: d\n    dag:\n      failFast: false\n      tasks:\n"
                         "      - {name: A, template: e}\n"
                         "      - {name: B, template: v, arguments: {parameters: [{name: c, value: green}]}}\n");
        run(&s);
        CHECK_STREQ(phase_of(&s, "A"), "Error");
        CHECK(strstr(json_string_value(json_object_get(node(&s, "A"), "message")), "inputs.parameters.x was not supplied") != NULL);
        CHECK(strstr(json_string_value(json_object_get(node(&s, "B"), "message")), "not one of its enum values") != NULL);
        sim_free(&s);

        /* An output parameter goes to the next task; a DAG exports one. */
        s = sim(HEAD "spec:\n  entrypoint: d\n  templates:\n"
                     "  - {name: p, container: {image: x, command: [param, answer, '42']}, outputs: {parameters: [{name: answer, valueFrom: {path: /tmp/a}}]}}\n"
                     "  - {name: e, inputs: {parameters: [{name: x}]}, container: {image: x, command: [echo, 'got {{inputs.parameters.x}}']}}\n"
                     "  - name: d\n    outputs: {parameters: [{name: out, valueFrom: {parameter: '{{tasks.B.outputs.result}}'}}]}\n"
                     "    dag:\n      tasks:\n"
                     "      - {name: A, template: p}\n"
                     "      - {name: B, template: e, dependencies: [A], arguments: {parameters: [{name: x, value: '{{tasks.A.outputs.parameters.answer}}'}]}}\n");
        run(&s);
        CHECK_STREQ(wf_phase(&s), "Succeeded");
        json_t *out = json_array_get(json_object_get(json_object_get(node(&s, "w"), "outputs"), "parameters"), 0);
        CHECK_STREQ(json_string_value(json_object_get(out, "value")), "got 42");
        sim_free(&s);

        /* A steps template passes its input artifact on whole
         * (from: "{{inputs.artifacts.x}}"), as Argo's nested-workflow
         * example does; a pod gets its path only. */
        s = sim(HEAD "spec:\n  entrypoint: main\n  templates:\n"
                     "  - {name: gen, container: {image: x, command: [artifact, out]}, outputs: {artifacts: [{name: out, path: /tmp/o}]}}\n"
                     "  - {name: use, inputs: {artifacts: [{name: in, path: /tmp/in}]}, container: {image: x, command: [cat-input, /tmp/in]}}\n"
                     "  - name: nested\n    inputs: {artifacts: [{name: nin}]}\n    steps:\n"
                     "    - [{name: consume, template: use, arguments: {artifacts: [{name: in, from: '{{inputs.artifacts.nin}}'}]}}]\n"
                     "  - name: main\n    steps:\n"
                     "    - [{name: g, template: gen}]\n"
                     "    - [{name: n, template: nested, arguments: {artifacts: [{name: nin, from: '{{steps.g.outputs.artifacts.out}}'}]}}]\n");
        run(&s);
        CHECK_STREQ(wf_phase(&s), "Succeeded");
        const char *res = json_string_value(json_object_get(json_object_get(node(&s, "consume"), "outputs"), "result"));
        const char *made = json_string_value(
                json_object_get(json_array_get(json_object_get(json_object_get(node(&s, "g"), "outputs"), "artifacts"), 0),
                                "hostPath"));
        CHECK(res && made && strcmp(res, made) == 0);
        sim_free(&s);

        /* {{workflow.scheduledTime}}: a CronWorkflow's run says when it was
         * due; another Workflow gets its creation time. */
        s = sim("apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: w, namespace: ns, "
                "creationTimestamp: '2026-12-03T03:00:07Z', annotations: "
                "{workflows.argoproj.io/scheduled-time: '2026-12-03T03:00:00Z'}}\n"
                "spec:\n  entrypoint: e\n  templates:\n"
                "  - {name: e, container: {image: x, command: [echo, 'due {{workflow.scheduledTime}}']}}\n");
        run(&s);
        CHECK_STREQ(json_string_value(json_object_get(json_object_get(node(&s, "w"), "outputs"), "result")) ?: "",
                    "due 2026-12-03T03:00:00Z");
        sim_free(&s);
        s = sim("apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: w, namespace: ns, "
                "creationTimestamp: '2026-12-03T04:05:06Z'}\n"
                     "spec:\n  entrypoint: e\n  templates:\n"
                     "  - {name: e, container: {image: x, command: [echo, 'due {{workflow.scheduledTime}}']}}\n");
        run(&s);
        CHECK_STREQ(json_string_value(json_object_get(json_object_get(node(&s, "w"), "outputs"), "result")) ?: "",
                    "due 2026-12-03T04:05:06Z");
        sim_free(&s);
}

static void test_target_suspend_deadline(void) {
        Sim s = sim(HEAD "spec:\n  entrypoint: d\n  templates:\n"
                         "  - {name: e, container: {image: x, command: [echo, x]}}\n"
                         "  - name: d\n    dag:\n      target: B\n      tasks:\n"
                         "      - {name: A, template: e}\n      - {name: B, template: e, depends: A}\n"
                         "      - {name: C, template: e}\n");
        run(&s);
        CHECK_STREQ(wf_phase(&s), "Succeeded");
        CHECK(node(&s, "C") == NULL && node(&s, "B") != NULL);
        sim_free(&s);

        /* A suspend with a duration ends by itself; the clock is asked to wake for it. */
        s = sim(HEAD "spec:\n  entrypoint: s\n  templates:\n"
                     "  - {name: wait, suspend: {duration: 1m}}\n"
                     "  - {name: e, container: {image: x, command: [echo, x]}}\n"
                     "  - name: s\n    steps:\n    - - {name: wait, template: wait}\n    - - {name: after, template: e}\n");
        uint64_t t0 = s.now;
        run(&s);
        CHECK_STREQ(wf_phase(&s), "Succeeded");
        CHECK(s.now - t0 >= 60);
        sim_free(&s);

        /* activeDeadlineSeconds: the workflow stops and fails, saying why. */
        s = sim(HEAD "spec:\n  entrypoint: s\n  activeDeadlineSeconds: 30\n  templates:\n"
                     "  - {name: wait, suspend: {}}\n"
                     "  - name: s\n    steps:\n    - - {name: wait, template: wait}\n");
        run(&s);
        CHECK_STREQ(wf_phase(&s), "Failed");
        CHECK_STREQ(json_string_value(json_object_get(json_object_get(s.wf, "status"), "message")),
                    "Max duration limit exceeded");
        sim_free(&s);
}

/* Argo's coinflip-recursive: a steps template that calls itself until heads. */
#define COINFLIP_STEPS                                                                                  \
        "  - name: coinflip\n    steps:\n"                                                               \
        "    - - {name: flip-coin, template: flip-coin}\n"                                                \
        "    - - {name: heads, template: heads, when: '{{steps.flip-coin.outputs.result}} == heads'}\n"   \
        "      - {name: tails, template: coinflip, when: '{{steps.flip-coin.outputs.result}} == tails'}\n" \
        "  - {name: flip-coin, script: {image: x, command: [coin], source: 'print(1)'}}\n"                \
        "  - {name: heads, container: {image: x, command: [echo, it was heads]}}\n"

static void test_recursion(void) {
        /* Argo's coinflip-recursive: tails N times, then heads. */
        for (int tails = 0; tails < 6; tails++) {
                Sim s = sim(HEAD "spec:\n  entrypoint: coinflip\n  templates:\n" COINFLIP_STEPS);
                s.tails = tails;
                run(&s);
                CHECK_STREQ(wf_phase(&s), "Succeeded");
                CHECK_EQ_INT(count_display(&s, "flip-coin", NULL), tails + 1);
                CHECK_EQ_INT(count_display(&s, "heads", "Succeeded"), 1);
                CHECK_EQ_INT(count_display(&s, "tails", "Skipped"), 1);
                sim_free(&s);
        }
        /* Its DAG twin (dag-coinflip): a diamond of recursive coin flips. */
        Sim s = sim(HEAD "spec:\n  entrypoint: diamond\n  templates:\n"
                         "  - name: diamond\n    dag:\n      tasks:\n"
                         "      - {name: A, template: coinflip}\n"
                         "      - {name: B, depends: A, template: coinflip}\n"
                         "      - {name: C, depends: A, template: coinflip}\n"
                         "      - {name: D, depends: B && C, template: coinflip}\n" COINFLIP_STEPS);
        s.tails = 5;
        run(&s);
        CHECK_STREQ(wf_phase(&s), "Succeeded");
        CHECK_EQ_INT(count_display(&s, "flip-coin", NULL), 5 + 4);
        CHECK_EQ_INT(count_display(&s, "heads", "Succeeded"), 4);
        CHECK(position(&s, "heads") >= 0);
        sim_free(&s);
        /* A coin that always lands tails: the recursion ends at Argo's depth
         * limit with an Error that names it, and the pass returns. */
        s = sim(HEAD "spec:\n  entrypoint: coinflip\n  templates:\n" COINFLIP_STEPS);
        s.tails = 1000000;
        run(&s);
        CHECK_STREQ(wf_phase(&s), "Failed");
        CHECK(count_display(&s, "flip-coin", NULL) <= WF_MAX_DEPTH);
        CHECK(strstr(message_of(&s), "Maximum recursion depth exceeded") != NULL);
        CHECK(deepest_error(&s, "Maximum recursion depth exceeded"));
        sim_free(&s);
}

/* A loop's when is evaluated for each item (Argo's parameter-aggregation);
 * {{steps.X.exitCode}} is the step's exit code. */
static void test_loop_when_exitcode(void) {
        Sim s = sim(HEAD "spec:\n  entrypoint: s\n  templates:\n"
                         "  - {name: say, inputs: {parameters: [{name: n}]}, container: {image: x, command: [echo, '{{inputs.parameters.n}}']}}\n"
                         "  - {name: bad, container: {image: x, command: [exit, '3']}}\n"
                         "  - name: s\n    steps:\n"
                         "    - - {name: odd, template: say, withItems: [1, 2, 3, 4, 5], when: '{{item}} != 2 && {{item}} != 4',\n"
                         "         arguments: {parameters: [{name: n, value: '{{item}}'}]}}\n"
                         "    - - {name: b, template: bad, continueOn: {failed: true}}\n"
                         "    - - {name: code, template: say, arguments: {parameters: [{name: n, value: 'code {{steps.b.exitCode}}'}]}}\n");
        run(&s);
        CHECK_STREQ(wf_phase(&s), "Succeeded");
        CHECK_EQ_INT(json_array_size(s.order), 5); /* 3 items, b, code */
        CHECK_STREQ(phase_of(&s, "odd(1:2)"), "Skipped");
        CHECK_STREQ(phase_of(&s, "odd(2:3)"), "Succeeded");
        CHECK_STREQ(json_string_value(json_object_get(json_object_get(node(&s, "code"), "outputs"), "result")), "code 3");
        sim_free(&s);
}

/* Templates that call themselves with no pod in between: one pass would
 * recurse without end.  Each ends at a limit, with the limit named. */
static void test_runaway(void) {
        static const char *const cases[] = {
                /* steps calling itself at once */
                "  - name: a\n    steps:\n    - - {name: again, template: a}\n",
                /* a DAG calling itself */
                "  - name: a\n    dag:\n      tasks:\n      - {name: again, template: a}\n",
                /* a DAG and a steps template calling each other, behind a when that holds */
                "  - name: a\n    dag:\n      tasks:\n      - {name: b, template: b}\n"
                "  - name: b\n    steps:\n    - - {name: a, template: a, when: '1 == 1'}\n",
        };
        for (size_t k = 0; k < ELEMENTSOF(cases); k++) {
                char *y;
                CHECK(asprintf(&y, HEAD "spec:\n  entrypoint: a\n  templates:\n%s", cases[k]) > 0);
                Sim s = sim(y);
                run(&s);
                CHECK_STREQ(wf_phase(&s), "Failed");
                CHECK(strstr(message_of(&s), "Maximum recursion depth exceeded") != NULL);
                CHECK(deepest_error(&s, "Maximum recursion depth exceeded"));
                CHECK(json_object_size(nodes(&s)) < 1000);
                sim_free(&s);
                free(y);
        }
        /* Growing at every level (a loop of two calling itself; a retried
         * template calling itself, each attempt failing at the depth limit):
         * the node limit ends it, terminated, long before 2^100 nodes. */
        static const char *const growing[] = {
                "  - name: a\n    steps:\n    - - {name: p, template: p}\n"
                "    - - {name: again, template: a, withItems: [1, 2]}\n"
                "  - {name: p, container: {image: x, command: [echo, hi]}}\n",
                "  - name: a\n    retryStrategy: {limit: 2}\n    steps:\n    - - {name: again, template: a}\n",
        };
        for (size_t k = 0; k < ELEMENTSOF(growing); k++) {
                char *y;
                CHECK(asprintf(&y, HEAD "spec:\n  entrypoint: a\n  templates:\n%s", growing[k]) > 0);
                Sim s = sim(y);
                run(&s);
                CHECK_STREQ(wf_phase(&s), "Failed");
                CHECK(json_object_size(nodes(&s)) <= WF_MAX_NODES + 2 * WF_MAX_DEPTH);
                CHECK(strstr(message_of(&s), "limit of 10000 nodes") != NULL);
                sim_free(&s);
                free(y);
        }
        /* A parameter of 1 MB as an argument: the step is an Error naming the limit, nothing starts. */
        {
                char *big = malloc(1 << 20), *y;
                memset(big, 'p', (1 << 20) - 1);
                big[(1 << 20) - 1] = '\0';
                CHECK(asprintf(&y, HEAD "spec:\n  entrypoint: e\n  arguments: {parameters: [{name: p, value: '%s'}]}\n"
                                   "  templates:\n  - {name: e, container: {image: x, command: [echo, '{{workflow.parameters.p}}']}}\n",
                               big) > 0);
                Sim s3 = sim(y);
                run(&s3);
                CHECK(phase_failed(wf_phase(&s3)));
                CHECK_EQ_INT(json_array_size(s3.order), 0);
                CHECK(deepest_error(&s3, "container.command[1]: 1048575 bytes, more than the 131071"));
                sim_free(&s3);
                free(y);
                free(big);
        }
        /* Loops past the item limit are refused with it. */
        static const char *const loops[] = { "withSequence: {count: '100000'}", "withParam: '{{workflow.parameters.l}}'" };
        for (size_t k = 0; k < ELEMENTSOF(loops); k++) {
                json_t *list = json_array();
                for (int i = 0; i < 100000; i++)
                        json_array_append_new(list, json_integer(i));
                char *l = json_dumps(list, JSON_COMPACT), *y;
                json_decref(list);
                CHECK(asprintf(&y, HEAD "spec:\n  entrypoint: a\n  arguments: {parameters: [{name: l, value: '%s'}]}\n"
                                   "  templates:\n  - name: a\n    steps:\n    - - {name: p, template: p, %s}\n"
                                   "  - {name: p, container: {image: x, command: [echo, hi]}}\n", l, loops[k]) > 0);
                Sim s2 = sim(y);
                run(&s2);
                CHECK(phase_failed(wf_phase(&s2)));
                CHECK_EQ_INT(json_array_size(s2.order), 0);
                CHECK(deepest_error(&s2, "100000 items (at most 10000)"));
                sim_free(&s2);
                free(y);
                free(l);
        }
}

int main(void) {
        test_diamond();
        test_failure();
        test_loops();
        test_steps_when();
        test_retries();
        test_exit_handler();
        test_parallelism_and_quota();
        test_cache();
        test_inputs_and_outputs();
        test_target_suspend_deadline();
        test_recursion();
        test_runaway();
        test_loop_when_exitcode();
        printf("test-wf-operate: %d checks, %d failed\n", test_checks, test_failures);
        return test_failures ? 1 : 0;
}
