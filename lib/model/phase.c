/* phase.c: Argo's and Katib's terminal phases; see phase.h. */
#include <string.h>

#include "jsonutil.h"
#include "phase.h"

static bool in(const char *p, const char *const *set) {
        for (; p && *set; set++)
                if (strcmp(p, *set) == 0)
                        return true;
        return false;
}

bool phase_workflow_done(const char *phase) {
        return in(phase, (const char *const[]) { "Succeeded", "Failed", "Error", NULL });
}

bool phase_node_done(const char *phase) {
        return in(phase, (const char *const[]) { "Succeeded", "Failed", "Error", "Skipped", "Omitted", NULL });
}

bool phase_failed(const char *phase) {
        return in(phase, (const char *const[]) { "Failed", "Error", NULL });
}

bool phase_experiment_done(json_t *status) {
        const char *cur = NULL;
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(status, "conditions"), i, c)
                if (strcmp(json_str(c, "status") ?: "", "True") == 0)
                        cur = json_str(c, "type");
        return in(cur, (const char *const[]) { "Succeeded", "Failed", NULL });
}
