/* fuzz-login.c: what the login reads from a browser: a form body, and a
 * request head's cookies (services/sdflowd/login-parse.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "login-parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char out[1100];
        static const char *const fields[] = { "username", "password", "next", "" };
        for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
                int r = form_field((const char *) data, size, fields[i], out, sizeof out);
                if (r >= 0 && (strlen(out) != (size_t) r || (size_t) r >= sizeof out))
                        abort();
        }
        HttpMessage m;
        if (http_parse_request((const char *) data, size, 64 * 1024, &m) > 0) {
                int r = cookie_find(&m, "sdflow_session", out, sizeof out);
                if (r == 1) {
                        (void) secret_well_formed(out, "");
                        char *e = html_escape(out);
                        if (!e)
                                abort();
                        free(e);
                        (void) next_is_local(out);
                }
        }
        return 0;
}
