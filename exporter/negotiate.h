/* SPDX-License-Identifier: GPL-2.0 */
/* HTTP content negotiation for /metrics: Accept (with q-values) and Accept-Encoding. */
#ifndef KPULSE_NEGOTIATE_H
#define KPULSE_NEGOTIATE_H

#include <stdbool.h>

enum negotiate_format {
	NEGOTIATE_TEXT,	       /* text/plain; version=0.0.4 */
	NEGOTIATE_OPENMETRICS, /* application/openmetrics-text; version=1.0.0 */
};

/*
 * OpenMetrics when @accept names application/openmetrics-text (version 1.0.0, 0.0.1 or
 * none) with a q-value above 0 and at least that of any range text format 0.0.4 matches;
 * text 0.0.4 otherwise, including for a missing header or one nothing matches (the
 * format every Prometheus parser reads).
 */
enum negotiate_format negotiate__format(const char *accept);
/*
 * Whether @accept_encoding allows gzip: "gzip" or "x-gzip" with q > 0, or failing those
 * "*" with q > 0. A missing header allows only identity.
 */
bool negotiate__gzip(const char *accept_encoding);

#endif /* KPULSE_NEGOTIATE_H */
