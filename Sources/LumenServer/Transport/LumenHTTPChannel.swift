import Hummingbird
import HummingbirdCore
import Logging
import NIOCore

/// Hummingbird's HTTP/1 channel with `LengthlessBodyFramer` in front of its
/// parser, and an idle timeout: a client that stops sending halfway through a
/// request (or holds an idle keep-alive connection) is disconnected, while one
/// that is waiting for a long inference is not.
struct LumenHTTPChannel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value
    let inner: HTTP1Channel

    init(responder: @escaping HTTPChannelHandler.Responder, idleTimeout: TimeAmount?) {
        inner = HTTP1Channel(responder: responder, configuration: .init(idleTimeout: idleTimeout))
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(LengthlessBodyFramer())
        }.flatMap { inner.setup(channel: channel, logger: logger) }
    }

    func handle(value: Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1 as old AIAA clients speak it (see `LumenHTTPChannel`).
    static func lumen(idleTimeout: TimeAmount?) -> HTTPServerBuilder {
        .init { responder in LumenHTTPChannel(responder: responder, idleTimeout: idleTimeout) }
    }
}
