/* ferry_c_tests [api | sync | host_transport | resolver | queue | scope | hooks]...: runs the named
 * suites (all without arguments); exits 1 if any check failed. */
#include <signal.h>

#include "harness.h"

int g_failures = 0;

int main(int argc, char** argv) {
  /* A host transport test may write to a socket the server already closed. */
  signal(SIGPIPE, SIG_IGN);
  const int all = argc < 2;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "api") != 0 && strcmp(argv[i], "sync") != 0 &&
        strcmp(argv[i], "host_transport") != 0 && strcmp(argv[i], "resolver") != 0 &&
        strcmp(argv[i], "queue") != 0 && strcmp(argv[i], "scope") != 0 &&
        strcmp(argv[i], "hooks") != 0) {
      fprintf(stderr,
              "unknown suite %s (api, sync, host_transport, resolver, queue, scope, hooks)\n",
              argv[i]);
      return 2;
    }
  }
  for (int i = all ? 0 : 1; i < (all ? 1 : argc); ++i) {
    const char* suite = all ? NULL : argv[i];
    if (suite == NULL || strcmp(suite, "api") == 0) api_tests();
    if (suite == NULL || strcmp(suite, "sync") == 0) sync_tests();
    if (suite == NULL || strcmp(suite, "host_transport") == 0) host_transport_tests();
    if (suite == NULL || strcmp(suite, "resolver") == 0) conflict_resolver_tests();
    if (suite == NULL || strcmp(suite, "queue") == 0) queue_control_tests();
    if (suite == NULL || strcmp(suite, "scope") == 0) scope_tests();
    if (suite == NULL || strcmp(suite, "hooks") == 0) hooks_tests();
  }
  if (g_failures > 0) {
    fprintf(stderr, "%d check(s) failed\n", g_failures);
    return 1;
  }
  fprintf(stderr, "all checks passed\n");
  return 0;
}
