/* test-safeio.c: what a workload wrote is read without following its
 * links (anywhere in the path), and only if it is a regular file. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safeio.h"
#include "test.h"

int main(void) {
        char base[] = "/tmp/test-safeio-XXXXXX", p[512], buf[64];
        size_t n;
        CHECK(mkdtemp(base) != NULL);
        snprintf(p, sizeof p, "%s/secret", base);
        FILE *f = fopen(p, "w");
        fputs("shadow", f);
        fclose(f);
        snprintf(p, sizeof p, "mkdir -p %s/ns/wf/node/parameters %s/ns/elsewhere && echo ok > %s/ns/wf/node/result && "
                              "ln -s %s/secret %s/ns/wf/node/parameters/p && ln -s ../elsewhere %s/ns/wf/link && "
                              "echo other > %s/ns/elsewhere/result && mkfifo %s/ns/wf/node/fifo && "
                              "ln %s/secret %s/ns/wf/node/hard",
                 base, base, base, base, base, base, base, base, base, base);
        CHECK(system(p) == 0);
        CHECK_EQ_INT(safe_read_beneath(base, "ns/wf/node/result", buf, sizeof buf, &n), 0);
        CHECK_STREQ(buf, "ok\n");
        CHECK_EQ_INT(n, 3);
        /* a link as the file, a link as a directory on the way, '..', a FIFO */
        CHECK_EQ_INT(safe_read_beneath(base, "ns/wf/node/parameters/p", buf, sizeof buf, NULL), -ELOOP);
        CHECK_STREQ(buf, "");
        CHECK_EQ_INT(safe_read_beneath(base, "ns/wf/link/result", buf, sizeof buf, NULL), -ELOOP);
        CHECK_EQ_INT(safe_read_beneath(base, "ns/wf/node/../node/result", buf, sizeof buf, NULL), -EINVAL);
        CHECK_EQ_INT(safe_read_beneath(base, "/etc/passwd", buf, sizeof buf, NULL), -EINVAL);
        CHECK_EQ_INT(safe_read_beneath(base, "ns//wf/node/result", buf, sizeof buf, NULL), -EINVAL);
        CHECK_EQ_INT(safe_read_beneath(base, "ns/wf/node/fifo", buf, sizeof buf, NULL), -EBADFD); /* not waited on */
        CHECK_EQ_INT(safe_read_beneath(base, "ns/wf/node", buf, sizeof buf, NULL), -EBADFD);
        /* a hard link to a file outside: its second name is not read */
        CHECK_EQ_INT(safe_read_beneath(base, "ns/wf/node/hard", buf, sizeof buf, NULL), -EMLINK);
        CHECK_STREQ(buf, "");
        CHECK_EQ_INT(safe_read_beneath(base, "ns/wf/node/none", buf, sizeof buf, NULL), -ENOENT);
        CHECK(safe_exists_beneath(base, "ns/wf/node/result"));
        CHECK(!safe_exists_beneath(base, "ns/wf/node/parameters/p"));
        /* reads are bounded by the buffer */
        char tiny[3];
        CHECK_EQ_INT(safe_read_beneath(base, "ns/wf/node/result", tiny, sizeof tiny, &n), 0);
        CHECK_EQ_INT(n, 2);
        CHECK_STREQ(safe_rel("/var/lib/sdflow/ns", "/var/lib/sdflow/ns/a/b"), "a/b");
        CHECK(safe_rel("/var/lib/sdflow/ns", "/var/lib/sdflow/nsx/a") == NULL);
        CHECK(safe_rel("/var/lib/sdflow/ns", "/etc/shadow") == NULL);
        snprintf(p, sizeof p, "rm -rf %s", base);
        CHECK(system(p) == 0);
        return test_summary("test-safeio");
}
