/* phase.h: Argo's phases, of a Workflow and of its nodes, and Katib's
 * terminal Experiment conditions: one table for the engine, the cron and
 * tuning controllers and the CLI. */
#pragma once

#include <stdbool.h>
#include <jansson.h>

/* A Workflow that has ended: Succeeded, Failed or Error. */
bool phase_workflow_done(const char *phase);
/* A node that has ended: those, and Skipped or Omitted. */
bool phase_node_done(const char *phase);
/* Failed or Error. */
bool phase_failed(const char *phase);
/* An Experiment that has ended: its condition Succeeded or Failed is True
 * (the last True condition decides). */
bool phase_experiment_done(json_t *status);
