# The two commands that matter: `make run` and `make test`. Both install what is missing
# (scripts/install-deps.sh), configure, build, then run the app or every test.

BUILD_DIR ?= build
BUILD_TYPE ?= Release
WERROR ?= OFF
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

MODEL ?= tests/data/models/tiny224-cls
IMAGES ?= resources/images/chelsea.png resources/images/coffee.png resources/images/astronaut.png

.PHONY: all deps configure build test run clean

all: build

deps:
	@./scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DMSNLENS_WERROR=$(WERROR) $(CMAKE_FLAGS) > $(BUILD_DIR).configure.log || (cat $(BUILD_DIR).configure.log; exit 1)

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

run: build
	$(BUILD_DIR)/bin/msnlens --model $(MODEL) --demo $(IMAGES)

clean:
	rm -rf $(BUILD_DIR) $(BUILD_DIR).configure.log
