/* error.h: the one error convention of sdflow.
 *
 * Every function that can fail returns an int:
 *   < 0   a negative errno: the operation failed; the caller decides whether
 *         to log (see log.h) and whether that is fatal.
 *   >= 0  success.  Where a function has results the caller must handle that
 *         are not failures, they are documented positive codes (for example
 *         HTTP_PARSE_* in http.h) or a length.
 * Functions that return pointers return NULL only on allocation failure,
 * unless their contract says otherwise.
 * Low-level functions do not log; the caller that decides logs once, with
 * context ("Failed to …: %m" style, see log_error_errno()).
 *
 * Where the failure reaches a user (an API answer, an object's status, a
 * refusal), the function also takes `char *err, size_t errsz` and writes
 * there what failed and why, naming the field, unit or limit ("starting the
 * replica: sdflow-privd refused …: User=root: …"); errno alone does not say
 * enough there.
 *
 * Work that waits (a systemd job, a helper, a model copy, a readiness
 * check) does not block: the function returns at once (0, or a negative
 * errno if it could not be started) and calls a `done(int r, const char
 * *err, void *userdata)` later from the event loop, never from within the
 * call itself nor from inside a bus callback (so done may call systemd).
 */
#pragma once

#include <errno.h>
