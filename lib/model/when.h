/* when.h: Argo's `when` conditions, after template variables are expanded.
 *
 *   {{steps.flip.outputs.result}} == heads      ->  "tails == heads"
 *   {{tasks.count.outputs.result}} > 100 && {{workflow.parameters.go}} == true
 *
 * Operands are numbers, quoted strings ('x' or "x") or bare words (taken as
 * strings, as Argo's coin-flip example writes them); operators are == != <
 * > <= >= (numeric when both sides are numbers, else by string), && || !
 * and parentheses; true and false are themselves.  What govaluate offers
 * beyond that (regex matches, arithmetic, functions) is refused with a
 * message, as is nesting deeper than 64.  No I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Evaluates text; returns 1 (true), 0 (false), or -EINVAL with a message
 * in err. */
int when_eval(const char *text, char *err, size_t errsz);
