// The Swift SDK against the real chat-server, one test per Kotlin ChatClientTest test: live chat,
// offline sends (and the live outbox following one), live edits/deletes/reactions/typing, paging, closed subscriptions stopping, and
// times arriving as `Date`.
#if os(macOS) || os(Linux)
import Foundation
import OnyxChat
import XCTest

final class ChatClientTests: Fixture {

    func testTwoUsersChatLive() async throws {
        let alice = try await connect("alice")
        let bob = try await connect("bob")
        try await alice.connectionState.awaitFirst("alice connected") { $0 == .connected }
        try await bob.connectionState.awaitFirst("bob connected") { $0 == .connected }
        let cid = try await channel(alice, "bob")
        let sent = try await alice.sendMessage(cid: cid, text: "hello bob")

        // Bob learns of the channel and the message live (no sync call).
        let bobChannels = try await bob.channels().awaitFirst("bob's channel with one unread") { list in
            list.contains { $0.cid == cid && $0.unreadCount == 1 }
        }
        XCTAssertEqual(bobChannels.first { $0.cid == cid }?.lastMessage?.message.text, "hello bob")
        let bobList = try await bob.messages(cid: cid)
        try await bobList.updates.awaitFirst("bob has the message") { $0.texts == ["hello bob"] }
        XCTAssertEqual(bobList.items.map { $0.message.id }, [sent])

        // Alice's own copy goes from pending to sent.
        let aliceList = try await alice.messages(cid: cid)
        try await aliceList.updates.awaitFirst("alice's message sent") { $0.single?.state == .sent }

        // A reply from Bob reaches Alice's open list.
        try await bob.sendMessage(cid: cid, text: "hi alice")
        try await aliceList.updates.awaitFirst("alice gets the reply") { $0.texts == ["hello bob", "hi alice"] }
        try await bob.markRead(cid: cid)
        try await bob.channels().awaitFirst("bob's unread cleared") { list in
            list.contains { $0.cid == cid && $0.unreadCount == 0 }
        }
        aliceList.close()
        bobList.close()
    }

