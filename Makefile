# fk: the two commands a newcomer runs are `make demo` and `make test`.
CARGO ?= cargo
FK := target/debug/fk

.PHONY: all build demo test lint snap bench clean-state

all: build

build:
	$(CARGO) build --bin fk

## The main job, against the built-in emulator: plan, apply, outputs, and a second plan
## that has nothing to do.
demo: build
	./.ci/demo.sh

## Every test: unit, snapshot, property, end-to-end (real binary, emulator, etcd, Azurite).
## `test-providers` builds the `fake` test provider in (never in `cargo build`).
## Installs what the tests need besides Rust first (.ci/test-deps.sh; quick once done).
test:
	FK_ETCD_BIN="$${FK_ETCD_BIN:-$$(./.ci/test-deps.sh | tail -n 1)}" $(CARGO) test --workspace --all-targets --features test-providers

## clippy with warnings as errors, and formatting.
lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --workspace --all-targets --features test-providers -- -D warnings

## Rewrite insta snapshots; review the result with `git diff`.
snap:
	INSTA_UPDATE=always $(CARGO) test --workspace --all-targets --features test-providers

## Speed and memory figures (release build; prints, never asserts).
bench:
	$(CARGO) build --release --bins
	./target/release/fk-bench

clean-state:
	rm -f state/*.json state/*.json.*
