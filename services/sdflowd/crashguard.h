/* crashguard.h: which object sdflowd was working on when it died, so that
 * one object cannot take the daemon down for everyone.
 *
 * Before sdflowd applies, reconciles, advances or deletes an object, it
 * records the object in a small file under /run (pwrite, no fsync: the
 * record must outlive the process, not the host); after, it clears it.
 * The next start reads what was left there.  The store counts such deaths
 * per object (store_crash_record()); an object on which sdflowd died twice
 * is quarantined: its controller marks it failed, saying so, and nothing
 * processes it again until it is changed, retried or deleted.
 *
 * The same file counts the starts that followed an unclean stop, so that a
 * crash loop slows down (crashguard_backoff_usec()) without systemd's start
 * limit ever giving up on the API socket.
 *
 * Process-wide: sdflowd has one loop and one guard. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "manifest.h"

#define CRASHGUARD_PATH "/run/sdflow/control/sdflowd.processing"
#define CRASHGUARD_DEATHS 2 /* deaths on one object that quarantine it */

typedef enum GuardStage {
        GUARD_APPLY,     /* a request changes it */
        GUARD_RECONCILE, /* sdflowd starts and picks it up */
        GUARD_ADVANCE,   /* its controller moves it on (a pass, a step's end, a trial) */
        GUARD_DELETE,
        _GUARD_STAGE_MAX,
} GuardStage;

/* What a dead process was working on. */
typedef struct GuardRecord {
        char kind[64];  /* group/Kind, as the store names kinds */
        char ns[256];   /* "" for cluster-scoped kinds */
        char name[256];
        char uid[64];   /* "" when the object had none yet (a create) */
        GuardStage stage;
} GuardRecord;

/* Opens the guard file (creating it, mode 0600).  *left gets the object
 * the previous process died on and returns true in *had; *unclean_starts
 * the number of starts in a row that followed an unclean stop, this one
 * included (0 after a clean stop).  debug_faults turns on the fault switch
 * below.  Returns 0 or a negative errno; without the file nothing is
 * guarded and sdflowd runs on. */
int crashguard_open(const char *path, bool debug_faults, GuardRecord *left, bool *had, unsigned *unclean_starts);

/* A clean stop: the next start is not counted as one after a crash. */
void crashguard_close(void);

/* The process ran long enough to call it healthy: unclean starts back to 0. */
void crashguard_healthy(void);

/* How long a start waits before it serves, after n unclean starts in a
 * row: 0 for the first, then 250 ms doubling to 8 s. */
uint64_t crashguard_backoff_usec(unsigned n);

/* Records that the loop now works on obj (of kind k) at stage; nests up to
 * a few levels (the innermost is blamed).  With the fault switch on and
 * obj annotated sdflow.io/debug-fault: <stage names, comma-separated>,
 * the process crashes here (SIGSEGV): how the tests make a poison object.
 * Returns a token for crashguard_leave(). */
unsigned crashguard_enter(const Kind *k, json_t *obj, GuardStage stage);
/* The same by names, for objects not at hand (uid may be NULL). */
unsigned crashguard_enter_names(const Kind *k, const char *ns, const char *name, const char *uid, GuardStage stage);
/* Ends the work that enter returned token for (and anything nested in it). */
void crashguard_leave(unsigned token);
static inline void crashguard_leavep(unsigned *token) {
        crashguard_leave(*token);
}
#define _cleanup_guard_ __attribute__((cleanup(crashguard_leavep)))

const char *crashguard_stage_name(GuardStage s);

/* The message of a quarantined object's condition, and its reason. */
#define CRASHGUARD_MESSAGE                                                                     \
        "sdflowd stopped twice while processing this object; it is no longer processed: "  \
        "delete it, change it, or retry it (sdflow retry KIND/NAME)"
#define CRASHGUARD_REASON "ControlPlaneCrashed"

/* The quarantine, process-wide, by uid: filled at start from the store
 * (objects with CRASHGUARD_DEATHS deaths), emptied for an object that is
 * changed, retried or deleted (crashguard_release() returns true when it
 * was quarantined). */
void crashguard_quarantine(const char *uid);
bool crashguard_release(const char *uid);
bool crashguard_is_quarantined(json_t *obj);

/* The kind a record names ("group/Kind"), or NULL. */
const Kind *crashguard_kind(const char *key);

/* A quarantined object's status: a new object made from status (which may
 * be NULL), saying so as its kind shows failure (a Workflow's phase Error,
 * an Experiment's Failed condition, the others' Ready False), with the
 * reason CRASHGUARD_REASON; crashguard_unmark() undoes that for a retry. */
json_t *crashguard_mark(const Kind *k, json_t *status, const char *now);
json_t *crashguard_unmark(const Kind *k, json_t *status);
