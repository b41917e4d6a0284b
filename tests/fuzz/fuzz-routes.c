/* fuzz-routes.c: the gateway's route table (written by sdflowd, read by the
 * gateway) on arbitrary bytes: parsed, then every lookup a request makes:
 * by the first route's host and by a path under /serving/, the traffic
 * split a few times, a backend per revision; parsed twice (a reload keeps
 * revisions a request holds). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "routes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size > 65536)
                return 0;
        Routes rt = {};
        if (routes_parse(&rt, (const char *) data, size, 1000000) == 0) {
                for (size_t i = 0; i < rt.n; i++) {
                        Route *r = &rt.routes[i];
                        if (!routes_by_host(&rt, r->host, strlen(r->host)))
                                abort(); /* a route is found by its own host */
                        char path[600];
                        size_t rest = 0;
                        snprintf(path, sizeof path, "/serving/%s/%s/v1/models/x:predict", r->ns, r->name);
                        const Route *byp = routes_by_path(&rt, path, strlen(path), &rest);
                        if (byp && rest > strlen(path))
                                abort();
                        for (int k = 0; k < 4; k++) {
                                Revision *rev = route_pick_revision(r);
                                if (rev)
                                        (void) revision_pick_backend(rev, 2000000);
                        }
                }
                (void) routes_by_host(&rt, "x.y.example.com:8080", 20);
                size_t rest = 0;
                (void) routes_by_path(&rt, "/serving/", 9, &rest);
                /* A reload of the same table over the one in use. */
                (void) routes_parse(&rt, (const char *) data, size, 3000000);
        }
        routes_done(&rt);
        return 0;
}
