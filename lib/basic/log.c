/* log.c: see log.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "log.h"

static const char *log_program = "sdflow";
static int log_max_level = LOG_INFO;
static int log_to_journal = 0;

void log_setup(const char *program) {
        const char *js, *p;
        struct stat st;
        unsigned long long dev, ino;

        if (program) {
                p = strrchr(program, '/');
                log_program = p ? p + 1 : program;
        }
        /* $JOURNAL_STREAM names the device:inode of the stream systemd
         * connected to our stdout/stderr; only then are prefixes parsed. */
        js = getenv("JOURNAL_STREAM");
        if (js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) >= 0 &&
            (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino)
                log_to_journal = 1;
        if (getenv("SDFLOW_LOG_LEVEL") && strcmp(getenv("SDFLOW_LOG_LEVEL"), "debug") == 0)
                log_max_level = LOG_DEBUG;
}

void log_set_max_level(int level) {
        log_max_level = level;
}

int log_get_max_level(void) {
        return log_max_level;
}

int log_internal(int level, int error, const char *fmt, ...) {
        char buf[2048];
        va_list ap;
        int saved = errno;

        if (error < 0)
                error = -error;
        if (level > log_max_level)
                return -error;
        if (error)
                errno = error;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        if (log_to_journal)
                fprintf(stderr, "<%d>%s\n", level, buf);
        else
                fprintf(stderr, "%s: %s\n", log_program, buf);
        errno = saved;
        return -error;
}

void format_now_rfc3339(char *buf, size_t size) {
        time_t t = time(NULL);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
