/* probe.h: one HTTP GET over a Unix socket, on the event loop (a readiness
 * check that does not hold the daemon while a model loads). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

typedef struct Probe Probe;

/* Called once: status is the HTTP status of the answer, or a negative
 * errno (-ETIMEDOUT, -EBADMSG for what is not HTTP, -ECONNREFUSED...);
 * body its body (NUL-terminated, "" if none), valid during the call. */
typedef void (*ProbeDone)(int status, const char *body, void *userdata);

/* Sends GET path to the server on Unix socket sock and calls done with its
 * answer, or with -ETIMEDOUT after timeout_usec.  Returns 0 (done will be
 * called, never from within this call), or a negative errno (it will not). */
int probe_start(sd_event *e, const char *sock, const char *path, uint64_t timeout_usec, ProbeDone done,
                void *userdata);

/* The answer in buf (got bytes; buf has room for one more, a NUL is put
 * there), read by a probe that keeps at most max: its HTTP status once it
 * is whole (*body then points at its body), 0 while more is to come,
 * -EBADMSG for what is not HTTP.  at_eof: nothing more will come.  (The
 * answer is a workload's: fuzzed, tests/fuzz/fuzz-probe.c.) */
int probe_parse(char *buf, size_t got, size_t max, bool at_eof, const char **body);
