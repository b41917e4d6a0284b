/* login.h: checking a user's password and whether they may log in, for
 * sdflowd's front door (sdflow-login(8)).
 *
 * PAM (service "sdflow", /etc/pam.d/sdflow) runs in a child process of
 * sdflow-privd, so that a slow module or PAM's failure delay holds up
 * nothing else; the answer comes back on a pipe, in the event loop. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

/* Who may log in beyond what PAM says (sdflowd.conf). */
typedef struct LoginPolicy {
        char **groups;       /* LoginGroups=: a member of one of these, if set */
        bool allow_nologin;  /* LoginAllowNologinShell=: also accounts whose shell refuses logins */
        bool refuse_all;     /* the policy could not be read: nobody */
} LoginPolicy;

/* The answer: ok with the user's name as PAM has it, or not with why (for
 * the journal; the client is told nothing more than "no"). */
typedef void (*LoginDone)(bool ok, const char *user, const char *why, void *userdata);

/* At most this many checks at once; more are refused at once. */
#define LOGIN_MAX_RUNNING 8
#define LOGIN_TIMEOUT_USEC (20 * 1000000ULL)

/* Starts the check; done is called once, later (never from this call).
 * Returns 0, -EBUSY when LOGIN_MAX_RUNNING run already, or another
 * negative errno. */
int login_check(sd_event *e, const LoginPolicy *pol, const char *user, const char *password, const char *rhost,
                LoginDone done, void *userdata);

/* Reads LoginGroups= and LoginAllowNologinShell= from the file. */
int login_policy_load(const char *path, LoginPolicy *ret);
void login_policy_done(LoginPolicy *p);
