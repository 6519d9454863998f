// ferry-server under load: a load generator speaking HTTP/1.1 over plain
// blocking sockets (keep-alive, one thread per simulated client), so the
// figures measure the server, not a client library. bench/server_bench.sh
// starts the servers (SQLite, PostgreSQL, one or two instances), runs each
// subcommand and writes the "Server" section of docs/BENCHMARKS.md.
//
//   server_bench push ENDPOINTS TOKENS CLIENTS PUSHES BATCH
//       CLIENTS threads, client i as the user of token i (mod the tokens)
//       on endpoint i (mod the endpoints), each sending PUSHES pushes of
//       BATCH new documents of ~200 B: docs/s and push latency p50/p99.
//   server_bench pull ENDPOINTS TOKENS CLIENTS
//       each client pulls its user's whole log from the start in pages of
//       1,000: docs/s (run after push, which filled the users).
//   server_bench streams ENDPOINT TOKENS COUNT SERVER_PID PROBES
//       push and pull latency (PROBES of each, one at a time) with no live
//       stream open; then COUNT /v1/live streams, stream i as token i (mod
//       the tokens), held open; the server's RSS growth per stream; the same
//       latencies while they are held.
//
// ENDPOINTS: comma-separated http://HOST:PORT. TOKENS: a file of
// `token user` lines (ferry-server's --tokens format).
// Output: one JSON object per line. Benchmarks are not tests: nothing here
// asserts a speed.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ferry/protocol.h"

namespace {

using Clock = std::chrono::steady_clock;
using ferry::Json;

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "server_bench: %s\n", what.c_str());
  std::exit(1);
}

double Seconds(Clock::duration duration) {
  return std::chrono::duration<double>(duration).count();
}

double Milliseconds(Clock::duration duration) {
  return std::chrono::duration<double, std::milli>(duration).count();
}

double Percentile(std::vector<double> samples, double p) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  return samples[static_cast<std::size_t>(p * static_cast<double>(samples.size() - 1))];
}

struct Endpoint {
  std::string host;
  int port = 0;
};

std::vector<Endpoint> ParseEndpoints(const std::string& list) {
  std::vector<Endpoint> endpoints;
  std::stringstream stream(list);
  std::string item;
  while (std::getline(stream, item, ',')) {
    const std::size_t scheme = item.find("://");
    const std::string rest = scheme == std::string::npos ? item : item.substr(scheme + 3);
    const std::size_t colon = rest.rfind(':');
    if (colon == std::string::npos) Fail("endpoint without a port: " + item);
    endpoints.push_back({rest.substr(0, colon), std::atoi(rest.c_str() + colon + 1)});
  }
  if (endpoints.empty()) Fail("no endpoint");
  return endpoints;
}

std::vector<std::string> ReadTokens(const std::string& path) {
  std::vector<std::string> tokens;
  std::ifstream file(path);
  std::string line;
  while (std::getline(file, line)) {
    if (line.empty() || line[0] == '#') continue;
    tokens.push_back(line.substr(0, line.find(' ')));
  }
  if (tokens.empty()) Fail("no token in " + path);
  return tokens;
}

int Connect(const Endpoint& endpoint) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) Fail("socket: out of file descriptors? (ulimit -n)");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(endpoint.port));
  if (inet_pton(AF_INET, endpoint.host == "localhost" ? "127.0.0.1" : endpoint.host.c_str(),
                &address.sin_addr) != 1) {
    Fail("not an IPv4 address: " + endpoint.host);
  }
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    close(fd);
    return -1;
  }
  const int on = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  return fd;
}

bool SendAll(int fd, const std::string& data) {
  std::size_t at = 0;
  while (at < data.size()) {
    const ssize_t sent = send(fd, data.data() + at, data.size() - at, MSG_NOSIGNAL);
    if (sent <= 0) return false;
    at += static_cast<std::size_t>(sent);
  }
  return true;
}

