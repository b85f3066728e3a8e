// The OnyxChat client for Swift: async functions, AsyncStreams for live queries and the connection.
// A thin layer over the generated bindings (FfiClient and friends): every behaviour lives in the Rust core.
import Foundation

/// Where user tokens come from: usually a call to the app's backend. Throw
/// `TokenFetchError.Refused` when the user is signed out (the client stops asking until
/// ``ChatClient/refreshToken()``); any other error means "try again later".
public protocol TokenProvider: Sendable {
    /// A fresh token for the client's user.
    func fetchToken() async throws -> String
}

/// The OnyxChat client. Open one per signed-in user with
/// ``connect(serverURL:appId:userId:dataDirectory:tokenProvider:observing:)``; it starts from the
/// local cache at once and connects in the background. It follows the app's lifecycle and the
/// network by itself (see ``SystemObservation``). Every call is safe from the main actor: the
/// work runs on the SDK's own threads.
public final class ChatClient: Sendable {
    /// The generated binding underneath, for the rare call this layer does not wrap.
    public let ffi: FfiClient

    /// The user this client acts as.
    public let userId: String

    /// What follows the app's lifecycle and the network for this client (`nil`: nothing).
    private let system: SystemEvents?

    private init(ffi: FfiClient, system: SystemEvents?) {
        self.ffi = ffi
        self.userId = ffi.userId()
        self.system = system
    }

    /// Opens `userId`'s client: the cache in `dataDirectory` (e.g. Application Support; `nil`
    /// keeps it in memory), then connects to `serverURL` in the background. `observing` is what
    /// the client follows by itself (the app going to the background and back, the network);
    /// pass `[]` to report those yourself with ``setForeground(_:)`` and ``setNetworkReachable(_:)``.
    public static func connect(
        serverURL: URL,
        appId: String,
        userId: String,
        dataDirectory: URL?,
        tokenProvider: any TokenProvider,
        observing: SystemObservation = .all
    ) async throws -> ChatClient {
        let config = ClientConfig(
            serverUrl: serverURL.absoluteString,
            appId: appId,
            userId: userId,
            dataDir: dataDirectory?.path
        )
        let ffi = try await FfiClient.open(config: config, tokens: HostTokens(tokenProvider))
        let system = await SystemEvents.start(observing, ffi: ffi)
        return ChatClient(ffi: ffi, system: system)
    }

    /// ``connect(serverURL:appId:userId:dataDirectory:tokenProvider:observing:)`` with the token
    /// provider as a closure.
    public static func connect(
        serverURL: URL,
        appId: String,
        userId: String,
        dataDirectory: URL?,
        observing: SystemObservation = .all,
        fetchToken: @escaping @Sendable () async throws -> String
    ) async throws -> ChatClient {
        try await connect(
            serverURL: serverURL,
            appId: appId,
            userId: userId,
            dataDirectory: dataDirectory,
            tokenProvider: ClosureTokenProvider(fetch: fetchToken),
            observing: observing
        )
    }

    // MARK: Connection

    /// The realtime connection now, for an "offline" / "connecting…" banner.
    public var currentConnectionState: ConnectionState {
        ffi.connectionState()
    }

    /// The realtime connection: a new stream per access, starting with the current state, then
    /// each change (conflated). It never finishes on its own; stop consuming it to end it.
    public var connectionState: AsyncStream<ConnectionState> {
        let ffi = self.ffi
        return liveValueStream { onValue in
            ffi.watchConnection(listener: ConnectionCallback(onValue))
        }
    }

    // MARK: Messages

    /// Sends a message; returns its id at once (the message shows as `.pending` and is delivered when possible).
    @discardableResult
    public func sendMessage(
        cid: String,
        text: String,
        parentId: String? = nil,
        quotedMessageId: String? = nil,
        mentionedUsers: [String] = [],
        attachments: [String] = []
    ) async throws -> String {
        try await ffi.sendMessage(
            cid: cid,
            message: NewMessage(
                text: text,
                parentId: parentId,
                quotedMessageId: quotedMessageId,
                mentionedUsers: mentionedUsers,
                attachments: attachments
            )
        )
    }

    /// Replaces a message's text (shown at once).
    public func editMessage(messageId: String, text: String) async throws {
        try await ffi.editMessage(id: messageId, text: text)
    }

    /// Deletes a message (shown deleted at once).
    public func deleteMessage(messageId: String) async throws {
        try await ffi.deleteMessage(id: messageId)
    }

