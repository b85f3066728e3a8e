// The user's own channel settings (hide, mute, archive), channel deletion, the channel list with
// options and the total unread value, for Swift. A thin layer over the generated bindings: the
// rules (optimistic, durable, synced to the user's own devices) live in the shared Rust core.

extension ChatClient {
    /// Hides `cid` from the user's channel list until its next new message (`false`: shows it
    /// again): at once, offline too, and on the user's other devices once delivered.
    @discardableResult
    public func hideChannel(cid: String, hidden: Bool = true) async throws -> String {
        try await ffi.hideChannel(cid: cid, hidden: hidden)
    }

    /// Mutes `cid` for the user (`false`: unmutes): it leaves ``totalUnread()`` at once.
    @discardableResult
    public func muteChannel(cid: String, muted: Bool = true) async throws -> String {
        try await ffi.muteChannel(cid: cid, muted: muted)
    }

    /// Archives `cid` for the user (`false`: un-archives): it leaves the default channel list.
    @discardableResult
    public func archiveChannel(cid: String, archived: Bool = true) async throws -> String {
        try await ffi.archiveChannel(cid: cid, archived: archived)
    }

    /// Deletes `cid` for everyone (owners and admins): it leaves the channel list at once.
    @discardableResult
    public func deleteChannel(cid: String) async throws -> String {
        try await ffi.deleteChannel(cid: cid)
    }

    /// The user's channels with options. By default: every type, neither hidden nor archived
    /// (muted ones included), most recently active first. `text` matches the channel's name, its
    /// cid and its members' ids. Conflated; ends when the stream does.
    public func channels(
        limit: Int = 30,
        kind: ChannelKind? = nil,
        unreadOnly: Bool = false,
        hidden: Inclusion = .exclude,
        muted: Inclusion = .include,
        archived: Inclusion = .exclude,
        text: String? = nil,
        sort: ChannelSort = .lastMessage
    ) -> AsyncThrowingStream<[ChannelItem], Error> {
        let ffi = self.ffi
        let query = ChannelListQuery(
            limit: UInt32(clamping: limit), kind: kind, unreadOnly: unreadOnly, hidden: hidden,
            muted: muted, archived: archived, text: text, sort: sort
        )
        return liveListStream({ (diff: ChannelDiff) in diff.change }) { onBatch in
            try await ffi.watchChannelList(query: query, listener: ChannelDiffListener(onBatch))
        }
    }

    /// The user's unread counts over every channel they have not muted, for an app badge: the
    /// current value first, then each change. Conflated; ends when the stream does.
    public func totalUnread() -> AsyncThrowingStream<TotalUnread, Error> {
        let ffi = self.ffi
        return asyncLiveValueStream { onValue in
            try await ffi.watchTotalUnread(listener: TotalUnreadCallback(onValue))
        }
    }
}

final class TotalUnreadCallback: TotalUnreadListener {
    private let onValue: @Sendable (TotalUnread) -> Void

    init(_ onValue: @escaping @Sendable (TotalUnread) -> Void) {
        self.onValue = onValue
    }

    func onTotal(total: TotalUnread) {
        onValue(total)
    }
}