std::string Request(const std::string& method, const std::string& target, const std::string& token,
                    const std::string& body) {
  std::string request =
      method + " " + target + " HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer " + token + "\r\n";
  if (method == "POST") {
    request +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  return request + "\r\n" + body;
}

// The head of an answer: the status and, when known, the body's length.
struct Head {
  int status = 0;
  std::optional<std::size_t> content_length;
  bool chunked = false;
};

Head ParseHead(const std::string& head) {
  Head parsed;
  if (head.size() > 12) parsed.status = std::atoi(head.c_str() + 9);
  std::string lower = head;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const std::size_t length = lower.find("\r\ncontent-length:");
  if (length != std::string::npos) parsed.content_length = std::stoul(lower.substr(length + 17));
  parsed.chunked = lower.find("\r\ntransfer-encoding: chunked") != std::string::npos;
  return parsed;
}

// One kept-alive connection: a request, then its whole answer.
class Connection {
 public:
  explicit Connection(Endpoint endpoint) : endpoint_(std::move(endpoint)) {}
  ~Connection() {
    if (fd_ >= 0) close(fd_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // The status and body of one exchange; status 0 when the connection failed.
  std::pair<int, std::string> Exchange(const std::string& request) {
    for (int attempt = 0; attempt < 2; ++attempt) {  // once more on a connection the server closed
      if (fd_ < 0) fd_ = Connect(endpoint_);
      if (fd_ < 0) return {0, ""};
      if (SendAll(fd_, request)) {
        auto answer = ReadAnswer();
        if (answer) return *answer;
      }
      close(fd_);
      fd_ = -1;
      buffer_.clear();
    }
    return {0, ""};
  }

 private:
  bool Fill() {
    char chunk[65536];
    const ssize_t got = recv(fd_, chunk, sizeof chunk, 0);
    if (got <= 0) return false;
    buffer_.append(chunk, static_cast<std::size_t>(got));
    return true;
  }

  std::optional<std::pair<int, std::string>> ReadAnswer() {
    std::size_t head_end = 0;
    while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos)
      if (!Fill()) return std::nullopt;
    const Head head = ParseHead(buffer_.substr(0, head_end + 2));
    buffer_.erase(0, head_end + 4);
    std::string body;
    if (head.chunked) {
      while (true) {
        std::size_t line_end = 0;
        while ((line_end = buffer_.find("\r\n")) == std::string::npos)
          if (!Fill()) return std::nullopt;
        const std::size_t size = std::stoul(buffer_.substr(0, line_end), nullptr, 16);
        while (buffer_.size() < line_end + 2 + size + 2)
          if (!Fill()) return std::nullopt;
        body.append(buffer_, line_end + 2, size);
        buffer_.erase(0, line_end + 2 + size + 2);
        if (size == 0) break;
      }
    } else {
      const std::size_t length = head.content_length.value_or(0);
      while (buffer_.size() < length)
        if (!Fill()) return std::nullopt;
      body = buffer_.substr(0, length);
      buffer_.erase(0, length);
    }
    return std::make_pair(head.status, std::move(body));
  }

  Endpoint endpoint_;
  int fd_ = -1;
  std::string buffer_;
};

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A push body of `count` new documents of ~200 B for `client_id`, seqs from
// `first_seq`.
std::string PushBody(const std::string& client_id, uint64_t first_seq, int count) {
  ferry::PushRequest request;
  request.client_id = client_id;
  const int64_t now = WallMs();
  for (int i = 0; i < count; ++i) {
    const uint64_t seq = first_seq + static_cast<uint64_t>(i);
    ferry::Mutation mutation;
    mutation.client_id = client_id;
    mutation.seq = seq;
    mutation.op = ferry::MutationOp::kPut;
    mutation.document = {"docs", client_id + "-" + std::to_string(seq)};
    mutation.value = Json{{"title", "Document number " + std::to_string(seq)},
                          {"body", std::string(120, 'x')},
                          {"n", seq},
                          {"done", seq % 2 == 0}};
    mutation.hlc = {now, static_cast<uint32_t>(i), client_id};
    request.mutations.push_back(std::move(mutation));
  }
  return ferry::EncodePushRequest(request);
}

// A fresh client id per run, so runs against one database never collide.
std::string ClientId(int client) {
  static const int64_t run = WallMs() % 100'000'000;
  return "b" + std::to_string(run) + "-" + std::to_string(client);
}

// Runs `client(c)` for c in [0, clients) on a thread each; the wall time
// until the last one returned, in seconds.
template <typename Body>
double RunClients(int clients, const Body& client) {
  std::vector<std::thread> threads;
  const auto start = Clock::now();
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&client, c] { client(c); });
  for (auto& thread : threads)
    thread.join();
  return Seconds(Clock::now() - start);
}

