# SPDX-License-Identifier: GPL-2.0
# kpulse: one flat Makefile. Everything generated goes to .output/; V=1 shows commands.

OUTPUT := .output
CLANG ?= clang
BPFTOOL ?= bpftool
CC ?= cc
ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' -e 's/ppc64le/powerpc/' \
	-e 's/riscv64/riscv/' -e 's/s390x/s390/')
VMLINUX := vmlinux/$(ARCH)/vmlinux.h
VERSION := 0.1.0
REVISION := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)

PKGS := libbpf libelf zlib libmicrohttpd gnutls yaml-0.1 libcrypt
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# pkg-config's own words when a library is missing; check-pkgs stops every compile with them.
PKG_ERRORS := $(shell pkg-config --print-errors --exists $(PKGS) 2>&1)

CFLAGS ?= -g -O2
ALL_CFLAGS := $(CFLAGS) -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers \
	-iquote $(OUTPUT) -iquote src -iquote exporter -iquote bpf $(PKG_CFLAGS)
LDLIBS := $(PKG_LIBS) -lpthread -lm
# Each object records the headers (and skeletons) it includes, so a change rebuilds only what
# uses it.
DEPFLAGS = -MMD -MP
# The same for a compile-and-link, kept as a hidden .<binary>.d beside the binary, so globs of
# the binaries (tests/run, tests/fuzz/run) never take it for one.
LINK_DEPFLAGS = -MMD -MP -MF $(@D)/.$(@F).d
# Objects built before dependencies were generated know no headers: this stamp, newer than
# all of them when it first appears, rebuilds each once.
DEPS_STAMP := $(OUTPUT)/.deps-generated
BPF_CFLAGS := -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_$(ARCH) -I$(dir $(VMLINUX)) -iquote bpf

