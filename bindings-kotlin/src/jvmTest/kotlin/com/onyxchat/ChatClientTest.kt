// The Kotlin SDK against the real chat-server: two users chat live, offline sends are
// delivered after the network returns (the live outbox shows them held, then gone), lists update live (edits, deletes, reactions,
// typing), paging, closed subscriptions stop, and times arrive as `java.time.Instant`.
package com.onyxchat

import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.launch
import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import java.time.Instant
import java.time.temporal.ChronoUnit
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test

class ChatClientTest : Fixture() {

    @Test
    fun twoUsersChatLive(): Unit = runBlocking {
        val alice = connect("alice")
        val bob = connect("bob")
        alice.connectionState.await("alice connected") { it is ConnectionState.Connected }
        bob.connectionState.await("bob connected") { it is ConnectionState.Connected }
        val cid = channel(alice, "bob")
        val sent = alice.sendMessage(cid, "hello bob")

        // Bob learns of the channel and the message live (no sync call). The server's exact
        // unread counts may land before the message they count (docs/protocol.md, `counted_through`),
        // so wait for both.
        val bobChannels = bob.channels().await("bob's channel with one unread and its preview") { list ->
            list.any { it.cid == cid && it.unreadCount == 1u && it.lastMessage != null }
        }
        assertEquals("hello bob", bobChannels.first { it.cid == cid }.lastMessage?.message?.text)
        val bobList = bob.messages(cid)
        bobList.items.await("bob has the message") { it.texts == listOf("hello bob") }
        assertEquals(sent, bobList.items.value.single().message.id)

        // Alice's own copy goes from pending to sent.
        val aliceList = alice.messages(cid)
        aliceList.items.await("alice's message sent") { items ->
            items.singleOrNull()?.state == MessageState.Sent
        }

        // A reply from Bob reaches Alice's open list.
        bob.sendMessage(cid, "hi alice")
        aliceList.items.await("alice gets the reply") { it.texts == listOf("hello bob", "hi alice") }
        bob.markRead(cid)
        bob.channels().await("bob's unread cleared") { l -> l.any { it.cid == cid && it.unreadCount == 0u } }
        aliceList.close()
        bobList.close()
    }

    @Test
    fun receivedTimesAreInstantsBetweenSendAndReceipt(): Unit = runBlocking {
        val alice = connect("alice")
        val bob = connect("bob")
        val cid = channel(alice, "bob")
        // The server keeps milliseconds: the lower bound is truncated to match.
        val before: Instant = Instant.now().truncatedTo(ChronoUnit.MILLIS)
        alice.sendMessage(cid, "what time is it")
        val received = bob.messages(cid).items.await("bob has it") { it.texts == listOf("what time is it") }
        val after: Instant = Instant.now()

        val message = received.single().message
        val createdAt: Instant = message.createdAt
        assertTrue("createdAt $createdAt in [$before, $after]", createdAt in before..after)
        assertFalse("updatedAt before createdAt", message.updatedAt.isBefore(createdAt))
        assertEquals(null, message.editedAt)
        val channel = bob.channels().await("bob's channel") { l -> l.any { it.cid == cid } }.first { it.cid == cid }
        val lastMessageAt: Instant? = channel.lastMessageAt
        assertTrue("lastMessageAt $lastMessageAt in [$before, now]", lastMessageAt != null && lastMessageAt in before..Instant.now())
    }

    @Test
    fun sendOfflineThenDeliverAfterReconnect(): Unit = runBlocking {
        val alice = connect("alice")
        val bob = connect("bob")
        val cid = channel(alice, "bob")
        alice.sync()
        val bobList = bob.messages(cid)

        // The network goes away: the server is down and both phones' OS says unreachable.
        // (Bob's phone is told too: left to its own backoff, which grows to 25 s while the
        // server is down, his next try could come after this test's 20 s wait.)
        server.stop()
        alice.setNetworkReachable(false)
        bob.setNetworkReachable(false)
        alice.connectionState.await("alice offline") { it is ConnectionState.WaitingForNetwork }
        val aliceList = alice.messages(cid)
        val id = alice.sendMessage(cid, "sent on a plane")

        // Shown at once, queued, not sent.
        val shown = aliceList.items.await("the message is shown") { it.texts == listOf("sent on a plane") }
        assertTrue(shown.single().state != MessageState.Sent)
        assertEquals(listOf(id), alice.outbox().filter { it.kind == "send_message" }.map { it.opId })

        // The network returns: delivered without any retry call.
        server.start()
        alice.setNetworkReachable(true)
        bob.setNetworkReachable(true)
        aliceList.items.await("alice's message sent") { it.singleOrNull()?.state == MessageState.Sent }
        bobList.items.await("bob receives it") { it.texts == listOf("sent on a plane") }
        assertTrue(alice.outbox().isEmpty())
    }

