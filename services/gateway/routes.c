/* routes.c: the gateway's route table, read from the file sdflowd writes. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "routes.h"

#define RECHECK_USEC (1000 * 1000ULL)
#define USEC 1000000ULL

const double latency_bounds[LATENCY_BUCKETS] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                 0.1,    0.25,  0.5,    1,     2.5,  5,     10 };

static void route_clear(Route *r) {
        free(r->host);
        free(r->ns);
        free(r->name);
        free(r->revs);
        free(r->percent);
        free(r->weight);
        for (size_t k = 0; k < r->n_tokens; k++)
                free(r->tokens[k]);
        free(r->tokens);
}

static void revision_free(Revision *rev) {
        free(rev->ns);
        free(rev->isvc);
        free(rev->name);
        for (size_t i = 0; i < rev->n_backends; i++)
                free(rev->backends[i].path);
        free(rev->backends);
        free(rev);
}

/* Frees the revisions nobody needs any more. */
static void collect(Routes *rt) {
        for (Revision **p = &rt->revisions; *p;) {
                Revision *rev = *p;
                if (!rev->live && rev->refs == 0) {
                        *p = rev->next;
                        revision_free(rev);
                } else
                        p = &rev->next;
        }
}

static void table_clear(Routes *rt) {
        for (size_t i = 0; i < rt->n; i++)
                route_clear(&rt->routes[i]);
        free(rt->routes);
        rt->routes = NULL;
        rt->n = 0;
        for (Revision *rev = rt->revisions; rev; rev = rev->next)
                rev->live = false;
}

void routes_done(Routes *rt) {
        table_clear(rt);
        /* Requests still holding revisions are gone with the event loop. */
        while (rt->revisions) {
                Revision *rev = rt->revisions;
                rt->revisions = rev->next;
                revision_free(rev);
        }
}

static unsigned uint_of(json_t *o, const char *key, unsigned def, unsigned max) {
        json_t *v = json_object_get(o, key);
        if (!json_is_integer(v) || json_integer_value(v) < 0)
                return def;
        return json_integer_value(v) > max ? max : (unsigned) json_integer_value(v);
}

static bool same_backends(const Revision *rev, json_t *b) {
        if (rev->n_backends != json_array_size(b))
                return false;
        for (size_t i = 0; i < rev->n_backends; i++)
                if (!json_is_string(json_array_get(b, i)) ||
                    strcmp(rev->backends[i].path, json_string_value(json_array_get(b, i))) != 0)
                        return false;
        return true;
}

/* The revision state for o into *ret: the one held already, or a new one.
 * 1, 0 when o is no revision, or -ENOMEM. */
static int revision_for(Routes *rt, const char *ns, const char *isvc, json_t *o, uint64_t now, Revision **ret) {
        const char *name = json_string_value(json_object_get(o, "name"));
        json_t *b = json_object_get(o, "backends");
        Revision *rev = NULL;
        if (!name || !json_is_array(b) || json_array_size(b) == 0)
                return 0;
        for (Revision *x = rt->revisions; x; x = x->next)
                if (strcmp(x->ns, ns) == 0 && strcmp(x->isvc, isvc) == 0 && strcmp(x->name, name) == 0 &&
                    same_backends(x, b)) {
                        rev = x;
                        break;
                }
        if (!rev) {
                /* (this library has no lib/basic: no cleanup attributes here) */
                rev = calloc(1, sizeof *rev);
                if (!rev)
                        return -ENOMEM;
                rev->ns = strdup(ns);
                rev->isvc = strdup(isvc);
                rev->name = strdup(name);
                rev->backends = calloc(json_array_size(b), sizeof *rev->backends);
                if (!rev->ns || !rev->isvc || !rev->name || !rev->backends) {
                        revision_free(rev);
                        return -ENOMEM;
                }
                for (size_t k = 0; k < json_array_size(b); k++) {
                        const char *s = json_string_value(json_array_get(b, k));
                        if (!s)
                                continue;
                        /* A backend lost to a failed copy would shift its traffic to the others. */
                        rev->backends[rev->n_backends].path = strdup(s);
                        if (!rev->backends[rev->n_backends].path) {
                                revision_free(rev);
                                return -ENOMEM;
                        }
                        rev->n_backends++;
                }
                scaler_init(&rev->scaler, now, 0);
                rev->next = rt->revisions;
                rt->revisions = rev;
        }
        /* Knative's defaults: target 100 per replica, windows 60 s and 6 s. */
        rev->scale.min_replicas = uint_of(o, "minReplicas", 0, 1000);
        rev->scale.max_replicas = uint_of(o, "maxReplicas", 0, 1000);
        if (rev->scale.max_replicas == 0 || rev->scale.max_replicas > rev->n_backends)
                rev->scale.max_replicas = (unsigned) rev->n_backends;
        rev->container_concurrency = uint_of(o, "containerConcurrency", 0, 100000);
        rev->scale.target = uint_of(o, "scaleTarget", 0, 100000);
        if (rev->scale.target == 0)
                rev->scale.target = rev->container_concurrency ? rev->container_concurrency : 100;
        rev->scale.stable_usec = uint_of(o, "stableWindowSeconds", 60, SCALER_BUCKETS - 1) * USEC;
        rev->scale.panic_usec = uint_of(o, "panicWindowSeconds", 6, SCALER_BUCKETS - 1) * USEC;
        if (rev->scale.stable_usec == 0)
                rev->scale.stable_usec = 60 * USEC;
        if (rev->scale.panic_usec == 0 || rev->scale.panic_usec > rev->scale.stable_usec)
                rev->scale.panic_usec = rev->scale.stable_usec / 10 ?: USEC;
        /* As Knative's queue-proxy: ten waiting requests per concurrency slot. */
        rev->queue_max = rev->container_concurrency * 10 * rev->scale.max_replicas;
        rev->live = true;
        *ret = rev;
        return 1;
}

