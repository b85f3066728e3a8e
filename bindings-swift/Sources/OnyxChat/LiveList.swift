// Live lists: applies chat-core's diff batches to list snapshots and exposes them as AsyncStreams
// (list bookkeeping only: what is in a list, and in which order, is chat-core's decision).
import Foundation

/// A value behind a lock: the one primitive guarding this module's shared mutable state.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value

    init(_ value: Value) {
        stored = value
    }

    /// Runs `body` with exclusive access to the value. `body` must not call back into this lock.
    func withValue<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&stored)
    }

    /// A copy of the value.
    var value: Value {
        withValue { $0 }
    }
}

/// One list change, whatever the item type.
enum Change<T> {
    case reset([T])
    case insert(Int, T)
    case update(Int, T)
    case remove(Int)
}

extension Change: Sendable where T: Sendable {}

extension MessageDiff {
    var change: Change<MessageItem> {
        switch self {
        case let .reset(items): return .reset(items)
        case let .insert(index, item): return .insert(Int(index), item)
        case let .update(index, item): return .update(Int(index), item)
        case let .remove(index): return .remove(Int(index))
        }
    }
}

extension ChannelDiff {
    var change: Change<ChannelItem> {
        switch self {
        case let .reset(items): return .reset(items)
        case let .insert(index, item): return .insert(Int(index), item)
        case let .update(index, item): return .update(Int(index), item)
        case let .remove(index): return .remove(Int(index))
        }
    }
}

extension ReadReceiptDiff {
    var change: Change<ReadReceipt> {
        switch self {
        case let .reset(items): return .reset(items)
        case let .insert(index, item): return .insert(Int(index), item)
        case let .update(index, item): return .update(Int(index), item)
        case let .remove(index): return .remove(Int(index))
        }
    }
}

extension MemberDiff {
    var change: Change<MemberItem> {
        switch self {
        case let .reset(items): return .reset(items)
        case let .insert(index, item): return .insert(Int(index), item)
        case let .update(index, item): return .update(Int(index), item)
        case let .remove(index): return .remove(Int(index))
        }
    }
}

/// A list kept up to date by diff batches; thread-safe.
final class DiffedList<T>: @unchecked Sendable {
    private let items = Locked<[T]>([])

    /// Applies one batch and returns the resulting snapshot. chat-core only sends valid indices;
    /// should one ever be out of range, that change is skipped rather than trapping (the next
    /// Reset repairs the list).
    func apply(_ batch: [Change<T>]) -> [T] {
        items.withValue { items in
            for change in batch {
                switch change {
                case let .reset(all):
                    items = all
                case let .insert(index, item):
                    items.insert(item, at: min(max(index, 0), items.count))
                case let .update(index, item):
                    if items.indices.contains(index) { items[index] = item }
                case let .remove(index):
                    if items.indices.contains(index) { items.remove(at: index) }
                }
            }
            return items
        }
    }
}

/// A current value plus any number of streams of it, like Kotlin's StateFlow: each stream starts
/// with the current value, then gets every change (conflated: a slow consumer skips to the newest).
final class LiveValue<Value: Sendable>: @unchecked Sendable {
    private struct State {
        var value: Value
        var ended = false
        var nextId = 0
        var streams: [Int: AsyncStream<Value>.Continuation] = [:]
    }

    private let state: Locked<State>

    init(_ initial: Value) {
        state = Locked(State(value: initial))
    }

    /// The current value.
    var value: Value {
        state.withValue { $0.value }
    }

    /// Sets the value and hands it to every stream; ignored once ended. Yielding under the lock
    /// keeps each stream's values in order (yield never calls back into this object).
    func send(_ value: Value) {
        state.withValue { state in
            guard !state.ended else { return }
            state.value = value
            for continuation in state.streams.values {
                continuation.yield(value)
            }
        }
    }

    /// Freezes the value and finishes every stream.
    func end() {
        let streams: [AsyncStream<Value>.Continuation] = state.withValue { state in
            state.ended = true
            defer { state.streams = [:] }
            return Array(state.streams.values)
        }
        // Outside the lock: finishing runs onTermination, which takes the lock.
        for continuation in streams {
            continuation.finish()
        }
    }

    /// A new stream of the value, starting with the current one. `owner` is kept alive while the
    /// stream is (so the list behind a stream is not released while someone consumes it).
    func stream(keepingAlive owner: (any Sendable)? = nil) -> AsyncStream<Value> {
        AsyncStream(bufferingPolicy: .bufferingNewest(1)) { continuation in
            let id: Int? = self.state.withValue { state in
                continuation.yield(state.value)
                guard !state.ended else { return nil }
                let newId = state.nextId
                state.nextId += 1
                state.streams[newId] = continuation
                return newId
            }
            guard let id else {
                continuation.finish()
                return
            }
            continuation.onTermination = { _ in
                withExtendedLifetime(owner) {}
                self.removeStream(id)
            }
        }
    }

    private func removeStream(_ id: Int) {
        state.withValue { state in
            _ = state.streams.removeValue(forKey: id)
        }
    }
}

/// Holds a live query's subscription for its stream and cancels it when the stream ends, even
/// if the stream ends before the subscription is open.
final class SubscriptionSlot: @unchecked Sendable {
    private enum State {
        case opening
        case open(Subscription)
        case ended
    }

    private let state = Locked(State.opening)

    /// Keeps `subscription`, or cancels it at once if the stream already ended.
    func fill(_ subscription: Subscription) {
        let endedAlready: Bool = state.withValue { state in
            if case .ended = state { return true }
            state = .open(subscription)
            return false
        }
        if endedAlready { subscription.cancel() }
    }