void Push(const std::vector<Endpoint>& endpoints, const std::vector<std::string>& tokens,
          int clients, int pushes, int batch) {
  std::vector<std::vector<double>> latencies(static_cast<std::size_t>(clients));
  std::atomic<int> failures{0};
  const double seconds = RunClients(clients, [&](int c) {
    Connection connection(endpoints[static_cast<std::size_t>(c) % endpoints.size()]);
    const std::string& token = tokens[static_cast<std::size_t>(c) % tokens.size()];
    const std::string client_id = ClientId(c);
    auto& mine = latencies[static_cast<std::size_t>(c)];
    for (int p = 0; p < pushes; ++p) {
      const std::string body =
          PushBody(client_id, static_cast<uint64_t>(p) * static_cast<uint64_t>(batch) + 1, batch);
      const auto sent = Clock::now();
      const auto [status, answer] = connection.Exchange(Request("POST", "/v1/push", token, body));
      mine.push_back(Milliseconds(Clock::now() - sent));
      if (status != 200 || answer.find("\"rejected\"") != std::string::npos) ++failures;
    }
  });
  std::vector<double> all;
  for (const auto& mine : latencies)
    all.insert(all.end(), mine.begin(), mine.end());
  const double docs = static_cast<double>(clients) * pushes * batch;
  std::printf(
      "{\"bench\":\"server-push\",\"endpoints\":%zu,\"clients\":%d,\"pushes\":%d,\"batch\":%d,"
      "\"seconds\":%.3f,\"docs_per_s\":%.0f,\"p50_ms\":%.2f,\"p99_ms\":%.2f,\"max_ms\":%.2f,"
      "\"failures\":%d}\n",
      endpoints.size(), clients, pushes, batch, seconds, docs / seconds, Percentile(all, 0.5),
      Percentile(all, 0.99), Percentile(all, 1.0), failures.load());
  std::fflush(stdout);
}

// Pulls a user's whole log from the start; returns the documents received
// (0 after a failure).
std::size_t PullAll(Connection& connection, const std::string& token) {
  std::string cursor;
  std::size_t received = 0;
  while (true) {
    const auto [status, body] =
        connection.Exchange(Request("GET", ferry::EncodePullTarget({cursor, 1000}), token, ""));
    if (status != 200) return 0;
    auto page = ferry::DecodePullResponse(body, {});
    if (!page.ok()) return 0;
    received += page->changes.size();
    cursor = page->cursor;
    if (!page->has_more) return received;
  }
}

void Pull(const std::vector<Endpoint>& endpoints, const std::vector<std::string>& tokens,
          int clients) {
  std::atomic<std::size_t> documents{0};
  std::atomic<int> failures{0};
  const double seconds = RunClients(clients, [&](int c) {
    Connection connection(endpoints[static_cast<std::size_t>(c) % endpoints.size()]);
    const std::size_t got =
        PullAll(connection, tokens[static_cast<std::size_t>(c) % tokens.size()]);
    if (got == 0) ++failures;
    documents += got;
  });
  std::printf(
      "{\"bench\":\"server-pull\",\"endpoints\":%zu,\"clients\":%d,\"docs\":%zu,\"seconds\":%.3f,"
      "\"docs_per_s\":%.0f,\"failures\":%d}\n",
      endpoints.size(), clients, documents.load(), seconds,
      static_cast<double>(documents.load()) / seconds, failures.load());
  std::fflush(stdout);
}

long RssKb(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  Fail("no VmRSS for pid " + std::to_string(pid));
}

struct Latencies {
  double push_p50 = 0, push_p99 = 0, pull_p50 = 0, pull_p99 = 0;
};

