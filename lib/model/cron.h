/* cron.h: cron schedules as systemd calendar events.
 *
 * Argo's CronWorkflow (and Kubernetes' CronJob) take a cron schedule: five
 * fields (minute, hour, day of month, month, day of week) with lists (a,b),
 * ranges (a-b), steps (x/n), names (JAN-DEC, SUN-SAT; 7 is Sunday too), or
 * a macro (@yearly, @annually, @monthly, @weekly, @daily, @midnight,
 * @hourly).  sdflow runs it as a transient timer with OnCalendar= lines.
 *
 * Each field is expanded to the exact set it names and written out as a
 * list (runs of consecutive values as a..b), so nothing depends on how the
 * two syntaxes read steps.  Cron's one twist: when both the day of month and
 * the day of week are restricted (neither starts with '*'), a day matching
 * either runs the job; systemd matches both, so that schedule becomes two
 * calendar events.  A time zone (an IANA name) is appended to each.
 *
 * No I/O. */
#pragma once

#include <stddef.h>

#define CRON_MAX_EVENTS 2
#define CRON_EVENT_MAX 1024

/* Translates schedule (and timezone, NULL or "" for the system's) to
 * OnCalendar= expressions in out; returns how many (1 or 2), or -EINVAL
 * with a message in err that names the field and the problem. */
int cron_to_oncalendar(const char *schedule, const char *timezone, char out[CRON_MAX_EVENTS][CRON_EVENT_MAX],
                       char *err, size_t errsz);
