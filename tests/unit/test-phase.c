/* test-phase.c: Argo's terminal phases and Katib's terminal conditions. */
#include "phase.h"
#include "test.h"
#include "test-yaml.h"

int main(void) {
        CHECK(phase_workflow_done("Succeeded") && phase_workflow_done("Failed") && phase_workflow_done("Error"));
        CHECK(!phase_workflow_done("Running") && !phase_workflow_done("Pending") && !phase_workflow_done(NULL));
        CHECK(!phase_workflow_done("Skipped") && !phase_workflow_done("succeeded"));
        CHECK(phase_node_done("Skipped") && phase_node_done("Omitted") && phase_node_done("Error"));
        CHECK(!phase_node_done("Running") && !phase_node_done(NULL));
        CHECK(phase_failed("Failed") && phase_failed("Error"));
        CHECK(!phase_failed("Succeeded") && !phase_failed("Omitted") && !phase_failed(NULL));

        json_t *st = test_yaml("conditions: [{type: Created, status: 'True'}, {type: Running, status: 'True'}]\n");
        CHECK(!phase_experiment_done(st));
        json_decref(st);
        st = test_yaml("conditions: [{type: Running, status: 'True'}, {type: Succeeded, status: 'True'}]\n");
        CHECK(phase_experiment_done(st));
        json_decref(st);
        st = test_yaml("conditions: [{type: Failed, status: 'True'}, {type: Restarting, status: 'True'}]\n");
        CHECK(!phase_experiment_done(st));
        json_decref(st);
        st = test_yaml("conditions: [{type: Failed, status: 'True'}, {type: Succeeded, status: 'False'}]\n");
        CHECK(phase_experiment_done(st));
        json_decref(st);
        CHECK(!phase_experiment_done(NULL));
        return test_summary("test-phase");
}
