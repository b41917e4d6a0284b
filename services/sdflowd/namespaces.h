/* namespaces.h: a Profile becomes a namespace: a systemd slice with the
 * quota's limits (sdflow-<ns>.slice under sdflow.slice), a system user for
 * its workloads (with a group of its own) and two directories,
 * /var/lib/sdflow/ns/<ns> and /run/sdflow/ns/<ns> (its model sockets):
 * root's, entered by the namespace's group and, by ACL, by the owner and
 * the contributors only (the gateway too, for the sockets). */
#pragma once

#include <jansson.h>
#include <systemd/sd-bus.h>

#include "manager.h"

typedef struct Namespaces {
        sd_bus *bus;        /* NULL when systemd is not reachable */
        const char *helper;    /* the privileged helper, run as a transient unit */
        const char *image_map; /* container images to roots (imagemap.h) */
        /* A pipeline's output artifact, artifact://WORKFLOW/STEP/NAME, as a
         * host path (the pipeline engine's; NULL without one). */
        int (*artifact_path)(void *userdata, const char *ns, const char *uri, char *path, size_t size, char *msg,
                             size_t msg_size);
        void *artifact_userdata;
        /* A replica's socket (serving.c starts them on the loop) is asked
         * for (r 1, replica 0 only), listens (0) or did not start (< 0, err
         * systemd's reason): the InferenceService controller's, which
         * checks a revision once its first replica listens (NULL: logged). */
        void (*replica_event)(void *userdata, const char *ns, const char *name, const char *rev, unsigned index,
                              int r, const char *err);
        void *replica_userdata;
        uint64_t max_model_bytes;   /* MaxModelBytes=: one model copy */
        uint64_t copy_timeout_usec; /* ModelCopyTimeoutSec=: a model copy's time */
        const char *default_cpu;    /* PredictorDefaultCPU=: a quantity, or NULL */
        const char *default_memory; /* PredictorDefaultMemory= */
} Namespaces;

/* The slice limits a Profile's spec.resourceQuotaSpec.hard asks for. */
SliceLimits ns_profile_limits(json_t *profile, uint64_t *gpus);

/* Creates or updates the namespace of profile, open to its owner and the
 * users of the JSON array contributors (may be NULL), on the loop: the
 * helper that makes the user and directories runs as a unit whose end
 * the loop waits for, then the slice.  Returns NULL, and done follows with
 * the new status (phase Ready, or Failed with a message; borrowed); or,
 * when it could not begin, that status (new) at once and done is not
 * called. */
typedef void (*NsApplied)(json_t *status, void *userdata);
json_t *ns_apply(Namespaces *n, json_t *profile, json_t *contributors, NsApplied done, void *userdata);

/* As ns_apply(), at start: the user and directory are made again (the
 * helper, on the loop) only when they are missing (after a reboot: /run)
 * or the Profile was not Ready; else only the slice is started again and
 * the status returned at once. */
json_t *ns_restore(Namespaces *n, json_t *profile, json_t *contributors, NsApplied done, void *userdata);

/* Lets exactly the owner and contributors into the namespace's directories
 * (a contributor removed is out at once), on the loop: returns 0 and done
 * follows when the helper has ended, or a negative errno with a message in
 * err (done is not called). */
int ns_set_access(Namespaces *n, json_t *profile, json_t *contributors, HelperDone done, void *userdata, char *err,
                  size_t errsz);

/* Stops every workload of namespace ns and removes its slice, user and
 * files, on the event loop: returns 0 at once (or a negative errno with a
 * message in err), and calls done from the loop when it is over, with 0 or
 * a negative errno and a message. */
typedef void (*NsDeleted)(int r, const char *err, void *userdata);
int ns_delete(Namespaces *n, const char *ns, NsDeleted done, void *userdata, char *err, size_t errsz);
