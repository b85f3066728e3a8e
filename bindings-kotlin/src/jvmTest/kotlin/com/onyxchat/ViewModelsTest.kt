// The platform-neutral view-model layer against the real chat-server: a channel list that
// follows live and grows by pages and clears unread counts, and a conversation that sends,
// receives, pages back to the start of the channel and retries a refused message.
package com.onyxchat

import java.util.UUID
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.runBlocking
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test

class ViewModelsTest : Fixture() {
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)

    @After
    fun cancelScope() = scope.cancel()

    @Test
    fun channelListPagesFollowsLiveAndMarksRead(): Unit = runBlocking {
        val alice = connect("alice")
        val bob = connect("bob")
        val cids = (1..3).map { channel(alice, "bob") }
        alice.sync()
        val model = ChannelListModel(alice, scope, pageSize = 2)
        val first = model.state.await("the first page") { !it.loading && it.channels.size == 2 }
        assertTrue(first.canLoadMore)
        model.loadMore()
        model.state.await("a second page") { it.channels.size > 2 }

        // Bob writes: the channel moves up with one unread; markRead clears it.
        val cid = cids.first()
        bob.sendMessage(cid, "ping")
        model.state.await("the unread message") { s -> s.channels.firstOrNull()?.let { it.cid == cid && it.unreadCount == 1u } == true }
        model.markRead(cid)
        model.state.await("read") { s -> s.channels.any { it.cid == cid && it.unreadCount == 0u } }
        model.state.await("connected banner state") { it.connection is ConnectionState.Connected }
        model.close()
    }

    @Test
    fun messageListSendsReceivesAndPagesBack(): Unit = runBlocking {
        val alice = connect("alice")
        val cid = channel(alice, "bob")
        val sender = MessageListModel(alice, cid, scope)
        (1..5).forEach { sender.send("m$it") }
        sender.state.await("all sent") { s -> s.messages.size == 5 && s.messages.all { it.state == MessageState.Sent } }
        sender.markRead()

        // Bob, on a fresh device, sees the newest page and pages back to the start.
        val bob = connect("bob")
        val reader = MessageListModel(bob, cid, scope, pageSize = 2)
        reader.state.await("the newest page") { it.messages.texts == listOf("m4", "m5") }
        while (!reader.state.value.reachedStart) {
            reader.loadMore()
            reader.state.await("a page loaded") { !it.loadingOlder }
        }
        reader.state.await("the whole channel") { it.messages.texts == listOf("m1", "m2", "m3", "m4", "m5") }
        reader.loadMore()
        assertFalse("nothing to load before the start", reader.state.value.loadingOlder)

        // Live: Bob's reply reaches Alice's screen.
        reader.send("got them")
        sender.state.await("the reply") { it.messages.texts.lastOrNull() == "got them" }
        sender.close()
        reader.close()
    }

    @Test
    fun aRefusedMessageIsRetried(): Unit = runBlocking {
        val alice = connect("alice")
        val bob = connect("bob")
        // Alice writes to a channel that does not exist yet: the server refuses it.
        val id = "kt-${UUID.randomUUID()}"
        val model = MessageListModel(alice, "messaging:$id", scope)
        model.send("early")
        val failed = model.state.await("refused") { s -> s.messages.singleOrNull()?.state is MessageState.Failed }
        val messageId = failed.messages.single().message.id

        // Bob creates it with Alice as a member: the retry is delivered.
        bob.createChannel(ChannelKind.MESSAGING, id = id, members = listOf("alice"))
        bob.sync()
        model.retry(messageId)
        model.state.await("delivered on retry") { s -> s.messages.singleOrNull()?.state == MessageState.Sent }
        assertFalse(model.state.value.error != null)
        model.close()
    }
}
