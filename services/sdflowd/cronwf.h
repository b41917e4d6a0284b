/* cronwf.h: Argo CronWorkflows as transient systemd timers.
 *
 * A CronWorkflow becomes sdflow-cron_<ns>_<name>.timer with one
 * OnCalendar= line per cron schedule (lib/model/cron.c translates them, time
 * zone included) and a oneshot service that asks the API to run it
 * (`sdflow trigger`), so a run happens exactly as a manual trigger does:
 * the API applies concurrencyPolicy, creates the Workflow and trims the
 * history.  A suspended CronWorkflow has no timer.  Timers are transient:
 * sdflowd arms them again when it starts (after a reboot). */
#pragma once

#include <jansson.h>

#include "namespaces.h"

/* Starts (or replaces) the timer of cwf, or stops it when spec.suspend is
 * true.  Returns 0 or a negative errno with a message in err; *calendars
 * (if not NULL) gets the OnCalendar= lines as a new JSON array. */
int cronwf_arm(Namespaces *n, json_t *cwf, json_t **calendars, char *err, size_t errsz);

/* Stops the timer of CronWorkflow ns/name. */
int cronwf_disarm(Namespaces *n, const char *ns, const char *name, char *err, size_t errsz);

/* The same without waiting for it (what goes wrong is logged). */
void cronwf_disarm_async(Namespaces *n, const char *ns, const char *name);

/* The Workflow a run of cwf creates, named name (new reference). */
json_t *cronwf_workflow(json_t *cwf, const char *name);
