// A private CA and a certificate for 127.0.0.1 signed by it, made with the
// openssl tool (ECDSA P-256: quick to generate), plus an unrelated CA: for
// tests of TLS verification (clients, the server, its webhook).
#pragma once

#include <cstdlib>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "support/temp_dir.h"

namespace ferry::testing {

struct TestCertificates {
  std::string ca, other_ca, certificate, key;
};

inline TestCertificates MakeCertificates(const TempDir& dir) {
  const std::string d = dir.path().string();
  const std::string quiet = " 2>/dev/null";
  const std::string new_key =
      "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes ";
  std::ofstream(d + "/san.cnf") << "subjectAltName=IP:127.0.0.1\n";
  const std::string commands[] = {
      new_key + "-x509 -days 2 -subj /CN=Ferry-Test-CA -keyout " + d + "/ca.key -out " + d +
          "/ca.pem" + quiet,
      new_key + "-x509 -days 2 -subj /CN=Someone-Else -keyout " + d + "/other.key -out " + d +
          "/other.pem" + quiet,
      new_key + "-subj /CN=127.0.0.1 -keyout " + d + "/server.key -out " + d + "/server.csr" +
          quiet,
      "openssl x509 -req -days 2 -in " + d + "/server.csr -CA " + d + "/ca.pem -CAkey " + d +
          "/ca.key -CAcreateserial -extfile " + d + "/san.cnf -out " + d + "/server.pem" + quiet,
  };
  for (const std::string& command : commands)
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
  return {d + "/ca.pem", d + "/other.pem", d + "/server.pem", d + "/server.key"};
}

}  // namespace ferry::testing
