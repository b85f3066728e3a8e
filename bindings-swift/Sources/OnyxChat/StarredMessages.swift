// The user's starred messages: a thread-safe snapshot plus an AsyncStream of updates, growing a
// page at a time.
import Foundation

/// The user's starred messages across channels, most recently sent first, with stars and unstars
/// not yet delivered already applied (messages older than their channel's cached history are
/// listed too). Grow it with ``loadMore()``. Open it with ``ChatClient/starred(pageSize:)``;
/// ``close()`` it when the screen goes away.
public final class StarredMessages: Sendable {
    private let list: StarredList
    private let live: LiveValue<[MessageItem]>
    private let closed = Locked(false)

    private init(list: StarredList, live: LiveValue<[MessageItem]>) {
        self.list = list
        self.live = live
    }

    /// The starred messages now, newest first. Safe to read from any thread.
    public var items: [MessageItem] {
        live.value
    }

    /// The starred messages now and after each change (conflated; finishes on ``close()``).
    public var updates: AsyncStream<[MessageItem]> {
        live.stream(keepingAlive: self)
    }

    /// Shows one more page of older starred messages; `false` once the oldest is shown.
    @discardableResult
    public func loadMore() async throws -> Bool {
        try await list.loadMore()
    }

    /// Whether the list is still updated.
    public var isActive: Bool {
        !closed.value && list.isActive()
    }

    /// Stops updating the list (idempotent): ``items`` stays as it was and ``updates`` streams finish.
    public func close() {
        let wasClosed: Bool = closed.withValue { closed in
            defer { closed = true }
            return closed
        }
        guard !wasClosed else { return }
        live.end()
        list.cancel()
    }

    /// Opens the list and returns once its first snapshot (the cached list) is in ``items``.
    static func open(
        _ watch: (MessageListListener) async throws -> StarredList
    ) async throws -> StarredMessages {
        let diffed = DiffedList<MessageItem>()
        let live = LiveValue<[MessageItem]>([])
        let first = OnceSignal()
        let list = try await watch(MessageDiffListener { diffs in
            live.send(diffed.apply(diffs.map { $0.change }))
            first.signal()
        })
        do {
            try await first.wait()
        } catch {
            list.cancel()
            throw error
        }
        return StarredMessages(list: list, live: live)
    }
}
