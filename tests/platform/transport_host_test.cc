// HostTransport: requests go out through the host's callback; answers and
// stream chunks come back from any thread and surface in Wait().
#include "ferry/transport_host.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ferry {
namespace {

struct Host {
  std::mutex mutex;
  std::vector<TransportRequest> sent;
  std::vector<RequestId> cancelled;

  HostTransport::Callbacks Callbacks() {
    return {[this](const TransportRequest& request) {
              std::lock_guard lock(mutex);
              sent.push_back(request);
            },
            [this](RequestId id) {
              std::lock_guard lock(mutex);
              cancelled.push_back(id);
            }};
  }
};

TransportRequest Request(RequestId id) {
  TransportRequest request;
  request.id = id;
  request.method = "GET";
  request.url = "http://host.invalid/v1/pull";
  return request;
}

HttpResponse Ok(std::string body) {
  HttpResponse response;
  response.status = 200;
  response.body = std::move(body);
  return response;
}

TEST(HostTransport, StartHandsTheRequestToTheHost) {
  Host host;
  HostTransport transport(host.Callbacks());
  TransportRequest request = Request(7);
  request.headers = {"Accept: application/json"};
  request.body = "{}";
  transport.Start(request);
  ASSERT_EQ(host.sent.size(), 1u);
  EXPECT_EQ(host.sent[0].id, 7u);
  EXPECT_EQ(host.sent[0].url, "http://host.invalid/v1/pull");
  EXPECT_EQ(host.sent[0].headers, std::vector<std::string>{"Accept: application/json"});
  EXPECT_EQ(host.sent[0].body, "{}");
}

TEST(HostTransport, AnswerFromAnotherThreadWakesWait) {
  Host host;
  HostTransport transport(host.Callbacks());
  transport.Start(Request(1));
  std::thread answerer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_TRUE(transport.Complete(1, Ok("body")).ok());
  });
  const auto before = std::chrono::steady_clock::now();
  std::vector<TransportCompletion> done = transport.Wait(10'000);
  answerer.join();
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(5));
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].id, 1u);
  EXPECT_EQ(done[0].response.status, 200);
  EXPECT_EQ(done[0].response.body, "body");
}

TEST(HostTransport, AnswerInsideSendIsCollectedByTheNextWait) {
  HostTransport* self = nullptr;
  HostTransport transport({[&](const TransportRequest& request) {
                             EXPECT_TRUE(self->Complete(request.id, Ok("now")).ok());
                           },
                           nullptr});
  self = &transport;
  transport.Start(Request(3));
  std::vector<TransportCompletion> done = transport.Wait(0);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].response.body, "now");
}

TEST(HostTransport, ASecondOrUnknownAnswerIsNotFound) {
  Host host;
  HostTransport transport(host.Callbacks());
  transport.Start(Request(1));
  EXPECT_TRUE(transport.Complete(1, Ok("")).ok());
  EXPECT_EQ(transport.Complete(1, Ok("")).code(), ErrorCode::kNotFound);
  EXPECT_EQ(transport.Complete(99, Ok("")).code(), ErrorCode::kNotFound);
  EXPECT_EQ(transport.Wait(0).size(), 1u);
  EXPECT_EQ(transport.Complete(1, Ok("")).code(), ErrorCode::kNotFound);
}

TEST(HostTransport, CancelDropsAnAnswerNotYetCollectedAndTellsTheHost) {
  Host host;
  HostTransport transport(host.Callbacks());
  transport.Start(Request(1));
  transport.Start(Request(2));
  EXPECT_TRUE(transport.Complete(1, Ok("late")).ok());
  transport.Cancel(1);
  transport.Cancel(2);
  EXPECT_TRUE(transport.Wait(0).empty());
  EXPECT_EQ(host.cancelled, std::vector<RequestId>{2});  // 1 was already answered
  EXPECT_EQ(transport.Complete(2, Ok("")).code(), ErrorCode::kNotFound);
}

TEST(HostTransport, StreamChunksReachOnChunkBeforeTheCompletion) {
  Host host;
  HostTransport transport(host.Callbacks());
  std::string received;
  TransportRequest stream = Request(5);
  stream.timeout_ms = 0;
  stream.on_chunk = [&](std::string_view chunk) { received.append(chunk); };
  transport.Start(stream);
  transport.Start(Request(6));
  EXPECT_TRUE(transport.Data(5, "event: ").ok());
  EXPECT_TRUE(transport.Data(5, "poke\n\n").ok());
  EXPECT_EQ(transport.Data(6, "x").code(), ErrorCode::kInvalidArgument);  // does not stream
  EXPECT_EQ(transport.Data(8, "x").code(), ErrorCode::kNotFound);
  EXPECT_TRUE(transport.Wait(0).empty());
  EXPECT_EQ(received, "event: poke\n\n");
  EXPECT_TRUE(transport.Data(5, "tail").ok());
  HttpResponse ended;
  ended.status = 200;
  EXPECT_TRUE(transport.Complete(5, ended).ok());
  std::vector<TransportCompletion> done = transport.Wait(0);
  EXPECT_EQ(received, "event: poke\n\ntail");
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].id, 5u);
}

TEST(HostTransport, WakeupEndsWaitEarly) {
  Host host;
  HostTransport transport(host.Callbacks());
  std::thread waker([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    transport.Wakeup();
  });
  const auto before = std::chrono::steady_clock::now();
  EXPECT_TRUE(transport.Wait(10'000).empty());
  waker.join();
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(5));
}

TEST(HostTransport, CloseCancelsWhatIsUnansweredAndRefusesLaterAnswers) {
  Host host;
  {
    HostTransport transport(host.Callbacks());
    transport.Start(Request(1));
    transport.Start(Request(2));
    EXPECT_TRUE(transport.Complete(2, Ok("")).ok());
    transport.Close();
    EXPECT_EQ(host.cancelled, std::vector<RequestId>{1});
    EXPECT_EQ(transport.Complete(1, Ok("")).code(), ErrorCode::kCancelled);
    EXPECT_EQ(transport.Data(1, "x").code(), ErrorCode::kCancelled);
    transport.Start(Request(3));  // ignored: nobody would answer it
    EXPECT_EQ(host.sent.size(), 2u);
    transport.Close();  // idempotent
  }
  EXPECT_EQ(host.cancelled, std::vector<RequestId>{1});  // the destructor adds nothing
}

TEST(HostTransport, ManyThreadsAnswerConcurrently) {
  Host host;
  HostTransport transport(host.Callbacks());
  constexpr int kRequests = 200;
  for (int i = 1; i <= kRequests; ++i)
    transport.Start(Request(i));
  std::vector<std::thread> answerers;
  for (int t = 0; t < 4; ++t) {
    answerers.emplace_back([&, t] {
      for (int i = 1 + t; i <= kRequests; i += 4)
        EXPECT_TRUE(transport.Complete(i, Ok(std::to_string(i))).ok());
    });
  }
  std::size_t collected = 0;
  while (collected < kRequests)
    collected += transport.Wait(1'000).size();
  for (std::thread& answerer : answerers)
    answerer.join();
  EXPECT_EQ(collected, std::size_t{kRequests});
}

}  // namespace
}  // namespace ferry