    /// Adds the user's reaction of `kind` (e.g. `"like"`) to a message.
    public func addReaction(messageId: String, kind: String) async throws {
        try await ffi.addReaction(messageId: messageId, kind: kind)
    }

    /// Removes the user's reaction of `kind`.
    public func removeReaction(messageId: String, kind: String) async throws {
        try await ffi.removeReaction(messageId: messageId, kind: kind)
    }

    /// Stars (saves) a message for the user (shown at once; reverted if the server refuses it).
    public func starMessage(messageId: String) async throws {
        try await ffi.starMessage(messageId: messageId)
    }

    /// Unstars a message (shown at once; a star not sent yet is cancelled instead).
    public func unstarMessage(messageId: String) async throws {
        try await ffi.unstarMessage(messageId: messageId)
    }

    /// Marks a channel read (its unread count drops at once).
    public func markRead(cid: String) async throws {
        try await ffi.markRead(cid: cid)
    }

    /// Renames a channel or changes its image (owners and admins); `nil` values stay. Queued like a
    /// send: the channel list shows the change at once, offline too. Returns the operation id.
    @discardableResult
    public func updateChannel(cid: String, name: String? = nil, image: String? = nil) async throws -> String {
        try await ffi.updateChannel(cid: cid, update: ChannelUpdate(name: name, image: image))
    }

    /// Adds `userIds` to a channel with the default role (moderators and above). Queued: they show
    /// at once in `members(cid:)`, `pending` until the server confirms. Returns the operation id.
    @discardableResult
    public func addMembers(cid: String, userIds: [String]) async throws -> String {
        try await ffi.addMembers(cid: cid, userIds: userIds)
    }

    /// Gives a member a new `role` (queued; shown at once in `members(cid:)`).
    @discardableResult
    public func setMemberRole(cid: String, userId: String, role: MemberRole) async throws -> String {
        try await ffi.setMemberRole(cid: cid, userId: userId, role: role)
    }

    /// Removes a member (moderators and above; queued, gone from `members(cid:)` at once).
    @discardableResult
    public func removeMember(cid: String, userId: String) async throws -> String {
        try await ffi.removeMember(cid: cid, userId: userId)
    }

    /// Leaves a channel (queued): it leaves the channel list at once.
    @discardableResult
    public func leaveChannel(cid: String) async throws -> String {
        try await ffi.leaveChannel(cid: cid)
    }

    /// Creates a channel; returns its cid. Works offline: messages may be sent to the cid at once.
    /// An explicit `id` is an idempotent create for this user; if someone else already uses it, the
    /// create fails in the outbox (409). With `distinct`, the channel is the conversation of exactly
    /// `members` and this user: see `openDistinctChannel(members:kind:name:)`.
    @discardableResult
    public func createChannel(
        kind: ChannelKind,
        id: String? = nil,
        name: String? = nil,
        members: [String] = [],
        image: String? = nil,
        distinct: Bool = false
    ) async throws -> String {
        try await ffi.createChannel(
            channel: NewChannel(
                kind: kind, id: id, name: name, image: image, members: members, distinct: distinct
            )
        )
    }

    /// Opens (creating it if needed) the distinct conversation between this user and `members`:
    /// a direct message with one member, a fixed group with several. Its cid is derived from the
    /// member set (`messaging:!members-…`), so every member gets the same cid, offline too. Its
    /// members are fixed: to add someone, open a conversation with the larger set.
    @discardableResult
    public func openDistinctChannel(
        members: [String],
        kind: ChannelKind = .messaging,
        name: String? = nil
    ) async throws -> String {
        try await ffi.openDistinctChannel(kind: kind, members: members, name: name)
    }

    // MARK: Outbox and engine

    /// Retries a failed operation now (for a failed message: its id).
    public func retry(opId: String) async throws {
        try await ffi.retry(opId: opId)
    }

    /// Gives up a queued or failed operation (an unsent message disappears).
    public func discard(opId: String) async throws {
        try await ffi.discard(opId: opId)
    }

    /// Stores what the user is writing in `cid` (in the thread of `parentId`) so it survives a
    /// restart; a blank `text` deletes it. Sending a message there deletes it. Local to this device.
    public func setDraft(cid: String, text: String, parentId: String? = nil) async throws {
        try await ffi.setDraft(cid: cid, parentId: parentId, text: text)
    }

    /// The draft of `cid` (in the thread of `parentId`), to put back in the composer.
    public func draft(cid: String, parentId: String? = nil) async throws -> Draft? {
        try await ffi.draft(cid: cid, parentId: parentId)
    }

