// SPDX-License-Identifier: GPL-2.0
/*
 * mountinfo: "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue"
 * Optional fields end at the lone "-"; everything after it is fstype, source, options.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
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

static bool has_option(const char *options, const char *opt)
{
	size_t n = strlen(opt);
	const char *p = options;

	while ((p = strstr(p, opt))) {
		if ((p == options || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return true;
		p += n;
	}
	return false;
}

int mount_table__parse(struct mount_table *t, char *buf, const struct filter *types,
		       const struct filter *points)
{
	char *line, *next;
	size_t i;

	t->n = t->bad = t->dropped = 0;
	strindex__clear(&t->index);
	for (line = buf; line && *line; line = next) {
		struct mountinfo mi;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (mountinfo__parse(line, &mi)) {
			t->bad += *line != '\0';
			continue;
		}
		if ((types && !filter__match(types, mi.fstype)) ||
		    (points && !filter__match(points, mi.mount_point)))
			continue;
		if (!strindex__get(&t->index, mi.mount_point, &i)) {
			if (t->max && t->n == t->max) {
				t->dropped++;
				continue;
			}
			if (t->n == t->cap) {
				size_t cap = t->cap ? t->cap * 2 : 32;
				struct mount_entry *m = realloc(t->m, cap * sizeof(*m));

				if (!m)
					return -ENOMEM;
				t->m = m;
				t->cap = cap;
			}
			i = t->n++;
			if (strindex__put(&t->index, mi.mount_point, i))
				return -ENOMEM;
		}
		t->m[i] = (struct mount_entry){
			.device = mi.source,
			.mount_point = mi.mount_point,
			.fstype = mi.fstype,
			/*
			 * The superblock's options, not the mount's: a sandbox such as
			 * systemd's ProtectSystem=strict remounts every mount read-only for
			 * kpulse alone, while the filesystem stays writable for everyone else.
			 */
			.readonly = has_option(mi.super_options, "ro"),
			.mount_readonly = has_option(mi.options, "ro"),
		};
	}
	return 0;
}

void mount_table__free(struct mount_table *t)
{
	free(t->m);
	strindex__free(&t->index);
	memset(t, 0, sizeof(*t));
}
