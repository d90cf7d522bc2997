// SPDX-License-Identifier: GPL-2.0
/* Which format an Accept header gets, and whether an Accept-Encoding allows gzip. */
#include <stdbool.h>
#include "harness.h"
#include "negotiate.h"

#define OM NEGOTIATE_OPENMETRICS
#define TX NEGOTIATE_TEXT

TEST(accept_negotiation)
{
	static const struct {
		const char *accept;
		enum negotiate_format want;
	} cases[] = {
		{NULL, TX},
		{"", TX},
		{"*/*", TX},
		{"text/plain", TX},
		{"application/openmetrics-text", OM},
		{"application/openmetrics-text; version=1.0.0; charset=utf-8", OM},
		{"application/openmetrics-text;version=\"1.0.0\"", OM},
		{"APPLICATION/OpenMetrics-Text ; Version=1.0.0", OM},
		/* What Prometheus 2.42 sends by default. */
		{"application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
		 "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
		 OM},
		/* What Prometheus sends with scrape_protocols preferring text. */
		{"text/plain;version=0.0.4;q=1,application/openmetrics-text;version=1.0.0;q=0.5",
		 TX},
		{"application/openmetrics-text;q=0", TX},
		{"application/openmetrics-text;q=0.3, text/plain;q=0.2", OM},
		{"application/openmetrics-text;q=0.3, */*;q=0.9", TX},
		{"application/openmetrics-text;version=2.0.0", TX},
		{"application/openmetrics-text;q=bogus", TX},
		{"application/json", TX},
		{",,;;=,application/openmetrics-text", OM},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECKF(negotiate__format(cases[i].accept) == cases[i].want,
		       "Accept: %s: expected %s", cases[i].accept ?: "(none)",
		       cases[i].want == OM ? "OpenMetrics" : "text");
	}
}

TEST(accept_encoding_negotiation)
{
	static const struct {
		const char *ae;
		bool gzip;
	} cases[] = {
		{NULL, false},
		{"", false},
		{"gzip", true},
		{"GZip", true},
		{"x-gzip", true},
		{"gzip, deflate, br", true},
		{"deflate", false},
		{"identity", false},
		{"gzip;q=0", false},
		{"gzip; q=0.0", false},
		{"gzip;q=0.001", true},
		{"*", true},
		{"*;q=0", false},
		{"*, gzip;q=0", false},
		{"gzip;q=0, *", false},
		{"identity;q=0, gzip", true},
		{"br;q=1.0, gzip;q=0.8, *;q=0.1", true},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECKF(negotiate__gzip(cases[i].ae) == cases[i].gzip,
		       "Accept-Encoding: %s: expected gzip %s", cases[i].ae ?: "(none)",
		       cases[i].gzip ? "yes" : "no");
	}
}

int main(void)
{
	h_suite = "negotiate";
	RUN(accept_negotiation);
	RUN(accept_encoding_negotiation);
	return DONE();
}
