// Distinct conversations from Swift against the real chat-server, mirroring the Kotlin
// ConversationsTest: both members derive the same cid (offline too), the dev seed's Alice & Bob
// conversation is one, and a group is another conversation.
#if os(macOS) || os(Linux)
import Foundation
import OnyxChat
import XCTest

final class ConversationsTests: Fixture {

    func testBothMembersOpenTheSameDistinctConversation() async throws {
        let alice = try await connect("alice")
        let carol = try await connect("carol")
        // Offline: the cid is derived locally and the message waits in the outbox.
        try await alice.setNetworkReachable(false)
        let cid = try await alice.openDistinctChannel(members: ["carol"])
        XCTAssertTrue(cid.hasPrefix("messaging:!members-"), cid)
        try await alice.sendMessage(cid: cid, text: "just us")
        let again = try await alice.openDistinctChannel(members: ["carol", "alice"])
        XCTAssertEqual(again, cid)
        try await alice.setNetworkReachable(true)

        let carolCid = try await carol.openDistinctChannel(members: ["alice"])
        XCTAssertEqual(carolCid, cid)
        let carolList = try await carol.messages(cid: cid)
        try await carolList.updates.awaitFirst("carol receives it") { $0.texts == ["just us"] }
        let listed = try await carol.channels().awaitFirst("carol lists it") { list in
            list.contains { $0.cid == cid }
        }
        let channel = try XCTUnwrap(listed.first { $0.cid == cid })
        XCTAssertTrue(channel.distinct)
        XCTAssertEqual(channel.memberCount, 2)
        carolList.close()
    }

    func testTheDemoConversationOfAliceAndBobIsDistinct() async throws {
        let bob = try await connect("bob")
        let cid = try await bob.openDistinctChannel(members: ["alice"])
        let listed = try await bob.channels().awaitFirst("bob's distinct channel") { list in
            list.contains { $0.cid == cid && $0.distinct }
        }
        XCTAssertEqual(listed.first { $0.cid == cid }?.name, "Alice & Bob")
        let group = try await bob.openDistinctChannel(members: ["alice", "carol"])
        XCTAssertNotEqual(group, cid)
    }
}
#endif
