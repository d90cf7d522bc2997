// SPDX-License-Identifier: GPL-2.0
/*
 * mountinfo: "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue"
 * Optional fields end at the lone "-"; everything after it is fstype, source, options.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "mountinfo.h"

void mountinfo__unescape(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

static char *next_field(char **p)
{
	char *s = *p, *end;

	while (*s == ' ')
		s++;
	if (!*s || *s == '\n')
		return NULL;
	end = s + strcspn(s, " \n");
	if (*end)
		*end++ = '\0';
	*p = end;
	return s;
}

int mountinfo__parse(char *line, struct mountinfo *m)
{
	char *p = line, *f[6], *dev, *opt;
	int i;

	for (i = 0; i < 6; i++) {
		f[i] = next_field(&p);
		if (!f[i])
			return -EINVAL;
	}
	dev = f[2];
	if (sscanf(dev, "%u:%u", &m->major, &m->minor) != 2)
		return -EINVAL;
	m->root = f[3];
	m->mount_point = f[4];
	m->options = f[5];
	/* Skip the optional fields up to the separator. */
	while ((opt = next_field(&p)) && strcmp(opt, "-"))
		;
	if (!opt)
		return -EINVAL;
	m->fstype = next_field(&p);
	m->source = next_field(&p);
	m->super_options = next_field(&p);
	if (!m->fstype || !m->source)
		return -EINVAL;
	if (!m->super_options)
		m->super_options = "";
	mountinfo__unescape(m->root);
	mountinfo__unescape(m->mount_point);
	mountinfo__unescape(m->source);
	return 0;
}
