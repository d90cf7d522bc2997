/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The metric model: collectors describe families statically (struct metric_desc) and add
 * samples to a metric set once per tick; the encoders render a finished set.
 */
#ifndef KPULSE_METRICS_H
#define KPULSE_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"

enum metric_type {
	METRIC_GAUGE,
	METRIC_COUNTER,
	METRIC_HISTOGRAM,
	METRIC_INFO, /* value 1, labels carry the information; name ends in _info */
	/*
	 * A histogram of what is there now (RTTs of the open connections), not of events: its
	 * buckets and count can go down. OpenMetrics calls it gaugehistogram (_gsum, _gcount);
	 * the text format 0.0.4 has no such type and gets a histogram, as client_python
	 * writes one.
	 */
	METRIC_GAUGE_HISTOGRAM,
};

/* What a family asks of the exporter beyond exposition, declared with the family. */
enum metric_flags {
	/*
	 * A 1-second gauge (rate or ratio) worth keeping: its samples go into the history ring
	 * (/api/v1/history, the live page) and /metrics also carries <name>_max, its highest
	 * sample of the last --history.peak-window.
	 */
	METRIC_HISTORY = 1u << 0,
	/*
	 * Two samples whose label sets render the same (names that differ only in bytes that
	 * are not UTF-8, or beyond the 256 kept) keep the higher value instead of their sum:
	 * for ratios of a worst case, 0/1 states and sizes of one thing seen twice. Counters,
	 * histograms and other gauges add up; info families keep the first.
	 */
	METRIC_MERGE_MAX = 1u << 1,
};

struct metric_desc {
	const char *name;
	enum metric_type type;
	const char *labels; /* label names in sample order, comma-separated; "" for none */
	const char *help;
	unsigned int flags; /* enum metric_flags */
};

#define METRIC_LABELS_MAX 8
/* Bytes of a label value that are kept; the rest is cut (on a UTF-8 boundary). */
#define METRIC_VALUE_MAX 256

struct msample {
	uint32_t next;	 /* next sample of the same family, or MSAMPLE_END */
	uint32_t fam;	 /* index of its family in mset.fams */
	uint32_t labels; /* offset in mset.text of 'a="x",b="y"' (escaped), NUL-terminated */
	uint32_t hist;	 /* histograms: offset in mset.hist of [n, bounds[n], cumulative[n+1]] */
	double value;	 /* counters and gauges: the value; histograms: the sum */
};

struct mfamily {
	const struct metric_desc *desc;
	uint32_t head, tail;
	uint32_t count;
};

#define MSAMPLE_END UINT32_MAX

struct mset {
	struct mfamily *fams;
	size_t nfams, capfams;
	struct msample *samples;
	size_t nsamples, capsamples;
	struct buf text; /* rendered label sets */
	double *hist;	 /* histogram blocks */
	size_t nhist, caphist;
	size_t last; /* family of the last add: samples usually come in runs */
	/*
	 * Open-addressing index of (family, label set) -> sample + 1, so that a label set is
	 * exported once per family: strict parsers reject a repeated series.
	 */
	uint32_t *index;
	size_t indexcap;
	int err; /* sticky -ENOMEM */
};

struct mset *mset__new(void);
void mset__free(struct mset *s);
/* Drop all samples but keep the memory, for the next tick. */
void mset__reset(struct mset *s);
/* Add one counter or gauge sample; the label values follow in the order of d->labels. */
int mset__add(struct mset *s, const struct metric_desc *d, double value, ...);
int mset__addv(struct mset *s, const struct metric_desc *d, double value,
	       const char *const *values);
/* Add a sample whose label set is already rendered and escaped ('a="x",b="y"', or ""). */
int mset__add_rendered(struct mset *s, const struct metric_desc *d, double value,
		       const char *labels);
/*
 * Add one histogram: @bounds are the n finite upper bounds in increasing order, @counts
 * the n + 1 per-bucket (not cumulative) counts, the last one above bounds[n - 1].
 */
int mset__histogram(struct mset *s, const struct metric_desc *d, const double *bounds,
		    const uint64_t *counts, size_t n, double sum, ...);
/* Number of label names in @d. */
size_t metric_desc__nlabels(const struct metric_desc *d);
/*
 * Write @v as a label value, the one place label text is written: '\\', '\"' and '\n'
 * escaped, the first METRIC_VALUE_MAX bytes kept (cut before a character, never inside),
 * and every byte that is not valid UTF-8 or is another control character (CR, TAB, DEL,
 * ...) replaced by U+FFFD. Unescaping gives back @v when it was valid UTF-8 without such
 * characters and no longer than the bound.
 */
void metrics__escape_label(struct buf *out, const char *v);
/* Length of the valid UTF-8 sequence at @p (at most @n bytes), or 0 if invalid. */
size_t metrics__utf8_len(const unsigned char *p, size_t n);

#endif /* KPULSE_METRICS_H */
