// Channel and member management from Kotlin against the real chat-server: changes made offline show
// at once in the channel list and the member list, reach the server once back online, and the
// added member gets the renamed channel; leaving hides the channel at once.
package com.onyxchat

import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test

class MembersTest : Fixture() {

    private val List<MemberItem>.roster get() = map { Triple(it.userId, it.role, it.pending) }

    @Test
    fun offlineMemberChangesShowAtOnceAndReachTheAddedMember(): Unit = runBlocking {
        val alice = connect("alice")
        val carol = connect("carol")
        val cid = channel(alice, "bob")
        alice.members(cid).await("alice and bob") { it.size == 2 }

        alice.setNetworkReachable(false)
        alice.updateChannel(cid, name = "Kotlin crew")
        alice.addMembers(cid, listOf("carol"))
        alice.setMemberRole(cid, "bob", MemberRole.MODERATOR)
        val queued = alice.members(cid).first()
        assertEquals(
            listOf(
                Triple("alice", MemberRole.OWNER, false),
                Triple("bob", MemberRole.MODERATOR, true),
                Triple("carol", MemberRole.MEMBER, true),
            ),
            queued.roster,
        )
        assertEquals(null, queued.last().joinedAt)
        val renamed = alice.channels().first().first { it.cid == cid }
        assertEquals("Kotlin crew", renamed.name)

        alice.setNetworkReachable(true)
        alice.members(cid).await("the server's confirmation") { list ->
            list.none { it.pending } && list.size == 3 && list.all { it.joinedAt != null }
        }
        val listed = carol.channels().await("carol gets the renamed channel") { list ->
            list.any { it.cid == cid && it.name == "Kotlin crew" }
        }
        assertEquals(3u, listed.first { it.cid == cid }.memberCount)
        val roles = carol.members(cid).await("carol sees bob's new role") { list ->
            list.any { it.userId == "bob" && it.role == MemberRole.MODERATOR }
        }
        assertEquals(listOf("alice", "bob", "carol"), roles.map { it.userId })
    }

    @Test
    fun leavingHidesTheChannelAtOnce(): Unit = runBlocking {
        val alice = connect("alice")
        val bob = connect("bob")
        val cid = channel(alice, "bob")
        bob.channels().await("bob lists it") { list -> list.any { it.cid == cid } }
        bob.setNetworkReachable(false)
        bob.leaveChannel(cid)
        assertTrue(bob.channels().first().none { it.cid == cid })
        bob.setNetworkReachable(true)
        alice.members(cid).await("bob gone for alice") { list ->
            list.map { it.userId } == listOf("alice")
        }
    }

    @Test
    fun mentionCandidatesPutTheRecentAuthorFirstOffline(): Unit = runBlocking {
        val alice = connect("alice")
        val bob = connect("bob")
        val cid = channel(alice, "bob")
        alice.addMembers(cid, listOf("carol"))
        alice.members(cid).await("carol added") { l -> l.any { it.userId == "carol" && !it.pending } }
        bob.sendMessage(cid, "bob speaks")
        alice.messages(cid).items.await("bob's message arrived") { it.texts == listOf("bob speaks") }

        alice.setNetworkReachable(false)
        assertEquals(listOf("bob", "carol"), alice.mentionCandidates(cid, "").map { it.userId })
        assertEquals(listOf("carol"), alice.mentionCandidates(cid, "CA").map { it.userId })
        assertTrue(alice.mentionCandidates(cid, "zed").isEmpty())
    }
}