    @Test
    fun searchFindsAnOfflineSentMessageLocallyThenMergesTheServers(): Unit = runBlocking {
        val alice = connect("alice")
        val bob = connect("bob")
        val cid = channel(alice, "bob")
        bob.sendMessage(cid, "pancakes for everyone")
        alice.sync()
        val aliceList = alice.messages(cid)
        aliceList.items.await("bob's message cached") { it.texts == listOf("pancakes for everyone") }

        server.stop()
        alice.setNetworkReachable(false)
        alice.connectionState.await("alice offline") { it is ConnectionState.WaitingForNetwork }
        val id = alice.sendMessage(cid, "more pancakes from the plane")

        // Offline: the local index answers, the offline-sent message among the hits.
        val local = alice.searchLocal("pancak")
        assertEquals(2, local.size)
        val mine = local.single { it.message.id == id }
        assertTrue(mine.local && mine.pending)
        // "pancakes" is code units 5..13 of "more pancakes from the plane".
        assertEquals(listOf(TextRange(5u, 13u)), mine.highlights)
        val offline = alice.search("pancakes")
        assertTrue(offline.server is SearchServerPart.NotReached)
        assertEquals(setOf(id), offline.hits.filter { it.pending }.map { it.message.id }.toSet())

        // Back online: the server answers, every message listed once.
        server.start()
        alice.setNetworkReachable(true)
        aliceList.items.await("alice's message sent") { items -> items.all { it.state == MessageState.Sent } }
        val online = alice.search("pancakes")
        assertEquals(SearchServerPart.Answered, online.server)
        assertEquals(2, online.hits.map { it.message.id }.toSet().size)
        assertEquals(2, online.hits.size)
        val flowed = mutableListOf<List<SearchHit>>()
        alice.searchResults("pancakes").collect { flowed.add(it) }
        assertEquals(2, flowed.size)
    }

    @Test
    fun liveOutboxFollowsAnOfflineSendUntilItLeaves(): Unit = runBlocking {
        val alice = connect("alice")
        val cid = channel(alice, "bob")
        alice.sync()
        // One collection for the whole test: every list below is pushed to it, none polled.
        val seen = MutableStateFlow<List<OutboxEntry>?>(null)
        val collector = launch(Dispatchers.Default) { alice.liveOutbox().collect { seen.value = it } }
        seen.await("the empty outbox") { it != null && it.isEmpty() }

        server.stop()
        alice.setNetworkReachable(false)
        val id = alice.sendMessage(cid, "queued offline")
        val queued = seen.await("the queued send") { l -> l != null && l.any { it.opId == id } }
        // Held while unreachable: not tried, so not waiting on a retry timer either.
        assertEquals(OutboxState.Pending, queued!!.single { it.opId == id }.state)

        server.start()
        alice.setNetworkReachable(true)
        seen.await("the send to leave") { it != null && it.isEmpty() }
        collector.cancel()
    }

    @Test
    fun outboxSurvivesAnAppRestart(): Unit = runBlocking {
        val dir = newDir()
        val alice = connect("alice", dir)
        val cid = channel(alice, "bob")
        alice.sync()
        server.stop()
        alice.setNetworkReachable(false)
        alice.sendMessage(cid, "queued before the app died")
        alice.close()

        // The next run of the app, on the same cache, shows it at once and delivers it.
        server.start()
        val again = connect("alice", dir)
        val list = again.messages(cid)
        assertEquals(listOf("queued before the app died"), list.items.value.texts)
        try {
            list.items.await("delivered after the restart") { it.singleOrNull()?.state == MessageState.Sent }
        } catch (e: AssertionError) {
            // What the client was doing (rare CI failure: the request stayed in flight).
            throw AssertionError(
                "${e.message}\nstatus: ${again.status()}\noutbox: ${again.outbox()}\nserver log:\n${server.logTail()}",
                e,
            )
        }
        val bob = connect("bob")
        bob.messages(cid).items.await("bob receives it") { it.texts == listOf("queued before the app died") }
    }

