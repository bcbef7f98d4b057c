# The two commands that matter: `make run` and `make test`. Both install what is missing
# (scripts/install-deps.sh), configure, build, then run the app or every test.

BUILD_DIR ?= build
BUILD_TYPE ?= Release
WERROR ?= OFF
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

MODEL ?= resources/models/msn-fmnist
IMAGES ?= $(wildcard resources/images/fashion/*.png)

FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=

.PHONY: all deps configure build test test-isa test-avx2 test-avx512 bench run install uninstall package clean fuzz test-asan

all: build

deps:
	@./scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DMSNLENS_WERROR=$(WERROR) $(CMAKE_FLAGS) > $(BUILD_DIR).configure.log || (cat $(BUILD_DIR).configure.log; exit 1)

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

# Every suite as another CPU class runs it, on a machine above that class: oneDNN and ATen
# capped to ISA (AVX2: Zen 3 and most laptops; AVX512_CORE: Skylake-X, AVX-512 without bf16).
# `make test` already runs the engine's suites a second time under the AVX2 cap.
ISA ?= AVX2
isa_caps = ONEDNN_MAX_CPU_ISA=$(1) DNNL_MAX_CPU_ISA=$(1) ATEN_CPU_CAPABILITY=$(if $(filter AVX2 avx2,$(1)),avx2,avx512)
test-isa: build
	@cd $(BUILD_DIR) && $(call isa_caps,$(ISA)) ctest --output-on-failure -j $(JOBS) -LE capped

test-avx2:
	@$(MAKE) --no-print-directory test-isa ISA=AVX2

test-avx512:
	@$(MAKE) --no-print-directory test-isa ISA=AVX512_CORE

# Speed beside PyTorch eager and ONNX Runtime, on random weights in the ViT-S/16 and ViT-B/16
# shapes (BENCH_ARGS replaces the defaults). BENCH_ISA=AVX2 (or AVX512_CORE) runs it as that
# CPU class, under the caps of test-isa.
BENCH_ARGS ?= --models small,base --rounds 3
bench: build
	@./scripts/install-bench-deps.sh
	@$(if $(BENCH_ISA),$(call isa_caps,$(BENCH_ISA))) $(BUILD_DIR)/bin/msnlens-bench $(BENCH_ARGS)

run: build
	$(BUILD_DIR)/bin/msnlens --model $(MODEL) $(IMAGES)

# `make install PREFIX=/usr/local DESTDIR=`: programs, bundled model and images, desktop entry,
# icon, man pages (cmake --install underneath). `make uninstall` removes what it installed.
PREFIX ?= /usr/local
install: build
	@DESTDIR=$(DESTDIR) cmake --install $(BUILD_DIR) --prefix $(PREFIX)

uninstall:
	@test -f $(BUILD_DIR)/install_manifest.txt || (echo "nothing installed from $(BUILD_DIR)"; exit 1)
	@xargs -d '\n' rm -fv < $(BUILD_DIR)/install_manifest.txt

# A .deb under $(BUILD_DIR)/package, checked as scripts/check-package.sh describes.
package: build
	@./scripts/check-package.sh $(BUILD_DIR)

# libFuzzer harnesses (clang, ASan + UBSan), each run FUZZ_SECONDS from the committed corpus
# (FUZZ_TARGETS: a subset, e.g. "pickle torch_zip").
fuzz: deps
	@CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMSNLENS_FUZZ=ON > build-fuzz.configure.log || (cat build-fuzz.configure.log; exit 1)
	@cmake --build build-fuzz -j $(JOBS) --target fuzzers
	@./scripts/run-fuzzers.sh build-fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# The whole test suite with AddressSanitizer + UndefinedBehaviorSanitizer on our code.
test-asan: deps
	@cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMSNLENS_SANITIZE=ON -DMSNLENS_WERROR=$(WERROR) > build-asan.configure.log || (cat build-asan.configure.log; exit 1)
	@cmake --build build-asan -j $(JOBS)
	@cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS)

clean:
	rm -rf $(BUILD_DIR) $(BUILD_DIR).configure.log build-fuzz build-fuzz.configure.log build-asan build-asan.configure.log
