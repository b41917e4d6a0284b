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

/* Failed logins, by key ("user NAME", "address A"): more than
 * BACKOFF_FREE failures within BACKOFF_WINDOW_USEC put the key on hold, for
 * 1 s doubling with each further failure up to BACKOFF_MAX_USEC.  A fixed
 * table: when full, the entry seen longest ago is forgotten. */
#define BACKOFF_SLOTS 4096
#define BACKOFF_PROBE 16
#define BACKOFF_FREE 5
#define BACKOFF_WINDOW_USEC (60 * 1000000ULL)
#define BACKOFF_MAX_USEC (300 * 1000000ULL)

typedef struct BackoffEntry {
        char key[96];
        uint64_t first, last, until;
        unsigned count;
} BackoffEntry;

typedef struct Backoff {
        BackoffEntry slots[BACKOFF_SLOTS];
} Backoff;

/* Whether key is on hold at now; *wait: for how long more. */
bool backoff_held(const Backoff *b, const char *key, uint64_t now, uint64_t *wait);
/* Counts a failure; returns the failures counted in the window. */
unsigned backoff_fail(Backoff *b, const char *key, uint64_t now);
void backoff_clear(Backoff *b, const char *key);