    /// Suggestions for an `@` mention in `cid`: members whose id starts with `prefix`
    /// (case-insensitive; empty lists everyone), most recently active first, then online ones, at
    /// most `limit`; never the current user. Local and immediate, offline too.
    public func mentionCandidates(cid: String, prefix: String, limit: UInt32 = 8) async throws -> [MemberItem] {
        try await ffi.mentionCandidates(cid: cid, prefix: prefix, limit: limit)
    }

    /// Every queued operation, oldest first.
    public func outbox() async throws -> [OutboxEntry] {
        try await ffi.outbox()
    }

    /// Every queued operation, oldest first, live: the current list first, then each change (items
    /// appear, change state — pending, in flight, waiting to retry, failed — and leave). Nothing is
    /// polled. Conflated; ends when the stream does.
    public func liveOutbox() -> AsyncThrowingStream<[OutboxEntry], Error> {
        let ffi = self.ffi
        return asyncLiveValueStream { onValue in
            try await ffi.watchOutbox(listener: OutboxCallback(onValue))
        }
    }

    /// The engine's state.
    public func status() async throws -> ClientStatus {
        try await ffi.status()
    }

    /// Syncs now (after sending what is queued) and returns when done.
    public func sync() async throws {
        try await ffi.sync()
    }

    /// Reports network reachability: offline, nothing is tried; back online, everything resumes at
    /// once. The client does this by itself from `NWPathMonitor` unless it was opened without
    /// ``SystemObservation/networkReachability``.
    public func setNetworkReachable(_ reachable: Bool) async throws {
        try await ffi.setNetworkReachable(reachable: reachable)
    }

    /// Reports the app moving to the foreground (`true`) or the background (realtime disconnects).
    /// The client does this by itself unless it was opened without ``SystemObservation/appLifecycle``.
    public func setForeground(_ foreground: Bool) async throws {
        try await ffi.setForeground(foreground: foreground)
    }

    /// Reconnects realtime now.
    public func reconnect() async throws {
        try await ffi.reconnect()
    }

    /// Asks the ``TokenProvider`` again (after it refused, once the user signed in again).
    public func refreshToken() async throws {
        try await ffi.refreshToken()
    }

    /// The user is typing in `cid`, in the thread of `parentId` when given: call on each
    /// keystroke (throttled by the SDK).
    public func startTyping(cid: String, parentId: String? = nil) async throws {
        try await ffi.startTyping(cid: cid, parentId: parentId)
    }

    /// The user stopped typing in `cid` or its thread `parentId` (sending a message does this
    /// too).
    public func stopTyping(cid: String, parentId: String? = nil) async throws {
        try await ffi.stopTyping(cid: cid, parentId: parentId)
    }

    // MARK: Live queries

    // `channels(limit:kind:unreadOnly:hidden:muted:archived:text:sort:)`, the channel list with
    // its options, is in ChannelState.swift.

    /// Opens a live window on the newest `pageSize` messages of `cid`; returns once it is loaded
    /// (from the cache: no network wait).
    public func messages(cid: String, pageSize: Int = 30) async throws -> MessageList {
        let page = UInt32(clamping: pageSize)
        return try await MessageList.open { listener in
            try await self.ffi.watchMessages(cid: cid, page: page, listener: listener)
        }
    }

    /// The user's starred messages across channels, most recently sent first; returns once the
    /// cached list is loaded (the newest `pageSize` are fetched behind it). Grow it with
    /// ``StarredMessages/loadMore()``.
    public func starred(pageSize: Int = 30) async throws -> StarredMessages {
        let page = UInt32(clamping: pageSize)
        return try await StarredMessages.open { listener in
            try await self.ffi.watchStarred(page: page, listener: listener)
        }
    }

    /// One page of a full-text search of `text` (plain words; locally the last one also matches
    /// as a prefix), in `cid` or everywhere: the local cache's hits first (`local`), then a page of
    /// the server's for history the cache does not hold, each message once. Offline the page holds
    /// the local hits alone and `server` is `.notReached`. Pass the page's `next` as `cursor` for
    /// the next page. Highlights are UTF-16 ranges (`text.utf16` / `NSRange` offsets).
    public func search(
        _ text: String, cid: String? = nil, limit: Int = 20, cursor: String? = nil
    ) async throws -> SearchPage {
        try await ffi.search(text: text, cid: cid, limit: UInt32(clamping: limit), cursor: cursor)
    }