    /// The stream ended: cancels the subscription (now or when it is filled).
    func end() {
        let subscription: Subscription? = state.withValue { state in
            defer { state = .ended }
            if case let .open(subscription) = state { return subscription }
            return nil
        }
        subscription?.cancel()
    }
}

/// A stream of list snapshots: creating it opens the live query (`open` receives the batch
/// callback and returns the subscription); the stream ending (its consumer cancelled, or the
/// stream released) cancels it. Snapshots are conflated: a slow consumer skips to the newest
/// list, never blocks the engine, and never misses the final state. A failure to open ends the
/// stream with that error.
func liveListStream<D, T: Sendable>(
    _ toChange: @escaping @Sendable (D) -> Change<T>,
    open: @escaping @Sendable (_ onBatch: @escaping @Sendable ([D]) -> Void) async throws -> Subscription
) -> AsyncThrowingStream<[T], Error> {
    let list = DiffedList<T>()
    return asyncLiveValueStream { onValue in
        try await open { batch in onValue(list.apply(batch.map(toChange))) }
    }
}

/// Like `liveListStream` for values delivered whole by a live query that opens asynchronously
/// and may fail to open (the outbox): conflated, and the stream ends with the error.
func asyncLiveValueStream<T: Sendable>(
    open: @escaping @Sendable (_ onValue: @escaping @Sendable (T) -> Void) async throws -> Subscription
) -> AsyncThrowingStream<T, Error> {
    AsyncThrowingStream(bufferingPolicy: .bufferingNewest(1)) { continuation in
        let slot = SubscriptionSlot()
        continuation.onTermination = { _ in slot.end() }
        Task {
            do {
                let subscription = try await open { value in continuation.yield(value) }
                slot.fill(subscription)
            } catch {
                continuation.finish(throwing: error)
            }
        }
    }
}

/// Like `liveListStream` for values delivered whole by a live query that opens synchronously
/// and cannot fail (presence, connection state).
func liveValueStream<T: Sendable>(
    open: @escaping (_ onValue: @escaping @Sendable (T) -> Void) -> Subscription
) -> AsyncStream<T> {
    AsyncStream(bufferingPolicy: .bufferingNewest(1)) { continuation in
        let subscription = open { value in continuation.yield(value) }
        continuation.onTermination = { _ in subscription.cancel() }
    }
}

/// Like `liveValueStream` for a live query that may fail to open (typing): the stream then ends
/// with the error.
func throwingLiveValueStream<T: Sendable>(
    open: @escaping (_ onValue: @escaping @Sendable (T) -> Void) throws -> Subscription
) -> AsyncThrowingStream<T, Error> {
    AsyncThrowingStream(bufferingPolicy: .bufferingNewest(1)) { continuation in
        do {
            let subscription = try open { value in continuation.yield(value) }
            continuation.onTermination = { _ in subscription.cancel() }
        } catch {
            continuation.finish(throwing: error)
        }
    }
}

// The generated listener protocols, implemented by closures. chat-core calls them on its own
// background threads, one batch at a time and in order.

final class MessageDiffListener: MessageListListener {
    private let onBatch: @Sendable ([MessageDiff]) -> Void

    init(_ onBatch: @escaping @Sendable ([MessageDiff]) -> Void) {
        self.onBatch = onBatch
    }

    func onDiffs(diffs: [MessageDiff]) {
        onBatch(diffs)
    }
}

final class ChannelDiffListener: ChannelListListener {
    private let onBatch: @Sendable ([ChannelDiff]) -> Void

    init(_ onBatch: @escaping @Sendable ([ChannelDiff]) -> Void) {
        self.onBatch = onBatch
    }

    func onDiffs(diffs: [ChannelDiff]) {
        onBatch(diffs)
    }
}

final class ReadReceiptDiffListener: ReadReceiptListener {
    private let onBatch: @Sendable ([ReadReceiptDiff]) -> Void

    init(_ onBatch: @escaping @Sendable ([ReadReceiptDiff]) -> Void) {
        self.onBatch = onBatch
    }

    func onDiffs(diffs: [ReadReceiptDiff]) {
        onBatch(diffs)
    }
}

final class MemberDiffListener: MemberListListener {
    private let onBatch: @Sendable ([MemberDiff]) -> Void

    init(_ onBatch: @escaping @Sendable ([MemberDiff]) -> Void) {
        self.onBatch = onBatch
    }

    func onDiffs(diffs: [MemberDiff]) {
        onBatch(diffs)
    }
}

final class TypingCallback: TypingListener {
    private let onValue: @Sendable ([TypingUser]) -> Void

    init(_ onValue: @escaping @Sendable ([TypingUser]) -> Void) {
        self.onValue = onValue
    }

    func onTyping(users: [TypingUser]) {
        onValue(users)
    }
}

final class PresenceCallback: PresenceListener {
    private let onValue: @Sendable ([String]) -> Void

    init(_ onValue: @escaping @Sendable ([String]) -> Void) {
        self.onValue = onValue
    }

    func onPresence(online: [String]) {
        onValue(online)
    }
}

final class OutboxCallback: OutboxListener {
    private let onValue: @Sendable ([OutboxEntry]) -> Void

    init(_ onValue: @escaping @Sendable ([OutboxEntry]) -> Void) {
        self.onValue = onValue
    }

    func onOutbox(items: [OutboxEntry]) {
        onValue(items)
    }
}

final class ConnectionCallback: ConnectionListener {
    private let onValue: @Sendable (ConnectionState) -> Void

    init(_ onValue: @escaping @Sendable (ConnectionState) -> Void) {
        self.onValue = onValue
    }

    func onState(state: ConnectionState) {
        onValue(state)
    }
}
