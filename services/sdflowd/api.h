/* api.h: the REST API of sdflowd on /run/sdflow/api.sock, in the shape of
 * the Kubernetes API:
 *
 *   GET    /apis/GROUP/VERSION/PLURAL[?labelSelector=…&watch=1]   cluster-scoped kinds,
 *                                                                 or all namespaces
 *   GET    /apis/GROUP/VERSION/namespaces/NS/PLURAL[…]
 *   GET    /apis/GROUP/VERSION/[namespaces/NS/]PLURAL/NAME
 *   POST   /apis/GROUP/VERSION/[namespaces/NS/]PLURAL             apply (create or update)
 *   PUT    /apis/GROUP/VERSION/[namespaces/NS/]PLURAL/NAME        apply
 *   DELETE /apis/GROUP/VERSION/[namespaces/NS/]PLURAL/NAME
 *   GET    /apis                                                  the kinds served
 *   …/NAME/SUB[/ITEM]                                             a kind's subresources
 *   GET    /healthz, /v1/version, and the paths controllers add
 *
 * Errors are Kubernetes Status objects (kind: Status) with code, reason,
 * message and, for invalid objects, details.causes[] with field paths.
 * Warnings about unknown fields come back as "Warning: 299 - …" headers.
 *
 * This layer knows no kind: what applying, deleting or a subresource of a
 * kind means is its controller's (controller.h, the table in sdflowd.c).
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "objects.h"
#include "server.h"

typedef struct Api Api;

/* Creates the API over objects (borrowed: its store and controllers).
 * admin_gid is the group whose members administer; (gid_t) -1 if there is
 * none. */
int api_new(Api **ret, sd_event *e, Objects *objects, gid_t admin_gid);

/* At most n watches at once per user (administrators excepted); 0: no limit. */
void api_set_max_watches(Api *a, unsigned n);

/* Sessions and API tokens (frontdoor.h): the login, and callers by cookie or token. */
typedef struct FrontDoor FrontDoor;
void api_set_front_door(Api *a, FrontDoor *f);
/* At most object_bytes for one object (as sent), namespace_bytes for a
 * namespace's objects (with their statuses); 0: no limit. */
void api_set_storage_limits(Api *a, uint64_t object_bytes, uint64_t namespace_bytes);

Api *api_free(Api *a);

/* The HttpHandler of sdflowd; userdata is the Api. */
void api_handle(HttpConn *c, const HttpMessage *req, const char *body, size_t body_len, void *userdata);
