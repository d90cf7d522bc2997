// SPDX-License-Identifier: GPL-2.0
// kpulse's live page: the whole history once, then every second only what is new
// (/api/v1/history?start=...), and host facts from the metrics page every few seconds.
// Every request goes to the page's own origin, so TLS and basic auth apply unchanged.
// Label values are untrusted text: they reach the page through textContent only.
'use strict';

(function () {
	const METRICS = document.body.dataset.metrics || '/metrics';
	const WINDOW = Number(document.body.dataset.window) || 900; /* seconds */
	const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b',
			 '#e377c2', '#17becf', '#bcbd22', '#7f7f7f'];
	const MODE_COLORS = {user: '#1f77b4', nice: '#aec7e8', system: '#d62728',
			     iowait: '#ff7f0e', irq: '#9467bd', softirq: '#c5b0d5', steal: '#8c564b'};
	const MAX_DEVICES = 6; /* busiest devices charted; the rest are counted in the title */

	const store = new Map(); /* name + labels -> {name, labels, t: [], v: []} */
	const facts = {};	 /* the latest host facts from the metrics page */
	let lastTs = 0;		 /* seconds: the newest point of the history */
	let lastOk = 0, lastError = '', updates = 0;

	/* Formatting. */
	function pct(v) {
		if (v === null || isNaN(v)) return '–';
		if (v > 0 && v < 0.0005) return '<0.1%'; /* not 0.0%: some, just very little */
		return (v * 100).toFixed(v < 0.1 && v > 0 ? 1 : 0) + '%';
	}
	function si(v, unit) {
		if (v === null || isNaN(v)) return '–';
		const p = ['', 'k', 'M', 'G', 'T', 'P'];
		let i = 0;
		while (Math.abs(v) >= 1000 && i < p.length - 1) {
			v /= 1000;
			i++;
		}
		return (Math.abs(v) < 10 && i ? v.toFixed(1) : v.toFixed(0)) + ' ' + p[i] + unit;
	}
	function bytes(v) { return si(v, 'B/s'); }
	function perSec(v) { return si(v, '/s'); }
	function secs(v) {
		if (v === null || isNaN(v)) return '–';
		if (v < 1e-3) return (v * 1e6).toFixed(v < 1e-5 ? 1 : 0) + ' µs';
		if (v < 1) return (v * 1e3).toFixed(v < 1e-2 ? 2 : 1) + ' ms';
		return v.toFixed(2) + ' s';
	}
	function duration(s) {
		const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600),
		      m = Math.floor(s % 3600 / 60);
		return d ? `${d} d ${h} h` : h ? `${h} h ${m} min` : `${m} min`;
	}
	function plural(n, what) { return `${n} ${what}${n === 1 ? '' : 's'}`; }
	function gib(b) { return (b / 2 ** 30).toFixed(b < 10 * 2 ** 30 ? 1 : 0) + ' GiB'; }
	function clock(ms) {
		const d = new Date(ms);
		return d.toTimeString().slice(0, 8);
	}

	function el(tag, cls, text) {
		const e = document.createElement(tag);
		if (cls) e.className = cls;
		if (text !== undefined) e.textContent = text;
		return e;
	}

	/* The history. */
	function seriesKey(name, labels) {
		return name + JSON.stringify(Object.keys(labels).sort().map(k => [k, labels[k]]));
	}
	function number(s) {
		return s === '+Inf' ? Infinity : s === '-Inf' ? -Infinity : parseFloat(s);
	}
	/* Add the points of a matrix answer; how many were new. */
	function ingest(result) {
		let added = 0;
		for (const r of result) {
			const labels = Object.assign({}, r.metric);
			const name = labels.__name__;
			delete labels.__name__;
			const k = seriesKey(name, labels);
			let s = store.get(k);
			if (!s) {
				s = {name, labels, t: [], v: []};
				store.set(k, s);
			}
			for (const [t, v] of r.values) {
				if (s.t.length && t <= s.t[s.t.length - 1]) continue;
				s.t.push(t);
				s.v.push(number(v));
				added++;
				if (t > lastTs) lastTs = t;
			}
		}
		const cut = lastTs - WINDOW;
		for (const [k, s] of store) {
			let i = 0;
			while (i < s.t.length && s.t[i] < cut) i++;
			if (i) {
				s.t.splice(0, i);
				s.v.splice(0, i);
			}
			if (!s.t.length) store.delete(k);
		}
		return added;
	}
	function select(name, filter) {
		const out = [];
		for (const s of store.values())
			if (s.name === name && (!filter || filter(s.labels))) out.push(s);
		return out;
	}
	/* The newest value of a series, if it has a point in the newest tick. */
	function now(s) {
		return s && s.t.length && s.t[s.t.length - 1] === lastTs ? s.v[s.v.length - 1] : null;
	}
	function latest(name, labels) {
		const s = store.get(seriesKey(name, labels || {}));
		return s ? s.v[s.v.length - 1] : null;
	}
	function peak(s, seconds) {
		let m = null;
		for (let i = s.t.length - 1; i >= 0 && s.t[i] > lastTs - seconds; i--)
			if (m === null || s.v[i] > m) m = s.v[i];
		return m;
	}
	function sum(list) {
		let total = null;
		for (const s of list) {
			const v = now(s);
			if (v !== null) total = (total || 0) + v;
		}
		return total;
	}
	function byNumber(label) {
		return (a, b) => Number(a.labels[label]) - Number(b.labels[label]);
	}
	/* The @n devices with the most traffic in the window, over the given families. */
	function busiestDevices(names, n) {
		const score = new Map();
		for (const name of names)
			for (const s of select(name))
				score.set(s.labels.device, (score.get(s.labels.device) || 0) +
					  s.v.reduce((a, b) => a + b, 0));
		const all = [...score.keys()].sort((a, b) => score.get(b) - score.get(a) ||
						   a.localeCompare(b));
		return {shown: all.slice(0, n).sort(), hidden: Math.max(0, all.length - n)};
	}

	/* Charts: each a function returning [{label, series, color?, width?}] and options. */
	const CHARTS = [
		{id: 'cpu', title: 'CPU busy per core', fmt: pct, max: 1, lines: () => {
			const cores = select('kpulse_cpu_busy_ratio').sort(byNumber('cpu'));
			const out = cores.map((s, i) => ({label: 'cpu ' + s.labels.cpu, series: s,
							 color: PALETTE[i % PALETTE.length]}));
			const all = select('kpulse_cpu_busy_ratio_all')[0];
			if (all) out.push({label: 'all CPUs', series: all, color: '#000', width: 2.5});
			return out;
		}},
		{id: 'modes', title: 'CPU time by mode, all CPUs (stacked; idle is the rest)',
		 fmt: pct, max: 1, stacked: true, lines: () => {
			const order = Object.keys(MODE_COLORS);
			return select('kpulse_cpu_mode_ratio', l => l.mode !== 'idle')
				.sort((a, b) => order.indexOf(a.labels.mode) - order.indexOf(b.labels.mode))
				.map(s => ({label: s.labels.mode, series: s,
					    color: MODE_COLORS[s.labels.mode] || '#7f7f7f'}));
		}},
		{id: 'net-bytes', title: 'Network: bytes per second (received ↓, sent ↑)', fmt: bytes,
		 lines: () => netLines('bytes')},
		{id: 'net-packets', title: 'Network: packets per second', fmt: perSec,
		 lines: () => netLines('packets')},
		{id: 'disk-bytes', title: 'Disk throughput (read, written)', fmt: bytes, lines: () => {
			const out = [];
			const devs = select('kpulse_disk_read_bytes_per_second')
				.map(s => s.labels.device).sort();
			devs.forEach((d, i) => {
				const c = PALETTE[i % PALETTE.length];
				for (const [dir, name] of [['read', 'kpulse_disk_read_bytes_per_second'],
							  ['write', 'kpulse_disk_write_bytes_per_second']]) {
					const s = select(name, l => l.device === d)[0];
					if (s) out.push({label: `${d} ${dir}`, series: s, color: c,
							 dash: dir === 'write'});
				}
			});
			return out;
		}},
		{id: 'disk-util', title: 'Disk utilisation (time with I/O in flight)', fmt: pct, max: 1,
		 lines: () => select('kpulse_disk_utilization_ratio').sort((a, b) =>
			a.labels.device.localeCompare(b.labels.device)).map((s, i) => ({
				label: s.labels.device, series: s, color: PALETTE[i % PALETTE.length]}))},
		{id: 'memory', title: 'Memory used (1 − available / total)', fmt: pct, max: 1,
		 lines: () => select('kpulse_memory_used_ratio').map(s => ({
			label: 'used', series: s, color: '#2ca02c', fill: true}))},
		{id: 'runqueue', title: 'Run-queue latency: wait for a CPU, each second (log scale)',
		 fmt: secs, log: true, lines: () => [
			['p99', 'kpulse_sched_runqueue_latency_p99_seconds', '#d62728'],
			['median', 'kpulse_sched_runqueue_latency_p50_seconds', '#1f77b4']]
			.map(([label, name, color]) => ({label, series: select(name)[0], color}))
			.filter(l => l.series)},
		{id: 'fd', title: 'File descriptors: the process nearest its limit (open / RLIMIT_NOFILE)',
		 fmt: pct, lines: () => select('kpulse_fd_limit_ratio_max').map(s => ({
			label: 'nearest its limit', series: s, color: '#9467bd', fill: true}))},
		{id: 'fd-rate', title: 'File descriptors opened per second', fmt: perSec,
		 lines: () => select('kpulse_fd_opened_per_second').map(s => ({
			label: 'opened', series: s, color: '#17becf'}))},
	];

	function netLines(what) {
		const rx = `kpulse_network_receive_${what}_per_second`;
		const tx = `kpulse_network_transmit_${what}_per_second`;
		const {shown, hidden} = busiestDevices([rx, tx], MAX_DEVICES);
		const out = [];
		shown.forEach((d, i) => {
			const c = PALETTE[i % PALETTE.length];
			const r = select(rx, l => l.device === d)[0];
			const t = select(tx, l => l.device === d)[0];
			if (r) out.push({label: `${d} ↓`, series: r, color: c});
			if (t) out.push({label: `${d} ↑`, series: t, color: c, dash: true});
		});
		out.hidden = hidden;
		return out;
	}

	const charts = new Map(); /* id -> {graph, box, legend, def, lines, zoomed} */

	function rows(lines) {
		const index = new Map();
		const times = [];
		for (const l of lines)
			for (const t of l.series.t)
				if (!index.has(t)) {
					index.set(t, 0);
					times.push(t);
				}
		times.sort((a, b) => a - b);
		times.forEach((t, i) => index.set(t, i));
		const data = times.map(t => {
			const row = new Array(lines.length + 1).fill(null);
			row[0] = new Date(t * 1000);
			return row;
		});
		lines.forEach((l, j) => {
			const s = l.series;
			for (let i = 0; i < s.t.length; i++) data[index.get(s.t[i])][j + 1] = s.v[i];
		});
		return data;
	}

	function drawLegend(c) {
		c.legend.textContent = '';
		for (const l of c.lines) {
			const item = el('span', 'item');
			const swatch = el('span', l.dash ? 'swatch dash' : 'swatch');
			swatch.style.borderColor = l.color;
			item.append(swatch, el('span', 'label', l.label + ' '),
				    el('b', 'value', c.def.fmt(now(l.series))));
			c.legend.append(item);
		}
		if (c.lines.hidden)
			c.legend.append(el('span', 'item more', `+${c.lines.hidden} quieter devices`));
	}

	function render() {
		const box = document.getElementById('charts');
		for (const def of CHARTS) {
			const lines = def.lines();
			let c = charts.get(def.id);
			if (!lines.length) {
				if (c) c.box.hidden = true;
				continue;
			}
			if (!c) {
				const section = el('section', 'chart');
				section.id = 'chart-' + def.id;
				const div = el('div', 'plot');
				c = {def, box: section, legend: el('div', 'legend'), zoomed: false};
				section.append(el('h2', null, def.title), div, c.legend);
				box.append(section);
				c.div = div;
				charts.set(def.id, c);
			}
			c.box.hidden = false;
			c.lines = lines;
			const data = rows(lines);
			const first = data.length ? data[0][0].getTime() : 0;
			const opts = {
				file: data,
				labels: ['time', ...lines.map(l => l.label)],
				colors: lines.map(l => l.color),
				series: Object.fromEntries(lines.map(l => [l.label, Object.assign({
					strokeWidth: l.width || 1.5,
					strokePattern: l.dash ? [4, 3] : null},
					l.fill ? {fillGraph: true} : {})])),
			};
			if (!c.zoomed)
				opts.dateWindow = [Math.max(first, (lastTs - WINDOW) * 1000), lastTs * 1000];
			if (!c.graph) {
				c.graph = new Dygraph(c.div, data, Object.assign(opts, {
					stackedGraph: !!def.stacked,
					fillGraph: !!def.stacked,
					fillAlpha: def.stacked ? 0.6 : 0.15,
					logscale: !!def.log,
					valueRange: def.max ? [0, def.max * 1.02] : null,
					includeZero: !def.log,
					legend: 'follow',
					labelsSeparateLines: true,
					connectSeparatedPoints: false,
					animatedZooms: false,
					axisLabelFontSize: 11,
					rightGap: 8,
					axes: {
						/* Whole seconds only: a window of a few seconds
						 * (just opened, or zoomed in) gets ticks between
						 * them, which would repeat the same HH:MM:SS. */
						x: {axisLabelFormatter: d => d.getMilliseconds()
							? '' : clock(d.getTime()),
						    valueFormatter: ms => clock(ms), pixelsPerLabel: 90},
						y: {axisLabelFormatter: def.fmt, valueFormatter: def.fmt,
						    axisLabelWidth: 64},
					},
					zoomCallback: () => { c.zoomed = true; },
				}));
				c.div.addEventListener('dblclick', () => { c.zoomed = false; });
			} else {
				c.graph.updateOptions(opts);
			}
			drawLegend(c);
		}
	}

	/* Tiles: the host's state in a few numbers, coloured by how close to trouble. */
	/* A tile; @value is a string, or two lines [a, b] for a pair of directions. */
	function tile(label, value, sub, level) {
		const t = el('div', 'tile ' + (level || 'ok'));
		t.append(el('div', 'tlabel', label));
		if (Array.isArray(value))
			t.append(el('div', 'tvalue pair', value[0]), el('div', 'tvalue pair', value[1]));
		else
			t.append(el('div', 'tvalue', value));
		t.append(el('div', 'tsub', sub));
		return t;
	}
	function level(v, warn, crit) {
		return v === null ? 'none' : v >= crit ? 'crit' : v >= warn ? 'warn' : 'ok';
	}
	function renderTiles() {
		const box = document.getElementById('tiles');
		const out = [];
		const all = now(select('kpulse_cpu_busy_ratio_all')[0]);
		const cores = select('kpulse_cpu_busy_ratio');
		let busiest = null;
		for (const s of cores)
			if (now(s) !== null && (!busiest || now(s) > now(busiest))) busiest = s;
		const allSeries = select('kpulse_cpu_busy_ratio_all')[0];
		out.push(tile('CPU busy', pct(all),
			      (busiest ? `busiest: cpu ${busiest.labels.cpu} ${pct(now(busiest))}` : '') +
			      (allSeries ? ` · 15\u00a0s peak ${pct(peak(allSeries, 15))}` : ''),
			      level(busiest ? now(busiest) : all, 0.8, 0.95)));
		const mem = now(select('kpulse_memory_used_ratio')[0]);
		out.push(tile('Memory used', pct(mem),
			      facts.memTotal ? 'of ' + gib(facts.memTotal) : '', level(mem, 0.8, 0.95)));
		const notLo = l => l.device !== 'lo';
		const rx = sum(select('kpulse_network_receive_bytes_per_second', notLo));
		const tx = sum(select('kpulse_network_transmit_bytes_per_second', notLo));
		out.push(tile('Network', [`↓ ${bytes(rx)}`, `↑ ${bytes(tx)}`],
			      plural(new Set(select('kpulse_network_receive_bytes_per_second', notLo)
				.map(s => s.labels.device)).size, 'device') + ', lo left out', 'ok'));
		const rd = sum(select('kpulse_disk_read_bytes_per_second'));
		const wr = sum(select('kpulse_disk_write_bytes_per_second'));
		let util = null, udev = '';
		for (const s of select('kpulse_disk_utilization_ratio'))
			if (now(s) !== null && (util === null || now(s) > util)) {
				util = now(s);
				udev = s.labels.device;
			}
		out.push(tile('Disk', [`read ${bytes(rd)}`, `write ${bytes(wr)}`],
			      util !== null ? `busiest: ${udev} ${pct(util)} utilised` : 'no disks',
			      level(util, 0.7, 0.9)));
		const p99 = now(select('kpulse_sched_runqueue_latency_p99_seconds')[0]);
		const p50 = now(select('kpulse_sched_runqueue_latency_p50_seconds')[0]);
		out.push(tile('Run-queue wait, p99', secs(p99), 'median ' + secs(p50),
			      level(p99, 0.01, 0.1)));
		const fd = now(select('kpulse_fd_limit_ratio_max')[0]);
		out.push(tile('Nearest fd limit', pct(fd),
			      facts.fdMax ? `${facts.fdMax.name} (pid ${facts.fdMax.pid})` : '',
			      level(fd, 0.7, 0.9)));
		if (facts.load1 !== undefined)
			out.push(tile('Load (1 min)', facts.load1.toFixed(2),
				      facts.cpus ? `${facts.cpus} CPUs online` : '',
				      facts.cpus ? level(facts.load1 / facts.cpus, 1, 2) : 'ok'));
		box.replaceChildren(...out);
	}

	/* Host facts from the metrics page (text format 0.0.4). */
	const FACTS = new Set(['kpulse_host_info', 'kpulse_boot_time_seconds', 'kpulse_cpus_online',
			       'kpulse_memory_total_bytes', 'kpulse_collector_up', 'kpulse_build_info',
			       'kpulse_process_open_fds', 'kpulse_process_fd_limit_ratio',
			       'kpulse_fd_limit_ratio_max_process_info', 'kpulse_load1']);
	function parseMetrics(text) {
		const out = {};
		const line = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
		const pair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
		for (const l of text.split('\n')) {
			if (!l || l[0] === '#') continue;
			const m = line.exec(l);
			if (!m || !FACTS.has(m[1])) continue;
			const labels = {};
			let p;
			pair.lastIndex = 0;
			while ((p = pair.exec(m[2] || '')))
				labels[p[1]] = p[2].replace(/\\(.)/g, (_, c) => c === 'n' ? '\n' : c);
			(out[m[1]] = out[m[1]] || []).push({labels, value: number(m[3])});
		}
		return out;
	}
	function one(m, name) { return m[name] && m[name][0]; }
	function renderFacts(m) {
		const host = one(m, 'kpulse_host_info');
		const build = one(m, 'kpulse_build_info');
		const boot = one(m, 'kpulse_boot_time_seconds');
		facts.cpus = one(m, 'kpulse_cpus_online') && one(m, 'kpulse_cpus_online').value;
		facts.memTotal = one(m, 'kpulse_memory_total_bytes') &&
			one(m, 'kpulse_memory_total_bytes').value;
		facts.load1 = one(m, 'kpulse_load1') ? one(m, 'kpulse_load1').value : undefined;
		const fdMax = one(m, 'kpulse_fd_limit_ratio_max_process_info');
		facts.fdMax = fdMax && fdMax.labels;
		if (host) {
			document.getElementById('hostname').textContent = host.labels.hostname;
			document.title = host.labels.hostname + ' · kpulse';
		}
		facts.host = host && host.labels;
		facts.boot = boot && boot.value;
		facts.version = build && build.labels.version;
		renderHostInfo();
		const box = document.getElementById('collectors');
		const chips = (m.kpulse_collector_up || []).map(s => {
			const up = s.value === 1;
			const c = el('span', 'chip ' + (up ? 'up' : 'down'),
				     (up ? '● ' : '✕ ') + s.labels.collector + (up ? '' : ' down'));
			c.title = `collector ${s.labels.collector} is ${up ? 'up' : 'down'}`;
			return c;
		});
		box.replaceChildren(...chips);
		const ratio = new Map((m.kpulse_process_fd_limit_ratio || [])
			.map(s => [s.labels.name, s.value]));
		const tbody = document.querySelector('#fd-table tbody');
		const procs = (m.kpulse_process_open_fds || []).slice()
			.sort((a, b) => b.value - a.value || a.labels.name.localeCompare(b.labels.name));
		tbody.replaceChildren(...procs.map(s => {
			const tr = el('tr');
			const r = ratio.has(s.labels.name) ? ratio.get(s.labels.name) : null;
			const bar = el('div', 'bar ' + level(r, 0.7, 0.9));
			bar.style.width = Math.min(100, (r || 0) * 100) + '%';
			const cell = el('td', 'ratio');
			const track = el('div', 'track');
			track.append(bar);
			cell.append(track, el('span', null, pct(r)));
			tr.append(el('td', 'name', s.labels.name), el('td', 'num', String(s.value)), cell);
			return tr;
		}));
	}

	/* Uptime by the server's clock (the newest sample), so a skewed browser clock is moot. */
	function renderHostInfo() {
		const info = [];
		const h = facts.host;
		if (h) info.push(`Linux ${h.kernel}`, h.arch, h.cpu_model);
		if (facts.cpus) info.push(`${facts.cpus} CPUs`);
		if (facts.memTotal) info.push(gib(facts.memTotal) + ' RAM');
		if (facts.boot) info.push('up ' + duration((lastTs || Date.now() / 1000) - facts.boot));
		if (facts.version) info.push(`kpulse ${facts.version}`);
		document.getElementById('hostinfo').textContent = info.join(' · ');
	}

	function renderLive() {
		renderHostInfo();
		const live = document.getElementById('live');
		const age = lastOk ? (Date.now() - lastOk) / 1000 : Infinity;
		if (lastError && age > 3) {
			live.className = 'live down';
			live.textContent = `not updating: ${lastError}`;
		} else if (lastTs) {
			live.className = 'live up';
			live.textContent = `live · 1 s samples · last ${clock(lastTs * 1000)}`;
		}
	}

	async function get(path, accept) {
		const r = await fetch(path, {credentials: 'same-origin', cache: 'no-store',
					      headers: accept ? {Accept: accept} : {}});
		if (!r.ok) throw new Error(`${path.split('?')[0]}: HTTP ${r.status}`);
		return r;
	}

	/*
	 * Twice per sampler tick: a new point shows within half a second of being sampled,
	 * and a poll that finds nothing new costs a few hundred bytes and no drawing.
	 */
	async function tick() {
		try {
			const q = lastTs ? '?start=' + (lastTs + 0.001).toFixed(3) : '';
			const d = await (await get('/api/v1/history' + q)).json();
			if (d.status !== 'success') throw new Error('history: ' + d.error);
			const added = ingest(d.data.result);
			lastOk = Date.now();
			lastError = '';
			if (added && !document.hidden) {
				render();
				renderTiles();
				updates++;
			}
		} catch (e) {
			lastError = e.message;
		}
		renderLive();
		setTimeout(tick, 500);
	}

	async function tickFacts() {
		try {
			const text = await (await get(METRICS, 'text/plain')).text();
			renderFacts(parseMetrics(text));
			if (!document.hidden) renderTiles();
		} catch (e) {
			lastError = e.message;
		}
		setTimeout(tickFacts, 5000);
	}

	document.getElementById('window-text').textContent =
		WINDOW % 60 ? `${WINDOW} seconds` : `${WINDOW / 60} minutes`;
	/* For people with the console open, and for the browser test. */
	window.kpulse = {
		store, charts, latest,
		get updates() { return updates; },
		get lastError() { return lastError; },
		/* The newest row of chart @id that has a value for @label: [seconds, value]. */
		chartValue(id, label) {
			const c = charts.get(id);
			if (!c || !c.graph) return null;
			const col = c.graph.getLabels().indexOf(label);
			for (let row = c.graph.numRows() - 1; col > 0 && row >= 0; row--) {
				const v = c.graph.getValue(row, col);
				if (v !== null) return [c.graph.getValue(row, 0) / 1000, v];
			}
			return null;
		},
	};
	tickFacts();
	tick();
})();