// `probes` pushes of one document, then `probes` pulls of the latest page
// (from a cursor near the head), one at a time on one connection.
Latencies Probe(const Endpoint& endpoint, const std::string& token, int probes, uint64_t& seq) {
  Connection connection(endpoint);
  const std::string client_id = ClientId(-1);
  std::vector<double> push, pull;
  std::string cursor;
  for (int i = 0; i < probes; ++i) {
    const std::string body = PushBody(client_id, ++seq, 1);
    const auto sent = Clock::now();
    const auto [status, answer] = connection.Exchange(Request("POST", "/v1/push", token, body));
    push.push_back(Milliseconds(Clock::now() - sent));
    if (status != 200) Fail("probe push answered " + std::to_string(status) + ": " + answer);
  }
  for (int i = 0; i < probes; ++i) {
    const auto sent = Clock::now();
    const auto [status, answer] =
        connection.Exchange(Request("GET", ferry::EncodePullTarget({"", 100}), token, ""));
    pull.push_back(Milliseconds(Clock::now() - sent));
    if (status != 200) Fail("probe pull answered " + std::to_string(status));
  }
  return {Percentile(push, 0.5), Percentile(push, 0.99), Percentile(pull, 0.5),
          Percentile(pull, 0.99)};
}

void Streams(const Endpoint& endpoint, const std::vector<std::string>& tokens, int count,
             int server_pid, int probes) {
  uint64_t seq = 0;
  const Latencies idle = Probe(endpoint, tokens[0], probes, seq);
  const long rss_before = RssKb(server_pid);
  std::vector<int> streams;
  int refused = 0;
  const auto start = Clock::now();
  for (int i = 0; i < count; ++i) {
    const int fd = Connect(endpoint);
    if (fd < 0) Fail("connect failed after " + std::to_string(i) + " streams");
    const std::string& token = tokens[static_cast<std::size_t>(i) % tokens.size()];
    std::string head;
    if (SendAll(fd, Request("GET", "/v1/live", token, ""))) {
      char chunk[4096];
      while (head.find("\r\n\r\n") == std::string::npos) {
        const ssize_t got = recv(fd, chunk, sizeof chunk, 0);
        if (got <= 0) break;
        head.append(chunk, static_cast<std::size_t>(got));
      }
    }
    if (ParseHead(head).status != 200) ++refused;
    streams.push_back(fd);
  }
  const double open_seconds = Seconds(Clock::now() - start);
  std::this_thread::sleep_for(std::chrono::seconds(1));  // let the server settle
  const long rss_held = RssKb(server_pid);
  const Latencies held = Probe(endpoint, tokens[0], probes, seq);
  const int open = count - refused;
  std::printf(
      "{\"bench\":\"server-streams\",\"streams\":%d,\"refused\":%d,\"open_seconds\":%.2f,"
      "\"rss_before_kb\":%ld,\"rss_held_kb\":%ld,\"bytes_per_stream\":%.0f,"
      "\"idle_push_p50_ms\":%.2f,\"idle_push_p99_ms\":%.2f,\"idle_pull_p50_ms\":%.2f,"
      "\"idle_pull_p99_ms\":%.2f,\"held_push_p50_ms\":%.2f,\"held_push_p99_ms\":%.2f,"
      "\"held_pull_p50_ms\":%.2f,\"held_pull_p99_ms\":%.2f,\"probes\":%d}\n",
      count, refused, open_seconds, rss_before, rss_held,
      open > 0 ? static_cast<double>(rss_held - rss_before) * 1024.0 / open : 0.0, idle.push_p50,
      idle.push_p99, idle.pull_p50, idle.pull_p99, held.push_p50, held.push_p99, held.pull_p50,
      held.pull_p99, probes);
  std::fflush(stdout);
  for (int fd : streams)
    close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  const auto number = [&](std::size_t index) { return std::atoi(args.at(index).c_str()); };
  if (args.size() == 6 && args[0] == "push") {
    Push(ParseEndpoints(args[1]), ReadTokens(args[2]), number(3), number(4), number(5));
  } else if (args.size() == 4 && args[0] == "pull") {
    Pull(ParseEndpoints(args[1]), ReadTokens(args[2]), number(3));
  } else if (args.size() == 6 && args[0] == "streams") {
    Streams(ParseEndpoints(args[1]).at(0), ReadTokens(args[2]), number(3), number(4), number(5));
  } else {
    std::fprintf(stderr,
                 "usage: server_bench push ENDPOINTS TOKENS CLIENTS PUSHES BATCH\n"
                 "       server_bench pull ENDPOINTS TOKENS CLIENTS\n"
                 "       server_bench streams ENDPOINT TOKENS COUNT SERVER_PID PROBES\n");
    return 2;
  }
  return 0;
}
