/* policy.h: what sdflow-privd lets sdflowd ask of systemd.
 *
 * sdflowd (user sdflowd, no capabilities) parses what local users send; the
 * calls that change units go through sdflow-privd, the one process of sdflow
 * that keeps uid 0.  Each call is read here whole, field by field, and is
 * either refused (err says which unit and property, and why) or rebuilt
 * from what was read into the call to systemd: nothing is passed on that
 * was not checked.
 *
 * Accepted, and only in these shapes (sdflow-privd(8)):
 *  - a namespace's slice, sdflow-NS.slice, with its limits;
 *  - a workload service (sdflowwf_*, sdflow_*, sdflow-cron_*) that runs as
 *    that namespace's user, in that namespace's slice, with the mandatory
 *    sandbox (NoNewPrivileges=, no capabilities, ProtectSystem=strict,
 *    ProtectHome=, PrivateTmp=, PrivateDevices=, PrivateNetwork=), a root
 *    directory, disk image and binds only from the image map, written paths
 *    only in the namespace's directory;
 *  - a replica's socket in the namespace's socket directory, a CronWorkflow's
 *    timer;
 *  - the namespace helper (sdflow-ns, the only unit that runs as root) with
 *    one of its verbs, checked names, and a model read as a user who is not
 *    root nor one of sdflow's own;
 *  - StopUnit and ResetFailedUnit of those units, SetUnitProperties of a
 *    namespace's slice's limits.
 * An Environment= becomes an EnvironmentFile= that privd writes (root's,
 * 0600), so that values are not in the unit's properties. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-bus.h>

typedef struct PrivPolicy {
        const char *helper;    /* the namespace helper: /usr/lib/sdflow/sdflow-ns */
        const char *image_map; /* where roots and binds must come from */
        const char *env_dir;   /* where environment files go (root's, 0700) */
} PrivPolicy;

/* Checks the StartTransientUnit call m (ssa(sv)a(sa(sv))) and builds the one
 * to send to systemd on bus out_bus into *ret.  Returns 0, or a negative
 * errno with err saying what was refused. */
int policy_start_transient(const PrivPolicy *p, sd_bus_message *m, sd_bus *out_bus, sd_bus_message **ret, char *err,
                           size_t errsz);

/* Checks SetUnitProperties (sba(sv)): only a namespace's slice's limits. */
int policy_set_properties(const PrivPolicy *p, sd_bus_message *m, sd_bus *out_bus, sd_bus_message **ret, char *err,
                          size_t errsz);

/* Whether unit is one sdflowd may stop or reset: one of the shapes above.
 * Returns 0 or -EPERM (err says why). */
int policy_unit_name(const char *unit, char *err, size_t errsz);

/* The environment file privd writes for unit (env_dir/UNIT.env). */
int policy_env_path(const PrivPolicy *p, const char *unit, char *buf, size_t size);
