/* test-cron.c: cron schedules to OnCalendar= expressions.
 *
 *   test-cron                      the table below
 *   test-cron --print SCHEDULE...  print each translation, one event a line,
 *                                  a blank line after each schedule (for
 *                                  test-cron-systemd.sh) */
#include <errno.h>

#include "cron.h"
#include "test.h"

static void expect(const char *schedule, const char *tz, const char *e0, const char *e1) {
        char out[CRON_MAX_EVENTS][CRON_EVENT_MAX], err[256] = "";
        int n = cron_to_oncalendar(schedule, tz, out, err, sizeof err);
        if (n < 0) {
                fprintf(stderr, "'%s': %s\n", schedule, err);
                CHECK(n > 0);
                return;
        }
        CHECK_EQ_INT(n, e1 ? 2 : 1);
        CHECK_STREQ(out[0], e0);
        if (e1 && n == 2)
                CHECK_STREQ(out[1], e1);
}

static void refuse(const char *schedule, const char *tz, const char *msg) {
        char out[CRON_MAX_EVENTS][CRON_EVENT_MAX], err[256] = "";
        int n = cron_to_oncalendar(schedule, tz, out, err, sizeof err);
        CHECK_EQ_INT(n, -EINVAL);
        if (!strstr(err, msg))
                fprintf(stderr, "'%s': got \"%s\", expected \"%s\"\n", schedule, err, msg);
        CHECK(strstr(err, msg) != NULL);
}

int main(int argc, char **argv) {
        if (argc > 1 && strcmp(argv[1], "--print") == 0) {
                for (int i = 2; i < argc; i++) {
                        char out[CRON_MAX_EVENTS][CRON_EVENT_MAX], err[256];
                        int n = cron_to_oncalendar(argv[i], NULL, out, err, sizeof err);
                        if (n < 0) {
                                fprintf(stderr, "%s: %s\n", argv[i], err);
                                return 1;
                        }
                        for (int k = 0; k < n; k++)
                                printf("%s\n", out[k]);
                        printf("\n");
                }
                return 0;
        }
        expect("* * * * *", NULL, "*-*-* *:*:00", NULL);
        expect("*/5 * * * *", NULL, "*-*-* *:00,05,10,15,20,25,30,35,40,45,50,55:00", NULL);
        expect("0 * * * *", NULL, "*-*-* *:00:00", NULL);
        expect("30 2 * * *", NULL, "*-*-* 02:30:00", NULL);
        expect("0 0 1 1 *", NULL, "*-01-01 00:00:00", NULL);
        expect("0 9-17 * * 1-5", NULL, "Mon..Fri *-*-* 09..17:00:00", NULL);
        expect("0 9-17/2 * * MON-FRI", NULL, "Mon..Fri *-*-* 09,11,13,15,17:00:00", NULL);
        expect("15,45 */6 * * *", NULL, "*-*-* 00,06,12,18:15,45:00", NULL);
        expect("0 0 * * 0", NULL, "Sun *-*-* 00:00:00", NULL);
        expect("0 0 * * 7", NULL, "Sun *-*-* 00:00:00", NULL);
        expect("0 0 * * 5-7", NULL, "Sun,Fri,Sat *-*-* 00:00:00", NULL);
        expect("0 0 * * sat,sun", NULL, "Sun,Sat *-*-* 00:00:00", NULL);
        expect("0 12 * JAN,jul *", NULL, "*-01,07-* 12:00:00", NULL);
        expect("0 12 1-7 * *", NULL, "*-*-01..07 12:00:00", NULL);
        expect("0 0 */2 * *", NULL, "*-*-01,03,05,07,09,11,13,15,17,19,21,23,25,27,29,31 00:00:00", NULL);
        expect("5 4 10/10 * *", NULL, "*-*-10,20,30 04:05:00", NULL);
        expect("0 8 1,2,3,10 * *", NULL, "*-*-01..03,10 08:00:00", NULL);
        expect("0 8 1,2 * *", NULL, "*-*-01,02 08:00:00", NULL);
        expect("0-59/15 * * * *", NULL, "*-*-* *:00,15,30,45:00", NULL);
        expect("0 0 * * *", "Europe/Berlin", "*-*-* 00:00:00 Europe/Berlin", NULL);
        /* Both day fields restricted: a day matching either (two events). */
        expect("0 0 13 * 5", NULL, "*-*-13 00:00:00", "Fri *-*-* 00:00:00");
        expect("30 6 1,15 * MON", "UTC", "*-*-01,15 06:30:00 UTC", "Mon *-*-* 06:30:00 UTC");
        /* A day of month starting with '*' does not count as restricted. */
        expect("0 0 */10 * 1", NULL, "Mon *-*-01,11,21,31 00:00:00", NULL);
        /* Macros. */
        expect("@yearly", NULL, "*-01-01 00:00:00", NULL);
        expect("@annually", NULL, "*-01-01 00:00:00", NULL);
        expect("@monthly", NULL, "*-*-01 00:00:00", NULL);
        expect("@weekly", NULL, "Sun *-*-* 00:00:00", NULL);
        expect("@daily", NULL, "*-*-* 00:00:00", NULL);
        expect("@midnight", NULL, "*-*-* 00:00:00", NULL);
        expect("@hourly", NULL, "*-*-* *:00:00", NULL);
        expect("  0   1 * *   *  ", NULL, "*-*-* 01:00:00", NULL);

        refuse("", NULL, "does not have five fields");
        refuse("* * * *", NULL, "does not have five fields");
        refuse("* * * * * *", NULL, "more than five fields");
        refuse("60 * * * *", NULL, "minute: '60' is outside 0..59");
        refuse("* 24 * * *", NULL, "hour: '24' is outside 0..23");
        refuse("* * 0 * *", NULL, "day of month: '0' is outside 1..31");
        refuse("* * 32 * *", NULL, "day of month");
        refuse("* * * 13 * ", NULL, "month: '13' is outside 1..12");
        refuse("* * * * 8", NULL, "day of week: '8' is outside 0..7");
        refuse("* * * foo *", NULL, "month: 'foo' is not a value");
        refuse("*/0 * * * *", NULL, "minute: step '0' is not a positive number");
        refuse("*/x * * * *", NULL, "step 'x'");
        refuse("5-1 * * * *", NULL, "runs backwards");
        refuse("1-x * * * *", NULL, "is not a range of values");
        refuse("@every 1h", NULL, "is not one of @yearly");
        refuse("@reboot", NULL, "is not one of");
        refuse("0 0 * * *", "../etc/passwd", "timezone: '../etc/passwd' is not a time zone name");
        refuse("0 0 * * *", "Europe/Berlin; rm", "is not a time zone name");
        return test_summary("test-cron");
}
