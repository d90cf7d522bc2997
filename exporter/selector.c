// SPDX-License-Identifier: GPL-2.0
/* A PromQL series-selector parser and matcher: the part of PromQL that match[] takes. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "selector.h"

static void skip_space(const char **p)
{
	while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r')
		(*p)++;
}

/* [a-zA-Z_][a-zA-Z0-9_]*, and ':' too in metric names. */
static size_t name_len(const char *p, bool metric)
{
	size_t n = 0;

	if (!(isalpha((unsigned char)p[0]) || p[0] == '_' || (metric && p[0] == ':')))
		return 0;
	while (isalnum((unsigned char)p[n]) || p[n] == '_' || (metric && p[n] == ':'))
		n++;
	return n;
}

static void put_utf8(struct buf *b, unsigned long cp)
{
	char u[4];

	if (cp < 0x80) {
		buf__putc(b, (char)cp);
	} else if (cp < 0x800) {
		u[0] = 0xc0 | cp >> 6;
		u[1] = 0x80 | (cp & 0x3f);
		buf__append(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = 0xe0 | cp >> 12;
		u[1] = 0x80 | (cp >> 6 & 0x3f);
		u[2] = 0x80 | (cp & 0x3f);
		buf__append(b, u, 3);
	} else {
		u[0] = 0xf0 | cp >> 18;
		u[1] = 0x80 | (cp >> 12 & 0x3f);
		u[2] = 0x80 | (cp >> 6 & 0x3f);
		u[3] = 0x80 | (cp & 0x3f);
		buf__append(b, u, 4);
	}
}

/* @n hex digits at @p as a number, or -1. */
static long hex(const char *p, int n)
{
	long v = 0;
	int i;

	for (i = 0; i < n; i++) {
		if (!isxdigit((unsigned char)p[i]))
			return -1;
		v = v * 16 + (isdigit((unsigned char)p[i]) ? p[i] - '0' : tolower(p[i]) - 'a' + 10);
	}
	return v;
}

/* A PromQL string: "..." or '...' with Go's escapes, or `...` raw. */
static const char *parse_string(const char *p, struct buf *out)
{
	static const char esc_from[] = "abfnrtv\\\"'", esc_to[] = "\a\b\f\n\r\t\v\\\"'";
	char q = *p++;
	const char *e;
	long v;

	if (q != '"' && q != '\'' && q != '`')
		return NULL;
	while (*p && *p != q) {
		if (*p != '\\' || q == '`') {
			buf__putc(out, *p++);
			continue;
		}
		p++;
		e = *p ? strchr(esc_from, *p) : NULL;
		if (e) {
			buf__putc(out, esc_to[e - esc_from]);
			p++;
			continue;
		}
		switch (*p) {
		case 'x':
			if ((v = hex(p + 1, 2)) < 0)
				return NULL;
			buf__putc(out, (char)v);
			p += 3;
			break;
		case 'u':
		case 'U':
			v = hex(p + 1, *p == 'u' ? 4 : 8);
			if (v < 0 || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
				return NULL;
			p += *p == 'u' ? 5 : 9;
			put_utf8(out, (unsigned long)v);
			break;
		default:
			return NULL;
		}
	}
	return *p == q ? p + 1 : NULL;
}

static int fail(char *err, size_t errlen, const char *what, size_t at)
{
	snprintf(err, errlen, "%s at character %zu", what, at + 1);
	return -EINVAL;
}

/*
 * glibc's regcomp() copies the subexpression under every '+' and every interval '{n,m}'
 * (up to m times), so nested ones grow exponentially: fuzzing found a 73-byte
 * match[]={name=~"a.*|<++++...+"} that made it allocate over 3 GB. Accept at most
 * SELECTOR_MAX_PLUS '+' and no interval, outside bracket expressions; a history selector
 * needs neither (RE2, Prometheus' engine, rejects stacked repetitions too).
 *
 * Nor stacked repetitions ("a**", "a+?", as RE2 rejects them), nor a '+' over an expression
 * that holds a '+' already ("((a)+)?)+"), nor repetitions nested more than 4 deep
 * ("((((((a)*)*)+)*)*)"): with '?' or '*' among them the copies' epsilon closures grow
 * doubly exponentially. Long fuzz runs found match[]={name=~"a.,+++???...?+++++4"} (86
 * bytes, 8 '+') and {me=~"a****...*+****...*"} keeping regcomp busy for minutes;
 * "(((((a)+?)+?)+?)+?)+?" takes 0.16 s and one level more over 20 s, 12 '*' groups inside
 * a '+' and 12 outside 1.4 s. At most 4 levels, one '+' among them, stay in milliseconds.
 */
#define SELECTOR_MAX_PLUS 8
#define SELECTOR_MAX_REPEAT_DEPTH 4
#define SELECTOR_MAX_GROUPS 64 /* nested parentheses */

static const char *regex_too_costly(const char *re)
{
	/* Per open group: holds a '+', and the deepest nesting of repetitions in it. */
	bool group_plus[SELECTOR_MAX_GROUPS + 1] = {false};
	unsigned int group_rep[SELECTOR_MAX_GROUPS + 1] = {0};
	/* The expression a repetition here would apply to: holds a '+'; its repetition depth. */
	bool operand_plus = false, after_rep = false;
	unsigned int operand_rep = 0, plus = 0, depth = 0;
	const char *p;

	for (p = re; *p; p++) {
		bool rep = *p == '+' || *p == '*' || *p == '?';

		if (rep && after_rep)
			return "stacked repetitions (\"a**\", \"a+?\") are not accepted";
		after_rep = rep;
		if (*p == '\\' && p[1]) {
			p++;
			operand_plus = false;
			operand_rep = 0;
		} else if (*p == '[') {
			/* A bracket expression: ']' first in it is a member, not its end. */
			p += p[1] == '^' ? 2 : 1;
			if (*p == ']')
				p++;
			while (*p && *p != ']')
				p++;
			if (!*p)
				break;
			operand_plus = false;
			operand_rep = 0;
		} else if (*p == '{') {
			return "interval expressions {n,m} are not accepted";
		} else if (rep) {
			if (*p == '+' && ++plus > SELECTOR_MAX_PLUS)
				return "more than 8 '+' are not accepted";
			if (*p == '+' && operand_plus)
				return "a '+' over an expression that holds a '+' is not accepted";
			if (++operand_rep > SELECTOR_MAX_REPEAT_DEPTH)
				return "repetitions nested more than 4 deep are not accepted";
			operand_plus |= *p == '+';
			group_plus[depth] |= operand_plus;
			if (operand_rep > group_rep[depth])
				group_rep[depth] = operand_rep;
		} else if (*p == '(') {
			if (depth == SELECTOR_MAX_GROUPS)
				return "more than 64 nested groups are not accepted";
			depth++;
			group_plus[depth] = false;
			group_rep[depth] = 0;
			operand_plus = false;
			operand_rep = 0;
		} else if (*p == ')' && depth) {
			operand_plus = group_plus[depth];
			operand_rep = group_rep[depth];
			depth--;
			group_plus[depth] |= operand_plus;
			if (operand_rep > group_rep[depth])
				group_rep[depth] = operand_rep;
		} else {
			operand_plus = false; /* a new atom, an anchor or '|' */
			operand_rep = 0;
		}
	}
	return NULL;
}

static int add_matcher(struct selector *s, const char *label, size_t llen, enum matcher_op op,
		       struct buf *value, char *err, size_t errlen)
{
	struct matcher *m = &s->m[s->n];
	struct buf re = {};
	int rc;

	if (s->n == SELECTOR_MAX_MATCHERS) {
		snprintf(err, errlen, "more than %d matchers", SELECTOR_MAX_MATCHERS);
		return -EINVAL;
	}
	if (value->err)
		return -ENOMEM;
	m->label = strndup(label, llen);
	m->value = strdup(value->data ? value->data : "");
	m->op = op;
	if (!m->label || !m->value) {
		free(m->label);
		free(m->value);
		return -ENOMEM;
	}
	if (op == MATCH_REGEX || op == MATCH_NOT_REGEX) {
		const char *why = regex_too_costly(m->value);

		if (why) {
			snprintf(err, errlen, "label %s: %s in a regex here", m->label, why);
			free(m->label);
			free(m->value);
			return -EINVAL;
		}
		/* PromQL anchors a regex at both ends. */
		buf__printf(&re, "^(%s)$", m->value);
		if (re.err) {
			free(m->label);
			free(m->value);
			return -ENOMEM;
		}
		rc = regcomp(&m->re, re.data, REG_EXTENDED | REG_NOSUB);
		buf__free(&re);
		if (rc) {
			snprintf(err, errlen, "label %s: not a POSIX extended regex", m->label);
			free(m->label);
			free(m->value);
			return -EINVAL;
		}
	}
	s->n++;
	return 0;
}

int selector__parse(struct selector *s, const char *text, char *err, size_t errlen)
{
	const char *p = text, *q;
	struct buf value = {};
	enum matcher_op op;
	size_t n;
	int rc;

	memset(s, 0, sizeof(*s));
	if (strlen(text) > SELECTOR_MAX_LEN) {
		snprintf(err, errlen, "longer than %d bytes", SELECTOR_MAX_LEN);
		return -EINVAL;
	}
	skip_space(&p);
	n = name_len(p, true);
	if (n) {
		buf__append(&value, p, n);
		rc = add_matcher(s, "__name__", 8, MATCH_EQUAL, &value, err, errlen);
		if (rc)
			goto out_free;
		p += n;
		skip_space(&p);
	}
	if (*p == '{') {
		p++;
		for (;;) {
			skip_space(&p);
			if (*p == '}')
				break;
			q = p;
			n = name_len(p, false);
			if (!n) {
				rc = fail(err, errlen, "expected a label name", p - text);
				goto out_free;
			}
			p += n;
			skip_space(&p);
			if (p[0] == '=' && p[1] == '~')
				op = MATCH_REGEX, p += 2;
			else if (p[0] == '!' && p[1] == '~')
				op = MATCH_NOT_REGEX, p += 2;
			else if (p[0] == '!' && p[1] == '=')
				op = MATCH_NOT_EQUAL, p += 2;
			else if (p[0] == '=')
				op = MATCH_EQUAL, p += 1;
			else {
				rc = fail(err, errlen, "expected =, !=, =~ or !~", p - text);
				goto out_free;
			}
			skip_space(&p);
			buf__reset(&value);
			p = parse_string(p, &value);
			if (!p) {
				rc = -EINVAL;
				snprintf(err, errlen, "label %.*s: expected a quoted string",
					 (int)n, q);
				goto out_free;
			}
			rc = add_matcher(s, q, n, op, &value, err, errlen);
			if (rc)
				goto out_free;
			skip_space(&p);
			if (*p == ',') {
				p++;
				continue;
			}
			if (*p != '}') {
				rc = fail(err, errlen, "expected , or }", p - text);
				goto out_free;
			}
		}
		p++;
		skip_space(&p);
	}
	if (*p) {
		rc = fail(err, errlen, "unexpected character", p - text);
		goto out_free;
	}
	if (!s->n) {
		snprintf(err, errlen, "empty selector: give a metric name or a matcher");
		rc = -EINVAL;
		goto out_free;
	}
	buf__free(&value);
	return 0;
out_free:
	buf__free(&value);
	selector__free(s);
	return rc;
}

static bool matcher_match(const struct matcher *m, const char *v)
{
	switch (m->op) {
	case MATCH_EQUAL:
		return !strcmp(v, m->value);
	case MATCH_NOT_EQUAL:
		return strcmp(v, m->value);
	case MATCH_REGEX:
		return !regexec(&m->re, v, 0, NULL, 0);
	case MATCH_NOT_REGEX:
	default:
		return regexec(&m->re, v, 0, NULL, 0);
	}
}

bool selector__match(const struct selector *s, const char *name, const char *const *names,
		     const char *const *values, size_t n)
{
	const char *v;
	size_t i, j;

	for (i = 0; i < s->n; i++) {
		const struct matcher *m = &s->m[i];

		if (!strcmp(m->label, "__name__")) {
			v = name;
		} else {
			v = "";
			for (j = 0; j < n; j++)
				if (!strcmp(names[j], m->label))
					v = values[j];
		}
		if (!matcher_match(m, v))
			return false;
	}
	return true;
}

void selector__free(struct selector *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n; i++) {
		free(s->m[i].label);
		free(s->m[i].value);
		if (s->m[i].op == MATCH_REGEX || s->m[i].op == MATCH_NOT_REGEX)
			regfree(&s->m[i].re);
	}
	s->n = 0;
}
