/* SPDX-License-Identifier: GPL-2.0 */
/* Exposition encoders: Prometheus text format 0.0.4 and OpenMetrics 1.0.0. */
#ifndef KPULSE_EXPFMT_H
#define KPULSE_EXPFMT_H

#include "buf.h"
#include "metrics.h"

#define EXPFMT_TEXT_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define EXPFMT_OPENMETRICS_CONTENT_TYPE "application/openmetrics-text; version=1.0.0; charset=utf-8"

/* Shortest text that reads back as @v; "+Inf", "-Inf", "NaN" as Prometheus spells them. */
void expfmt__double(double v, char out[32]);
/*
 * OpenMetrics' canonical rendering for "le" label values: Go's shortest %g, with ".0"
 * added when there is neither a decimal point nor an exponent (1.0, 0.001, 1e-05, 1e+06).
 */
void expfmt__canonical(double v, char out[32]);
/* Render @s in text format 0.0.4, families sorted by name. */
int expfmt__text(const struct mset *s, struct buf *out);
/*
 * Render @s in OpenMetrics 1.0.0: counter and info families are named without their
 * _total / _info sample suffix, HELP escapes '"' too, and "# EOF" ends the exposition.
 */
int expfmt__openmetrics(const struct mset *s, struct buf *out);

#endif /* KPULSE_EXPFMT_H */
