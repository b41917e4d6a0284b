/* controllers.h: the controllers of the kinds sdflowd runs (ctl-*.c), for
 * the table in sdflowd.c, and what one controller offers another. */
#pragma once

#include "controller.h"
#include "workflow.h"

extern const ControllerType ctl_profile;
extern const ControllerType ctl_isvc;
extern const ControllerType ctl_workflow;
extern const ControllerType ctl_cronworkflow;
extern const ControllerType ctl_experiment;

/* The pipeline engine that runs workflows, NULL when systemd cannot be
 * reached (the workflow controller's, for CronWorkflows and Experiments). */
Engine *ctl_workflow_engine(Objects *o);

/* Every image the templates of a workflow spec name must be in the image
 * map; errors at base.templates[i].{container,script}.image. */
void ctl_workflow_check_images(Objects *o, json_t *spec, const char *base, Diags *d);

/* Deletes a workflow as a user's delete does (its steps stop, its artifacts go). */
void ctl_workflow_delete(Objects *o, const char *ns, const char *name, const char *by);
