// A live message window of one channel: a thread-safe snapshot plus an AsyncStream of updates,
// with paging through the history.
import Foundation

/// The newest messages of a channel, oldest first, following new ones as they arrive (sent here,
/// received live, or synced), with their delivery states. Page back with ``loadOlder()``.
/// Open it with ``ChatClient/messages(cid:pageSize:)``; ``close()`` it when the screen goes away
/// (releasing it, once no ``updates`` stream is consumed, closes it too).
public final class MessageList: Sendable {
    private let window: MessageWindow
    private let live: LiveValue<[MessageItem]>
    private let closed = Locked(false)

    private init(window: MessageWindow, live: LiveValue<[MessageItem]>) {
        self.window = window
        self.live = live
    }

    /// The messages now, oldest first. Updated from an SDK background thread; safe to read from any thread.
    public var items: [MessageItem] {
        live.value
    }

    /// The messages now and after each change: a new stream per access, starting with the current
    /// ``items``. Conflated (a slow consumer skips to the newest list); finishes on ``close()``.
    /// The list stays open while one of these streams is consumed.
    public var updates: AsyncStream<[MessageItem]> {
        live.stream(keepingAlive: self)
    }

    /// Shows one more page of older messages; `false` once the start of the channel is reached.
    @discardableResult
    public func loadOlder() async throws -> Bool {
        try await window.loadOlder()
    }

    /// Moves one page towards the newest messages; `true` once the list follows new messages again.
    @discardableResult
    public func loadNewer() async throws -> Bool {
        try await window.loadNewer()
    }

    /// Centres the list on a message (e.g. from a search result or a notification).
    public func jumpTo(messageId: String) async throws {
        try await window.jumpTo(messageId: messageId)
    }

    /// Whether the list is still updated.
    public var isActive: Bool {
        !closed.value && window.isActive()
    }

    /// Stops updating the list (idempotent): ``items`` stays as it was and ``updates`` streams finish.
    public func close() {
        let wasClosed: Bool = closed.withValue { closed in
            defer { closed = true }
            return closed
        }
        guard !wasClosed else { return }
        // Freeze the list first, so a batch still being delivered cannot change it after close().
        live.end()
        window.cancel()
    }

    /// Opens the window and returns once its first snapshot (the initial Reset) is in ``items``.
    static func open(
        _ watch: (MessageListListener) async throws -> MessageWindow
    ) async throws -> MessageList {
        let list = DiffedList<MessageItem>()
        let live = LiveValue<[MessageItem]>([])
        let first = OnceSignal()
        let window = try await watch(MessageDiffListener { diffs in
            live.send(list.apply(diffs.map { $0.change }))
            first.signal()
        })
        do {
            try await first.wait()
        } catch {
            window.cancel()
            throw error
        }
        return MessageList(window: window, live: live)
    }
}

/// A one-shot signal one task can wait for: the waiting continuation is resumed exactly once,
/// by the signal or by the waiting task's cancellation, whichever comes first.
final class OnceSignal: @unchecked Sendable {
    private enum State {
        case waiting(CheckedContinuation<Void, Error>?)
        case signalled
        case cancelled
    }

    private let state = Locked(State.waiting(nil))

    /// Fires the signal (later calls do nothing).
    func signal() {
        let waiter: CheckedContinuation<Void, Error>? = state.withValue { state in
            guard case let .waiting(waiter) = state else { return nil }
            state = .signalled
            return waiter
        }
        waiter?.resume()
    }

    /// Returns once signalled; throws `CancellationError` if the task is cancelled first.
    func wait() async throws {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
                let outcome: Result<Void, Error>? = self.state.withValue { state in
                    switch state {
                    case .signalled:
                        return .success(())
                    case .cancelled:
                        return .failure(CancellationError())
                    case .waiting:
                        state = .waiting(continuation)
                        return nil
                    }
                }
                if let outcome {
                    continuation.resume(with: outcome)
                }
            }
        } onCancel: {
            let waiter: CheckedContinuation<Void, Error>? = self.state.withValue { state in
                guard case let .waiting(waiter) = state else { return nil }
                state = .cancelled
                return waiter
            }
            waiter?.resume(throwing: CancellationError())
        }
    }
}
