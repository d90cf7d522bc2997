// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the --web.config.file loader: the input is the YAML. Relative file
 * names point into a directory that does not exist, so only the parser and the checks
 * run (and the refusal of files that cannot be read).
 */
#include <stdint.h>
#include <stdlib.h>
#include "webconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct webconfig wc;
	char err[1024];

	if (!webconfig__parse((const char *)data, size, "/nonexistent-kpulse-fuzz/web.yml", &wc,
			      err, sizeof(err))) {
		/* A loaded config is consistent: TLS has its PEM data, users have hashes. */
		if (wc.tls && (!wc.cert_pem || !wc.key_pem || !wc.priorities))
			abort();
		for (size_t i = 0; i < wc.nusers; i++)
			if (!wc.users[i].name || !wc.users[i].hash ||
			    webconfig__user_hash(&wc, wc.users[i].name) != wc.users[i].hash)
				abort();
		webconfig__free(&wc);
	} else if (!err[0]) {
		abort(); /* every failure says why */
	}
	return 0;
}
