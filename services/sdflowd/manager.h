/* manager.h: what sdflowd asks of systemd over D-Bus (org.freedesktop.systemd1). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

/* sdflow-privd's socket: the calls that change units go there. */
#define MANAGER_PRIV_SOCKET "/run/sdflow/priv.sock"
/* sdflowd's own runtime files (RuntimeDirectory=sdflow/control): the route
 * table, the crash guard, helpers' stderr. */
#define MANAGER_CONTROL_DIR "/run/sdflow/control"

/* The event loop the connection to sdflow-privd is attached to. */
void manager_set_event(sd_event *e);

/* Resource limits of a slice; UINT64_MAX means no limit. */
typedef struct SliceLimits {
        uint64_t cpu_quota_per_sec_usec; /* CPUQuotaPerSecUSec= (1 s = one CPU) */
        uint64_t memory_max;             /* MemoryMax= bytes */
        uint64_t tasks_max;              /* TasksMax= */
} SliceLimits;

#define SLICE_LIMITS_NONE ((SliceLimits) { UINT64_MAX, UINT64_MAX, UINT64_MAX })

/* Starts slice (a transient unit) with limits, or sets the limits of the
 * running slice (SetUnitProperties, runtime), on the loop: done (as
 * manager_stop() has it) follows when its start job has ended or its
 * limits are set.  Returns 0, or a negative errno with the reason in err
 * (done is not called). */
typedef void (*ManagerDone)(int r, const char *err, void *userdata);
int manager_ensure_slice(sd_bus *bus, const char *slice, const char *description, const SliceLimits *l,
                         ManagerDone done, void *userdata, char *err, size_t errsz);

/* Whether a call to sdflow-privd failed because privd went with it in
 * flight (killed, restarted, frozen): it may or may not have reached
 * systemd.  Stops, replica and helper starts are then sent again here. */
bool manager_peer_lost(const sd_bus_error *e);

/* Stops unit on the event loop: returns at once (0, or a negative errno if
 * the stop could not be asked for); when the stop job ends, the unit is
 * reset if it failed, and done (if not NULL) is called from the loop with
 * 0 or a negative errno and a message.  A unit not loaded is stopped. */
int manager_stop(sd_bus *bus, const char *unit, ManagerDone done, void *userdata);

/* Removes what helpers of an earlier sdflowd (killed while waiting for
 * them) left in /run/sdflow: their stderr files. */
void manager_remove_stale_errfiles(void);

/* What a helper run on the event loop came to: 0, or a negative errno with
 * the reason in err (the helper's own words when it gave some). */
typedef ManagerDone HelperDone;

/* Has the system bus deliver every JobRemoved to bus from now on (once, at
 * start, before any job is asked for): the matches each asynchronous call
 * adds for its job then cannot miss a job that ends at once (a timer's
 * stop, a quick helper) while their rule is on its way, as jobs are asked
 * for through privd, on another connection. */
int manager_watch_jobs(sd_bus *bus);

/* Runs argv as a oneshot transient service (as root, collected afterwards;
 * privd allows only sdflow-ns), without waiting: done is called once, from
 * the event loop, when the helper's job has ended (0 when it exited with 0,
 * else -EPROTO with the last line of its stderr) or after timeout_usec (the
 * helper is then stopped).  The helper's unit name goes to unit (may be NULL), to
 * stop it early (manager_stop_async()).  Returns 0, or a negative errno
 * (done is not called). */
int manager_run_async(sd_bus *bus, const char *unit_prefix, char *const *argv, uint64_t timeout_usec,
                      HelperDone done, void *userdata, char *unit, size_t unitsz);


/* A model replica: socket unit base.socket listening on socket_path (mode
 * 0666 inside a directory that limits who reaches it), and its service
 * base.service running argv as user in slice, sandboxed, with the limits.
 * Both are transient; the service starts on the first connection.  Sent
 * without waiting: returns 0 (done, as manager_stop() has it, follows from
 * the loop when the socket's start job has ended: 0 once it listens, else
 * the reason, systemd's own words) or a negative errno with a message in
 * err (done is not called). */
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

