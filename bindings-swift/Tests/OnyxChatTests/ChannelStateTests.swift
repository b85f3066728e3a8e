// The user's own channel settings and channel deletion from Swift against the real chat-server,
// mirroring the Kotlin ChannelStateTest: a mute and a hide made offline show at once (the total
// unread and the channel list follow) and reach the user's other device; deleting a channel
// removes it at once and for the other member.
#if os(macOS) || os(Linux)
import Foundation
import OnyxChat
import XCTest

final class ChannelStateTests: Fixture {

    func testOfflineMuteAndHideShowAtOnceAndReachTheOtherDevice() async throws {
        let alice = try await connect("alice")
        let bob = try await connect("bob")
        let cid = try await channel(alice, "bob")
        try await alice.sendMessage(cid: cid, text: "hello bob")
        try await bob.totalUnread().awaitFirst("one unread for bob") { $0.unreadCount == 1 }

        try await bob.setNetworkReachable(false)
        try await bob.muteChannel(cid: cid)
        try await bob.totalUnread().awaitFirst("the muted channel left the total") {
            $0.unreadCount == 0
        }
        try await bob.hideChannel(cid: cid)
        try await bob.channels().awaitFirst("the hidden channel left the list") { list in
            !list.contains { $0.cid == cid }
        }
        let hidden = try await bob.channels(hidden: .only).awaitFirst("only hidden") { !$0.isEmpty }
        XCTAssertEqual(hidden.map(\.cid), [cid])
        XCTAssertTrue(hidden[0].muted && hidden[0].hidden)

        try await bob.setNetworkReachable(true)
        let phone = try await connect("bob")
        try await phone.channels(hidden: .include, text: String(cid.split(separator: ":")[1]).uppercased()).awaitFirst("the other device") {
            list in list.contains { $0.cid == cid && $0.hidden && $0.muted }
        }
    }

    func testDeletingAChannelRemovesItAtOnceAndForTheOtherMember() async throws {
        let alice = try await connect("alice")
        let bob = try await connect("bob")
        let cid = try await channel(alice, "bob")
        try await bob.channels().awaitFirst("bob lists it") { list in list.contains { $0.cid == cid } }
        try await alice.deleteChannel(cid: cid)
        try await alice.channels().awaitFirst("gone for alice") { list in
            !list.contains { $0.cid == cid }
        }
        try await bob.channels().awaitFirst("gone for bob") { list in !list.contains { $0.cid == cid } }
    }
}
#endif
