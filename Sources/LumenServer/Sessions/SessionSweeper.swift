import ServiceLifecycle

/// Drops expired sessions every minute; a service in the application's group,
/// so it stops with the server instead of outliving it as a detached task.
public struct SessionSweeper: Service {
    let sessions: SessionStore
    let interval: Duration

    public init(sessions: SessionStore, interval: Duration = .seconds(60)) {
        self.sessions = sessions
        self.interval = interval
    }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                while !Task.isCancelled {
                    try await Task.sleep(for: interval)
                    await sessions.sweep()
                }
            }
        } catch is CancellationError {
            // A shutdown, not a failure.
        }
    }
}
