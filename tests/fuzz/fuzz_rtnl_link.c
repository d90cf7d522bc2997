// SPDX-License-Identifier: GPL-2.0
/*
 * One RTM_NEWLINK message of an rtnetlink link dump, as the net collector parses it: a
 * device it accepts has a name of 1..15 bytes, and every text field it fills (addresses,
 * alias) ends inside its buffer. Seeds: lo and a veth pair with an alias, captured from a
 * fresh namespace (tests/fuzz/corpus/rtnl_link/), and the inputs that once broke it.
 */
// fuzz-seeds: tests/fixtures/rtnl/*
#include "fuzz.h"
#include "netdev.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/*
	 * A heap copy of exactly the input (malloc aligns it as the kernel aligns a netlink
	 * message), so a read of even one byte past the message is an ASan report.
	 */
	void *msg = malloc(size ? size : 1);
	struct netdev d;

	if (!msg)
		abort();
	memcpy(msg, data, size);
	if (!netdev__parse_link(msg, size, &d)) {
		size_t len = strnlen(d.name, sizeof(d.name));

		FUZZ_CHECK(len > 0 && len < sizeof(d.name));
		FUZZ_CHECK(strnlen(d.address, sizeof(d.address)) < sizeof(d.address));
		FUZZ_CHECK(strnlen(d.broadcast, sizeof(d.broadcast)) < sizeof(d.broadcast));
		FUZZ_CHECK(strnlen(d.ifalias, sizeof(d.ifalias)) < sizeof(d.ifalias));
		FUZZ_CHECK(d.has_info);
		FUZZ_CHECK(netdev__operstate_name(d.operstate)[0]);
	}
	free(msg);
	return 0;
}