static int route_fill(Routes *rt, Route *r, json_t *o, uint64_t now) {
        const char *host = json_string_value(json_object_get(o, "host"));
        const char *ns = json_string_value(json_object_get(o, "namespace"));
        const char *name = json_string_value(json_object_get(o, "name"));
        json_t *revs = json_object_get(o, "revisions"), *tokens = json_object_get(o, "tokens");
        if (!host || !ns || !name || !json_is_array(revs))
                return 0;
        /* A host is a DNS name (sdflowd writes <isvc>.<ns>.<domain>); one a
         * Host header could not name (a ':', a '/', a space) is no route. */
        for (const char *p = host; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
                      *p == '.'))
                        return 0;
        if (!*host)
                return 0;
        r->host = strdup(host);
        r->ns = strdup(ns);
        r->name = strdup(name);
        size_t n = json_array_size(revs);
        r->revs = calloc(n + 1, sizeof *r->revs);
        r->percent = calloc(n + 1, sizeof *r->percent);
        r->weight = calloc(n + 1, sizeof *r->weight);
        r->tokens = calloc(json_array_size(tokens) + 1, sizeof *r->tokens);
        if (!r->host || !r->ns || !r->name || !r->revs || !r->percent || !r->weight || !r->tokens)
                return -ENOMEM;
        r->timeout_usec = uint_of(o, "timeoutSeconds", 0, 3600) * USEC;
        for (size_t i = 0; i < n; i++) {
                json_t *x = json_array_get(revs, i);
                Revision *rev;
                int k = revision_for(rt, ns, name, x, now, &rev);
                if (k < 0)
                        return k; /* not a route without one of its revisions: its split would be off */
                if (k == 0)
                        continue;
                r->revs[r->n_revs] = rev;
                r->percent[r->n_revs++] = uint_of(x, "percent", 0, 100);
        }
        for (size_t i = 0; i < json_array_size(tokens); i++) {
                const char *t = json_string_value(json_array_get(tokens, i));
                if (!t)
                        continue;
                r->tokens[r->n_tokens] = strdup(t);
                if (!r->tokens[r->n_tokens])
                        return -ENOMEM; /* a token lost would refuse its holders */
                r->n_tokens++;
        }
        return 1;
}

static int routes_from_json(Routes *rt, json_t *j, uint64_t now);

int routes_load(Routes *rt, const char *path, uint64_t now) {
        json_auto_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
        if (!j)
                return -EBADMSG;
        return routes_from_json(rt, j, now);
}

int routes_parse(Routes *rt, const char *text, size_t len, uint64_t now) {
        json_auto_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
        if (!j)
                return -EBADMSG;
        return routes_from_json(rt, j, now);
}

