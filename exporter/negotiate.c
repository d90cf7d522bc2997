// SPDX-License-Identifier: GPL-2.0
/* Accept and Accept-Encoding parsing (RFC 9110 section 12.5): lists of tokens with ;q=. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "negotiate.h"

/* One list element: "type/subtype" or a coding, and the parameters we look at. */
struct elem {
	char token[64];
	char version[16];
	double q; /* 1 unless given; malformed q counts as 0 */
};

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* Copy up to one of @stops (or the end), trimmed and lowercased, into @out. */
static const char *take(const char *p, const char *stops, char *out, size_t len)
{
	size_t n = 0;

	p = skip_ws(p);
	while (*p && !strchr(stops, *p)) {
		if (n + 1 < len)
			out[n++] = (char)tolower((unsigned char)*p);
		p++;
	}
	while (n && (out[n - 1] == ' ' || out[n - 1] == '\t'))
		n--;
	out[n] = '\0';
	return p;
}

static double parse_q(const char *v)
{
	char *end;
	double q = strtod(v, &end);

	if (end == v || *end || !(q >= 0) || q > 1)
		return 0;
	return q;
}

/* Parse the element at @p into @e; returns where the next element starts (or NULL). */
static const char *next_elem(const char *p, struct elem *e)
{
	char name[32], value[32];

	e->q = 1;
	e->version[0] = '\0';
	p = take(p, ",;", e->token, sizeof(e->token));
	while (*p == ';') {
		p = take(p + 1, ",;=", name, sizeof(name));
		value[0] = '\0';
		if (*p == '=')
			p = take(p + 1, ",;", value, sizeof(value));
		/* Quoted parameter values: version="1.0.0". */
		if (value[0] == '"') {
			size_t n = strlen(value);

			memmove(value, value + 1, n);
			if (n > 1 && value[n - 2] == '"')
				value[n - 2] = '\0';
		}
		if (!strcmp(name, "q"))
			e->q = parse_q(value);
		else if (!strcmp(name, "version"))
			snprintf(e->version, sizeof(e->version), "%s", value);
	}
	if (*p == ',')
		return p + 1;
	return NULL;
}

enum negotiate_format negotiate__format(const char *accept)
{
	double q_om = 0, q_text = 0;
	const char *p = accept;
	struct elem e;

	while (p && *p) {
		p = next_elem(p, &e);
		if (!strcmp(e.token, "application/openmetrics-text")) {
			if (!e.version[0] || !strcmp(e.version, "1.0.0") ||
			    !strcmp(e.version, "0.0.1"))
				q_om = e.q > q_om ? e.q : q_om;
		} else if (!strcmp(e.token, "text/plain")) {
			if (!e.version[0] || !strcmp(e.version, "0.0.4"))
				q_text = e.q > q_text ? e.q : q_text;
		} else if (!strcmp(e.token, "text/*") || !strcmp(e.token, "*/*")) {
			q_text = e.q > q_text ? e.q : q_text;
		}
	}
	return q_om > 0 && q_om >= q_text ? NEGOTIATE_OPENMETRICS : NEGOTIATE_TEXT;
}

bool negotiate__gzip(const char *accept_encoding)
{
	double q_gzip = -1, q_any = -1;
	const char *p = accept_encoding;
	struct elem e;

	while (p && *p) {
		p = next_elem(p, &e);
		if (!strcmp(e.token, "gzip") || !strcmp(e.token, "x-gzip"))
			q_gzip = e.q > q_gzip ? e.q : q_gzip;
		else if (!strcmp(e.token, "*"))
			q_any = e.q > q_any ? e.q : q_any;
	}
	/* An explicit gzip entry overrides "*", even when it says q=0. */
	if (q_gzip >= 0)
		return q_gzip > 0;
	return q_any > 0;
}
