/* authfail.h: slowing down token guessing, per client address, with no I/O.
 *
 * Every wrong or missing bearer token on a protected route counts against
 * the client's address.  AUTHFAIL_BURST failures within AUTHFAIL_WINDOW put
 * the address on hold: 1 s the first time, doubling each time it happens
 * again (up to AUTHFAIL_MAX_HOLD); a hold ends the address's count, a
 * window without failures ends its doubling.  While on hold, the gateway
 * answers the address's requests to protected routes 429 without looking
 * at their tokens, so a guess made then is not even tried.  A table of
 * AUTHFAIL_SLOTS addresses; past it, the stalest entry gives way. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define AUTHFAIL_SLOTS 4096
#define AUTHFAIL_BURST 10
#define AUTHFAIL_WINDOW_USEC (60 * 1000000ULL)
#define AUTHFAIL_MAX_HOLD_USEC (60 * 1000000ULL)

typedef struct AuthFailEntry {
        char addr[64];
        unsigned fails;     /* in the current window */
        unsigned holds;     /* holds in a row: the next is 2^holds s */
        uint64_t window_start, hold_until, last;
} AuthFailEntry;

typedef struct AuthFail {
        AuthFailEntry slots[AUTHFAIL_SLOTS];
} AuthFail;

/* Whether addr is on hold at now (usec, monotonic); *retry_after_usec how long it stays so. */
bool authfail_held(AuthFail *a, const char *addr, uint64_t now, uint64_t *retry_after_usec);

/* A failure from addr at now.  Returns true when this one put it on hold. */
bool authfail_record(AuthFail *a, const char *addr, uint64_t now);
