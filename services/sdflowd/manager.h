/* manager.h: what sdflowd asks of systemd over D-Bus (org.freedesktop.systemd1). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

/* Resource limits of a slice; UINT64_MAX means no limit. */
typedef struct SliceLimits {
        uint64_t cpu_quota_per_sec_usec; /* CPUQuotaPerSecUSec= (1 s = one CPU) */
        uint64_t memory_max;             /* MemoryMax= bytes */
        uint64_t tasks_max;              /* TasksMax= */
} SliceLimits;

#define SLICE_LIMITS_NONE ((SliceLimits) { UINT64_MAX, UINT64_MAX, UINT64_MAX })

/* Starts slice (a transient unit) with limits, or sets the limits of the
 * running slice (SetUnitProperties, runtime).  Errors: a negative errno with
 * the bus error's message in err. */
int manager_ensure_slice(sd_bus *bus, const char *slice, const char *description, const SliceLimits *l, char *err,
                         size_t errsz);

/* Stops unit (and, for a slice, everything in it) and waits for the job. */
int manager_stop_unit(sd_bus *bus, const char *unit, char *err, size_t errsz);

/* Runs argv as a oneshot transient service (as root, collected afterwards)
 * and waits up to timeout_usec for it to finish.  Returns 0 when it exited
 * with 0, -EPROTO when it failed (see the journal of the unit, named in
 * err), or another negative errno. */
int manager_run(sd_bus *bus, const char *unit_prefix, char *const *argv, uint64_t timeout_usec, char *err,
                size_t errsz);

/* A model replica: socket unit base.socket listening on socket_path (mode
 * 0666 inside a directory that limits who reaches it), and its service
 * base.service running argv as user in slice, sandboxed, with the limits.
 * Both are transient; the service starts on the first connection (or now,
 * when start_now).  Returns 0 or a negative errno with a message in err. */
typedef struct ReplicaSpec {
        const char *base;        /* unit name without suffix */
        const char *socket_path;
        const char *slice;
        const char *user;
        const char *read_only;   /* the model directory */
        char *const *argv;
        uint64_t cpu_quota_per_sec_usec; /* UINT64_MAX: none */
        uint64_t memory_max;             /* UINT64_MAX: none */
        const char *description;
        bool self_confined; /* installs its own seccomp filter: no SystemCallFilter= */
        char *const *env;   /* NAME=VALUE..., NULL-terminated, or NULL */
        /* A custom server (predictor.containers[]): argv is then
         * sdflow-forward, and the server runs as base-server.service in the
         * same network namespace, on the host's root or these. */
        char *const *server_argv;
        const char *root_directory, *root_image, *working_directory;
} ReplicaSpec;

int manager_start_replica(sd_bus *bus, const ReplicaSpec *spec, char *err, size_t errsz);

/* 1 when unit runs (active, activating, reloading or deactivating), 0 when
 * not, or a negative errno. */
int manager_unit_active(sd_bus *bus, const char *unit);
