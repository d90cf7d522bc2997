// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for content negotiation: the input is split at its first NUL into an
 * Accept and an Accept-Encoding header value (headers never hold a NUL themselves).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "negotiate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 2);
	const char *enc;
	enum negotiate_format f;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = s[size + 1] = '\0';
	enc = s + strlen(s) + 1;
	if (enc > s + size)
		enc = s + size + 1;
	f = negotiate__format(s);
	if (f != NEGOTIATE_TEXT && f != NEGOTIATE_OPENMETRICS)
		abort();
	(void)negotiate__gzip(enc);
	(void)negotiate__gzip(s);
	free(s);
	return 0;
}
