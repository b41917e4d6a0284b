/* login-parse.h: what the front door reads from a browser (form fields,
 * cookies, secrets), how it writes user text into HTML, and the back-off of
 * failed logins.  No I/O: unit-tested and fuzzed alone. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"

/* The value of field name in an application/x-www-form-urlencoded body,
 * decoded ('+' and %XX) into out (NUL-terminated).  Returns its length,
 * -ENOENT when absent, -E2BIG when it does not fit in size - 1 bytes,
 * -EBADMSG for a bad %-escape or a NUL byte in it. */
int form_field(const char *body, size_t len, const char *name, char *out, size_t size);

/* The first cookie called name in the request's Cookie headers, into out.
 * Returns 1 when found, 0 when not, -E2BIG when its value is too long. */
int cookie_find(const HttpMessage *req, const char *name, char *out, size_t size);

/* Whether s is a secret as the front door makes them: prefix, then
 * exactly LOGIN_SECRET_CHARS of base64url. */
#define LOGIN_SECRET_BYTES 32
#define LOGIN_SECRET_CHARS 43
bool secret_well_formed(const char *s, const char *prefix);

/* LOGIN_SECRET_BYTES random bytes as base64url (no padding) after prefix,
 * into out (at least strlen(prefix) + 44 bytes).  Returns 0 or -errno. */
int secret_new(const char *prefix, char *out, size_t size);

/* s with & < > " ' escaped, malloc'd; NULL when out of memory. */
char *html_escape(const char *s);

/* Whether a "next" page to go to after the login is one of ours: a path
 * ("/..."), not "//host" or a scheme. */
bool next_is_local(const char *next);

/* The key of an address for the back-off and the limits: "address A", an
 * IPv6 address by its /64 (what one client is given), into out. */
void address_key(const char *addr, char *out, size_t size);

/* Failed logins, by key ("user NAME", address_key()): more than
 * BACKOFF_FREE failures, each within BACKOFF_FORGET_USEC of the one before,
 * put the key on hold, for 1 s doubling with each further failure up to
 * BACKOFF_MAX_USEC; only BACKOFF_FORGET_USEC without a failure (and no hold
 * running) forgets them.  A fixed table, by a hash keyed at random (so that
 * nobody picks keys that collide): when the slots near a key are full, the
 * entry seen longest ago that is not on hold is forgotten. */
#define BACKOFF_SLOTS 4096
#define BACKOFF_PROBE 16
#define BACKOFF_FREE 5
#define BACKOFF_FORGET_USEC (900 * 1000000ULL)
#define BACKOFF_MAX_USEC (300 * 1000000ULL)

typedef struct BackoffEntry {
        char key[96];
        uint64_t first, last, until;
        unsigned count;
} BackoffEntry;

typedef struct Backoff {
        uint32_t seed;
        BackoffEntry slots[BACKOFF_SLOTS];
} Backoff;

/* Picks the hash's key (getrandom). */
void backoff_init(Backoff *b);

/* Whether key is on hold at now; *wait: for how long more. */
bool backoff_held(const Backoff *b, const char *key, uint64_t now, uint64_t *wait);
/* Counts a failure; returns the failures counted in the window. */
unsigned backoff_fail(Backoff *b, const char *key, uint64_t now);
void backoff_clear(Backoff *b, const char *key);
