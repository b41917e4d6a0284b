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
 */
#pragma once

#include <errno.h>
