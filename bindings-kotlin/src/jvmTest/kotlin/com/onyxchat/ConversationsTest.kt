// Distinct conversations from Kotlin against the real chat-server: both members derive the same
// cid (offline too), the dev seed's Alice & Bob conversation is one, and members are fixed.
package com.onyxchat

import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test

class ConversationsTest : Fixture() {

    @Test
    fun bothMembersOpenTheSameDistinctConversation(): Unit = runBlocking {
        val alice = connect("alice")
        val carol = connect("carol")
        // Offline: the cid is derived locally and the message waits in the outbox.
        alice.setNetworkReachable(false)
        val cid = alice.openDistinctChannel(listOf("carol"))
        assertTrue(cid, cid.startsWith("messaging:!members-"))
        alice.sendMessage(cid, "just us")
        assertEquals(cid, alice.openDistinctChannel(listOf("carol", "alice")))
        alice.setNetworkReachable(true)

        assertEquals(cid, carol.openDistinctChannel(listOf("alice")))
        val carolList = carol.messages(cid)
        carolList.items.await("carol receives it") { it.texts == listOf("just us") }
        val channel = carol.channels().await("carol lists it") { list -> list.any { it.cid == cid } }
            .first { it.cid == cid }
        assertTrue(channel.distinct)
        assertEquals(2u, channel.memberCount)
        carolList.close()
    }

    @Test
    fun theDemoConversationOfAliceAndBobIsDistinct(): Unit = runBlocking {
        val bob = connect("bob")
        val cid = bob.openDistinctChannel(listOf("alice"))
        val listed = bob.channels().await("bob's distinct channel") { list ->
            list.any { it.cid == cid && it.distinct }
        }
        assertEquals("Alice & Bob", listed.first { it.cid == cid }.name)
        // A group is another conversation, with its own cid.
        val group = bob.openDistinctChannel(listOf("alice", "carol"))
        assertTrue(group != cid)
    }
}
