#include "runtime/service/health_service.h"

namespace zarc::service {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

void HealthService::SetStatus(const std::string& service, Status status) {
  absl::MutexLock lock(&mutex_);
  if (shutdown_) return;
  statuses_[service] = status;
  ++generation_;
}

void HealthService::Shutdown() {
  absl::MutexLock lock(&mutex_);
  shutdown_ = true;
  for (auto& [name, status] : statuses_) status = HealthCheckResponse::NOT_SERVING;
  ++generation_;
}

grpc::Status HealthService::Check(grpc::ServerContext*, const HealthCheckRequest* request,
                                  HealthCheckResponse* response) {
  absl::MutexLock lock(&mutex_);
  auto it = statuses_.find(request->service());
  if (it == statuses_.end()) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        "unknown service \"" + request->service() + "\"");
  }
  response->set_status(it->second);
  return grpc::Status::OK;
}

grpc::Status HealthService::Watch(grpc::ServerContext* context, const HealthCheckRequest* request,
                                  grpc::ServerWriter<HealthCheckResponse>* writer) {
  uint64_t seen = UINT64_MAX;
  while (!context->IsCancelled()) {
    HealthCheckResponse response;
    {
      absl::MutexLock lock(&mutex_);
      // Wake on a change, on shutdown, or every 200 ms to notice a cancelled client.
      auto changed = [this, seen]() ABSL_SHARED_LOCKS_REQUIRED(mutex_) {
        return generation_ != seen || shutdown_;
      };
      mutex_.AwaitWithTimeout(absl::Condition(&changed), absl::Milliseconds(200));
      if (generation_ == seen && !shutdown_) continue;
      seen = generation_;
      auto it = statuses_.find(request->service());
      response.set_status(it == statuses_.end() ? HealthCheckResponse::SERVICE_UNKNOWN : it->second);
      if (shutdown_) {
        writer->Write(response);
        return grpc::Status::OK;
      }
    }
    if (!writer->Write(response)) break;
  }
  return grpc::Status::OK;
}

}  // namespace zarc::service
