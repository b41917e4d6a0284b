/* quantity.h: Kubernetes resource quantities ("500m", "2", "1.5", "1Gi",
 * "512M", "1e3"), parsed exactly.
 *
 * A quantity is held as a whole number of nano-units (10^-9), in 128 bits,
 * so every value Kubernetes accepts between 1n and 2^63-1 units is exact:
 * 100m CPU is 10^8, 1Gi bytes is 2^30 * 10^9.  Finer fractions are rounded
 * up to 1n, as Kubernetes rounds them.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef __int128 Quantity;

#define QUANTITY_NANO ((Quantity) 1000000000)
#define QUANTITY_MAX ((Quantity) INT64_MAX * QUANTITY_NANO)

/* Parses s.  Returns 0, or -EINVAL with a reason in *why (static text):
 * bad syntax, an unknown suffix, or a value beyond 2^63-1 units. */
int quantity_parse(const char *s, Quantity *ret, const char **why);

/* Whole units, rounded up (memory bytes, task counts). */
uint64_t quantity_ceil_units(Quantity q);

/* Thousandths of a unit, rounded up (CPU millicores). */
uint64_t quantity_ceil_milli(Quantity q);

/* Formats q canonically in as few characters as Kubernetes would: binary
 * suffixes when a power of 1024 divides it (and it came in binary), else
 * decimal suffixes.  binary chooses the family. */
void quantity_format(Quantity q, bool binary, char *buf, size_t size);
