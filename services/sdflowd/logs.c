/* logs.c: the .../log subresources' answer; see logs.h. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "journal.h"
#include "logs.h"
#include "safeio.h"
#include "wf-operate.h"

/* Lines in the step's NODEDIR/stdout (all it wrote there: sdflow-step),
 * read without following links; -errno if it cannot be read. */
static int64_t stdout_lines(const char *node_dir) {
        const char *rel = node_dir ? safe_rel(WF_ARTIFACTS_BASE, node_dir) : NULL;
        char path[1100];
        if (!rel || snprintf(path, sizeof path, "%s/stdout", rel) >= (int) sizeof path)
                return -EINVAL;
        _cleanup_close_ int fd = safe_open_beneath(WF_ARTIFACTS_BASE, path);
        if (fd < 0)
                return fd;
        static char buf[65536];
        int64_t lines = 0;
        char last = '\n';
        ssize_t n;
        while ((n = read(fd, buf, sizeof buf)) > 0) {
                for (ssize_t i = 0; i < n; i++)
                        lines += buf[i] == '\n';
                last = buf[n - 1];
        }
        return lines + (last != '\n');
}

void logs_reply(HttpConn *c, const Route *rt, char units[][LOGS_UNIT_MAX], const char *const *dirs, size_t n_units,
                unsigned tail) {
        _cleanup_free_ char *text = NULL, *notes = NULL;
        size_t len = 0, notes_len = 0;
        int r = n_units ? journal_tail(units, n_units, tail, &text, &len) : 0;
        if (r < 0) {
                rest_reply_status(c, 500, rt, NULL, "reading the journal failed: %s", strerror(-r));
                return;
        }
        FILE *f = open_memstream(&notes, &notes_len);
        for (size_t i = 0; f && dirs && i < n_units; i++) {
                int64_t wrote = stdout_lines(dirs[i]);
                uint64_t kept = 0;
                if (wrote <= 0 || journal_count(units[i], "stdout", (uint64_t) wrote, &kept) < 0 ||
                    kept >= (uint64_t) wrote)
                        continue;
                fprintf(f, "sdflow: the journal lost %llu of the %lld lines %s wrote to stdout (journald's rate "
                           "limit: RateLimitBurst= in journald.conf); lines are missing above, all of them are in "
                           "%s/stdout\n",
                        (unsigned long long) ((uint64_t) wrote - kept), (long long) wrote, units[i], dirs[i]);
        }
        if (f)
                fclose(f);
        if (notes && notes_len > 0) {
                char *both = malloc(len + notes_len + 1);
                if (both) {
                        memcpy(both, text ?: "", len);
                        memcpy(both + len, notes, notes_len);
                        free(text);
                        text = both;
                        len += notes_len;
                }
        }
        (void) http_conn_reply(c, 200, "text/plain; charset=utf-8", text ?: "", len, NULL);
}
