// ferry-server: the reference sync server. cpp-httplib for HTTP, SQLite (one
// file) for storage, and the core's protocol codec and apply logic
// (ferry/server_apply.h) for the semantics in docs/PROTOCOL.md.
//
//   ferry-server --tokens tokens.txt [--db ferry-server.db] [--host 127.0.0.1]
//                [--port 8080 | --port 0] [--max-body-bytes N] [--max-batch N]
//                [--tls-cert FILE --tls-key FILE] [--static DIR]
//                [--cors-origin ORIGIN]... [--quiet]
//
// --port 0 picks a free port; the first line on stdout says which:
//   ferry-server listening on http://127.0.0.1:PORT   (https:// with --tls-cert)
#include <httplib.h>  // Debian builds it as a library with zlib (gzip bodies) enabled

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <random>
#include <thread>

#include "cors.h"
#include "ferry/gzip_zlib.h"
#include "ferry/server_apply.h"
#include "ferry/store_sqlite.h"
#include "live.h"
#include "static_files.h"
#include "tokens.h"

namespace ferry::server {
namespace {

struct Settings {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string db = "ferry-server.db";
  std::string tokens;
  std::size_t max_body_bytes = 8u << 20;
  std::size_t max_batch = 1000;
  bool quiet = false;
  std::string static_dir;  // files served at / (a web app next to its sync server)
  std::string tls_cert;    // PEM certificate chain; with tls_key, serve HTTPS
  std::string tls_key;     // PEM private key
  // Origins (scheme://host[:port]) whose pages may call /v1/* cross-origin.
  std::vector<std::string> cors_origins;
};

void Usage() {
  std::cerr << "usage: ferry-server --tokens FILE [--db FILE] [--host ADDR] [--port N]\n"
               "                    [--max-body-bytes N] [--max-batch N] [--tls-cert FILE "
               "--tls-key FILE]\n"
               "                    [--static DIR] [--cors-origin ORIGIN]... [--quiet]\n";
}

std::optional<Settings> ParseArguments(int argc, char** argv) {
  Settings settings;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    const auto value = [&]() -> std::optional<std::string> {
      if (i + 1 >= argc) return std::nullopt;
      return std::string(argv[++i]);
    };
    std::optional<std::string> v;
    if (flag == "--quiet") {
      settings.quiet = true;
      continue;
    }
    if (flag == "--help") return std::nullopt;
    if (!(v = value())) return std::nullopt;
    char* end = nullptr;
    if (flag == "--host") {
      settings.host = *v;
    } else if (flag == "--port") {
      settings.port = static_cast<int>(std::strtol(v->c_str(), &end, 10));
    } else if (flag == "--db") {
      settings.db = *v;
    } else if (flag == "--tokens") {
      settings.tokens = *v;
    } else if (flag == "--max-body-bytes") {
      settings.max_body_bytes = std::strtoull(v->c_str(), &end, 10);
    } else if (flag == "--static") {
      settings.static_dir = *v;
    } else if (flag == "--cors-origin") {
      auto origin = NormalizeAllowedOrigin(*v);
      if (!origin) {
        std::cerr << "ferry-server: --cors-origin takes an exact origin such as "
                     "http://localhost:5173 (no path, no trailing slash, not *), not "
                  << *v << "\n";
        return std::nullopt;
      }
      settings.cors_origins.push_back(std::move(*origin));
    } else if (flag == "--tls-cert") {
      settings.tls_cert = *v;
    } else if (flag == "--tls-key") {
      settings.tls_key = *v;
    } else if (flag == "--max-batch") {
      settings.max_batch = std::strtoull(v->c_str(), &end, 10);
    } else {
      return std::nullopt;
    }
    if (end != nullptr && *end != '\0') return std::nullopt;
  }
  if (settings.tokens.empty() || settings.port < 0 || settings.port > 65535) return std::nullopt;
  if (settings.tls_cert.empty() != settings.tls_key.empty()) return std::nullopt;  // both or none
  return settings;
}

Result<std::string> LoadOrCreateEpoch(Store& store) {
  FERRY_ASSIGN_OR_RETURN(auto stored, store.Get("server/epoch"));
  if (stored) return *stored;
  // A new database gets a new epoch, so cursors handed out by a server whose
  // data was lost expire instead of silently skipping changes.
  std::random_device random;
  static constexpr char kDigits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string epoch;
  for (int i = 0; i < 10; ++i)
    epoch += kDigits[random() % 36];
  FERRY_RETURN_IF_ERROR(store.Put("server/epoch", epoch));
  return epoch;
}

// The JSON content type with a charset parameter: httplib compresses only
// bodies whose content type is exactly "application/json", and it prefers
// Brotli at its highest quality, which cost ~400 ms per 1,000-document pull
// page. The server compresses with gzip itself instead (SetJsonBody).
constexpr const char* kJsonType = "application/json; charset=utf-8";
constexpr std::size_t kCompressAbove = 1024;

// The wall clock a push's stamps are checked against (core reads no clock).
int64_t WallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void SetJsonBody(const httplib::Request& request, httplib::Response& response, std::string body) {
  if (body.size() > kCompressAbove && AcceptsGzip(request.get_header_value("Accept-Encoding"))) {
    if (auto compressed = GzipZlib(body)) {
      response.set_header("Content-Encoding", "gzip");
      response.set_header("Vary", "Accept-Encoding");
      body = std::move(*compressed);
    }
  }
  response.set_content(body, kJsonType);
}

void SendError(httplib::Response& response, int status, ErrorCode code,
               const std::string& message) {
  response.status = status;
  response.set_content(EncodeErrorBody(code, message), kJsonType);
}

// Sends the answer of --static DIR. The body goes out through a content
// provider with a length: httplib compresses a text body given to
// set_content itself (Brotli when offered), which would encode an encoded
// body twice, but sends a provider's bytes as they are (and slices them for
// a Range request).
void SendStaticFile(StaticFiles& files, const httplib::Request& request,
                    httplib::Response& response) {
  const std::string accept = request.get_header_value("Accept");
  const std::string accept_encoding = request.get_header_value("Accept-Encoding");
  StaticResponse answer = files.Serve({request.path, accept, accept_encoding});
  if (answer.status != 200) {
    response.status = answer.status;  // the error handler writes the body
    return;
  }
  response.set_header("Cache-Control", answer.cache_control);
  if (answer.vary_accept_encoding) response.set_header("Vary", "Accept-Encoding");
  if (!answer.content_encoding.empty()) {
    response.set_header("Content-Encoding", answer.content_encoding);
  }
  if (answer.body.empty()) {
    response.set_content("", answer.content_type);
    return;
  }
  auto body = std::make_shared<const std::string>(std::move(answer.body));
  response.set_content_provider(
      body->size(), answer.content_type,
      [body](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
        return sink.write(body->data() + offset, length);
      });
}

// Adds the CORS headers to an answer on /v1/*. Runs as httplib's
// post-routing handler, just before the headers are written, so error
// answers, preflights and the live stream get them too.
void AddCorsHeaders(const CorsPolicy& cors, const httplib::Request& request,
                    httplib::Response& response) {
  if (!cors.enabled() || !IsApiPath(request.path)) return;
  const std::string origin = request.get_header_value("Origin");
  HeaderList headers = cors.ResponseHeaders(origin);
  if (request.method == "OPTIONS") {
    HeaderList preflight = cors.PreflightHeaders(origin);
    headers.insert(headers.end(), preflight.begin(), preflight.end());
  }
  for (const auto& [name, value] : headers)
    response.set_header(name, value);
  // One Vary header: set_header adds, and a JSON answer may already vary by
  // Accept-Encoding.
  std::string vary = AddToVary(response.get_header_value("Vary"), "Origin");
  response.headers.erase("Vary");
  response.set_header("Vary", vary);
}

// The routes a browser needs beyond the API: preflights, CORS headers and,
// with --static, the app's files. Registered after the API's routes, since
// httplib tries routes in order and the files' route matches every path.
void RouteBrowserRequests(httplib::Server& http, const CorsPolicy& cors,
                          StaticFiles* static_files) {
  // Every OPTIONS on /v1/* gets 204 and the API's methods, with or without
  // CORS, so a preflight never looks like a missing endpoint; AddCorsHeaders
  // adds the rest for an allowed origin.
  http.Options(R"(/v1/.*)", [](const httplib::Request&, httplib::Response& response) {
    response.status = kPreflightStatus;
    response.set_header("Allow", std::string(kApiMethods));
  });
  http.set_post_routing_handler(
      [&cors](const httplib::Request& request, httplib::Response& response) {
        AddCorsHeaders(cors, request, response);
      });
  if (static_files == nullptr) return;
  http.Get(".*", [static_files](const httplib::Request& request, httplib::Response& response) {
    SendStaticFile(*static_files, request, response);
  });
}

int Run(const Settings& settings) {
  auto tokens = TokenTable::Load(settings.tokens);
  if (!tokens.ok()) {
    std::cerr << "ferry-server: " << tokens.status().ToString() << "\n";
    return 2;
  }
  auto store = SqliteStore::Open(settings.db);
  if (!store.ok()) {
    std::cerr << "ferry-server: " << store.status().ToString() << "\n";
    return 2;
  }
  auto epoch = LoadOrCreateEpoch(**store);
  if (!epoch.ok()) {
    std::cerr << "ferry-server: " << epoch.status().ToString() << "\n";
    return 2;
  }
  ProtocolLimits limits;
  limits.max_body_bytes = settings.max_body_bytes;
  limits.max_mutations_per_push = settings.max_batch;
  ServerState state(**store, *epoch, limits);
  std::mutex state_mutex;  // one SQLite connection: requests take turns
  LiveChannel live;
  const CorsPolicy cors(settings.cors_origins);
  // A web app served by its own sync server talks to it same-origin, so no
  // CORS is needed.
  std::optional<StaticFiles> static_files;
  if (!settings.static_dir.empty()) {
    if (!std::filesystem::is_directory(settings.static_dir)) {
      std::cerr << "ferry-server: cannot serve " << settings.static_dir << "\n";
      return 2;
    }
    static_files.emplace(settings.static_dir);
  }

  // Debian's cpp-httplib is built with OpenSSL, so HTTPS is the same server
  // class with a certificate.
  const bool tls = !settings.tls_cert.empty();
  std::unique_ptr<httplib::Server> server =
      tls ? std::make_unique<httplib::SSLServer>(settings.tls_cert.c_str(),
                                                 settings.tls_key.c_str())
          : std::make_unique<httplib::Server>();
  if (!server->is_valid()) {
    std::cerr << "ferry-server: cannot load the TLS certificate " << settings.tls_cert << " or key "
              << settings.tls_key << "\n";
    return 2;
  }
  httplib::Server& http = *server;
  // Each open /v1/live stream holds a worker thread, so the pool is larger
  // than httplib's default of a few threads.
  http.new_task_queue = [] { return new httplib::ThreadPool(64); };
  http.set_payload_max_length(settings.max_body_bytes);
  // httplib writes headers and body separately; with Nagle's algorithm on, the
  // body then waits for the client's delayed ACK on a kept-alive connection
  // (measured: about 200 ms per request instead of a few).
  http.set_tcp_nodelay(true);
  http.set_read_timeout(30, 0);
  http.set_write_timeout(30, 0);
  // Logs method, path, status and time. Never headers: they hold the token
  // (the Origin of a refused preflight is named: it is no secret).
  if (!settings.quiet) {
    http.set_logger([&cors](const httplib::Request& request, const httplib::Response& response) {
      const std::string note =
          cors.RefusalNote(request.method, request.path, request.get_header_value("Origin"));
      // A file's body goes through a content provider: its size is in the header.
      const std::size_t bytes =
          response.body.empty()
              ? std::strtoull(response.get_header_value("Content-Length").c_str(), nullptr, 10)
              : response.body.size();
      std::fprintf(stderr, "ferry-server: %s %s %d %zu bytes%s\n", request.method.c_str(),
                   request.path.c_str(), response.status, bytes, note.c_str());
    });
  }
  const auto authenticate = [&](const httplib::Request& request,
                                httplib::Response& response) -> std::optional<std::string> {
    auto user = tokens->UserFor(request.get_header_value("Authorization"));
    if (!user) {
      response.set_header("WWW-Authenticate", "Bearer");
      SendError(response, 401, ErrorCode::kUnauthenticated, "missing or unknown bearer token");
    }
    return user;
  };
  // Runs an authenticated user's push or pull through the shared apply code.
  const auto handle = [&](const httplib::Request& request, httplib::Response& response,
                          const std::string& user, std::string_view body) {
    ServerHttpResponse answer;
    uint64_t applied_before = 0, applied_after = 0;
    {
      std::lock_guard lock(state_mutex);
      applied_before = state.statistics().mutations_applied;
      answer =
          HandleServerRequest(state, user, request.method, request.target, body, WallClockMs());
      applied_after = state.statistics().mutations_applied;
    }
    if (applied_after != applied_before) live.Poke(user);
    response.status = answer.status;
    SetJsonBody(request, response, std::move(answer.body));
  };
  // The push body is read through a content reader: httplib checks
  // --max-body-bytes against the bytes on the wire, but it inflates a gzip
  // body without a limit, so a 4 MB gzip bomb cost 1 GB of memory before it
  // was refused. Counting the inflated bytes here stops it at the limit.
  http.Post("/v1/push", [&](const httplib::Request& request, httplib::Response& response,
                            const httplib::ContentReader& read_body) {
    auto user = authenticate(request, response);  // before reading a byte of the body
    if (!user) return;
    const auto refuse_too_large = [&] {
      response.set_header("Connection", "close");  // the rest of the body is never read
      SendError(response, 413, ErrorCode::kTooLarge,
                "request body larger than " + std::to_string(settings.max_body_bytes) +
                    " bytes (after decompression)");
    };
    if (std::strtoull(request.get_header_value("Content-Length").c_str(), nullptr, 10) >
        settings.max_body_bytes) {
      return refuse_too_large();
    }
    std::string body;
    bool too_large = false;
    const bool read = read_body([&](const char* data, std::size_t length) {
      if (body.size() + length > settings.max_body_bytes) {
        too_large = true;
        return false;  // stops reading (and inflating)
      }
      body.append(data, length);
      return true;
    });
    if (too_large) return refuse_too_large();
    if (!read) {
      SendError(response, 400, ErrorCode::kInvalidArgument, "the request body could not be read");
      return;
    }
    handle(request, response, *user, body);
  });

  http.Get("/v1/pull", [&](const httplib::Request& request, httplib::Response& response) {
    if (auto user = authenticate(request, response)) handle(request, response, *user, "");
  });
  http.Get("/v1/health", [](const httplib::Request&, httplib::Response& response) {
    response.set_content("{\"status\":\"ok\"}", kJsonType);
  });
  http.Get("/v1/stats", [&](const httplib::Request& request, httplib::Response& response) {
    auto user = authenticate(request, response);
    if (!user) return;
    ServerStatistics statistics;
    {
      std::lock_guard lock(state_mutex);
      statistics = state.StatisticsOf(*user);  // never another user's
    }
    response.set_content(DumpJson(Json{{"mutationsApplied", statistics.mutations_applied},
                                       {"mutationsDuplicate", statistics.mutations_duplicate},
                                       {"mutationsConflict", statistics.mutations_conflict},
                                       {"mutationsRejected", statistics.mutations_rejected},
                                       {"liveListeners", live.listeners(*user)}}),
                         kJsonType);
  });
  http.Get(std::string(ferry::kLivePath),
           [&](const httplib::Request& request, httplib::Response& response) {
             auto user = authenticate(request, response);
             if (!user) return;
             response.set_header("Cache-Control", "no-store");
             response.set_chunked_content_provider(
                 "text/event-stream", [&live, user = *user, seen = uint64_t{0}, first = true](
                                          std::size_t, httplib::DataSink& sink) mutable {
                   if (first) {
                     first = false;
                     seen = live.Version(user);
                     const std::string hello = "event: hello\ndata: {}\n\n";
                     return sink.write(hello.data(), hello.size());
                   }
                   auto version = live.WaitForChange(user, seen, std::chrono::seconds(15));
                   if (!version) return false;  // the server is stopping
                   std::string message;
                   if (*version == seen) {
                     message = ": keep-alive\n\n";  // keeps proxies from closing an idle stream
                   } else {
                     seen = *version;
                     message = "event: poke\ndata: {}\n\n";
                   }
                   return sink.write(message.data(), message.size());
                 });
           });
  RouteBrowserRequests(http, cors, static_files ? &*static_files : nullptr);
  http.set_error_handler([](const httplib::Request&, httplib::Response& response) {
    if (response.body.empty()) {
      const ErrorCode code = response.status == 413   ? ErrorCode::kTooLarge
                             : response.status == 404 ? ErrorCode::kNotFound
                                                      : ErrorCode::kInvalidArgument;
      SendError(response, response.status, code, "HTTP " + std::to_string(response.status));
    }
  });

  const int port = settings.port == 0
                       ? http.bind_to_any_port(settings.host)
                       : (http.bind_to_port(settings.host, settings.port) ? settings.port : -1);
  if (port < 0) {
    std::cerr << "ferry-server: cannot listen on " << settings.host << ":" << settings.port << "\n";
    return 2;
  }
  std::printf("ferry-server listening on %s://%s:%d\n", tls ? "https" : "http",
              settings.host.c_str(), port);
  std::fflush(stdout);

  // SIGINT / SIGTERM stop the server cleanly: a thread waits for them, so no
  // work happens inside a signal handler.
  std::thread stopper([&http, &live] {
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    int received = 0;
    sigwait(&signals, &received);
    live.Stop();
    http.stop();
  });
  http.listen_after_bind();
  live.Stop();
  // The stopper must be done before `live` and `http` go away (it may still be
  // inside live.Stop() after a signal; found by ThreadSanitizer). If listening
  // ended for another reason it still waits for a signal: send it one.
  pthread_kill(stopper.native_handle(), SIGTERM);
  stopper.join();
  return 0;
}

}  // namespace
}  // namespace ferry::server

int main(int argc, char** argv) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // inherited by every thread
  std::signal(SIGPIPE, SIG_IGN);
  auto settings = ferry::server::ParseArguments(argc, argv);
  if (!settings) {
    ferry::server::Usage();
    return 2;
  }
  return ferry::server::Run(*settings);
}
