/* quantity.c: see quantity.h.  Grammar (k8s.io/apimachinery resource.Quantity):
 *   quantity ::= [sign] number [suffix]
 *   number   ::= digits | digits "." [digits] | "." digits
 *   suffix   ::= Ki | Mi | Gi | Ti | Pi | Ei | n | u | m | k | M | G | T | P | E
 *              | (e | E) [sign] digits */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "quantity.h"

static const struct {
        const char *s;
        int base; /* 2 or 10 */
        int exp;  /* power of base */
} suffixes[] = {
        { "Ki", 2, 10 }, { "Mi", 2, 20 }, { "Gi", 2, 30 }, { "Ti", 2, 40 }, { "Pi", 2, 50 }, { "Ei", 2, 60 },
        { "n", 10, -9 }, { "u", 10, -6 }, { "m", 10, -3 }, { "", 10, 0 },   { "k", 10, 3 },  { "M", 10, 6 },
        { "G", 10, 9 },  { "T", 10, 12 }, { "P", 10, 15 }, { "E", 10, 18 },
};

int quantity_parse(const char *s, Quantity *ret, const char **why) {
        const char *p = s;
        bool neg = false;
        Quantity mant = 0; /* all digits, as an integer */
        int frac = 0;      /* digits after the point */
        int digits = 0, sig = 0;
        int base = 10, exp = 0;

        *why = NULL;
        if (*p == '+' || *p == '-')
                neg = *p++ == '-';
        while (*p >= '0' && *p <= '9') {
                if (mant > 0 || *p != '0')
                        sig++;
                if (sig > 30) {
                        *why = "too many digits";
                        return -EINVAL;
                }
                mant = mant * 10 + (*p++ - '0');
                digits++;
        }
        if (*p == '.') {
                p++;
                while (*p >= '0' && *p <= '9') {
                        if (mant > 0 || *p != '0')
                                sig++;
                        if (sig > 30 || frac > 40) {
                                *why = "too many digits";
                                return -EINVAL;
                        }
                        mant = mant * 10 + (*p++ - '0');
                        frac++;
                        digits++;
                }
        }
        if (digits == 0) {
                *why = "not a number";
                return -EINVAL;
        }
        if (*p == 'e' || *p == 'E') {
                /* A decimal exponent, unless this is the suffix E alone. */
                const char *q = p + 1;
                bool eneg = false;
                if (*q == '+' || *q == '-')
                        eneg = *q++ == '-';
                if (*q >= '0' && *q <= '9') {
                        int e = 0;
                        while (*q >= '0' && *q <= '9') {
                                e = e * 10 + (*q++ - '0');
                                if (e > 1000) {
                                        *why = "exponent out of range";
                                        return -EINVAL;
                                }
                        }
                        if (*q) {
                                *why = "unexpected characters after the exponent";
                                return -EINVAL;
                        }
                        exp = eneg ? -e : e;
                        p = q;
                }
        }
        if (*p) {
                size_t i;
                for (i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++)
                        if (strcmp(p, suffixes[i].s) == 0)
                                break;
                if (i == sizeof suffixes / sizeof suffixes[0]) {
                        *why = "unknown suffix (use n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or an exponent)";
                        return -EINVAL;
                }
                base = suffixes[i].base;
                exp = suffixes[i].exp;
        }

        /* value = mant * 10^-frac * base^exp, in nano-units:
         * mant * base^exp * 10^(9 - frac). */
        Quantity v = mant;
        int e10 = 9 - frac + (base == 10 ? exp : 0);
        bool inexact = false;
        if (base == 2)
                for (int i = 0; i < exp && v != 0; i++) {
                        v *= 2;
                        if (v > QUANTITY_MAX) {
                                *why = "value too large (at most 2^63-1 units)";
                                return -EINVAL;
                        }
                }
        for (; e10 > 0 && v != 0; e10--) {
                v *= 10;
                if (v > QUANTITY_MAX) {
                        *why = "value too large (at most 2^63-1 units)";
                        return -EINVAL;
                }
        }
        for (; e10 < 0 && v != 0; e10++) {
                if (v % 10)
                        inexact = true;
                v /= 10;
        }
        if (inexact)
                v += 1; /* round up below 1n, as Kubernetes does */
        if (v > QUANTITY_MAX) {
                *why = "value too large (at most 2^63-1 units)";
                return -EINVAL;
        }
        *ret = neg ? -v : v;
        return 0;
}

uint64_t quantity_ceil_units(Quantity q) {
        if (q <= 0)
                return 0;
        return (uint64_t) ((q + QUANTITY_NANO - 1) / QUANTITY_NANO);
}

uint64_t quantity_ceil_milli(Quantity q) {
        if (q <= 0)
                return 0;
        return (uint64_t) ((q + 999999) / 1000000);
}

static void u128_str(Quantity v, char *buf, size_t size) {
        char tmp[64];
        int n = 0;
        do {
                tmp[n++] = (char) ('0' + (int) (v % 10));
                v /= 10;
        } while (v > 0 && n < 63);
        size_t o = 0;
        while (n > 0 && o + 1 < size)
                buf[o++] = tmp[--n];
        buf[o] = '\0';
}

void quantity_format(Quantity q, bool binary, char *buf, size_t size) {
        static const char *bin[] = { "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei" };
        static const char *dec[] = { "n", "u", "m", "", "k", "M", "G", "T", "P", "E" };
        char num[64];
        const char *sign = q < 0 ? "-" : "";
        Quantity a = q < 0 ? -q : q;

        if (binary && a % QUANTITY_NANO == 0 && a != 0) {
                Quantity u = a / QUANTITY_NANO;
                int i = 0;
                while (i < 6 && u % 1024 == 0) {
                        u /= 1024;
                        i++;
                }
                u128_str(u, num, sizeof num);
                snprintf(buf, size, "%s%s%s", sign, num, bin[i]);
                return;
        }
        int i = 0; /* index into dec: nano */
        while (i < 9 && a != 0 && a % 1000 == 0) {
                a /= 1000;
                i++;
        }
        u128_str(a, num, sizeof num);
        snprintf(buf, size, "%s%s%s", sign, num, a == 0 ? "" : dec[i]);
}