BPF_SRCS := $(wildcard bpf/*.bpf.c)
SKELS := $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.skel.h,$(BPF_SRCS))
LIB_SRCS := $(filter-out src/main.c,$(wildcard src/*.c)) $(wildcard exporter/*.c)
LIB_OBJS := $(patsubst %.c,$(OUTPUT)/%.o,$(LIB_SRCS)) $(OUTPUT)/page_assets.o
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))
ASAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
ASAN_OBJS := $(patsubst %.c,$(OUTPUT)/asan/%.o,$(LIB_SRCS)) $(OUTPUT)/asan/page_assets.o
ASAN_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/asan/tests/%,$(UNIT_SRCS))
FORMAT_SRCS := $(shell git ls-files '*.c' '*.h' 2>/dev/null | grep -v '^vmlinux/')

# Debian packages: what building needs, and what the tests need on top.
BUILD_DEPS := make gcc clang llvm pkg-config libbpf-dev bpftool libelf-dev zlib1g-dev \
	libmicrohttpd-dev libgnutls28-dev libyaml-dev libcrypt-dev git libjs-dygraphs
TEST_DEPS := $(BUILD_DEPS) prometheus python3 python3-yaml curl iproute2 clang-format openssl \
	libfuse3-dev fuse3 ethtool systemd chromium prometheus-alertmanager victoria-metrics \
	help2man libclang-rt-14-dev bpftrace python3-prometheus-client
BENCH_DEPS := $(BUILD_DEPS) python3 iproute2 linux-perf wrk bpftrace prometheus-node-exporter

ifeq ($(V),1)
Q :=
msg =
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.PHONY: check-pkgs all run test unit test-progs bench bench-progs format check-format clean vmlinux deps \
	test-deps bench-deps docs man install uninstall fuzz fuzz-build soak
.DELETE_ON_ERROR:

all: kpulse

$(OUTPUT) $(OUTPUT)/tests $(OUTPUT)/asan/tests:
	$(Q)mkdir -p $@

$(DEPS_STAMP): | $(OUTPUT)
	$(Q)touch $@

check-pkgs:
	$(if $(PKG_ERRORS),$(error $(PKG_ERRORS) (pkg-config $(PKGS)); install the build \
		dependencies with 'sudo make deps'))

$(VMLINUX):
	$(error missing $@: the BPF programs are compiled against it; generate it from the \
		running kernel's BTF with 'make vmlinux' (needs /sys/kernel/btf/vmlinux))

$(OUTPUT)/%.bpf.o: bpf/%.bpf.c $(VMLINUX) $(DEPS_STAMP) | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -c $< -o $@
	$(Q)llvm-strip -g $@

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

$(OUTPUT)/%.o: %.c $(DEPS_STAMP) | $(OUTPUT) $(SKELS) check-pkgs
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -DKPULSE_VERSION='"$(VERSION)"' -DKPULSE_REVISION='"$(REVISION)"' \
		-c $< -o $@

# The live page at / and what it loads, compiled in: exporter/page/ and Debian's dygraphs
# (libjs-dygraphs, MIT), each plain and gzip-compressed.
DYGRAPHS ?= /usr/share/javascript/dygraphs
PAGE_ASSETS := /=exporter/page/index.html=text/html;charset=utf-8 \
	/static/kpulse.js=exporter/page/kpulse.js=text/javascript;charset=utf-8 \
	/static/kpulse.css=exporter/page/kpulse.css=text/css;charset=utf-8 \
	/static/dygraph.min.js=$(DYGRAPHS)/dygraph.min.js=text/javascript;charset=utf-8 \
	/static/dygraph.css=$(DYGRAPHS)/dygraph.min.css=text/css;charset=utf-8
PAGE_FILES := $(foreach a,$(PAGE_ASSETS),$(word 2,$(subst =, ,$(a))))

$(OUTPUT)/page_assets.c: exporter/page/embed.sh $(PAGE_FILES) | $(OUTPUT)
	$(call msg,EMBED,$@)
	$(Q)exporter/page/embed.sh $@ $(foreach a,$(PAGE_ASSETS),'$(a)')

$(DYGRAPHS)/%:
	@echo "missing $@: install Debian's libjs-dygraphs (sudo make deps)" >&2; exit 1

$(OUTPUT)/page_assets.o: $(OUTPUT)/page_assets.c exporter/page.h
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(OUTPUT)/asan/page_assets.o: $(OUTPUT)/page_assets.c exporter/page.h
	$(call msg,ASAN-CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) $(ASAN_FLAGS) -c $< -o $@

$(OUTPUT)/libkpulse.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)$(AR) rcs $@ $^

kpulse: $(OUTPUT)/src/main.o $(OUTPUT)/libkpulse.a
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $^ $(LDLIBS) -o $@

# Unit tests: no privileges; the same tests again under ASan + UBSan.
$(OUTPUT)/tests/%: tests/unit/%.c $(OUTPUT)/libkpulse.a $(DEPS_STAMP) | $(OUTPUT)/tests
	$(call msg,TEST-CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(LINK_DEPFLAGS) -iquote tests/unit $< $(OUTPUT)/libkpulse.a $(LDLIBS) -o $@

$(OUTPUT)/asan/%.o: %.c $(DEPS_STAMP) | $(SKELS) check-pkgs
	$(call msg,ASAN-CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) $(ASAN_FLAGS) $(DEPFLAGS) -DKPULSE_VERSION='"$(VERSION)"' \
		-DKPULSE_REVISION='"$(REVISION)"' -c $< -o $@

$(OUTPUT)/asan/libkpulse.a: $(ASAN_OBJS)
	$(Q)$(AR) rcs $@ $^

$(OUTPUT)/asan/tests/%: tests/unit/%.c $(OUTPUT)/asan/libkpulse.a $(DEPS_STAMP) | $(OUTPUT)/asan/tests
	$(call msg,ASAN-LD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(ASAN_FLAGS) $(LINK_DEPFLAGS) -iquote tests/unit $< $(OUTPUT)/asan/libkpulse.a $(LDLIBS) -o $@

# The daemon itself under ASan + UBSan (LeakSanitizer included), for tests/e2e.
$(OUTPUT)/asan/kpulse: $(OUTPUT)/asan/src/main.o $(OUTPUT)/asan/libkpulse.a
	$(call msg,ASAN-LD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(ASAN_FLAGS) $^ $(LDLIBS) -o $@

unit: $(UNIT_BINS) $(ASAN_BINS) $(OUTPUT)/asan/kpulse

# Fuzzing: each tests/fuzz/fuzz_<name>.c is a libFuzzer harness for one entry point, linked
# against the library built again with clang and the sanitizers into .output/fuzz/. Adding
# a harness is adding a file; its seeds are tests/fuzz/corpus/<name>/ and the fixtures named
# on its "fuzz-seeds:" line. `make fuzz FUZZ_SECONDS=N` runs each for N seconds.
FUZZ_SECONDS ?= 60
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(OUTPUT)/fuzz/%,$(FUZZ_SRCS))
FUZZ_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all \
	-Wno-gnu-variable-sized-type-not-at-end
FUZZ_OBJS := $(patsubst %.c,$(OUTPUT)/fuzz/%.o,$(LIB_SRCS))

$(OUTPUT)/fuzz/%.o: %.c $(DEPS_STAMP) | $(SKELS) check-pkgs
	$(call msg,FUZZ-CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(ALL_CFLAGS) $(FUZZ_FLAGS) $(DEPFLAGS) -fsanitize=fuzzer-no-link \
		-DKPULSE_VERSION='"$(VERSION)"' -DKPULSE_REVISION='"$(REVISION)"' -c $< -o $@

$(OUTPUT)/fuzz/libkpulse.a: $(FUZZ_OBJS)
	$(Q)$(AR) rcs $@ $^

$(OUTPUT)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(OUTPUT)/fuzz/libkpulse.a $(DEPS_STAMP)
	$(call msg,FUZZ-LD,$@)
	$(Q)$(CLANG) $(ALL_CFLAGS) $(FUZZ_FLAGS) $(LINK_DEPFLAGS) -fsanitize=fuzzer -iquote tests/fuzz $< \
		$(OUTPUT)/fuzz/libkpulse.a $(LDLIBS) -o $@

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	$(Q)tests/fuzz/run $(FUZZ_SECONDS)

# kpulse under churn (processes, cgroups, veths, mounts, renames) and 10 scrapes a second for
# SOAK_SECONDS; fails on growth that does not level off or labels that outlive the churn.
# make test runs the same for 60 s (tests/bpf/test_soak.py).
SOAK_SECONDS ?= 3600

soak: test-deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tests/soak/run $(SOAK_SECONDS)

# Helper programs the tests run: hangfs, a FUSE filesystem whose statfs never answers, and
# the workloads of tests/workloads/ (each runnable by hand: .output/workloads/<name>).
WORKLOADS := $(patsubst tests/workloads/%.c,$(OUTPUT)/workloads/%,$(wildcard tests/workloads/*.c))
TEST_PROGS := $(OUTPUT)/hangfs $(WORKLOADS)

$(OUTPUT)/workloads:
	$(Q)mkdir -p $@

$(OUTPUT)/workloads/%: tests/workloads/%.c | $(OUTPUT)/workloads
	$(call msg,TEST-CC,$@)
	$(Q)$(CC) $(CFLAGS) -Wall -Wextra -Werror $< -o $@

$(OUTPUT)/hangfs: tests/fuse/hangfs.c | $(OUTPUT)
	$(call msg,TEST-CC,$@)
	$(Q)$(CC) $(CFLAGS) -Wall -Wextra -Werror -Wno-unused-parameter \
		$(shell pkg-config --cflags fuse3) $< $(shell pkg-config --libs fuse3) -o $@

test-progs: $(TEST_PROGS)

# make bench's compiled workloads (one C file each under tests/bench/) and floor, the
# loader of its empty-program object.
BENCH_PROGS := $(patsubst tests/bench/%.c,$(OUTPUT)/bench/%,\
	$(filter-out %.bpf.c tests/bench/floor.c,$(wildcard tests/bench/*.c))) $(OUTPUT)/bench/floor

$(OUTPUT)/bench/%: tests/bench/%.c tests/bench/loop.h
	$(call msg,BENCH-CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter $< -o $@

$(OUTPUT)/bench/floor.bpf.o: tests/bench/floor.bpf.c $(VMLINUX)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@
	$(Q)llvm-strip -g $@

$(OUTPUT)/bench/floor: tests/bench/floor.c $(OUTPUT)/bench/floor.skel.h
	$(call msg,BENCH-CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -iquote $(OUTPUT)/bench $< $(LDLIBS) -o $@

# tests/workloads/sleepers too: the many idle processes of make bench's scaling section.
bench-progs: $(BENCH_PROGS) $(OUTPUT)/workloads/sleepers

# make bench: what the history adds to a tick (record, peaks, rendering their _max).
$(OUTPUT)/bench/history_tick: tests/bench/history_tick.c $(OUTPUT)/libkpulse.a
	$(call msg,BENCH-CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) $< $(OUTPUT)/libkpulse.a $(LDLIBS) -o $@

# Install whatever Debian package is missing; quick when everything is there.
define install_missing
	@missing=""; for p in $(1); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || \
			missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" != 0 ]; then \
			echo "missing packages:$$missing; run as root (sudo make $@) to install them" >&2; \
			exit 1; \
		fi; \
		echo "installing:$$missing"; \
		apt-get -o DPkg::Lock::Timeout=600 update -qq && \
			DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
			--no-install-recommends $$missing >/dev/null || exit 1; \
	fi
endef

deps:
	$(call install_missing,$(BUILD_DEPS))

test-deps:
	$(call install_missing,$(TEST_DEPS))

bench-deps:
	$(call install_missing,$(BENCH_DEPS))

# Set up, build and start kpulse in the foreground (ARGS="--flag=value ..." passes flags).
run: deps
	$(Q)$(MAKE) --no-print-directory all
	./kpulse $(ARGS)

# Every test: unit (plain and sanitized), BPF against real workloads, end to end.
test: test-deps
	$(Q)$(MAKE) --no-print-directory all unit test-progs fuzz-build
	$(Q)tests/run

# Cost figures against DESIGN.md's targets; prints a table, writes docs/BENCHMARKS.md.
bench: bench-deps
	$(Q)$(MAKE) --no-print-directory all bench-progs
	$(Q)tests/bench/run

docs: kpulse
	$(Q)./kpulse --print-metrics-doc > docs/METRICS.md

# kpulse(8), generated from --help and --version, so it always lists the flags there are.
# help2man bolds a flag only up to its first dot; the sed makes the whole flag bold.
$(OUTPUT)/kpulse.8: kpulse docs/kpulse.h2m | $(OUTPUT)
	$(call msg,MAN,$@)
	$(Q)help2man --section=8 --no-info --no-discard-stderr --version-string=$(VERSION) \
		--include=docs/kpulse.h2m ./kpulse | \
		sed -E '/^\\fB\\-\\-/{s/\\fR//; s/=|$$/\\fR&/}' > $@

man: $(OUTPUT)/kpulse.8

# make install [PREFIX=/usr/local] [DESTDIR=]: the binary, kpulse(8) (its FILES naming where
# the examples went), the systemd unit (its ExecStart pointing at the installed binary) and
# deploy/'s Prometheus rules, Alertmanager, VictoriaMetrics, Grafana and Kubernetes examples
# under $(PREFIX)/share/kpulse/.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man/man8
DATADIR ?= $(PREFIX)/share/kpulse
UNITDIR ?= $(PREFIX)/lib/systemd/system
DEPLOY_FILES := $(filter-out deploy/systemd/%,$(shell find deploy -type f 2>/dev/null))

install: kpulse $(OUTPUT)/kpulse.8
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)install -D -m 0755 kpulse $(DESTDIR)$(BINDIR)/kpulse
	$(Q)install -d $(DESTDIR)$(MANDIR)
	$(Q)sed 's|/usr/local/share/kpulse|$(DATADIR)|g' $(OUTPUT)/kpulse.8 \
		> $(DESTDIR)$(MANDIR)/kpulse.8
	$(Q)chmod 0644 $(DESTDIR)$(MANDIR)/kpulse.8
	$(Q)install -d $(DESTDIR)$(UNITDIR)
	$(Q)sed 's|/usr/local/bin/kpulse|$(BINDIR)/kpulse|g' deploy/systemd/kpulse.service \
		> $(DESTDIR)$(UNITDIR)/kpulse.service
	$(Q)chmod 0644 $(DESTDIR)$(UNITDIR)/kpulse.service
	$(Q)for f in $(DEPLOY_FILES); do \
		install -D -m 0644 $$f $(DESTDIR)$(DATADIR)/$${f#deploy/} || exit 1; done

uninstall:
	$(call msg,UNINSTALL,$(DESTDIR)$(PREFIX))
	$(Q)rm -f $(DESTDIR)$(BINDIR)/kpulse $(DESTDIR)$(MANDIR)/kpulse.8 \
		$(DESTDIR)$(UNITDIR)/kpulse.service
	$(Q)rm -rf $(DESTDIR)$(DATADIR)

format:
	$(Q)clang-format -i $(FORMAT_SRCS)

check-format:
	$(Q)clang-format --dry-run --Werror $(FORMAT_SRCS)

# Regenerate the committed vmlinux.h from the running kernel, on purpose only.
vmlinux:
	$(Q)mkdir -p $(dir $(VMLINUX))
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $(VMLINUX)

clean:
	$(Q)rm -rf $(OUTPUT) kpulse

# Keep the intermediate objects and skeletons. (Not a bare .SECONDARY:, which would stop a
# missing $(DEPS_STAMP) from rebuilding what depends on it.)
.SECONDARY: $(SKELS:.skel.h=.bpf.o) $(SKELS) $(OUTPUT)/page_assets.c \
	$(OUTPUT)/bench/floor.bpf.o $(OUTPUT)/bench/floor.skel.h

# The dependencies each compile recorded (DEPFLAGS).
-include $(shell find $(OUTPUT) -name '*.d' 2>/dev/null)
