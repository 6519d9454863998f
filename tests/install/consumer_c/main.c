/* A C application built against an installed Ferry's C API (libferry):
 * find_package(ferry) and link the C library. Run by scripts/install-test.sh. */
#include <stdio.h>

#include "ferry/ferry.h"

int main(void) {
  printf("ferry_consumer_c: libferry %s\n", ferry_version());
  return 0;
}
