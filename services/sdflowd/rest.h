/* rest.h: the pieces of a Kubernetes-shaped REST answer that sdflowd's API
 * layer (api.c) and its controllers' subresources (ctl-*.c) share: the
 * parsed path, Status objects, and the query parameters every handler reads.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "kinds.h"
#include "macro.h"
#include "manifest.h"
#include "server.h"

/* A parsed request path: /apis/GROUP/VERSION/[namespaces/NS/]PLURAL[/NAME[/SUB[/ITEM]]] */
typedef struct Route {
        const Kind *kind;
        char ns[128];
        char name[256];
        bool has_ns, has_name;
        char sub[64];       /* a subresource: "contributors" */
        char sub_name[64];  /* and its item */
} Route;

/* Parses path; returns 0, -ENOENT (not an API path, an unknown kind, or a
 * namespace on a cluster-scoped kind: 404) or -EBADMSG (malformed: 400).
 * Which subresources a kind has is not its business: the caller checks. */
int route_parse(const char *path, size_t len, Route *rt);

/* Answers c with j (consumed), and extra header lines if not NULL. */
void rest_reply_json(HttpConn *c, int code, json_t *j, const char *extra_headers);

/* A Kubernetes Status object with the error; rt may be NULL, causes (stolen) too. */
void rest_reply_status(HttpConn *c, int code, const Route *rt, json_t *causes, const char *fmt, ...) _printf_(5, 6);

/* 400 for a text that does not parse, 422 for an invalid object, with the
 * diagnostics as the Status' causes. */
void rest_reply_invalid(HttpConn *c, const Route *rt, const Diags *d);

/* "Warning: 299 - "…"\r\n" lines for d's warnings (at most 20), or NULL. */
char *rest_warning_headers(const Diags *d);

/* ?key, ?key=1 or ?key=true. */
bool rest_param_true(const char *query, size_t qlen, const char *key);

/* ?tailLines=N (1..max) into *tail (left alone when absent); false after
 * answering 400. */
bool rest_query_tail(HttpConn *c, const Route *rt, const char *query, size_t qlen, unsigned max, unsigned *tail);
