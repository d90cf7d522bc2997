/* SPDX-License-Identifier: GPL-2.0 */
/* Exposition encoders: Prometheus text format 0.0.4. */
#ifndef KPULSE_EXPFMT_H
#define KPULSE_EXPFMT_H

#include "buf.h"
#include "metrics.h"

#define EXPFMT_TEXT_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Shortest text that reads back as @v; "+Inf", "-Inf", "NaN" as Prometheus spells them. */
void expfmt__double(double v, char out[32]);
/* Render @s in text format 0.0.4, families sorted by name. */
int expfmt__text(const struct mset *s, struct buf *out);

#endif /* KPULSE_EXPFMT_H */
