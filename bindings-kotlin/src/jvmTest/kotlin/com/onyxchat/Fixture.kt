// Shared set-up of the JVM tests: a real chat-server per test, clients with their own
// cache directories, and a bounded wait on flows.
package com.onyxchat

import java.io.File
import java.nio.file.Files
import java.util.UUID
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.withTimeout
import org.junit.After

abstract class Fixture {
    protected val server = TestServer().start()
    private val clients = ArrayList<ChatClient>()
    private val dirs = ArrayList<File>()

    /** A fresh cache directory, deleted after the test. */
    protected fun newDir(): File = Files.createTempDirectory("onyxchat-cache").toFile().also { dirs += it }

    /** A client of [user] with a fresh on-disk cache (or the given one, to restart it). */
    protected suspend fun connect(user: String, dataDir: File = newDir()): ChatClient =
        ChatClient.connect(server.url, server.appId, user, dataDir, server.tokenProvider(user))
            .also { clients += it }

    /** A new channel of [owner] with [members]. */
    protected suspend fun channel(owner: ChatClient, vararg members: String): String =
        owner.createChannel(ChannelKind.MESSAGING, id = "kt-${UUID.randomUUID()}", members = members.toList())

    @After
    fun tearDown() {
        clients.forEach { it.close() }
        server.close()
        dirs.forEach { it.deleteRecursively() }
    }
}

/** The first value of the flow matching [predicate], failing after 20 s (naming the last value seen). */
suspend fun <T> Flow<T>.await(what: String, predicate: (T) -> Boolean): T {
    var last: Any? = "nothing"
    return try {
        withTimeout(20_000) { first { last = it; predicate(it) } }
    } catch (e: kotlinx.coroutines.TimeoutCancellationException) {
        throw AssertionError("timed out waiting for $what; last value: $last", e)
    }
}

/** The texts of a message list. */
val List<MessageItem>.texts: List<String> get() = map { it.message.text }
