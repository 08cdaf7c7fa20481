// zarc-devbroker: a mock Kafka cluster with zarc's topics, for local runs and scripts.
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <iostream>

#include "runtime/kafka/devbroker.h"
#include "runtime/kafka/embedded_cluster.h"

int main(int argc, char** argv) {
  // Block the stop signals before librdkafka starts threads (they inherit the mask), then
  // wait for them synchronously.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto options = zarc::kafka::ParseDevbrokerArgs(std::vector<std::string>(argv + 1, argv + argc));
  if (!options.ok()) {
    std::cerr << "zarc-devbroker: " << options.status().message() << "\n";
    return 2;
  }
  if (options->help) {
    std::cout << zarc::kafka::DevbrokerUsage();
    return 0;
  }
  auto cluster = zarc::kafka::EmbeddedCluster::Start(options->brokers, options->topics);
  if (!cluster.ok()) {
    std::cerr << "zarc-devbroker: " << cluster.status().message() << "\n";
    return 1;
  }
  const std::string& bootstrap = (*cluster)->bootstrap_servers();
  if (!options->bootstrap_file.empty()) {
    std::ofstream file(options->bootstrap_file, std::ios::trunc);
    file << bootstrap << "\n";
    if (!file.flush()) {
      std::cerr << "zarc-devbroker: cannot write " << options->bootstrap_file << "\n";
      return 1;
    }
  }
  std::cout << "bootstrap.servers=" << bootstrap << std::endl;
  int signo = 0;
  sigwait(&stop_signals, &signo);
  return 0;
}
