// SPDX-License-Identifier: GPL-2.0
/* setgroups/setgid/setuid with the capability sets emptied first, then verified. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include "log.h"
#include "privdrop.h"

static int fail(char *why, size_t len, const char *what)
{
	int err = errno ? -errno : -EPERM;

	snprintf(why, len, "%s: %s", what, strerror(-err));
	return err;
}

int privdrop__to(const char *user, char *why, size_t len)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct caps[2] = {};
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;
	struct passwd *pw;
	int cap;

	if (!strcmp(user, "root"))
		return 0;
	/* Started unprivileged (no eBPF collector, say): nothing to give up, nothing to
	 * switch with. Still no way back up through an exec. */
	if (geteuid() && !syscall(SYS_capget, &hdr, caps) && !caps[0].permitted &&
	    !caps[1].permitted) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
			return fail(why, len, "failed to set no_new_privs");
		log_info("already unprivileged (uid %u, no capabilities): not switching to %s",
			 (unsigned)geteuid(), user);
		return 0;
	}
	errno = 0;
	pw = getpwnam(user);
	if (!pw) {
		snprintf(why, len, "no user '%s'%s%s", user, errno ? ": " : "",
			 errno ? strerror(errno) : "");
		return -ENOENT;
	}
	if (!pw->pw_uid) {
		snprintf(why, len, "user '%s' has uid 0: say --run-as=root to keep root", user);
		return -EINVAL;
	}
	/* Nothing we exec (we do not) or inherit may gain privileges back. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return fail(why, len, "failed to set no_new_privs");
	/* Ambient capabilities exist since 4.3; EINVAL before that means there are none. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) && errno != EINVAL)
		return fail(why, len, "failed to clear the ambient capabilities");
	/* Dropping from the bounding set needs CAP_SETPCAP: before setuid. EINVAL = past
	 * the last capability this kernel knows. */
	for (cap = 0; cap < 64; cap++) {
		if (!prctl(PR_CAPBSET_DROP, cap, 0, 0, 0))
			continue;
		if (errno == EINVAL)
			break;
		return fail(why, len, "failed to clear the capability bounding set");
	}
	if (setgroups(0, NULL))
		return fail(why, len, "failed to drop supplementary groups");
	if (setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid))
		return fail(why, len, "failed to set the group id");
	/* Without PR_SET_KEEPCAPS, leaving uid 0 clears permitted and effective sets. */
	if (setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid))
		return fail(why, len, "failed to set the user id");
	if (syscall(SYS_capset, &hdr, caps))
		return fail(why, len, "failed to clear the capabilities");

	/* Trust, but verify. */
	memset(caps, 0xff, sizeof(caps));
	if (syscall(SYS_capget, &hdr, caps))
		return fail(why, len, "failed to read the capabilities back");
	if (caps[0].effective | caps[1].effective | caps[0].permitted | caps[1].permitted |
	    caps[0].inheritable | caps[1].inheritable) {
		snprintf(why, len, "capabilities remain after the drop (effective %08x%08x)",
			 caps[1].effective, caps[0].effective);
		return -EPERM;
	}
	if (getresuid(&ruid, &euid, &suid) || getresgid(&rgid, &egid, &sgid) ||
	    ruid != pw->pw_uid || euid != pw->pw_uid || suid != pw->pw_uid || rgid != pw->pw_gid ||
	    egid != pw->pw_gid || sgid != pw->pw_gid) {
		snprintf(why, len, "the user and group ids did not change");
		return -EPERM;
	}
	if (!setuid(0)) {
		snprintf(why, len, "setuid(0) still succeeds after the drop");
		return -EPERM;
	}
	log_info("dropped privileges: running as %s (uid %u, gid %u) with no capabilities", user,
		 (unsigned)pw->pw_uid, (unsigned)pw->pw_gid);
	return 0;
}
