# lakehouse — build, test, run, bench.
#   make run    installs what is missing, builds, loads demo data, serves on :3100
#   make test   installs, builds, runs every test (also under ASan+UBSan+LSan);
#               strict: a skip of something deps.sh installs is a failure
# Sources are found by wildcard: every src/**/*.c but main.c goes into a static
# library; each tests/unit/test_*.c is a cmocka binary (with the shared
# set-up of tests/unit/support/*.c); bench/src/*.c are
# measuring programs and tests/helpers/*.c test programs (both build/NAME).

CC      ?= gcc
BUILD   ?= build
DUCKDB  := third_party/duckdb
STAMP   := third_party/.deps-stamp
CSTD    := -std=c17 -D_GNU_SOURCE
WARN    := -Wall -Wextra -Werror -Wno-unused-parameter
OPT     ?= -O2 -g
SANFLAGS :=
ifeq ($(SAN),1)
  SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  OPT := -O1 -g
endif
# PDF text + OCR (src/ingest/pdf*.c); system headers via -isystem so glib's warnings stay theirs
PDF_PKGS   := poppler-glib cairo tesseract lept
PDF_CFLAGS := $(patsubst -I%,-isystem %,$(shell pkg-config --cflags $(PDF_PKGS) 2>/dev/null))
PDF_LIBS   := $(shell pkg-config --libs $(PDF_PKGS) 2>/dev/null)
CFLAGS  := $(CSTD) $(WARN) $(OPT) $(SANFLAGS) -pthread -Isrc -I$(DUCKDB)/include -I$(BUILD)/gen $(PDF_CFLAGS)
LDFLAGS := $(SANFLAGS) -pthread -L$(DUCKDB)/lib -Wl,-rpath,'$$ORIGIN/../third_party/duckdb/lib' -Wl,-rpath,'$$ORIGIN/../../third_party/duckdb/lib' -Wl,-rpath,'$$ORIGIN/../../../third_party/duckdb/lib'
LIBS    := -lduckdb -lmicrohttpd -ljansson -lcurl -lcrypto -lm $(PDF_LIBS) -lpq -lmariadb -lnghttp2 -lprotobuf-c

LIB_SRC   := $(shell find src -name '*.c' ! -name main.c | sort)
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/web_assets.o $(BUILD)/obj/gen/lakehouse.pb-c.o
WEB_SRC   := $(sort $(wildcard web/*.html web/*.js web/*.css web/*.svg))
TEST_SRC  := $(wildcard tests/unit/test_*.c)
TEST_BIN  := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
# shared test set-up (tests/unit/support/*.c), linked into every test binary
TEST_SUPPORT_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tests/unit/support/*.c))
BENCH_SRC := $(wildcard bench/src/*.c)
BENCH_BIN := $(BENCH_SRC:bench/src/%.c=$(BUILD)/%)
HELPER_SRC := $(wildcard tests/helpers/*.c)
HELPER_BIN := $(HELPER_SRC:tests/helpers/%.c=$(BUILD)/%)
TOOL_BIN  := $(BENCH_BIN) $(HELPER_BIN)
FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)

.PHONY: all deps build test unit-tests test-san run bench bench-tools fuzz clean
all: build

deps: $(STAMP)
$(STAMP): scripts/deps.sh
	@./scripts/deps.sh
	@touch $@

build: $(STAMP)
	@$(MAKE) --no-print-directory $(BUILD)/lakehouse $(TOOL_BIN) $(TEST_BIN)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# the web console (web/*) embedded in the binary
$(BUILD)/gen/web_assets.c: $(WEB_SRC) scripts/embed_web.sh
	@mkdir -p $(dir $@)
	./scripts/embed_web.sh $(WEB_SRC) >$@.tmp && mv $@.tmp $@

$(BUILD)/obj/gen/web_assets.o: $(BUILD)/gen/web_assets.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# gRPC messages: protoc-c generates C for proto/lakehouse.proto (ADR 0140)
$(BUILD)/gen/lakehouse.pb-c.c: proto/lakehouse.proto
	@mkdir -p $(dir $@)
	protoc-c --c_out=$(BUILD)/gen -Iproto $<
$(BUILD)/gen/lakehouse.pb-c.h: $(BUILD)/gen/lakehouse.pb-c.c

$(BUILD)/obj/gen/lakehouse.pb-c.o: $(BUILD)/gen/lakehouse.pb-c.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# users of the generated header wait for it (their .d files know it afterwards)
$(filter $(BUILD)/obj/src/grpc/%,$(LIB_OBJ)) $(BUILD)/obj/tests/helpers/grpc_call.o $(BUILD)/obj/tests/unit/test_grpc.o: $(BUILD)/gen/lakehouse.pb-c.h

$(BUILD)/liblakehouse.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/lakehouse: $(BUILD)/obj/src/main.o $(BUILD)/liblakehouse.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BENCH_BIN): $(BUILD)/%: $(BUILD)/obj/bench/src/%.o $(BUILD)/liblakehouse.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(HELPER_BIN): $(BUILD)/%: $(BUILD)/obj/tests/helpers/%.o $(BUILD)/liblakehouse.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(TEST_SUPPORT_OBJ) $(BUILD)/liblakehouse.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) -lcmocka

# bench-tools: programs only `make bench` builds (never build/test).
# bench_ann is C++ because its peer, hnswlib (Debian libhnswlib-dev), is a
# header-only C++ library that picks its SIMD at compile time; so only this
# file gets -O3 -march=native. Our code comes from liblakehouse.a, built with
# the normal flags, and picks its kernels at run time (ADR 0061).
CXX ?= g++
BENCH_TOOLS := $(BUILD)/bench_ann
bench-tools: $(STAMP)
	@$(MAKE) --no-print-directory $(BENCH_TOOLS)

$(BUILD)/bench_ann: bench/src/bench_ann.cpp $(BUILD)/liblakehouse.a
	$(CXX) -std=c++17 -O3 -march=native -g -Wall -Wextra -Werror -pthread -Isrc -o $@ $< \
	  $(BUILD)/liblakehouse.a $(LDFLAGS) $(LIBS)



test: build
	@$(MAKE) --no-print-directory BUILD=build/san SAN=1 build/san/lakehouse $(TEST_BIN:$(BUILD)/%=build/san/%)
	@LH_STRICT=1 ./tests/run.sh

run: build
	@./scripts/run.sh

bench: build bench-tools
	@./bench/run.sh

fuzz: build
	@./tests/fuzz/run.sh

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
