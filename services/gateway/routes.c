/* routes.c: the gateway's route table, read from the file sdflowd writes. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "routes.h"

#define RECHECK_USEC (1000 * 1000ULL)

static void routes_clear(Routes *rt) {
        for (size_t i = 0; i < rt->n; i++) {
                Route *r = &rt->routes[i];
                free(r->host);
                free(r->ns);
                free(r->name);
                for (size_t k = 0; k < r->n_backends; k++)
                        free(r->backends[k]);
                free(r->backends);
        }
        free(rt->routes);
        rt->routes = NULL;
        rt->n = 0;
}

void routes_done(Routes *rt) {
        routes_clear(rt);
}

static int routes_load(Routes *rt, const char *path) {
        json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, NULL), *list;
        size_t i;
        json_t *o;
        if (!j)
                return -EBADMSG;
        routes_clear(rt);
        list = json_object_get(j, "routes");
        rt->routes = calloc(json_array_size(list) + 1, sizeof *rt->routes);
        if (!rt->routes) {
                json_decref(j);
                return -ENOMEM;
        }
        json_array_foreach(list, i, o) {
                json_t *b = json_object_get(o, "backends");
                const char *host = json_string_value(json_object_get(o, "host"));
                const char *ns = json_string_value(json_object_get(o, "namespace"));
                const char *name = json_string_value(json_object_get(o, "name"));
                if (!host || !ns || !name || !json_is_array(b) || json_array_size(b) == 0)
                        continue;
                Route *r = &rt->routes[rt->n];
                r->host = strdup(host);
                r->ns = strdup(ns);
                r->name = strdup(name);
                r->backends = calloc(json_array_size(b), sizeof *r->backends);
                size_t k;
                json_t *s;
                json_array_foreach(b, k, s)
                        if (json_is_string(s) && r->backends)
                                r->backends[r->n_backends++] = strdup(json_string_value(s));
                rt->n++;
        }
        json_decref(j);
        return 0;
}

int routes_refresh(Routes *rt, const char *path, uint64_t now) {
        struct stat st;
        if (rt->checked && now < rt->checked + RECHECK_USEC)
                return 0;
        rt->checked = now;
        if (stat(path, &st) < 0) {
                if (errno == ENOENT) { /* no InferenceService yet */
                        routes_clear(rt);
                        rt->mtime_nsec = 0;
                        return 0;
                }
                return -errno;
        }
        uint64_t m = (uint64_t) st.st_mtim.tv_sec * 1000000000ULL + (uint64_t) st.st_mtim.tv_nsec;
        if (m == rt->mtime_nsec && st.st_ino == rt->ino)
                return 0;
        int r = routes_load(rt, path);
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

const char *route_next_backend(Route *r) {
        if (r->n_backends == 0)
                return NULL;
        return r->backends[r->next++ % r->n_backends];
}