    @Test
    fun aQuoteReplyShowsTheQuotedMessageAsItStands(): Unit = runBlocking {
        val alice = connect("alice")
        val bob = connect("bob")
        val cid = channel(alice, "bob")
        val plan = alice.sendMessage(cid, "the plan")
        val bobList = bob.messages(cid)
        bobList.items.await("bob has the plan") { it.texts == listOf("the plan") }
        val reply = bob.sendMessage(cid, "agreed", quotedMessageId = plan)
        fun preview(items: List<MessageItem>) = items.firstOrNull { it.message.id == reply }?.quoted
        val shown = bobList.items.await("the preview, at once") { preview(it) is QuotedPreview.Message }
        val quoted = preview(shown) as QuotedPreview.Message
        assertEquals(plan, quoted.id)
        assertEquals("alice", quoted.userId)
        assertEquals("the plan", quoted.text)
        assertFalse(quoted.deleted)

        // Alice edits, then deletes the quoted message: bob's preview follows.
        alice.editMessage(plan, "the new plan")
        bobList.items.await("the edit in the preview") { (preview(it) as? QuotedPreview.Message)?.text == "the new plan" }
        alice.deleteMessage(plan)
        bobList.items.await("the delete in the preview") { (preview(it) as? QuotedPreview.Message)?.deleted == true }
        bobList.close()
    }

    @Test
    fun draftsSurviveARestartAndSendingDeletesThem(): Unit = runBlocking {
        val dir = newDir()
        val first = connect("alice", dir)
        val cid = channel(first, "bob")
        first.setDraft(cid, "half a thought")
        first.close()
        val alice = connect("alice", dir)
        val draft = alice.draft(cid)
        assertEquals("half a thought", draft?.text)
        assertEquals(cid, draft?.cid)
        alice.sendMessage(cid, "a whole thought")
        assertEquals(null, alice.draft(cid))
    }

    @Test
    fun editsDeletesAndReactionsUpdateLiveLists(): Unit = runBlocking {
        val alice = connect("alice")
        val bob = connect("bob")
        val cid = channel(alice, "bob")
        val id = alice.sendMessage(cid, "first draft")
        val bobList = bob.messages(cid)
        bobList.items.await("bob has it") { it.texts == listOf("first draft") }

        alice.editMessage(id, "final text")
        bobList.items.await("bob sees the edit") { it.texts == listOf("final text") }
        assertTrue(bobList.items.value.single().message.editedAt != null)

        bob.addReaction(id, "like")
        val aliceList = alice.messages(cid)
        aliceList.items.await("alice sees bob's like") { items ->
            items.singleOrNull()?.message?.reactionCounts == mapOf("like" to 1u)
        }
        val bobView = bobList.items.await("bob's own reaction") { it.single().ownReactions == listOf("like") }
        assertEquals(mapOf("like" to 1u), bobView.single().message.reactionCounts)
        bob.removeReaction(id, "like")
        aliceList.items.await("the like is gone") { it.single().message.reactionCounts.isEmpty() }

        alice.deleteMessage(id)
        bobList.items.await("bob sees the delete") { items ->
            items.isEmpty() || items.single().message.deletedAt != null
        }
    }

