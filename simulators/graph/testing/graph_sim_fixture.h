#pragma once

// Test support (mapper, importer, entra): the Graph simulator served in-process on 127.0.0.1 (port 0).

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "runtime/http/http_server.h"
#include "simulators/graph/directory.h"
#include "simulators/graph/graph_simulator.h"

namespace zarc::graph_sim::testing {

struct RunningGraphSim {
  std::unique_ptr<graph_sim::GraphSimulator> sim;
  std::unique_ptr<http::HttpServer> server;
  std::string url;  // http://127.0.0.1:PORT

  ~RunningGraphSim() {
    if (server) server->Stop();
  }
};

inline std::unique_ptr<RunningGraphSim> StartGraphSim(graph_sim::Directory directory,
                                                      graph_sim::GraphSimOptions options = {}) {
  auto running = std::make_unique<RunningGraphSim>();
  running->sim = std::make_unique<graph_sim::GraphSimulator>(std::move(directory), options);
  graph_sim::GraphSimulator* sim = running->sim.get();
  absl::StatusOr<std::unique_ptr<http::HttpServer>> server =
      http::HttpServer::Start(http::ServerOptions{.threads = 4},
                              [sim](const http::ServerRequest& r) { return sim->Handle(r); });
  if (!server.ok()) return nullptr;
  running->server = *std::move(server);
  running->url = absl::StrCat("http://127.0.0.1:", running->server->port());
  sim->SetPublicBaseUrl(running->url);
  return running;
}

// A small tenant: corp.test with
//   ann   mail Ann@corp.test, proxy smtp:Anna.Old@Corp.test   (in group g-scope)
//   bob   mail bob@corp.test, disabled                          (in group g-scope)
//   cy    mail cy@corp.test                                     (in group g-scope)
//   dee   mail dee@corp.test                                    (not in the group)
//   nomail no mail (no mailbox), proxy smtp:nomail@corp.test
inline graph_sim::Directory CorpDirectory() {
  absl::StatusOr<graph_sim::Directory> dir = graph_sim::ParseDirectoryJson(R"({
    "users": [
      {"id": "u-ann", "userPrincipalName": "ann@corp.test", "mail": "Ann@corp.test",
       "proxyAddresses": ["SMTP:Ann@corp.test", "smtp:Anna.Old@Corp.test"]},
      {"id": "u-bob", "userPrincipalName": "bob@corp.test", "mail": "bob@corp.test",
       "accountEnabled": false},
      {"id": "u-cy", "userPrincipalName": "cy@corp.test", "mail": "cy@corp.test"},
      {"id": "u-dee", "userPrincipalName": "dee@corp.test", "mail": "dee@corp.test"},
      {"id": "u-nomail", "userPrincipalName": "nomail@corp.test",
       "proxyAddresses": ["smtp:nomail@corp.test"]}
    ],
    "groups": [{"id": "g-scope", "members": ["u-ann", "u-bob", "u-cy"]}]
  })");
  return dir.ok() ? *std::move(dir) : graph_sim::Directory{};
}

}  // namespace zarc::graph_sim::testing
