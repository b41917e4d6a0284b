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

#include "manager.h"
#include "namespaces.h"

/* cwf's timer armed: r >= 0, or r < 0 and why; calendars are its
 * OnCalendar= lines (borrowed). */
typedef void (*CronArmed)(int r, const char *err, json_t *calendars, void *userdata);

/* Starts (or replaces) the timer of cwf, or stops it when spec.suspend is
 * true, on the loop: the old timer's stop job ends before the new one
 * starts.  Returns 0, and done follows (never within this call), or a
 * negative errno with why in err (done is not called). */
int cronwf_arm(Namespaces *n, json_t *cwf, CronArmed done, void *userdata, char *err, size_t errsz);

/* Stops the timer of CronWorkflow ns/name on the loop; done as manager_stop(). */
int cronwf_disarm(Namespaces *n, const char *ns, const char *name, ManagerDone done, void *userdata);

/* The same without waiting for it (what goes wrong is logged). */
void cronwf_disarm_async(Namespaces *n, const char *ns, const char *name);

/* The Workflow a run of cwf creates, named name (new reference). */
json_t *cronwf_workflow(json_t *cwf, const char *name);