    /// The local hits alone (the first `limit`, best first): instant, offline too.
    public func searchLocal(_ text: String, cid: String? = nil, limit: Int = 20) async throws -> [SearchHit] {
        try await ffi.searchLocal(text: text, cid: cid, limit: UInt32(clamping: limit))
    }

    /// Search results as they come: the local hits at once, then the first merged page's hits
    /// (see ``search(_:cid:limit:cursor:)``); finishes after the second.
    public func searchResults(_ text: String, cid: String? = nil, limit: Int = 20)
        -> AsyncThrowingStream<[SearchHit], Error>
    {
        let ffi = self.ffi
        let limit = UInt32(clamping: limit)
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    continuation.yield(try await ffi.searchLocal(text: text, cid: cid, limit: limit))
                    let page = try await ffi.search(text: text, cid: cid, limit: limit, cursor: nil)
                    continuation.yield(page.hits)
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// A thread's replies, oldest first. Conflated; ends when the stream does.
    public func thread(parentId: String) -> AsyncThrowingStream<[MessageItem], Error> {
        let ffi = self.ffi
        return liveListStream({ (diff: MessageDiff) in diff.change }) { onBatch in
            try await ffi.watchThread(parentId: parentId, listener: MessageDiffListener(onBatch))
        }
    }

    /// How far each other member has read `cid`. Conflated; ends when the stream does.
    public func readReceipts(cid: String) -> AsyncThrowingStream<[ReadReceipt], Error> {
        let ffi = self.ffi
        return liveListStream({ (diff: ReadReceiptDiff) in diff.change }) { onBatch in
            try await ffi.watchReadReceipts(cid: cid, listener: ReadReceiptDiffListener(onBatch))
        }
    }

    /// The live member list of `cid`, oldest membership first: role, online, last read, with the
    /// user's queued member changes shown at once (`pending`). Conflated; ends when the stream does.
    public func members(cid: String) -> AsyncThrowingStream<[MemberItem], Error> {
        let ffi = self.ffi
        return liveListStream({ (diff: MemberDiff) in diff.change }) { onBatch in
            try await ffi.watchMembers(cid: cid, listener: MemberDiffListener(onBatch))
        }
    }

    /// Who else is typing in `cid` (entries expire on their own). Conflated; ends when the stream does.
    public func typing(cid: String) -> AsyncThrowingStream<[TypingUser], Error> {
        let ffi = self.ffi
        return throwingLiveValueStream { onValue in
            try ffi.watchTyping(cid: cid, listener: TypingCallback(onValue))
        }
    }

    /// The ids of the users online among those sharing a channel with this user. Conflated; ends
    /// when the stream does.
    public func onlineUsers() -> AsyncStream<Set<String>> {
        let ffi = self.ffi
        return liveValueStream { onValue in
            ffi.watchPresence(listener: PresenceCallback { online in onValue(Set(online)) })
        }
    }

    // MARK: Lifecycle

    /// Stops the client. Queued work stays in the outbox and is sent by the next client of this
    /// user. Later calls fail with `ChatError.Closed`; the client is released with its last reference.
    public func shutdown() async {
        system?.stop()
        await ffi.shutdown()
    }
}

/// A ``TokenProvider`` made of a closure.
private struct ClosureTokenProvider: TokenProvider {
    let fetch: @Sendable () async throws -> String

    func fetchToken() async throws -> String {
        try await fetch()
    }
}

/// Bridges the async ``TokenProvider`` to the blocking callback the core calls on its own
/// background thread (never the main thread), so waiting on a semaphore there is safe.
private final class HostTokens: FfiTokenProvider {
    private let provider: any TokenProvider

    init(_ provider: any TokenProvider) {
        self.provider = provider
    }

    func fetchToken() throws -> String {
        let outcome = Locked<Result<String, Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let provider = self.provider
        Task.detached {
            let result: Result<String, Error>
            do {
                result = .success(try await provider.fetchToken())
            } catch {
                result = .failure(error)
            }
            outcome.withValue { $0 = result }
            done.signal()
        }
        done.wait()
        switch outcome.value {
        case .success(let token)?:
            return token
        case .failure(let error as TokenFetchError)?:
            throw error
        case .failure(let error)?:
            throw TokenFetchError.Unavailable(reason: String(describing: error))
        case nil:
            throw TokenFetchError.Unavailable(reason: "the token provider returned nothing")
        }
    }
}