/* Replaces the table by what j says (cleared on failure). */
static int routes_from_json(Routes *rt, json_t *j, uint64_t now) {
        json_t *list, *o;
        size_t i;
        int r = 0;
        table_clear(rt);
        list = json_object_get(j, "routes");
        rt->routes = calloc(json_array_size(list) + 1, sizeof *rt->routes);
        if (!rt->routes)
                return -ENOMEM; /* (j is the caller's) */
        json_array_foreach(list, i, o) {
                r = route_fill(rt, &rt->routes[rt->n], o, now);
                if (r < 0)
                        break;
                if (r > 0)
                        rt->n++;
                else
                        route_clear(&rt->routes[rt->n]), memset(&rt->routes[rt->n], 0, sizeof(Route));
        }
        if (r < 0) {
                route_clear(&rt->routes[rt->n]);
                table_clear(rt);
        }
        collect(rt);
        return r < 0 ? r : 0;
}

int routes_refresh(Routes *rt, const char *path, uint64_t now, bool force) {
        struct stat st;
        if (!force && rt->checked && now < rt->checked + RECHECK_USEC)
                return 0;
        rt->checked = now;
        if (stat(path, &st) < 0) {
                if (errno == ENOENT) { /* no InferenceService yet */
                        table_clear(rt);
                        collect(rt);
                        rt->mtime_nsec = 0;
                        return 0;
                }
                return -errno;
        }
        uint64_t m = (uint64_t) st.st_mtim.tv_sec * 1000000000ULL + (uint64_t) st.st_mtim.tv_nsec;
        if (m == rt->mtime_nsec && st.st_ino == rt->ino)
                return 0;
        int r = routes_load(rt, path, now);
        if (r >= 0) {
                rt->mtime_nsec = m;
                rt->ino = st.st_ino;
        }
        return r;
}

const Route *routes_by_host(const Routes *rt, const char *host, size_t len) {
        const char *colon = memchr(host, ':', len);
        if (colon)
                len = (size_t) (colon - host);
        for (size_t i = 0; i < rt->n; i++)
                if (strlen(rt->routes[i].host) == len && strncasecmp(rt->routes[i].host, host, len) == 0)
                        return &rt->routes[i];
        return NULL;
}

const Route *routes_by_path(const Routes *rt, const char *path, size_t len, size_t *rest) {
        /* /serving/<namespace>/<name>/<the path the model server sees> */
        static const char prefix[] = "/serving/";
        size_t pl = sizeof prefix - 1;
        if (len <= pl || memcmp(path, prefix, pl) != 0)
                return NULL;
        const char *ns = path + pl, *end = path + len;
        const char *s1 = memchr(ns, '/', (size_t) (end - ns));
        if (!s1)
                return NULL;
        const char *name = s1 + 1;
        const char *s2 = memchr(name, '/', (size_t) (end - name));
        if (!s2)
                return NULL;
        for (size_t i = 0; i < rt->n; i++) {
                const Route *r = &rt->routes[i];
                if (strlen(r->ns) == (size_t) (s1 - ns) && memcmp(r->ns, ns, (size_t) (s1 - ns)) == 0 &&
                    strlen(r->name) == (size_t) (s2 - name) && memcmp(r->name, name, (size_t) (s2 - name)) == 0) {
                        *rest = (size_t) (s2 - path);
                        return r;
                }
        }
        return NULL;
}

Revision *route_pick_revision(Route *r) {
        /* nginx's smooth weighted round robin: each pick adds every weight,
         * takes the largest and subtracts the total from it. */
        int total = 0;
        ssize_t best = -1;
        for (size_t i = 0; i < r->n_revs; i++) {
                if (r->percent[i] == 0)
                        continue;
                r->weight[i] += (int) r->percent[i];
                total += (int) r->percent[i];
                if (best < 0 || r->weight[i] > r->weight[best])
                        best = (ssize_t) i;
        }
        if (best < 0)
                return NULL;
        r->weight[best] -= total;
        return r->revs[best];
}

void revision_ref(Revision *rev) {
        rev->refs++;
}

void revision_unref(Routes *rt, Revision *rev) {
        if (--rev->refs == 0 && !rev->live)
                collect(rt);
}

Backend *revision_pick_backend(Revision *rev, uint64_t now) {
        unsigned want = scaler_decide(&rev->scaler, &rev->scale, now);
        size_t active = want ? want : 1;
        if (active > rev->n_backends)
                active = rev->n_backends;
        Backend *best = NULL;
        /* Least busy first; among equals, round robin. */
        for (size_t k = 0; k < active; k++) {
                Backend *b = &rev->backends[(rev->rr + k) % active];
                if (!best || b->inflight < best->inflight)
                        best = b;
        }
        rev->rr++;
        if (best && rev->container_concurrency && best->inflight >= rev->container_concurrency)
                return NULL;
        return best;
}
