/* A small assert-style harness for the C API suites: CHECK counts a failure
 * and goes on, REQUIRE stops the process. Every call under test is made from
 * C. */
#ifndef FERRY_C_TESTS_HARNESS_H
#define FERRY_C_TESTS_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/ferry.h"

extern int g_failures;

#define CHECK(condition)                                                            \
  do {                                                                              \
    if (!(condition)) {                                                             \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #condition); \
      ++g_failures;                                                                 \
    }                                                                               \
  } while (0)

#define REQUIRE(condition)                                                            \
  do {                                                                                \
    if (!(condition)) {                                                               \
      fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #condition); \
      abort();                                                                        \
    }                                                                                 \
  } while (0)

/* Checks that `call` returns `expected`; prints the error's message if not. */
#define CHECK_CODE(expected, call, error)                                                        \
  do {                                                                                           \
    ferry_result result_ = (call);                                                               \
    if (result_ != (expected)) {                                                                 \
      fprintf(stderr, "%s:%d: %s\n  returned %s (%s), expected %s\n", __FILE__, __LINE__, #call, \
              ferry_result_name(result_),                                                        \
              (error)->message != NULL ? (error)->message : "no message",                        \
              ferry_result_name(expected));                                                      \
      ++g_failures;                                                                              \
    } else if ((expected) != FERRY_OK && (error)->code != (expected)) {                          \
      fprintf(stderr, "%s:%d: the error's code is %s, not the result\n", __FILE__, __LINE__,     \
              ferry_result_name((error)->code));                                                 \
      ++g_failures;                                                                              \
    }                                                                                            \
  } while (0)

#define CHECK_OK(call, error) CHECK_CODE(FERRY_OK, call, error)

/* Runs one test function and reports it. */
#define RUN_TEST(function)                                                              \
  do {                                                                                  \
    const int before_ = g_failures;                                                     \
    fprintf(stderr, "[ RUN  ] %s\n", #function);                                        \
    function();                                                                         \
    fprintf(stderr, "[ %s ] %s\n", g_failures == before_ ? " OK " : "FAIL", #function); \
  } while (0)

/* A slice over a string literal or NUL-terminated string. */
#define S(text) ferry_slice_from_string(text)

/* The suites (one a file). */
void api_tests(void);
void sync_tests(void);
void host_transport_tests(void);
void conflict_resolver_tests(void);
void hooks_tests(void);
void queue_control_tests(void);
void scope_tests(void);

#endif
