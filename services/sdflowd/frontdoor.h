/* frontdoor.h: the login, sessions and API tokens (sdflow-login(8)).
 *
 * A browser logs in with a Unix account (POST /login; sdflow-privd checks
 * the password through PAM) and gets a session: a random 256-bit id in a
 * cookie, of which the store keeps only the SHA-256.  A program uses a
 * personal API token (Authorization: Bearer sdf_...) made with `sdflow
 * token create`.  Either makes a request act as that user, with the same
 * access decisions as the local socket; sdflowd checks them itself, so the
 * gateway in front asserts no identity. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "auth.h"
#include "server.h"
#include "store.h"

typedef struct FrontDoorSettings {
        uint64_t session_idle_usec;     /* SessionIdleTimeoutSec= */
        uint64_t session_lifetime_usec; /* SessionLifetimeSec= */
        uint64_t token_lifetime_usec;   /* APITokenLifetimeSec=: the default */
        uint64_t token_max_lifetime_usec; /* APITokenMaxLifetimeSec= */
} FrontDoorSettings;

typedef struct FrontDoor FrontDoor;

int frontdoor_new(FrontDoor **ret, sd_event *e, Store *store, gid_t admin_gid, const FrontDoorSettings *s);
FrontDoor *frontdoor_free(FrontDoor *f);

typedef enum FrontCredential {
        FRONT_NONE,    /* neither cookie nor token */
        FRONT_SESSION, /* a session cookie */
        FRONT_TOKEN,   /* an API token */
} FrontCredential;

/* How a request came: through the gateway (whose X-Forwarded-* are then
 * believed), over TLS, from where, with what. */
typedef struct FrontRequest {
        bool via_gateway;
        bool secure;
        char address[64];
        FrontCredential credential;
        char sha256[65];
        char why[160]; /* why a credential was refused */
} FrontRequest;

/* Who sent req: the user its session or token names (1), no credential
 * (0, fr->via_gateway tells whether the socket's peer may stand for the
 * caller), or a credential that is malformed, unknown or expired (-EACCES,
 * fr->why). */
int frontdoor_identify(FrontDoor *f, HttpConn *c, const HttpMessage *req, Caller *ret, FrontRequest *fr);

/* Whether a state-changing request made with a session cookie comes from
 * our own pages: its Origin (or Sec-Fetch-Site) says the same origin. */
bool frontdoor_same_origin(const HttpMessage *req, const FrontRequest *fr);

/* Answers /, /login, /logout and /api/{whoami,sessions,tokens}; false for
 * any other path.  caller is NULL for nobody (no or a bad credential
 * through the gateway). */
bool frontdoor_handle(FrontDoor *f, HttpConn *c, const HttpMessage *req, const char *body, size_t body_len,
                      const Caller *caller, const FrontRequest *fr);