    @Test
    fun starsShowAtOnceAndTheStarredListFollowsOnEveryDevice(): Unit = runBlocking {
        val alice = connect("alice")
        val cid = channel(alice, "bob")
        val id = alice.sendMessage(cid, "keep this")
        val list = alice.messages(cid)
        list.items.await("sent") { it.singleOrNull()?.state == MessageState.Sent }
        val starred = alice.starred(pageSize = 10)
        assertTrue(starred.items.value.isEmpty())

        alice.starMessage(id)
        list.items.await("starred at once") { it.single().starred }
        starred.items.await("listed") { items -> items.map { it.message.id } == listOf(id) }
        assertEquals(false, starred.loadMore())
        while (alice.outbox().isNotEmpty()) delay(20)

        // The same user on another device learns it through sync.
        val phone = connect("alice")
        phone.sync()
        phone.starred().items.await("listed on the phone") { items -> items.map { it.message.id } == listOf(id) }

        alice.unstarMessage(id)
        list.items.await("unstarred at once") { !it.single().starred }
        starred.items.await("unlisted") { it.isEmpty() }
        starred.close()
        assertEquals(false, starred.isActive)
    }

    @Test
    fun typingAndThreads(): Unit = runBlocking {
        val alice = connect("alice")
        val bob = connect("bob")
        alice.connectionState.await("alice connected") { it is ConnectionState.Connected }
        bob.connectionState.await("bob connected") { it is ConnectionState.Connected }
        val cid = channel(alice, "bob")
        bob.sync()
        val typing = async { bob.typing(cid).await("alice typing") { u -> u.map { it.userId } == listOf("alice") } }
        // Announce until Bob's watch sees it (the first announcement may precede his subscription).
        while (!typing.isCompleted) {
            alice.startTyping(cid)
            delay(200)
        }
        typing.await()
        alice.stopTyping(cid)
        bob.typing(cid).await("alice stopped") { it.isEmpty() }

        val root = alice.sendMessage(cid, "thread root")
        alice.sendMessage(cid, "a reply", parentId = root)
        bob.thread(root).await("bob sees the reply") { it.texts == listOf("a reply") }

        // Typing in a thread names the thread.
        val inThread = async {
            bob.typing(cid).await("alice typing in the thread") { u ->
                u.map { it.userId to it.parentId } == listOf("alice" to root)
            }
        }
        while (!inThread.isCompleted) {
            alice.startTyping(cid, parentId = root)
            delay(200)
        }
        inThread.await()
        alice.stopTyping(cid, parentId = root)
        bob.typing(cid).await("alice stopped in the thread") { it.isEmpty() }
    }

    @Test
    fun pagingThroughHistory(): Unit = runBlocking {
        val alice = connect("alice")
        val cid = channel(alice)
        for (i in 1..25) alice.sendMessage(cid, "m$i")
        alice.sync()
        val fresh = connect("alice") // an empty cache: history comes from the server
        fresh.sync()
        val list = fresh.messages(cid, pageSize = 10)
        list.items.await("the newest page") { it.texts == (16..25).map { "m$it" } }
        assertTrue(list.loadOlder())
        list.items.await("two pages") { it.texts == (6..25).map { "m$it" } }
        list.loadOlder()
        list.items.await("everything") { it.texts == (1..25).map { "m$it" } }
        assertFalse(list.loadOlder())
    }

    @Test
    fun closedSubscriptionsStopDelivering(): Unit = runBlocking {
        val alice = connect("alice")
        val bob = connect("bob")
        val cid = channel(alice, "bob")
        alice.sync()
        val list = bob.messages(cid)
        alice.sendMessage(cid, "one")
        list.items.await("bob gets one") { it.texts == listOf("one") }
        list.close()
        assertFalse(list.isActive)
        alice.sendMessage(cid, "two")
        val control = bob.messages(cid)
        control.items.await("a live list gets two") { it.texts == listOf("one", "two") }
        assertEquals("the closed list stays as it was", listOf("one"), list.items.value.texts)

        // The generated API's subscriptions end on cancel() too.
        val batches = java.util.concurrent.atomic.AtomicInteger()
        val subscription = bob.ffi.watchChannels(10u, object : com.onyxchat.ChannelListListener {
            override fun onDiffs(diffs: List<com.onyxchat.ChannelDiff>) {
                batches.incrementAndGet()
            }
        })
        while (batches.get() == 0) delay(20)
        subscription.cancel()
        assertFalse(subscription.isActive())
        val before = batches.get()
        alice.sendMessage(cid, "three")
        control.items.await("the live list gets three") { it.texts.last() == "three" }
        delay(200)
        assertEquals(before, batches.get())
        subscription.close()
    }
}
