/* fuzz-wf-operate.c: the pipeline engine's logic on any Workflow that
 * passes the API's checks.  Steps "exit" with codes taken from the input;
 * the run must end within a bounded number of passes, and a node that is
 * done must never change phase again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kinds.h"
#include "manifest.h"
#include "phase.h"
#include "wf-operate.h"

static int admit(void *ud, const char *ns, uint64_t cpu, uint64_t mem, char *msg, size_t size) {
        (void) ud;
        (void) ns;
        snprintf(msg, size, "quota");
        return (cpu + mem) % 3 == 0 ? -1 : 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        Diags d = {};
        json_t *objs = NULL;
        if (size > 32768)
                return 0;
        if (manifest_parse((const char *) data, size, &objs, &d) < 0 || json_array_size(objs) != 1) {
                diags_clear(&d);
                json_decref(objs);
                return 0;
        }
        json_t *wf = json_array_get(objs, 0);
        const Kind *k = kind_lookup(json_string_value(json_object_get(wf, "apiVersion")),
                                    json_string_value(json_object_get(wf, "kind")));
        if (k != &kind_workflow) {
                diags_clear(&d);
                json_decref(objs);
                return 0;
        }
        WfEnv env = { .admit = admit, .service_account = "fuzz" };
        json_t *done = json_object(); /* node id -> the phase it ended in */
        uint64_t now = 1800000000;
        unsigned seed = 0;
        for (size_t i = 0; i < size; i++)
                seed = seed * 31 + data[i];
        for (int round = 0; round < 2000; round++) {
                json_t *starts = json_array(), *id;
                uint64_t wake = 0;
                size_t i;
                wf_operate(wf, &env, now, starts, &wake);
                json_t *nodes = json_object_get(json_object_get(wf, "status"), "nodes"), *n;
                const char *key;
                json_object_foreach(nodes, key, n) {
                        const char *ph = json_string_value(json_object_get(n, "phase"));
                        json_t *was = json_object_get(done, key);
                        if (was && (!ph || strcmp(json_string_value(was), ph) != 0))
                                abort(); /* a finished node changed */
                        if (phase_node_done(ph) && !was)
                                json_object_set_new(done, key, json_string(ph));
                }
                json_array_foreach(starts, i, id) {
                        n = json_object_get(nodes, json_string_value(id));
                        seed = seed * 1103515245 + 12345;
                        int code = (seed >> 16) % 4 == 0 ? 1 : 0;
                        json_object_set_new(n, "outputs", json_pack("{s:s, s:s, s:[], s:[]}", "result", "[1,2]",
                                                                    "exitCode", code ? "1" : "0", "parameters",
                                                                    "artifacts"));
                        wf_set_phase(n, code ? "Failed" : "Succeeded", code ? "Error (exit code 1)" : NULL, now);
                }
                size_t started = json_array_size(starts);
                json_decref(starts);
                const char *wph = json_string_value(json_object_get(json_object_get(wf, "status"), "phase"));
                if (phase_node_done(wph))
                        break;
                if (started == 0) {
                        if (wake == 0) {
                                /* Nothing runs and nothing will: only a suspend may hold it. */
                                break;
                        }
                        now = wake > now ? wake : now + 1;
                } else
                        now++;
        }
        json_decref(done);
        diags_clear(&d);
        json_decref(objs);
        return 0;
}
