/* authfail.c: see authfail.h. */
#include <stdio.h>
#include <string.h>

#include "authfail.h"

static uint32_t hash(const char *s) {
        uint32_t h = 2166136261u;
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                h ^= *p;
                h *= 16777619u;
        }
        return h;
}

/* The entry of addr, or (create) a free or the stalest one of its probe run. */
static AuthFailEntry *slot(AuthFail *a, const char *addr, bool create) {
        uint32_t h = hash(addr);
        AuthFailEntry *victim = NULL;
        for (unsigned i = 0; i < 8; i++) {
                AuthFailEntry *e = &a->slots[(h + i) % AUTHFAIL_SLOTS];
                if (e->addr[0] && strcmp(e->addr, addr) == 0)
                        return e;
                if (!victim || !e->addr[0] || (victim->addr[0] && e->last < victim->last))
                        victim = e;
        }
        if (!create)
                return NULL;
        *victim = (AuthFailEntry) {};
        snprintf(victim->addr, sizeof victim->addr, "%s", addr);
        return victim;
}

bool authfail_held(AuthFail *a, const char *addr, uint64_t now, uint64_t *retry_after_usec) {
        AuthFailEntry *e = slot(a, addr, false);
        if (!e || e->hold_until <= now)
                return false;
        if (retry_after_usec)
                *retry_after_usec = e->hold_until - now;
        return true;
}

bool authfail_record(AuthFail *a, const char *addr, uint64_t now) {
        AuthFailEntry *e = slot(a, addr, true);
        if (now - e->window_start > AUTHFAIL_WINDOW_USEC || e->window_start == 0) {
                /* A quiet window since the last one: holds start small again. */
                if (e->last && now - e->last > AUTHFAIL_WINDOW_USEC)
                        e->holds = 0;
                e->window_start = now;
                e->fails = 0;
        }
        e->last = now;
        if (++e->fails < AUTHFAIL_BURST)
                return false;
        uint64_t hold = 1000000ULL << (e->holds < 6 ? e->holds : 6);
        if (hold > AUTHFAIL_MAX_HOLD_USEC)
                hold = AUTHFAIL_MAX_HOLD_USEC;
        e->holds++;
        e->hold_until = now + hold;
        e->fails = 0;
        e->window_start = now;
        return true;
}
