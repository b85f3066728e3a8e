// Sendable for the generated records and enums on pre-Swift-6 compilers (uniffi declares it only
// under `#if compiler(>=6)`; this is exactly the complement).

// They are plain values (strings, numbers, arrays, maps), safe to share across threads. The error
// enums (ChatError, TokenFetchError) need nothing here: `Error` already implies Sendable.

#if !compiler(>=6)
extension ChannelItem: @unchecked Sendable {}
extension ChannelListQuery: @unchecked Sendable {}
extension TotalUnread: @unchecked Sendable {}
extension ChannelUpdate: @unchecked Sendable {}
extension ClientConfig: @unchecked Sendable {}
extension ClientStatus: @unchecked Sendable {}
extension Draft: @unchecked Sendable {}
extension MemberItem: @unchecked Sendable {}
extension Message: @unchecked Sendable {}
extension MessageItem: @unchecked Sendable {}
extension NewChannel: @unchecked Sendable {}
extension NewMessage: @unchecked Sendable {}
extension OutboxEntry: @unchecked Sendable {}
extension ReadReceipt: @unchecked Sendable {}
extension SearchHit: @unchecked Sendable {}
extension SearchPage: @unchecked Sendable {}
extension SearchServerPart: @unchecked Sendable {}
extension TextRange: @unchecked Sendable {}
extension TypingUser: @unchecked Sendable {}
extension ChannelDiff: @unchecked Sendable {}
extension ChannelKind: @unchecked Sendable {}
extension ChannelSort: @unchecked Sendable {}
extension Inclusion: @unchecked Sendable {}
extension ConnectionState: @unchecked Sendable {}
extension MemberDiff: @unchecked Sendable {}
extension MemberRole: @unchecked Sendable {}
extension MessageDiff: @unchecked Sendable {}
extension MessageState: @unchecked Sendable {}
extension OutboxState: @unchecked Sendable {}
extension QuotedPreview: @unchecked Sendable {}
extension ReadReceiptDiff: @unchecked Sendable {}
#endif
