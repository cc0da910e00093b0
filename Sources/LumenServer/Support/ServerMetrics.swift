import Foundation
import Prometheus

/// What an admin watches on `/metrics`: request counts and latencies by route,
/// inference time by model, and what the queue and the sessions hold.
public final class ServerMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    static let latencyBuckets: [Duration] = [.milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(250),
                                             .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
                                             .seconds(30), .seconds(60), .seconds(180)]

    public init() {}

    func request(route: String, method: String, status: Int, duration: Duration) {
        registry.makeCounter(descriptor: .init(namespace: "lumen", metricName: "http_requests", unitName: "total",
                                               helpText: "HTTP requests by route, method and status"),
                             labels: [("route", route), ("method", method), ("status", String(status))]).increment()
        registry.makeDurationHistogram(descriptor: .init(namespace: "lumen", metricName: "http_request_duration", unitName: "seconds",
                                                         helpText: "HTTP request latency by route"),
                                       labels: [("route", route)], buckets: Self.latencyBuckets).record(duration)
    }

    func inference(model: String, duration: Duration) {
        registry.makeDurationHistogram(descriptor: .init(namespace: "lumen", metricName: "inference_duration", unitName: "seconds",
                                                         helpText: "Time from queue entry to written result, by model"),
                                       labels: [("model", model)], buckets: Self.latencyBuckets).record(duration)
    }

    func gauge(_ name: String, _ help: String, _ value: Int) {
        registry.makeGauge(descriptor: .init(namespace: "lumen", metricName: name, unitName: "", helpText: help), labels: [])
            .set(Double(value))
    }

    /// Samples the queue and the sessions, then renders the exposition text.
    func render(service: InferenceService?) async -> String {
        if let service {
            gauge("queue_depth", "Inferences waiting for a compute slot", await service.queue.depth)
            gauge("inferences_running", "Inferences running now", await service.queue.active)
            gauge("session_bytes", "Bytes held by open sessions", await service.sessions.totalBytes)
            gauge("sessions", "Open sessions", await service.sessions.count)
        }
        return registry.emitToString()
    }
}
