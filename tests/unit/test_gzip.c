// SPDX-License-Identifier: GPL-2.0
/* gzip bodies: what gzip__compress makes, zlib reads back. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "gzip.h"
#include "harness.h"

TEST(gzip_round_trip)
{
	char in[20000], out[20000];
	uLongf out_len = sizeof(out);
	z_stream z = {};
	char *gz = NULL;
	size_t gz_len = 0, i;

	for (i = 0; i < sizeof(in); i++)
		in[i] = "kpulse_cpu_busy_seconds_total{cpu=\"0\"} 1\n"[i % 40];
	CHECK_INT(gzip__compress(in, sizeof(in), &gz, &gz_len), 0);
	CHECK(gz_len < sizeof(in) / 10);
	/* gzip magic, deflate method */
	CHECK(gz && (unsigned char)gz[0] == 0x1f && (unsigned char)gz[1] == 0x8b && gz[2] == 8);
	CHECK_INT(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = (Bytef *)gz;
	z.avail_in = gz_len;
	z.next_out = (Bytef *)out;
	z.avail_out = out_len;
	CHECK_INT(inflate(&z, Z_FINISH), Z_STREAM_END);
	CHECK_INT(z.total_out, sizeof(in));
	CHECK(!memcmp(in, out, sizeof(in)));
	inflateEnd(&z);
	free(gz);
	/* An empty body still makes a valid gzip stream. */
	CHECK_INT(gzip__compress("", 0, &gz, &gz_len), 0);
	CHECK(gz_len >= 18);
	free(gz);
}

int main(void)
{
	h_suite = "gzip";
	RUN(gzip_round_trip);
	return DONE();
}