int manager_start_replica(sd_bus *bus, const ReplicaSpec *spec, ManagerDone done, void *userdata, char *err,
                          size_t errsz);

/* 1 when unit runs (active, activating, reloading or deactivating), 0 when
 * not, or a negative errno. */
int manager_unit_active(sd_bus *bus, const char *unit);

/* A pipeline step: a transient oneshot service running argv (sdflow-step
 * and the step's command) as user in slice, sandboxed, with write access
 * to rw_path only.  Started without waiting: cb gets StartTransientUnit's
 * reply (an error, or the job), userdata with it.  The unit's end comes as
 * JobRemoved (manager_subscribe); a successful unit is collected at once, a
 * failed one stays loaded until manager_reset_failed(). */
typedef struct StepSpec {
        const char *unit;
        const char *slice;
        const char *user;
        const char *description;
        const char *rw_path;
        const char *working_directory, *root_directory, *root_image; /* or NULL */
        char *const *argv;
        char *const *env;                /* NAME=VALUE..., NULL-terminated, or NULL */
        uint64_t memory_max;             /* UINT64_MAX: none */
        uint64_t cpu_quota_per_sec_usec; /* UINT64_MAX: none */
        uint64_t timeout_usec;           /* UINT64_MAX: none */
        size_t n_binds;                  /* read-only binds SRC -> DST (the image map's) */
        const char *const *bind_src, *const *bind_dst;
} StepSpec;

int manager_start_step(sd_bus *bus, const StepSpec *spec, sd_bus_message_handler_t cb, void *userdata, char *err,
                       size_t errsz);

/* The environment of a unit (a step's, a replica's) is a root-only file,
 * /run/sdflow/env/UNIT.env, that sdflow-privd writes when the unit is
 * started; this has privd remove it when the unit is gone. */
void manager_remove_env_file(const char *unit);

/* Has privd check user's password through PAM (sdflow-login(8)); cb gets
 * its answer, (b ok, s user), or an error.  Returns 0 or a negative errno. */
int manager_authenticate(const char *user, const char *password, const char *rhost, sd_bus_slot **slot,
                         sd_bus_message_handler_t cb, void *userdata);

/* Asks systemd for every JobRemoved signal (Subscribe), also of jobs other
 * connections queued (a step started before sdflowd restarted), and calls
 * cb with each: "uoss" id, job path, unit, result. */
int manager_subscribe(sd_bus *bus, sd_bus_slot **slot, sd_bus_message_handler_t cb, void *userdata);

/* Whether a signal matched on systemd's name really is systemd's: a
 * broadcast, not one another client of the bus sent to sdflowd directly. */
bool manager_signal_from_systemd(sd_bus_message *m);

/* What systemd knows of unit now: its ActiveState ("" when not loaded),
 * Result ("success", "exit-code", "signal", "timeout", "oom-kill", …) and
 * the main process's exit status (or signal).  Returns 0, or -ENOENT when
 * the unit is not loaded, or another negative errno. */
int manager_unit_result(sd_bus *bus, const char *unit, char *state, size_t state_size, char *result,
                        size_t result_size, int *exit_status);

/* Without waiting: clears a failed unit (so it is collected), or stops a unit. */
void manager_reset_failed(sd_bus *bus, const char *unit);
void manager_stop_async(sd_bus *bus, const char *unit);

/* A transient timer base.timer with an OnCalendar= line per calendar
 * (NULL-terminated; Persistent= when persistent) that starts base.service,
 * a oneshot running argv as user (the namespace's) in slice, sandboxed,
 * with only the API socket to talk to.  A timer of that name must be stopped
 * first (manager_stop()).  On the loop: done (as manager_stop() has it)
 * follows when the timer's start job has ended.  Returns 0, or a negative
 * errno with a message in err (done is not called). */
int manager_start_timer(sd_bus *bus, const char *base, char *const *calendars, bool persistent, char *const *argv,
                        const char *user, const char *slice, const char *description, ManagerDone done,
                        void *userdata, char *err, size_t errsz);
