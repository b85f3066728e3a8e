// SwiftUI models over ChatClient's streams (the channel list with the connection, one channel's
// messages), published on the main actor with the Observation framework (iOS 17 / macOS 14).
// Apple platforms only: compiled where SwiftUI exists (a Linux toolchain has Observation but no
// SwiftUI, and nothing there would observe these models).
import Foundation
#if canImport(SwiftUI) && canImport(Observation)
import Observation

/// The user's channels and the connection state for a SwiftUI screen. Create it on the main
/// actor, ``start()`` it in `onAppear` and ``stop()`` it in `onDisappear`; views reading
/// ``channels`` or ``connectionState`` update on their own.
@available(iOS 17, macOS 14, tvOS 17, watchOS 10, *)
@MainActor
@Observable
public final class ChannelListModel {
    /// The user's channels, most recently active first, with unread counts and last messages.
    public private(set) var channels: [ChannelItem] = []

    /// The realtime connection, for an "offline" / "connecting…" banner.
    public private(set) var connectionState: ConnectionState

    /// Why the channel list stopped (it could not be opened), or `nil` while it runs.
    public private(set) var error: (any Error)?

    private let client: ChatClient
    private let limit: Int
    @ObservationIgnored private var tasks: [Task<Void, Never>] = []

    /// A model of `client`'s first `limit` channels; nothing is observed until ``start()``.
    public init(client: ChatClient, limit: Int = 30) {
        self.client = client
        self.limit = limit
        self.connectionState = client.currentConnectionState
    }

    /// Starts following the channels and the connection (idempotent).
    public func start() {
        guard tasks.isEmpty else { return }
        error = nil
        let channelUpdates = client.channels(limit: limit)
        let connectionUpdates = client.connectionState
        tasks = [
            Task { [weak self] in
                do {
                    for try await list in channelUpdates {
                        guard let self else { return }
                        self.channels = list
                    }
                } catch {
                    self?.error = error
                }
            },
            Task { [weak self] in
                for await state in connectionUpdates {
                    guard let self else { return }
                    self.connectionState = state
                }
            },
        ]
    }

    /// Stops following (idempotent); the values stay as they were.
    public func stop() {
        for task in tasks {
            task.cancel()
        }
        tasks = []
    }
}

/// One channel's messages for a SwiftUI screen, oldest first. Create it on the main actor,
/// ``start()`` it in `onAppear` and ``stop()`` it in `onDisappear`.
@available(iOS 17, macOS 14, tvOS 17, watchOS 10, *)
@MainActor
@Observable
public final class MessageListModel {
    /// The messages, oldest first, with their delivery states.
    public private(set) var items: [MessageItem] = []

    /// Whether older messages may exist (`false` once ``loadOlder()`` reached the channel's start).
    public private(set) var hasOlderMessages = true

    /// Whether ``loadOlder()`` is running (for a spinner at the top of the list).
    public private(set) var isLoadingOlder = false

    /// The last failure (opening the list, paging or sending), for an alert; set it to `nil` to dismiss.
    public var error: (any Error)?

    /// The channel shown.
    public let cid: String

    private let client: ChatClient
    private let pageSize: Int
    @ObservationIgnored private var list: MessageList?
    @ObservationIgnored private var task: Task<Void, Never>?

    /// A model of `cid`'s messages, `pageSize` at a time; nothing is opened until ``start()``.
    public init(client: ChatClient, cid: String, pageSize: Int = 30) {
        self.client = client
        self.cid = cid
        self.pageSize = pageSize
    }

    /// Opens the channel's newest messages and follows them (idempotent).
    public func start() {
        guard task == nil else { return }
        hasOlderMessages = true
        let client = self.client
        let cid = self.cid
        let pageSize = self.pageSize
        task = Task { [weak self] in
            let list: MessageList
            do {
                list = try await client.messages(cid: cid, pageSize: pageSize)
            } catch {
                if !(error is CancellationError) {
                    self?.error = error
                }
                return
            }
            if Task.isCancelled {
                list.close()
                return
            }
            self?.list = list
            for await items in list.updates {
                guard let self else { break }
                self.items = items
            }
        }
    }

    /// Stops following (idempotent); ``items`` stay as they were.
    public func stop() {
        task?.cancel()
        task = nil
        list?.close()
        list = nil
    }

    /// Shows one more page of older messages (does nothing before the list is open, while a page
    /// is loading, or once the start of the channel is reached).
    public func loadOlder() async {
        guard let list, hasOlderMessages, !isLoadingOlder else { return }
        isLoadingOlder = true
        defer { isLoadingOlder = false }
        do {
            hasOlderMessages = try await list.loadOlder()
        } catch {
            self.error = error
        }
    }

    /// Sends `text` to the channel; returns the new message's id (it shows at once as pending),
    /// or `nil` if it was refused (see ``error``).
    @discardableResult
    public func send(text: String) async -> String? {
        do {
            return try await client.sendMessage(cid: cid, text: text)
        } catch {
            self.error = error
            return nil
        }
    }
}
#endif