    func testReceivedTimesAreDatesBetweenSendAndReceipt() async throws {
        let alice = try await connect("alice")
        let bob = try await connect("bob")
        let cid = try await channel(alice, "bob")
        // The server keeps milliseconds: the lower bound is truncated to match.
        let before = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 * 1000).rounded(.down) / 1000)
        try await alice.sendMessage(cid: cid, text: "what time is it")
        let bobList = try await bob.messages(cid: cid)
        let received = try await bobList.updates.awaitFirst("bob has it") { $0.texts == ["what time is it"] }
        let after = Date()

        let message = try XCTUnwrap(received.single?.message)
        let createdAt: Date = message.createdAt
        XCTAssertTrue((before...after).contains(createdAt), "createdAt \(createdAt) in [\(before), \(after)]")
        XCTAssertFalse(message.updatedAt < createdAt, "updatedAt before createdAt")
        XCTAssertNil(message.editedAt)
        let channels = try await bob.channels().awaitFirst("bob's channel") { list in list.contains { $0.cid == cid } }
        let lastMessageAt: Date? = channels.first { $0.cid == cid }?.lastMessageAt
        XCTAssertTrue(lastMessageAt.map { (before...Date()).contains($0) } ?? false, "lastMessageAt \(String(describing: lastMessageAt))")
        bobList.close()
    }

    func testSendOfflineThenDeliverAfterReconnect() async throws {
        let alice = try await connect("alice")
        let bob = try await connect("bob")
        let cid = try await channel(alice, "bob")
        try await alice.sync()
        let bobList = try await bob.messages(cid: cid)

        // The network goes away: the server is down and the OS says unreachable.
        server.stop()
        try await alice.setNetworkReachable(false)
        try await alice.connectionState.awaitFirst("alice offline") { $0 == .waitingForNetwork }
        let aliceList = try await alice.messages(cid: cid)
        let id = try await alice.sendMessage(cid: cid, text: "sent on a plane")

        // Shown at once, queued, not sent.
        let shown = try await aliceList.updates.awaitFirst("the message is shown") { $0.texts == ["sent on a plane"] }
        XCTAssertEqual(shown.count, 1)
        XCTAssertNotEqual(shown.first?.state, .sent)
        let queued = try await alice.outbox().filter { $0.kind == "send_message" }.map { $0.opId }
        XCTAssertEqual(queued, [id])

        // The network returns: delivered without any retry call.
        try server.start()
        try await alice.setNetworkReachable(true)
        try await aliceList.updates.awaitFirst("alice's message sent") { $0.single?.state == .sent }
        try await bobList.updates.awaitFirst("bob receives it") { $0.texts == ["sent on a plane"] }
        let outbox = try await alice.outbox()
        XCTAssertTrue(outbox.isEmpty)
    }

    func testLiveOutboxFollowsAnOfflineSendUntilItLeaves() async throws {
        let alice = try await connect("alice")
        let cid = try await channel(alice, "bob")
        try await alice.sync()
        // One stream for the whole test: every list below is pushed to it, none polled.
        let outbox = alice.liveOutbox()
        try await outbox.awaitFirst("the empty outbox") { $0.isEmpty }

        server.stop()
        try await alice.setNetworkReachable(false)
        let id = try await alice.sendMessage(cid: cid, text: "queued offline")
        let queued = try await outbox.awaitFirst("the queued send") { list in list.contains { $0.opId == id } }
        // Held while unreachable: not tried, so not waiting on a retry timer either.
        XCTAssertEqual(queued.first { $0.opId == id }?.state, .pending)

        try server.start()
        try await alice.setNetworkReachable(true)
        try await outbox.awaitFirst("the send to leave") { $0.isEmpty }
    }

    func testOutboxSurvivesAnAppRestart() async throws {
        let directory = try newDirectory()
        let alice = try await connect("alice", dataDirectory: directory)
        let cid = try await channel(alice, "bob")
        try await alice.sync()
        server.stop()
        try await alice.setNetworkReachable(false)
        try await alice.sendMessage(cid: cid, text: "queued before the app died")
        await alice.shutdown()

        // The next run of the app, on the same cache, shows it at once and delivers it.
        try server.start()
        let again = try await connect("alice", dataDirectory: directory)
        let list = try await again.messages(cid: cid)
        XCTAssertEqual(list.items.texts, ["queued before the app died"])
        try await list.updates.awaitFirst("delivered after the restart") { $0.single?.state == .sent }
        let bob = try await connect("bob")
        let bobList = try await bob.messages(cid: cid)
        try await bobList.updates.awaitFirst("bob receives it") { $0.texts == ["queued before the app died"] }
    }

    func testEditsDeletesAndReactionsUpdateLiveLists() async throws {
        let alice = try await connect("alice")
        let bob = try await connect("bob")
        let cid = try await channel(alice, "bob")
        let id = try await alice.sendMessage(cid: cid, text: "first draft")
        let bobList = try await bob.messages(cid: cid)
        try await bobList.updates.awaitFirst("bob has it") { $0.texts == ["first draft"] }

        try await alice.editMessage(messageId: id, text: "final text")
        try await bobList.updates.awaitFirst("bob sees the edit") { $0.texts == ["final text"] }
        XCTAssertEqual(bobList.items.count, 1)
        XCTAssertNotNil(bobList.items.first?.message.editedAt)

        try await bob.addReaction(messageId: id, kind: "like")
        let aliceList = try await alice.messages(cid: cid)
        try await aliceList.updates.awaitFirst("alice sees bob's like") { items in
            items.single?.message.reactionCounts == ["like": 1]
        }
        let bobView = try await bobList.updates.awaitFirst("bob's own reaction") { $0.single?.ownReactions == ["like"] }
        XCTAssertEqual(bobView.single?.message.reactionCounts, ["like": 1])
        try await bob.removeReaction(messageId: id, kind: "like")
        try await aliceList.updates.awaitFirst("the like is gone") { $0.single?.message.reactionCounts.isEmpty == true }

        try await alice.deleteMessage(messageId: id)
        try await bobList.updates.awaitFirst("bob sees the delete") { items in
            items.isEmpty || items.single?.message.deletedAt != nil
        }
    }

    func testStarsShowAtOnceAndTheStarredListFollowsOnEveryDevice() async throws {
        let alice = try await connect("alice")
        let cid = try await channel(alice, "bob")
        let id = try await alice.sendMessage(cid: cid, text: "keep this")
        let list = try await alice.messages(cid: cid)
        try await list.updates.awaitFirst("sent") { $0.single?.state == .sent }
        let starred = try await alice.starred(pageSize: 10)
        XCTAssertTrue(starred.items.isEmpty)

        try await alice.starMessage(messageId: id)
        try await list.updates.awaitFirst("starred at once") { $0.single?.starred == true }
        try await starred.updates.awaitFirst("listed") { $0.map { $0.message.id } == [id] }
        let more = try await starred.loadMore()
        XCTAssertFalse(more)
        while try await !alice.outbox().isEmpty {
            try await Task.sleep(nanoseconds: 20_000_000)
        }

        // The same user on another device learns it through sync.
        let phone = try await connect("alice")
        try await phone.sync()
        let phoneStarred = try await phone.starred()
        try await phoneStarred.updates.awaitFirst("listed on the phone") { $0.map { $0.message.id } == [id] }

        try await alice.unstarMessage(messageId: id)
        try await list.updates.awaitFirst("unstarred at once") { $0.single?.starred == false }
        try await starred.updates.awaitFirst("unlisted") { $0.isEmpty }
        starred.close()
        XCTAssertFalse(starred.isActive)
    }

    func testTypingAndThreads() async throws {
        let alice = try await connect("alice")
        let bob = try await connect("bob")
        try await alice.connectionState.awaitFirst("alice connected") { $0 == .connected }
        try await bob.connectionState.awaitFirst("bob connected") { $0 == .connected }
        let cid = try await channel(alice, "bob")
        try await bob.sync()
        let typingDone = TestBox(false)
        let typing = Task {
            defer { typingDone.value = true }
            return try await bob.typing(cid: cid).awaitFirst("alice typing") { users in
                users.map { $0.userId } == ["alice"]
            }
        }
        // Announce until Bob's watch sees it (the first announcement may precede his subscription).
        while !typingDone.value {
            try await alice.startTyping(cid: cid)
            try await Task.sleep(nanoseconds: 200_000_000)
        }
        _ = try await typing.value
        try await alice.stopTyping(cid: cid)
        try await bob.typing(cid: cid).awaitFirst("alice stopped") { $0.isEmpty }

        let root = try await alice.sendMessage(cid: cid, text: "thread root")
        try await alice.sendMessage(cid: cid, text: "a reply", parentId: root)
        try await bob.thread(parentId: root).awaitFirst("bob sees the reply") { $0.texts == ["a reply"] }

        // Typing in a thread names the thread.
        let threadTypingDone = TestBox(false)
        let threadTyping = Task {
            defer { threadTypingDone.value = true }
            return try await bob.typing(cid: cid).awaitFirst("alice typing in the thread") { users in
                users.map { "\($0.userId) \($0.parentId ?? "-")" } == ["alice \(root)"]
            }
        }
        while !threadTypingDone.value {
            try await alice.startTyping(cid: cid, parentId: root)
            try await Task.sleep(nanoseconds: 200_000_000)
        }
        _ = try await threadTyping.value
        try await alice.stopTyping(cid: cid, parentId: root)
        try await bob.typing(cid: cid).awaitFirst("alice stopped in the thread") { $0.isEmpty }
    }

    func testPagingThroughHistory() async throws {
        let alice = try await connect("alice")
        let cid = try await channel(alice)
        for i in 1...25 {
            try await alice.sendMessage(cid: cid, text: "m\(i)")
        }
        try await alice.sync()
        let fresh = try await connect("alice") // an empty cache: history comes from the server
        try await fresh.sync()
        let list = try await fresh.messages(cid: cid, pageSize: 10)
        try await list.updates.awaitFirst("the newest page") { items in items.texts == (16...25).map { "m\($0)" } }
        let more = try await list.loadOlder()
        XCTAssertTrue(more)
        try await list.updates.awaitFirst("two pages") { items in items.texts == (6...25).map { "m\($0)" } }
        try await list.loadOlder()
        try await list.updates.awaitFirst("everything") { items in items.texts == (1...25).map { "m\($0)" } }
        let beyond = try await list.loadOlder()
        XCTAssertFalse(beyond)
    }

    func testClosedSubscriptionsStopDelivering() async throws {
        let alice = try await connect("alice")
        let bob = try await connect("bob")
        let cid = try await channel(alice, "bob")
        try await alice.sync()
        let list = try await bob.messages(cid: cid)
        try await alice.sendMessage(cid: cid, text: "one")
        try await list.updates.awaitFirst("bob gets one") { $0.texts == ["one"] }
        list.close()
        XCTAssertFalse(list.isActive)
        try await alice.sendMessage(cid: cid, text: "two")
        let control = try await bob.messages(cid: cid)
        try await control.updates.awaitFirst("a live list gets two") { $0.texts == ["one", "two"] }
        XCTAssertEqual(list.items.texts, ["one"], "the closed list stays as it was")

        // The generated API's subscriptions end on cancel() too.
        let counter = CountingChannelListener()
        let subscription = try await bob.ffi.watchChannels(limit: 10, listener: counter)
        let deadline = Date().addingTimeInterval(20)
        while counter.batches.value == 0 {
            guard Date() < deadline else { throw TestFailure("timed out waiting for the first channel batch") }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        subscription.cancel()
        XCTAssertFalse(subscription.isActive())
        let before = counter.batches.value
        try await alice.sendMessage(cid: cid, text: "three")
        try await control.updates.awaitFirst("the live list gets three") { $0.texts.last == "three" }
        try await Task.sleep(nanoseconds: 200_000_000)
        XCTAssertEqual(counter.batches.value, before)
    }
}

/// Counts the batches a generated channel-list subscription delivers.
private final class CountingChannelListener: ChannelListListener {
    let batches = TestBox(0)

    func onDiffs(diffs: [ChannelDiff]) {
        batches.mutate { $0 += 1 }
    }
}
#endif
