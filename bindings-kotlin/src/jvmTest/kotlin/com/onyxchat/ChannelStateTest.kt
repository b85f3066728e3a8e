// The user's own channel settings and channel deletion from Kotlin against the real
// chat-server: a mute and a hide made offline show at once (the total unread and the channel
// list follow), reach the user's other device once delivered, and the list's options find the
// hidden channel; deleting a channel removes it at once and for the other member.
package com.onyxchat

import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test

class ChannelStateTest : Fixture() {

    @Test
    fun offlineMuteAndHideShowAtOnceAndReachTheOtherDevice(): Unit = runBlocking {
        val alice = connect("alice")
        val bob = connect("bob")
        val cid = channel(alice, "bob")
        alice.sendMessage(cid, "hello bob")
        bob.totalUnread().await("one unread for bob") { it.unreadCount == 1uL }
        bob.channels().await("bob lists it") { list -> list.any { it.cid == cid } }

        bob.setNetworkReachable(false)
        bob.muteChannel(cid)
        assertEquals(0uL, bob.totalUnread().first().unreadCount)
        bob.hideChannel(cid)
        assertTrue(bob.channels().first().none { it.cid == cid })
        val hidden = bob.channels(hidden = Inclusion.ONLY).first()
        assertEquals(listOf(cid), hidden.map { it.cid })
        assertTrue(hidden.single().muted && hidden.single().hidden)

        bob.setNetworkReachable(true)
        val phone = connect("bob")
        val synced = phone.channels(hidden = Inclusion.INCLUDE, text = cid.substringAfter(":").uppercase())
            .await("the other device learns both") { list ->
                list.any { it.cid == cid && it.hidden && it.muted }
            }
        assertEquals(1, synced.size)
        assertEquals(0uL, phone.totalUnread().first().unreadCount)
    }

    @Test
    fun deletingAChannelRemovesItAtOnceAndForTheOtherMember(): Unit = runBlocking {
        val alice = connect("alice")
        val bob = connect("bob")
        val cid = channel(alice, "bob")
        bob.channels().await("bob lists it") { list -> list.any { it.cid == cid } }
        alice.deleteChannel(cid)
        assertTrue(alice.channels().first().none { it.cid == cid })
        bob.channels().await("gone for bob") { list -> list.none { it.cid == cid } }
    }
}
