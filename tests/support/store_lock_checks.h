// The same-process half of the store lock tests, shared by every store kind's
// test file (the journal's also runs in wasm, where there is no other
// process). The cross-process half is tests/platform/store_lock_test.cc.
#pragma once

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "ferry/store.h"

namespace ferry::testing {

// `open` opens one and the same store each time it is called.
template <typename Open>
void ExpectSecondOpenInThisProcessFailsClearly(const Open& open) {
  auto first = open();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = open();
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), ErrorCode::kBusy);
  EXPECT_NE(second.status().message().find("in use by another client in this process"),
            std::string::npos)
      << second.status().message();
  // The refused open changed nothing: the first keeps working, and once it
  // is closed the store opens again with everything it wrote.
  ASSERT_TRUE((*first)->Put("key", "value").ok());
  first->reset();
  auto reopened = open();
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  EXPECT_EQ((*reopened)->Get("key")->value_or(""), "value");
}

}  // namespace ferry::testing
