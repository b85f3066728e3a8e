// Typed errors across the FFI, as Kotlin exceptions: each failure kind is its own
// ChatException subclass, a refused token surfaces as AuthFailed, a closed client says so.
package com.onyxchat

import java.util.UUID
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test

class ErrorsTest : Fixture() {

    private inline fun <reified E : Throwable> expect(block: () -> Unit): E {
        try {
            block()
        } catch (e: Throwable) {
            if (e is E) return e
            throw AssertionError("expected ${E::class.simpleName}, got $e", e)
        }
        fail("expected ${E::class.simpleName}, nothing was thrown")
        throw IllegalStateException()
    }

    @Test
    fun badInputIsRefusedWithTheReasonAndNothingIsStored(): Unit = runBlocking {
        val alice = connect("alice")
        val badCid = expect<ChatException.InvalidInput> { runBlocking { alice.sendMessage("no-colon", "hi") } }
        assertTrue(badCid.reason, badCid.reason.contains("no-colon"))
        val cid = channel(alice)
        expect<ChatException.InvalidInput> { runBlocking { alice.sendMessage(cid, "x".repeat(5001)) } }
        expect<ChatException.InvalidInput> { runBlocking { alice.editMessage("not-a-uuid", "x") } }
        assertTrue(alice.outbox().none { it.kind == "send_message" })
        assertTrue(alice.messages(cid).items.value.isEmpty())
    }

    @Test
    fun unknownIdsHaveTheirOwnErrors(): Unit = runBlocking {
        val alice = connect("alice")
        val missing = UUID.randomUUID().toString()
        val notFound = expect<ChatException.MessageNotFound> { runBlocking { alice.editMessage(missing, "x") } }
        assertEquals(missing, notFound.id)
        val unknown = expect<ChatException.UnknownOperation> { runBlocking { alice.retry(missing) } }
        assertEquals(missing, unknown.opId)
    }

    @Test
    fun aRefusedTokenStopsTheConnectionUntilRefreshed(): Unit = runBlocking {
        var refuse = true
        val client = ChatClient.connect(server.url, server.appId, "alice", newDir()) {
            if (refuse) throw TokenFetchException.Refused("signed out")
            server.tokens.getValue("alice")
        }
        try {
            client.connectionState.await("auth failed") { it is ConnectionState.AuthFailed }
            assertTrue(client.status().authStopped)
            refuse = false
            client.refreshToken()
            client.connectionState.await("connected after refresh") { it is ConnectionState.Connected }
        } finally {
            client.close()
        }
    }

    @Test
    fun aClosedClientSaysSo(): Unit = runBlocking {
        val alice = connect("alice")
        val cid = channel(alice)
        alice.shutdown()
        expect<ChatException.Closed> { runBlocking { alice.sendMessage(cid, "too late") } }
        Unit
    }
}
