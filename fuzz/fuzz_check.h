// FERRY_FUZZ_CHECK: a property a fuzz target asserts. On failure it prints
// what broke and aborts, which libFuzzer reports as a crash with the input
// that caused it (saved as crash-<sha1>, to keep under fuzz/regressions/).
#pragma once

#include <cstdio>
#include <cstdlib>

#define FERRY_FUZZ_CHECK(condition, what)                                                \
  do {                                                                                   \
    if (!(condition)) {                                                                  \
      std::fprintf(stderr, "property violated: %s (%s:%d)\n", what, __FILE__, __LINE__); \
      std::abort();                                                                      \
    }                                                                                    \
  } while (false)
