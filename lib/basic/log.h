/* log.h: logging to stderr, with syslog priority prefixes when stderr is the journal. */
#pragma once

#include <stddef.h>
#include <syslog.h>

#include "macro.h"

/* Sets the program name and detects whether stderr is a journal stream. */
void log_setup(const char *program);
void log_set_max_level(int level);
int log_get_max_level(void);

/* Logs at priority level; errno is set to error (if non-zero) so %m works.
 * Returns -abs(error), so callers can write return log_error_errno(r, …). */
int log_internal(int level, int error, const char *fmt, ...) _printf_(3, 4);

#define log_full_errno(level, error, ...) log_internal((level), (error), __VA_ARGS__)
#define log_debug(...) log_internal(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_internal(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_internal(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_internal(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_internal(LOG_ERR, 0, __VA_ARGS__)
#define log_debug_errno(e, ...) log_internal(LOG_DEBUG, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_internal(LOG_WARNING, (e), __VA_ARGS__)
#define log_error_errno(e, ...) log_internal(LOG_ERR, (e), __VA_ARGS__)
#define log_oom() log_internal(LOG_ERR, ENOMEM, "Out of memory.")

/* The current UTC time as RFC 3339 ("2026-11-28T12:00:00Z"), as Kubernetes
 * writes timestamps; buf must hold 21 bytes. */
void format_now_rfc3339(char *buf, size_t size);
