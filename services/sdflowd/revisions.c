/* revisions.c: see revisions.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "revisions.h"

bool revisions_need(json_t *latest, const char *digest, json_int_t *number, bool *append) {
        bool changed = !latest || strcmp(json_string_value(json_object_get(latest, "digest")) ?: "", digest) != 0;
        /* (One whose readiness check or model copy is under way is left to it.) */
        bool retry = !changed && !json_is_true(json_object_get(latest, "ready")) &&
                     !json_object_get(latest, "probing") && !json_object_get(latest, "copying");
        if (!changed && !retry)
                return false;
        *number = !latest ? 1 : json_integer_value(json_object_get(latest, "number")) + (changed ? 1 : 0);
        *append = changed;
        return true;
}

static json_t *find(json_t *revs, const char *name) {
        size_t i;
        json_t *r;
        if (!name || !name[0])
                return NULL;
        json_array_foreach(revs, i, r)
                if (strcmp(json_string_value(json_object_get(r, "name")) ?: "", name) == 0)
                        return r;
        return NULL;
}

int revisions_plan(json_t *revs, json_t *latest, const char *rolled_name, const char *previous_name,
                   json_int_t canary, RevisionPlan *ret) {
        RevisionPlan p = { .traffic = json_array(), .kept = json_array(), .retired = json_array() };
        /* (A revision left out of kept and retired would lose its units.) */
        bool ok = p.traffic && p.kept && p.retired;
        snprintf(p.rolled_name, sizeof p.rolled_name, "%s", rolled_name ?: "");
        snprintf(p.previous_name, sizeof p.previous_name, "%s", previous_name ?: "");

        /* The latest ready revision: the latest if it answered, else the one before. */
        json_t *ready = NULL;
        for (size_t i = json_array_size(revs); i > 0 && !ready; i--)
                if (json_is_true(json_object_get(json_array_get(revs, i - 1), "ready")))
                        ready = json_array_get(revs, i - 1);
        json_t *rolled = find(revs, p.rolled_name);

        if (ready && rolled && ready != rolled && canary < 100) {
                ok = ok && json_array_append_new(p.traffic, json_pack("{s:O, s:I, s:b, s:s}", "revisionName",
                                                                      json_object_get(ready, "name"), "percent",
                                                                      canary, "latestRevision", 1, "tag",
                                                                      "latest")) >= 0;
                ok = ok && json_array_append_new(p.traffic, json_pack("{s:O, s:I, s:b, s:s}", "revisionName",
                                                                      json_object_get(rolled, "name"), "percent",
                                                                      100 - canary, "latestRevision", 0, "tag",
                                                                      "prev")) >= 0;
                /* As KServe reports a canary: the previous revision is the one
                 * with the rest of the traffic. */
                snprintf(p.previous_name, sizeof p.previous_name, "%s", p.rolled_name);
        } else if (ready) {
                if (ready != rolled) {
                        /* Rolled out: the one before becomes the previous revision. */
                        snprintf(p.previous_name, sizeof p.previous_name, "%s", p.rolled_name);
                        snprintf(p.rolled_name, sizeof p.rolled_name, "%s",
                                 json_string_value(json_object_get(ready, "name")) ?: "");
                        rolled = ready;
                }
                ok = ok && json_array_append_new(p.traffic, json_pack("{s:O, s:i, s:b}", "revisionName",
                                                                      json_object_get(ready, "name"), "percent", 100,
                                                                      "latestRevision", ready == latest)) >= 0;
        }

        /* Revisions with neither traffic nor a chance of it are retired; a
         * failed latest keeps its record (for the status). */
        size_t i;
        json_t *r;
        json_array_foreach(revs, i, r)
                ok = ok && json_array_append(r == latest || r == rolled || r == ready ? p.kept : p.retired, r) >= 0;
        p.ready = json_incref(ready);
        p.rolled = json_incref(rolled);
        if (!ok) {
                revisions_plan_clear(&p);
                *ret = p;
                return -ENOMEM;
        }
        *ret = p;
        return 0;
}

void revisions_plan_clear(RevisionPlan *p) {
        json_decref(p->traffic);
        json_decref(p->kept);
        json_decref(p->retired);
        json_decref(p->ready);
        json_decref(p->rolled);
        *p = (RevisionPlan) {};
}
