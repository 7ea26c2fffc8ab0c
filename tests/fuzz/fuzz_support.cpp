// fuzz_init for every target: libgcrypt must be initialised before the first Mpi or secure
// buffer exists. Targets that need more (test keys, prepared conversations) build it lazily in
// function-local statics on their first input.
#include "crypto/crypto.hpp"
#include "fuzzers.hpp"

void fuzz_init() {
  otr::crypto::init();
}
